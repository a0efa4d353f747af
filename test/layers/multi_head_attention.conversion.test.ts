/**
 * SelfAttention ⇄ MultiHeadAttention: each conversion gives a layer with the same outputs (and
 * attention weights), and converting back gives the same weights bit for bit.
 */
import * as tf from '@tensorflow/tfjs';

import {MultiHeadAttention, multiHeadAttention, MultiHeadAttentionArgs, multiHeadAttentionFromSelfAttention, SelfAttention, selfAttention, SelfAttentionArgs, selfAttentionFromMultiHeadAttention} from '../../src';
import {expectClose} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Random weights (the layers start from the identity / glorot; this makes every number count). */
function randomize(layer: tf.layers.Layer, seed: number): void {
  tf.tidy(() => layer.setWeights(layer.weights.map((w, i) =>
      tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', seed + i))));
}

function exactlyEqual(a: tf.Tensor[], b: tf.Tensor[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    expect(x.shape).toEqual(b[i]!.shape);
    expect(Array.from(x.dataSync())).toEqual(Array.from(b[i]!.dataSync()));
  });
}

const saCases: Array<[string, SelfAttentionArgs, boolean]> = [
  ['one head, no projection, no biases', {}, false],
  ['two heads, projection, biases, causal, sliding window',
   {numHeads: 2, useBias: true, causal: true, slidingWindow: 2}, false],
  ['three heads, keyDim 2, valueDim 3, outputDim 5, cross-attention',
   {numHeads: 3, keyDim: 2, valueDim: 3, outputDim: 5, useBias: true}, true],
  ['two heads without projection, with biases', {numHeads: 2, useOutputProjection: false, useBias: true}, true],
];

describe('multiHeadAttentionFromSelfAttention', () => {
  it.each(saCases)('%s: same outputs and weights, and back again', (_name, args, cross) => {
    const sa = selfAttention({...args, returnAttentionWeights: true});
    const q = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 1);
    const c = tf.randomNormal([2, 5, 6], 0, 1, 'float32', 2);
    const inputs = cross ? [q, c] : q;
    tf.dispose(sa.apply(inputs) as tf.Tensor[]);
    randomize(sa, 10);
    const mha = multiHeadAttentionFromSelfAttention(sa, {name: 'converted'});
    expect(mha).toBeInstanceOf(MultiHeadAttention);
    expect(mha.weights[0]!.originalName).toBe('converted/query/kernel');
    expect(mha.fullyMaskedRows).toBe('zeros');
    const [o1, w1] = sa.apply(inputs) as tf.Tensor[];
    const [o2, w2] = mha.apply(inputs) as tf.Tensor[];
    expectClose(o2!, o1!.arraySync(), 1e-6, 1e-6);
    expectClose(w2!, w1!.arraySync(), 1e-7, 1e-6);
    // Masks: a padding mask on self-attention, one sequence with every key masked.
    if (!cross) {
      const mask = tf.tensor2d([[1, 1, 0, 0], [0, 0, 0, 0]], undefined, 'bool');
      const [m1] = sa.apply(q, {mask}) as tf.Tensor[];
      const [m2] = mha.apply(q, {mask}) as tf.Tensor[];
      expectClose(m2!, m1!.arraySync(), 1e-6, 1e-6);
    }
    const back = selfAttentionFromMultiHeadAttention(mha);
    const projected = sa.weights.some(w => w.originalName.endsWith('output_kernel'));
    if (projected) {
      exactlyEqual(back.getWeights(), sa.getWeights());
    } else {
      // The way back keeps the identity projection (and zero bias) that stood in for none.
      const names = back.weights.map(w => w.originalName.split('/').pop()!);
      const kept = back.getWeights().filter((_, i) => !names[i]!.startsWith('output_'));
      exactlyEqual(kept, sa.getWeights());
      const wo = back.getWeights()[names.indexOf('output_kernel')]!;
      exactlyEqual([wo], [tf.eye(wo.shape[0]!)]);
    }
    const [o3] = back.apply(inputs) as tf.Tensor[];
    expectClose(o3!, o1!.arraySync(), 1e-6, 1e-6);
  });

  it("an unbuilt layer is refused, naming it; the source layer's weights stay its own", () => {
    expect(() => multiHeadAttentionFromSelfAttention(selfAttention({name: 'fresh'})))
        .toThrow(/multiHeadAttentionFromSelfAttention needs a built layer.*Received: layer 'fresh' not built/);
    const sa = selfAttention({numHeads: 2});
    tf.dispose(sa.apply(tf.zeros([1, 2, 4])) as tf.Tensor);
    const mha = multiHeadAttentionFromSelfAttention(sa);
    tf.tidy(() => mha.setWeights(mha.weights.map(w => tf.zeros(w.shape as number[]))));
    expect(sa.getWeights()[0]!.dataSync()[0]).toBe(1);  // still the identity
  });
});

const mhaCases: Array<[string, MultiHeadAttentionArgs, 'self'|'cross']> = [
  ['self-attention, two heads, biases, sliding window', {numHeads: 2, keyDim: 3, slidingWindow: 3},
   'self'],
  ['cross, valueDim 4, outputShape 5, no biases, causal, dropout',
   {numHeads: 3, keyDim: 2, valueDim: 4, outputShape: 5, useBias: false, useCausalMask: true,
    dropout: 0.2}, 'cross'],
  ['regularizers and constraints', {numHeads: 1, keyDim: 4, kernelRegularizer: 'l2',
                                    biasConstraint: 'nonNeg', outputShape: [3]}, 'self'],
];

describe('selfAttentionFromMultiHeadAttention', () => {
  it.each(mhaCases)('%s: same outputs and weights, and back again', (_name, args, kind) => {
    const mha = multiHeadAttention({...args, returnAttentionScores: true});
    const q = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 3);
    const c = tf.randomNormal([2, 5, 7], 0, 1, 'float32', 4);
    const inputs = kind === 'cross' ? [q, c] : q;
    tf.dispose(mha.apply(inputs) as tf.Tensor[]);
    randomize(mha, 20);
    const sa = selfAttentionFromMultiHeadAttention(mha);
    expect(sa).toBeInstanceOf(SelfAttention);
    const [o1, w1] = mha.apply(inputs) as tf.Tensor[];
    const [o2, w2] = sa.apply(inputs) as tf.Tensor[];
    expectClose(o2!, o1!.arraySync(), 1e-6, 1e-6);
    expectClose(w2!, w1!.arraySync(), 1e-7, 1e-6);
    const back = multiHeadAttentionFromSelfAttention(sa);
    exactlyEqual(back.getWeights(), mha.getWeights());
    expect(sa.getConfig()['kernelRegularizer']).toEqual(mha.getConfig()['kernelRegularizer']);
  });

  it.each([
    [{useGate: true}, /SelfAttention has no gate\. Received: layer 'refused' with \{"useGate":true\}/],
    [{outputShape: [2, 3]}, /no output shape of several axes\. Received: .*\{"outputShape":\[2,3\]\}/],
    [{activityRegularizer: 'l2'}, /no activity regularizer/],
    [{dropout: 0.1, seed: 3}, /no dropout seed\. Received: .*\{"seed":3,"dropout":0\.1\}/],
  ] as Array<[Partial<MultiHeadAttentionArgs>, RegExp]>)('%j is refused, naming it', (args, message) => {
    const mha = multiHeadAttention({numHeads: 2, keyDim: 2, name: 'refused', ...args});
    tf.dispose(mha.apply(tf.zeros([1, 3, 4])) as tf.Tensor);
    expect(() => selfAttentionFromMultiHeadAttention(mha)).toThrow(message);
  });

  it('a key with other features than the value is refused', () => {
    const mha = multiHeadAttention({numHeads: 1, keyDim: 2, name: 'kv'});
    tf.dispose(mha.apply([tf.zeros([1, 3, 4]), tf.zeros([1, 2, 5]), tf.zeros([1, 2, 6])]) as tf.Tensor);
    expect(() => selfAttentionFromMultiHeadAttention(mha))
        .toThrow(/no separate key and value inputs.*\{"keyFeatures":6,"valueFeatures":5\}/);
  });
});
