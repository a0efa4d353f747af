/**
 * Test material that this project does not own (real Keras files, Keras's own outputs) lives in
 * `../shared/` beside the checkout. Suites that read it are named `*.shared.test.ts`: without the
 * folder, a local run leaves them out and says so (jest.config.ts); under `CI=true` they run and
 * fail on the first read, naming the missing path.
 */
import * as fs from 'fs';
import * as path from 'path';

/** `../shared` beside the checkout. */
export const SHARED_ROOT = path.resolve(__dirname, '..', '..', '..', 'shared');

/** The absolute path of `relative` inside `../shared`; throws, naming it, when it is missing. */
export function sharedPath(relative: string): string {
  const full = path.join(SHARED_ROOT, relative);
  if (!fs.existsSync(full)) {
    throw new Error(`${full} is missing: suites named *.shared.test.ts read the test material in ` +
                    `../shared beside the checkout (CI has it there).`);
  }
  return full;
}
