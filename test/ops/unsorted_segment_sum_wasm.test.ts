/**
 * The package's UnsortedSegmentSum kernel for wasm against the cpu backend's: the op itself
 * (repeated ids, ids out of range, several inner dimensions, int32), the gradient of tf.gather,
 * and the usual tf.layers.embedding → selfAttention model trained with fit on wasm, whose
 * weights must end where the same training on cpu ends.
 */
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';

import {selfAttention} from '../../src';
import {registerWasmUnsortedSegmentSum} from '../../src/ops/unsorted_segment_sum_wasm';
import {expectClose} from '../helpers/tensors';

beforeAll(async () => {
  wasm.setWasmPaths(
      path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) +
      path.sep);
  await tf.setBackend('wasm');
});

/** Runs `f` on `backend`, returning its result as plain values and dtype (tensors disposed). */
async function on(backend: string, f: () => tf.Tensor):
    Promise<Array<{values: number[], shape: number[], dtype: tf.DataType}>> {
  await tf.setBackend(backend);
  const list = [tf.tidy(f)];
  const result = list.map(
      t => (
          {values: Array.from(t.dataSync() as ArrayLike<number>), shape: t.shape, dtype: t.dtype}));
  tf.dispose(list);
  await tf.setBackend('wasm');
  return result;
}

it('is registered for wasm by importing the package, once', () => {
  expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  expect(registerWasmUnsortedSegmentSum()).toBe(false);  // already there: nothing replaced
});

describe('tf.unsortedSegmentSum on wasm equals cpu', () => {
  const cases: Array<{name: string, x: () => tf.Tensor, ids: number[], numSegments: number}> = [
    {
      name: '1-D, repeated ids',
      x: () => tf.tensor1d([1, 2, 3, 4, 5, 6]),
      ids: [2, 0, 2, 1, 0, 2],
      numSegments: 3
    },
    {
      name: 'rows of 4, an empty segment',
      x: () => tf.randomNormal([5, 4], 0, 1, 'float32', 7),
      ids: [0, 3, 3, 0, 1],
      numSegments: 5
    },
    {
      name: '[6, 2, 3], ids out of range add nothing',
      x: () => tf.randomNormal([6, 2, 3], 0, 1, 'float32', 8),
      ids: [1, -1, 0, 4, 1, 3],
      numSegments: 4
    },
    {
      name: 'int32 values',
      x: () => tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'),
      ids: [1, 1, 0],
      numSegments: 2
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const run = () => tf.unsortedSegmentSum(c.x(), tf.tensor1d(c.ids, 'int32'), c.numSegments);
      const before = tf.memory().numTensors;
      const [ours] = await on('wasm', run);
      const [cpu] = await on('cpu', run);
      expect(ours!.shape).toEqual(cpu!.shape);
      // Integer sums stay int32, as tf.sum and the webgl kernel give them (cpu's is float32).
      expect(ours!.dtype).toBe(c.name.startsWith('int32') ? 'int32' : cpu!.dtype);
      expectClose(ours!.values, cpu!.values, 1e-6, 1e-6);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a shape mismatch is an error that names both shapes', () => {
    const x = tf.zeros([3, 2]);
    const ids = tf.tensor2d([[0, 1]], [1, 2], 'int32');
    expect(
        () => tf.engine().runKernel('UnsortedSegmentSum', {x, segmentIds: ids}, {numSegments: 2}))
        .toThrow(
            /segmentIds' shape must be a prefix of x's. Received: x \[3,2\], segmentIds \[1,2\]/);
    tf.dispose([x, ids]);
  });
});

it('the gradient of tf.gather on wasm equals cpu', async () => {
  const grad = () => {
    const table = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
    const ids = tf.tensor2d([[1, 3, 3], [6, 0, 1]], [2, 3], 'int32');
    const weights = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 4);
    return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
  };
  const [ours] = await on('wasm', grad);
  const [cpu] = await on('cpu', grad);
  expect(ours!.shape).toEqual([7, 5]);
  expectClose(ours!.values, cpu!.values, 1e-6, 1e-6);
});

it('the usual embedding → selfAttention model trains with fit on wasm as on cpu', async () => {
  const train = async (backend: string) => {
    await tf.setBackend(backend);
    const input = tf.input({shape: [6], dtype: 'int32'});
    const embedded = tf.layers
                         .embedding({
                           inputDim: 12,
                           outputDim: 8,
                           embeddingsInitializer: tf.initializers.randomNormal({seed: 1})
                         })
                         .apply(input) as tf.SymbolicTensor;
    const attended = selfAttention({numHeads: 2}).apply(embedded) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling1d().apply(attended) as tf.SymbolicTensor;
    const output =
        tf.layers.dense({units: 1, kernelInitializer: tf.initializers.glorotUniform({seed: 2})})
            .apply(pooled) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: output});
    const optimizer = tf.train.sgd(0.1);
    model.compile({optimizer, loss: 'meanSquaredError'});
    const xs = tf.tensor2d(
        [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [0, 0, 7, 7, 11, 11], [9, 8, 9, 8, 9, 8]], [4, 6],
        'int32');
    const ys = tf.tensor2d([[1], [0], [1], [0]]);
    const history = await model.fit(xs, ys, {epochs: 5, batchSize: 4, shuffle: false, verbose: 0});
    const weights = model.getWeights().map(w => Array.from(w.dataSync()));
    tf.dispose([xs, ys]);
    model.dispose();
    optimizer.dispose();
    return {loss: history.history['loss'] as number[], weights};
  };
  const before = tf.memory().numTensors;
  const ours = await train('wasm');
  expect(tf.memory().numTensors).toBe(before);
  const cpu = await train('cpu');
  await tf.setBackend('wasm');
  expect(ours.loss[ours.loss.length - 1]!).toBeLessThan(ours.loss[0]!);
  expectClose(ours.loss, cpu.loss, 1e-5, 1e-4);
  expect(ours.weights.length).toBe(cpu.weights.length);
  ours.weights.forEach((w, i) => expectClose(w, cpu.weights[i]!, 1e-5, 1e-4));
});
