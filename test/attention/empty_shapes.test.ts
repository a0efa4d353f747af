/**
 * Empty shapes: batch 0, timeQ 0 or timeK 0 on every path and on the layer, on cpu and wasm.
 * The result is what the standard formula gives: an empty output, or with timeK = 0 zeros (every
 * query row has no key, like a fully masked row); gradients of the inputs' shapes, all zero. No
 * size-0 kernel may run: tfjs-backend-wasm 4.22 fails on them (a size-0 `tf.where` corrupts its
 * heap, after which every op in the process fails), so each case ends by checking that the
 * backend still computes attention correctly.
 */
import * as tf from '@tensorflow/tfjs';

import {attention, attentionSteps, fastCpuAttention, memoryEfficientAttention, PathOptions, PathResult, scaledDotProductAttention, selfAttention} from '../../src';
import {useBackend} from '../helpers/backends';
import {expectClose} from '../helpers/tensors';

type Run = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: PathOptions) => PathResult;
const PATHS: Array<[string, Run]> = [
  ['standard', scaledDotProductAttention],
  ['fast', fastCpuAttention],
  ['memoryEfficient', (q, k, v, o) => memoryEfficientAttention(q, k, v, {...o, blockSize: 2})],
  ['attention() with a queryMask', (q, k, v, o) => attention(q, k, v, {
     ...o, queryMask: tf.ones([q.shape[0]!, q.shape[q.rank - 2]!])})],
];

/** [lead, timeQ, timeK] of each empty case. */
const SHAPES: Array<[string, number[], number, number]> = [
  ['batch 0, rank 4', [0, 2], 3, 4],
  ['batch 0, rank 3', [0], 3, 4],
  ['timeQ 0', [2, 2], 0, 4],
  ['timeK 0', [2, 2], 3, 0],
  ['timeK 0, rank 3', [2], 3, 0],
  ['all 0', [0, 2], 0, 0],
];


/** The backend still works: a small attention against hand-computed numbers. */
function expectBackendWorks(): void {
  tf.tidy(() => {
    // One query, two keys with scores 0 and ln 3: weights 1/4, 3/4.
    const q = tf.tensor3d([[[1]]]);
    const k = tf.tensor3d([[[0], [Math.log(3)]]]);
    const v = tf.tensor3d([[[4, 0], [0, 8]]]);
    const {output, weights} = scaledDotProductAttention(q, k, v, {scale: 1});
    expectClose(weights, [[[0.25, 0.75]]], 1e-6, 1e-6);
    expectClose(output, [[[1, 6]]], 1e-5, 1e-6);
    expectClose(tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])).sum(), 512, 0, 0);
  });
}

describe.each(['cpu', 'wasm'])('on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(PATHS)('%s path', (_name, run) => {
    it.each(SHAPES)('%s: the standard formula\'s result, zero gradients, nothing leaks', (_n, lead, timeQ, timeK) => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const q = tf.ones([...lead, timeQ, 3]);
        const k = tf.ones([...lead, timeK, 3]);
        const v = tf.ones([...lead, timeK, 5]);
        const mask = tf.ones([lead[0]!, ...lead.slice(1).map(() => 1), 1, timeK], 'bool');
        for (const options of [{}, {mask, causal: true}, {mask, slidingWindow: 2}]) {
          const {output, weights} = run(q, k, v, options);
          expect(output.shape).toEqual([...lead, timeQ, 5]);
          expect(weights!.shape).toEqual([...lead, timeQ, timeK]);
          expect(Array.from(output.dataSync()).every(x => x === 0)).toBe(true);
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
              tf.sum(run(a, b, c, {...options, needWeights: false}).output))([q, k, v]);
          grads.forEach((g, i) => {
            expect(g.shape).toEqual([q, k, v][i]!.shape);
            expect(Array.from(g.dataSync()).every(x => x === 0)).toBe(true);
          });
        }
      });
      expect(tf.memory().numTensors).toBe(before);
      expectBackendWorks();
    });
  });

  it.each(SHAPES)('attentionSteps, %s: every step has its shape', (_n, lead, timeQ, timeK) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const steps = attentionSteps(tf.ones([...lead, timeQ, 3]), tf.ones([...lead, timeK, 3]),
                                   tf.ones([...lead, timeK, 5]));
      for (const t of [steps.scores, steps.scaled, steps.weights]) {
        expect(t.shape).toEqual([...lead, timeQ, timeK]);
      }
      expect(steps.output.shape).toEqual([...lead, timeQ, 5]);
    });
    expect(tf.memory().numTensors).toBe(before);
    expectBackendWorks();
  });

  it.each(['standard', 'fast', 'memoryEfficient'] as const)(
      'the layer on the %s path: empty batches and sequences, padded or not', attentionPath => {
        const layer = selfAttention({numHeads: 2, useBias: true, causal: true, attentionPath,
                                     returnAttentionWeights: attentionPath === 'standard'});
        layer.apply([tf.zeros([1, 2, 4]), tf.zeros([1, 2, 6])]);
        layer.setWeights(layer.getWeights().map(w => tf.onesLike(w)));
        const before = tf.memory().numTensors;
        for (const [batch, timeQ, timeK] of [[0, 3, 4], [2, 0, 4], [2, 3, 0], [0, 0, 0]] as const) {
          tf.tidy(() => {
            const query = tf.ones([batch, timeQ, 4]);
            const context = tf.ones([batch, timeK, 6]);
            for (const mask of [undefined, [tf.ones([batch, timeQ]), tf.ones([batch, timeK])]]) {
              const out = [layer.apply([query, context], {mask} as never) as tf.Tensor|tf.Tensor[]].flat();
              expect(out[0]!.shape).toEqual([batch, timeQ, 4]);
              // timeK 0: every row has no key, so the heads give 0 and W_o adds its bias (1).
              expect(Array.from(out[0]!.dataSync()).every(x => x === 1)).toBe(true);
              if (attentionPath === 'standard') {
                expect(out[1]!.shape).toEqual([batch, 2, timeQ, timeK]);
              }
            }
            const vars = layer.trainableWeights.map(w => w.read() as tf.Variable);
            const {grads} = tf.variableGrads(() => tf.sum(
                [layer.apply([query, context], {training: true} as never) as tf.Tensor|tf.Tensor[]].flat()[0]!) as tf.Scalar, vars);
            for (const v of vars) {
              expect(grads[v.name]!.shape).toEqual(v.shape);
            }
          });
        }
        expect(tf.memory().numTensors).toBe(before);
        expectBackendWorks();
        layer.dispose();
      });
});
