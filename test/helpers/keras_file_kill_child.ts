/**
 * Child process for test/keras/keras_file_atomic.test.ts: saves versions of a model as one
 * `.keras` file, over and over, until it is killed. argv: <file> <first version>.
 * Writes "ready" once, then "saved <version>" after each completed save.
 *
 * A kill that lands between a save creating its lock file and writing the lock's contents
 * leaves an empty lock, which the next save refuses as "a save that is starting" until it is
 * 10 s old (src/io/save_lock.ts: an empty lock cannot tell a dead writer from a live one). The
 * child then waits and tries the same version again, as a user would; any other error ends it
 * with the error on stderr, which fails the test.
 */
import * as tf from '@tensorflow/tfjs';

import {saveKerasModel} from '../../src';
import {buildKillModel, setVersion} from './io/kill_model';

async function saveRetryingEmptyLock(model: tf.LayersModel, file: string): Promise<void> {
  for (;;) {
    try {
      await saveKerasModel(model, file);
      return;
    } catch (e) {
      const err = e as Error&{code?: string};
      if (err.code !== 'ELOCKED' || !err.message.includes('(a save that is starting)')) {
        throw e;
      }
      await new Promise(resolve => setTimeout(resolve, 200));
    }
  }
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [file, first] = process.argv.slice(2) as [string, string];
  const model = buildKillModel();
  process.stdout.write('ready\n');
  for (let version = Number(first);; version++) {
    setVersion(model, version);
    await saveRetryingEmptyLock(model, file);
    process.stdout.write(`saved ${version}\n`);
  }
}

main().catch(e => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});
