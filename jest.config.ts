import type {Config} from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {'^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json', diagnostics: false}]},
  testTimeout: 120000,
};

export default config;
