/**
 * The inspection API behind `npm run explain`: attentionSteps returns every intermediate of
 * steps 3–6 (the same numbers scaledDotProductAttention returns), and SelfAttention.projectQKV /
 * mergeHeads reproduce the layer's call() around it.
 */
import * as tf from '@tensorflow/tfjs';

import {attentionSteps, scaledDotProductAttention, selfAttention} from '../../src';
import {expectClose, randomizeWeights} from '../helpers/tensors';
import {matmul, randomMatrix, rng, softmaxRows, transpose} from '../helpers/reference';

describe('attentionSteps', () => {
  const next = rng(5);
  const [q, k, v] = [randomMatrix(3, 4, next), randomMatrix(5, 4, next), randomMatrix(5, 2, next)];

  for (const scale of [undefined, 0.3]) {
    it(`returns scores, scaled scores, weights and output (scale ${scale ?? '1/√dk'})`, () => {
      const before = tf.memory().numTensors;
      const [tq, tk, tv] = [tf.tensor3d([q]), tf.tensor3d([k]), tf.tensor3d([v])];
      const steps = attentionSteps(tq, tk, tv, {scale});
      const used = scale ?? 0.5;
      expect(steps.scale).toBe(used);
      const scores = matmul(q, transpose(k));
      const scaled = scores.map(r => r.map(s => s * used));
      expectClose(steps.scores, scores);
      expectClose(steps.scaled, scaled);
      expectClose(steps.weights, softmaxRows(scaled));
      expectClose(steps.output, matmul(softmaxRows(scaled), v));
      const plain = scaledDotProductAttention(tq, tk, tv, {scale});
      expectClose(steps.output, Array.from(plain.output.dataSync()), 0, 0);
      expectClose(steps.weights, Array.from(plain.weights.dataSync()), 0, 0);
      tf.dispose([tq, tk, tv, steps.scores, steps.scaled, steps.weights, steps.output, plain.output,
                  plain.weights]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('applies the causal mask to the weights only (scores stay raw)', () => {
    const t = tf.tensor3d([q.slice(0, 3)]);
    const steps = attentionSteps(t, t, t, {causal: true});
    expect((steps.weights.arraySync() as number[][][])[0]![0]!.slice(1)).toEqual([0, 0]);
    expectClose(steps.scores, matmul(q.slice(0, 3), transpose(q.slice(0, 3))));
    tf.dispose([t, steps.scores, steps.scaled, steps.weights, steps.output]);
  });
});

describe('SelfAttention.projectQKV and mergeHeads', () => {
  it('reproduce call(): apply() = mergeHeads(attention(projectQKV(x)))', () => {
    const layer = selfAttention({numHeads: 2, keyDim: 3, valueDim: 2, useBias: true,
                                 returnAttentionWeights: true});
    const x = tf.tensor3d([randomMatrix(4, 5, rng(2)), randomMatrix(4, 5, rng(3))]);
    layer.apply(x);
    randomizeWeights(layer, rng(4));
    const before = tf.memory().numTensors;
    const {query, key, value} = layer.projectQKV(x);
    expect([query.shape, key.shape, value.shape]).toEqual([[2, 2, 4, 3], [2, 2, 4, 3], [2, 2, 4, 2]]);
    const steps = attentionSteps(query, key, value);
    const merged = layer.mergeHeads(steps.output);
    const [output, weights] = layer.apply(x) as tf.Tensor[];
    expectClose(merged, Array.from(output!.dataSync()), 0, 0);
    expectClose(steps.weights, Array.from(weights!.dataSync()), 0, 0);
    tf.dispose([query, key, value, steps.scores, steps.scaled, steps.weights, steps.output, merged,
                output!, weights!]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => layer.mergeHeads(tf.zeros([1, 3, 4, 2]))).toThrow(
        /mergeHeads expects \[batch, numHeads=2, timeQ, valueDim=2\]. Received: headsOutput with shape \[1,3,4,2\]/);
    expect(() => layer.projectQKV(tf.zeros([1, 4, 6]))).toThrow(/built for query with 5 features/);
  });

  it('needs a built layer', () => {
    const layer = selfAttention({name: 'fresh'});
    expect(() => layer.projectQKV(tf.zeros([1, 2, 4]))).toThrow(/needs a built layer.*'fresh' not built/);
    expect(() => layer.mergeHeads(tf.zeros([1, 1, 2, 4]))).toThrow(/needs a built layer/);
  });
});
