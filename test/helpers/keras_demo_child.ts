/**
 * Runs examples/keras's demo (runDemo, cpu backend) in a process of its own for
 * test/keras/keras_file_example.test.ts, and prints one JSON line: the demo's result, the lines it
 * logged, and the tensor count before and after. (Inside jest's sandbox tfjs's cpu kernels train
 * this model about 7 times slower than in plain Node.)
 *
 *   ts-node --transpile-only test/helpers/keras_demo_child.ts OUT.keras
 */
import * as tf from '@tensorflow/tfjs';

import {runDemo} from '../../examples/keras/demo';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (out === undefined) {
    throw new Error('usage: keras_demo_child.ts OUT.keras');
  }
  await tf.setBackend('cpu');
  const lines: string[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const result = await runDemo({out, log: l => lines.push(l)});
  process.stdout.write(JSON.stringify({result, lines, tensorsBefore, tensorsAfter: tf.memory().numTensors}) + '\n');
}

main().catch(e => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
