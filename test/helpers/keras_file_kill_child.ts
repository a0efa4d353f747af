/**
 * Child process for test/keras/keras_file_atomic.test.ts: saves versions of a model as one
 * `.keras` file, over and over, until it is killed. argv: <file> <first version>.
 * Writes "ready" once, then "saved <version>" after each completed save. Any error ends it with
 * the error on stderr, which fails the test (a kill never leaves a lock the next save refuses:
 * src/io/save_lock.ts writes the lock whole).
 */
import * as tf from '@tensorflow/tfjs';

import {saveKerasModel} from '../../src';
import {buildKillModel, setVersion} from './io/kill_model';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [file, first] = process.argv.slice(2) as [string, string];
  const model = buildKillModel();
  process.stdout.write('ready\n');
  for (let version = Number(first);; version++) {
    setVersion(model, version);
    await saveKerasModel(model, file);
    process.stdout.write(`saved ${version}\n`);
  }
}

main().catch(e => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});
