/**
 * Child process for test/backends/wasm_threads.test.ts. argv: <threads> [--start-plain-first].
 * Starts wasm through useBestBackend({wasmThreads}), then runs a 2-D matMul and a SelfAttention
 * layer's forward and backward (4 heads, batch 2, n 64, both attention paths), and prints one
 * JSON line: the backend choice, the log line, and every result's float32 bytes in base64.
 * It never calls process.exit: the test checks that it ends by itself.
 */
import * as tf from '@tensorflow/tfjs';

import {selfAttention, useBestBackend} from '../../src';

async function main(): Promise<void> {
  const threads = Number(process.argv[2]);
  if (process.argv.includes('--start-plain-first')) {
    await useBestBackend({order: ['wasm']});
  }
  const lines: string[] = [];
  const choice = await useBestBackend({order: ['wasm'], wasmThreads: threads, log: l => lines.push(l)});
  const results: Record<string, string> = {};
  const keep = (name: string, t: tf.Tensor) => {
    results[name] = Buffer.from((t.dataSync() as Float32Array).buffer).toString('base64');
  };
  tf.tidy(() => {
    const a = tf.randomNormal([192, 256], 0, 1, 'float32', 1);
    const b = tf.randomNormal([256, 320], 0, 1, 'float32', 2);
    keep('matMul', tf.matMul(a, b));
    const x = tf.randomNormal([2, 64, 64], 0, 1, 'float32', 3) as tf.Tensor3D;
    for (const attentionPath of ['standard', 'fast'] as const) {
      const layer = selfAttention({numHeads: 4, attentionPath, kernelInitializer: 'glorotUniform',
                                   name: `threads_${attentionPath}`});
      layer.apply(x);
      layer.setWeights(layer.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.2, 'float32', 10 + i)));
      keep(`${attentionPath} output`, layer.apply(x) as tf.Tensor);
      const weights = layer.trainableWeights.map(w => w.read() as tf.Variable);
      const {grads} = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, weights);
      weights.forEach((w, i) => keep(`${attentionPath} gradient ${i}`, grads[w.name]!));
      const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.square(layer.apply(input) as tf.Tensor)))(x);
      keep(`${attentionPath} input gradient`, dx);
      layer.dispose();
    }
  });
  process.stdout.write(`${JSON.stringify({choice, lines, results, numTensors: tf.memory().numTensors})}\n`);
}

main().catch(e => {
  process.stderr.write(String(e?.stack ?? e));
  process.exitCode = 1;
});
