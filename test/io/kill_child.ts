/**
 * Child process for test/io_kill.test.ts: saves versions of a model to one folder, over and
 * over, until it is killed. argv: <folder> <first version> [<step to die at>[:<file>]].
 * With a step, it saves once and SIGKILLs itself at that step of the atomic save.
 * Writes "ready" once, then "saved <version>" after each completed save.
 */
import * as tf from '@tensorflow/tfjs';

import {fileSystem} from '../../src';
import {buildKillModel, setVersion} from './kill_model';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const [folder, first, dieAt] = process.argv.slice(2) as [string, string, string|undefined];
  const model = buildKillModel();
  const [step, file] = (dieAt ?? '').split(':');
  const handler = fileSystem(folder, {
    onSaveStep: (reached, detail) => {
      if (reached === step && (file === undefined || file === detail)) {
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
