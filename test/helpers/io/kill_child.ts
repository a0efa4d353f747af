/**
 * Child process for test/io/atomic_save_kill.test.ts and test/io/save_safety.test.ts: saves
 * versions of a model to one folder, over and over, until it is killed.
 * argv: <folder> <first version> [<step to die at>[:<file>]]. With a step, it saves once and
 * SIGKILLs itself at that step of the atomic save.
 * Writes "ready" once, then "saved <version>" after each completed save.
 *
 * With hold:<step> instead, it saves once and stops at that step, holding the save's lock, until
 * it is killed (writing "holding" when it gets there).
 *
 * argv <folder> fit: trains with a checkpoint callback saving to <folder> every epoch, writing
 * "epoch <n> <checksum of the weights>" after each epoch's checkpoint.
 */
import * as tf from '@tensorflow/tfjs';

import {checkpoint, fileSystem} from '../../../src';
import {buildKillModel, checksum, setVersion} from './kill_model';

async function train(folder: string): Promise<void> {
  const model = buildKillModel();
  model.compile({optimizer: tf.train.adam(0.001), loss: 'meanSquaredError'});
  const x = tf.randomNormal([4, 16, 64], 0, 1, 'float32', 1);
  const y = tf.randomNormal([4, 16, 256], 0, 1, 'float32', 2);
  const report = new tf.CustomCallback({onEpochEnd: async epoch => {
    process.stdout.write(`epoch ${epoch + 1} ${checksum(model)}\n`);
  }});
  process.stdout.write('ready\n');
  await model.fit(x, y, {epochs: 10000, verbose: 0, callbacks: [checkpoint({path: folder}), report]});
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [folder, first, dieAt] = process.argv.slice(2) as [string, string, string|undefined];
  if (first === 'fit') {
    return train(folder);
  }
  const model = buildKillModel();
  const hold = dieAt?.startsWith('hold:') ?? false;
  const [step, file] = (hold ? dieAt!.slice('hold:'.length) : dieAt ?? '').split(':');
  const handler = fileSystem(folder, {
    onSaveStep: (reached, detail) => {
      if (reached === step && (file === undefined || file === detail)) {
        if (hold) {
          process.stdout.write('holding\n');
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);  // until killed
        }
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  process.stdout.write('ready\n');
  for (let version = Number(first);; version++) {
    setVersion(model, version);
    await model.save(handler);
    process.stdout.write(`saved ${version}\n`);
    if (dieAt !== undefined) {
      process.exit(3);  // the step was never reached: the parent fails the test
    }
  }
}

main().catch(e => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(2);
});
