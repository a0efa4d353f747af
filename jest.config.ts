import * as fs from 'fs';
import * as path from 'path';

import type {Config} from 'jest';

// Suites named *.shared.test.ts read ../shared (material this project does not own). Without
// it, a local run leaves them out and says why; CI (CI=true) always runs them, so there a
// missing folder is a failure, never a skip.
const sharedMissing = !fs.existsSync(path.resolve(__dirname, '..', 'shared')) &&
    process.env['CI'] !== 'true';
if (sharedMissing) {
  console.warn('jest: ../shared is missing beside the checkout, so the *.shared.test.ts suites ' +
               '(real Keras files and Keras\'s outputs) were skipped. CI=true makes this a failure.');
}

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(sharedMissing ? ['\\.shared\\.test\\.ts$'] : [])],
  transform: {'^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json', diagnostics: false}]},
  testTimeout: 120000,
};

export default config;
