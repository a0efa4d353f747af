/**
 * Cached decoding on the attention layers (createCache / applyCached, src/layers/
 * attention_cache.ts): a step's rows against the float64 reference and against the full call's
 * rows, on cpu and wasm, on every path and both cache layouts, for causal self-attention,
 * cross-attention, masks and weights; errors that name the argument; no tensor left behind.
 */
import * as tf from '@tensorflow/tfjs';

import {AttentionCache, AttentionPath, CacheLayout, MultiHeadAttention, multiHeadAttention, SelfAttention, selfAttention, SelfAttentionArgs} from '../../src';
import {useBackend} from '../helpers/backends';
import {attentionBatch, randomMatrix, rng} from '../helpers/reference';
import {expectClose, near, randomizeWeights, roundToFloat32} from '../helpers/tensors';

const BACKENDS = ['cpu', 'wasm'];
const PATHS: AttentionPath[] = ['auto', 'standard', 'fast', 'memoryEfficient'];
const LAYOUTS: CacheLayout[] = ['growing', 'preallocated'];
const TOLERANCE = 1e-5;

/** Feeds `x` `[batch, time, features]` to `layer.applyCached` in blocks of `blocks` steps. */
function runInBlocks(layer: SelfAttention|MultiHeadAttention, cache: AttentionCache,
                     x: tf.Tensor, blocks: number[], mask?: tf.Tensor): tf.Tensor[] {
  const outputs: tf.Tensor[] = [];
  let start = 0;
  for (const size of blocks) {
    const [batch, , features] = x.shape as number[];
    const xNew = x.slice([0, start, 0], [batch!, size, features!]);
    const maskNew = mask?.slice([0, start], [batch!, size]);
    const y = layer.applyCached(xNew, cache, maskNew == null ? {} : {mask: maskNew});
    outputs.push(...(Array.isArray(y) ? y : [y]));
    tf.dispose([xNew, ...(maskNew == null ? [] : [maskNew])]);
    start += size;
  }
  return outputs;
}

/** Outputs of every block concatenated along time (weights: keep only each block's). */
function concatOutputs(outputs: tf.Tensor[], every = 1, at = 0): tf.Tensor {
  return tf.concat(outputs.filter((_, i) => i % every === at), 1);
}

describe.each(BACKENDS)('cached decoding on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  interface SelfCase {
    name: string;
    args: SelfAttentionArgs;
    features: number;
    blocks: number[];
  }
  const selfCases: SelfCase[] = [
    {name: 'one head, prompt then single tokens', args: {}, features: 4, blocks: [3, 1, 1, 1]},
    {name: '2 heads, biases, output projection', args: {numHeads: 2, useBias: true},
     features: 6, blocks: [1, 1, 2, 1, 3]},
    {name: 'keyDim ≠ valueDim, outputDim', args: {numHeads: 2, keyDim: 3, valueDim: 5,
                                                  useOutputProjection: true, outputDim: 7},
     features: 4, blocks: [2, 2, 1, 1]},
    {name: 'causal sliding window of 3', args: {numHeads: 2, slidingWindow: 3, useBias: true},
     features: 4, blocks: [4, 1, 1, 2]},
    {name: 'heads concatenated, no projection', args: {numHeads: 3, useOutputProjection: false},
     features: 6, blocks: [1, 1, 1, 1, 1]},
  ];

  describe.each(PATHS)('path %s', path => {
    it.each(selfCases)('$name: every block equals the float64 reference and the full call',
                       ({args, features, blocks}) => {
      const next = rng(7);
      const time = blocks.reduce((a, b) => a + b, 0);
      const batch = 2;
      const layer = selfAttention({...args, causal: true, attentionPath: path});
      layer.apply(tf.zeros([1, 1, features]));
      const weights = randomizeWeights(layer, next);
      const x = roundToFloat32(randomMatrix(batch * time, features, next));
      const input = tf.tensor3d(x.flat(), [batch, time, features]);
      const numHeads = args.numHeads ?? 1;
      const keyDim = args.keyDim ?? features / numHeads;
      const window = args.slidingWindow;
      const queries = [0, 1].map(b => x.slice(b * time, (b + 1) * time));
      const reference = attentionBatch(queries, queries, weights, {
        numHeads, keyDim, valueDim: args.valueDim ?? keyDim, causal: true,
        allowed: window == null ? undefined : queries.map(q => q.map((_, i) => q.map(
            (__, j) => Math.abs(i - j) < window))),
      });
      const full = layer.apply(input) as tf.Tensor;
      expectClose(full, reference.output, TOLERANCE, TOLERANCE);
      for (const layout of LAYOUTS) {
        const before = tf.memory().numTensors;
        const cache = layer.createCache({batchSize: batch, maxLength: time + 2, layout});
        const outputs = runInBlocks(layer, cache, input, blocks);
        const cached = concatOutputs(outputs);
        expect(cached.shape).toEqual(full.shape);
        expectClose(cached, reference.output, TOLERANCE, TOLERANCE);
        near(cached, full, TOLERANCE);
        expect(cache.length).toBe(time);
        tf.dispose([cached, ...outputs]);
        cache.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
      tf.dispose([full, input]);
      layer.dispose();
    });
  });

  it.each(LAYOUTS)('padding masks (%s): rows equal the full call, and padded tokens are ' +
                   'never attended later', layout => {
    const layer = selfAttention({numHeads: 2, causal: true, useBias: true,
                                 kernelInitializer: 'glorotUniform',
                                 biasInitializer: 'randomNormal'});
    const x = tf.randomNormal([2, 6, 4], 0, 1, 'float32', 3);
    const mask = tf.tensor2d([[1, 1, 0, 1, 1, 1], [0, 1, 1, 1, 0, 1]]);
    const full = layer.apply(x, {mask}) as tf.Tensor;
    const decode = (input: tf.Tensor) => {
      const cache = layer.createCache({batchSize: 2, maxLength: 6, layout});
      // The first block carries no padding: the cache starts without a key mask.
      const outputs = runInBlocks(layer, cache, input, [2, 1, 1, 2], mask);
      cache.dispose();
      return concatOutputs(outputs);
    };
    const cached = decode(x);
    near(cached, full, TOLERANCE);
    // Another value at a padded position changes no later row of its sequence.
    const changed = tf.tidy(() => tf.add(x, tf.oneHot(tf.tensor1d([2], 'int32'), 6)
                                                 .reshape([1, 6, 1]).mul(tf.tensor([5, 0]).reshape([2, 1, 1]))));
    const again = decode(changed);
    const [a, b] = [cached, again].map(t => t.slice([0, 3, 0], [1, 3, -1]));
    near(a!, b!, 0);
    tf.dispose([x, mask, full, cached, changed, again, a!, b!]);
  });

  it.each(LAYOUTS)('returnAttentionWeights (%s): the weights over the keys so far', layout => {
    const layer = selfAttention({numHeads: 2, causal: true, returnAttentionWeights: true,
                                 kernelInitializer: 'glorotUniform'});
    const x = tf.randomNormal([1, 5, 4], 0, 1, 'float32', 4);
    const [, fullWeights] = layer.apply(x) as tf.Tensor[];
    const cache = layer.createCache({batchSize: 1, maxLength: 8, layout});
    const outputs = runInBlocks(layer, cache, x, [2, 1, 2]);
    const all = (fullWeights!.arraySync() as number[][][][])[0]!;  // [heads][timeQ][timeK]
    const expectedShapes = [[1, 2, 2, 2], [1, 2, 1, 3], [1, 2, 2, 5]];
    let row = 0;
    outputs.filter((_, i) => i % 2 === 1).forEach((w, block) => {
      expect(w.shape).toEqual(expectedShapes[block]);
      const [, , rows, keys] = w.shape as number[];
      const expected = all.map(head => head.slice(row, row + rows!).map(r => r.slice(0, keys)));
      expectClose(w, expected, TOLERANCE, TOLERANCE);
      row += rows!;
    });
    cache.dispose();
    tf.dispose([x, fullWeights!, ...outputs]);
  });

  it.each([false, true])('cross-attention (causal layer: %s): rows equal the full call, with ' +
                         'the context mask', causal => {
    const layer = selfAttention({numHeads: 2, useBias: true, causal,
                                 kernelInitializer: 'glorotUniform',
                                 biasInitializer: 'randomNormal'});
    const query = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 5);
    const context = tf.randomNormal([2, 7, 6], 0, 1, 'float32', 6);
    const contextMask = tf.tensor2d([[1, 1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 1, 1, 1]]);
    const full = layer.apply([query, context, contextMask]) as tf.Tensor;
    const before = tf.memory().numTensors;
    const cache = layer.createCache({context, contextMask});
    expect(cache.kind).toBe('cross');
    expect(cache.maxLength).toBe(7);
    const outputs = runInBlocks(layer, cache, query, [2, 1, 1, 1]);
    const cached = concatOutputs(outputs);
    near(cached, full, TOLERANCE);
    tf.dispose([cached, ...outputs]);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([query, context, contextMask, full]);
  });

  it.each(LAYOUTS)('no tensor leaks over 200 steps (%s): numTensors flat, and back after ' +
                   'dispose', layout => {
    const layer = selfAttention({numHeads: 2, causal: true, useBias: true});
    const x = tf.randomNormal([3, 1, 8]);
    layer.apply(x);
    const before = tf.memory().numTensors;
    const cache = layer.createCache({batchSize: 3, maxLength: 200, layout});
    const counts: number[] = [];
    const mask = tf.ones([3, 1]);
    for (let t = 0; t < 200; t++) {
      const y = layer.applyCached(x, cache, t % 7 === 3 ? {mask} : {}) as tf.Tensor;
      y.dispose();
      counts.push(tf.memory().numTensors);
    }
    // The key mask appears at the first step with a mask; from then on nothing grows.
    expect(new Set(counts.slice(10)).size).toBe(1);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before + 1);  // the mask
    tf.dispose([x, mask]);
  });

  it('calls inside tf.tidy keep the cache', () => {
    const layer = selfAttention({causal: true});
    const x = tf.randomNormal([1, 2, 4]);
    const full = layer.apply(x) as tf.Tensor;
    const cache = layer.createCache({batchSize: 1, maxLength: 2});
    const first = tf.tidy(() => layer.applyCached(x.slice([0, 0, 0], [1, 1, 4]), cache)) as
        tf.Tensor;
    const second = tf.tidy(() => layer.applyCached(x.slice([0, 1, 0], [1, 1, 4]), cache)) as
        tf.Tensor;
    near(tf.concat([first, second], 1), full, TOLERANCE);
    cache.dispose();
  });

  describe('MultiHeadAttention', () => {
    it.each(LAYOUTS)('causal self-attention (%s), gated, 2-axis output: rows equal the ' +
                     'full call with useCausalMask', layout => {
      const mha = multiHeadAttention({numHeads: 2, keyDim: 3, valueDim: 2, useGate: true,
                                      outputShape: [2, 3], biasInitializer: 'randomNormal'});
      const x = tf.randomNormal([2, 6, 5], 0, 1, 'float32', 8);
      const full = mha.apply([x, x], {useCausalMask: true}) as tf.Tensor;  // [2, 6, 2, 3]
      const before = tf.memory().numTensors;
      const cache = mha.createCache({batchSize: 2, maxLength: 6, layout});
      const outputs = runInBlocks(mha, cache, x, [3, 1, 2]);
      const cached = concatOutputs(outputs);
      expect(cached.shape).toEqual([2, 6, 2, 3]);
      near(cached, full, TOLERANCE);
      tf.dispose([cached, ...outputs]);
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, full]);
    });

    it('sliding window and a padding mask with fullyMaskedRows \'zeros\'', () => {
      const mha = multiHeadAttention({numHeads: 2, keyDim: 4, slidingWindow: 2,
                                      fullyMaskedRows: 'zeros'});
      const x = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 9);
      const mask = tf.tensor2d([[1, 1, 1, 0, 1], [1, 0, 1, 1, 1]]);
      const full = mha.apply(x, {value: x, useCausalMask: true, queryMask: mask, valueMask: mask}) as
          tf.Tensor;
      const cache = mha.createCache({batchSize: 2, maxLength: 5});
      const outputs = runInBlocks(mha, cache, x, [1, 1, 2, 1], mask);
      near(concatOutputs(outputs), full, TOLERANCE);
      cache.dispose();
    });

    it('cross-attention to a context (value = key), with Keras 3\'s rows rule', () => {
      const mha = multiHeadAttention({numHeads: 2, keyDim: 3, biasInitializer: 'randomNormal'});
      const query = tf.randomNormal([2, 4, 5], 0, 1, 'float32', 10);
      const value = tf.randomNormal([2, 6, 3], 0, 1, 'float32', 11);
      // Row 1 of the batch has no real context token: Keras 3 averages the values there.
      const valueMask = tf.tensor2d([[1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]]);
      const full = mha.apply(query, {value, valueMask}) as tf.Tensor;
      const cache = mha.createCache({context: value, contextMask: valueMask});
      const outputs = runInBlocks(mha, cache, query, [1, 3]);
      near(concatOutputs(outputs), full, TOLERANCE);
      cache.dispose();
    });
  });
});

describe('cached decoding: errors name the argument and the value', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  const built = (args: SelfAttentionArgs = {causal: true}, features = 4) => {
    const layer = selfAttention(args);
    layer.apply(tf.zeros([1, 1, features]));
    return layer;
  };

  it('past maxLength, with the counts', () => {
    const layer = built();
    const cache = layer.createCache({batchSize: 1, maxLength: 3});
    layer.applyCached(tf.zeros([1, 2, 4]), cache);
    const before = tf.memory().numTensors;
    expect(() => layer.applyCached(tf.zeros([1, 2, 4]), cache))
        .toThrow(/maxLength=3 positions, 2 are filled, and xNew adds 2. Received: xNew with shape \[1,2,4\]/);
    expect(cache.length).toBe(2);
    expect(tf.memory().numTensors).toBe(before + 1);  // only the zeros passed in
  });

  it('wrong batch, wrong features, not a tensor, bad mask', () => {
    const layer = built();
    const cache = layer.createCache({batchSize: 2, maxLength: 3});
    expect(() => layer.applyCached(tf.zeros([3, 1, 4]), cache))
        .toThrow(/batchSize=2 rows. Received: xNew with shape \[3,1,4\]/);
    expect(() => layer.applyCached(tf.zeros([2, 1, 5]), cache))
        .toThrow(/xNew must have 4 features .* Received: xNew with shape \[2,1,5\]/);
    expect(() => layer.applyCached(tf.zeros([2, 4]), cache))
        .toThrow(/xNew must be a float32 tensor \[batch, tNew, 4\]. Received: xNew=a tensor of shape \[2,4\]/);
    expect(() => layer.applyCached([[1]] as unknown as tf.Tensor, cache))
        .toThrow(/xNew must be a tf.Tensor .*plain array/);
    expect(() => layer.applyCached(tf.zeros([2, 1, 4]), cache, {mask: tf.ones([2, 2])}))
        .toThrow(/mask must have shape \[batch, tNew\] = \[2, 1\]. Received: mask with shape \[2,2\]/);
    expect(() => layer.applyCached(tf.zeros([2, 1, 4]), cache,
                                   {queryMask: tf.ones([2, 1])} as never))
        .toThrow(/unknown argument 'queryMask'/);
    expect(cache.length).toBe(0);
  });

  it('a disposed cache, another layer\'s cache, something else as cache', () => {
    const layer = built();
    const other = built();
    const cache = layer.createCache({batchSize: 1, maxLength: 3});
    expect(() => other.applyCached(tf.zeros([1, 1, 4]), cache))
        .toThrow(new RegExp(`cache was made by layer '${layer.name}', not by '${other.name}'`));
    cache.dispose();
    cache.dispose();  // twice is fine
    expect(cache.isDisposed).toBe(true);
    expect(() => layer.applyCached(tf.zeros([1, 1, 4]), cache))
        .toThrow(/cache was disposed; create a new one with createCache\(\). Received: a disposed cache/);
    expect(() => layer.applyCached(tf.zeros([1, 1, 4]), {} as AttentionCache))
        .toThrow(/cache must be an AttentionCache .* Received: cache=\{\}/);
  });

  it('createCache: a non-causal layer, an unbuilt layer, bad or mixed arguments', () => {
    expect(() => built({}).createCache({batchSize: 1, maxLength: 3}))
        .toThrow(/needs a causal self-attention layer .* Received: layer '.*' with causal=false/);
    expect(() => selfAttention({causal: true}).createCache({batchSize: 1, maxLength: 3}))
        .toThrow(/SelfAttention.createCache needs a built layer/);
    const layer = built();
    expect(() => layer.createCache({batchSize: 0, maxLength: 3}))
        .toThrow(/batchSize must be a positive integer. Received: batchSize=0/);
    expect(() => layer.createCache({batchSize: 1} as never))
        .toThrow(/maxLength must be a positive integer \(it is required\)/);
    expect(() => layer.createCache({batchSize: 1, maxLen: 3} as never))
        .toThrow(/unknown argument 'maxLen'. Did you mean 'maxLength'\?/);
    expect(() => layer.createCache({batchSize: 1, maxLength: 3, layout: 'ring'} as never))
        .toThrow(/layout must be 'growing' or 'preallocated'. Received: layout="ring"/);
    expect(() => layer.createCache({context: tf.zeros([1, 2, 4]), batchSize: 1} as never))
        .toThrow(/for a cross-attention cache, not both/);
    expect(() => layer.createCache({context: tf.zeros([1, 2, 5])}))
        .toThrow(/context must be a float32 tensor \[batch, timeK, 4\] .* Received: context=a tensor of shape \[1,2,5\]/);
    expect(() => layer.createCache({context: tf.zeros([1, 2, 4]), contextMask: tf.ones([1, 3])}))
        .toThrow(/contextMask must have shape \[batch, timeK\] = \[1, 2\]. Received: contextMask with shape \[1,3\]/);
  });

  it('MultiHeadAttention: a padding mask on a self-attention cache needs fullyMaskedRows \'zeros\'', () => {
    const mha = multiHeadAttention({numHeads: 1, keyDim: 2});
    mha.apply([tf.zeros([1, 1, 2]), tf.zeros([1, 1, 2])]);
    const cache = mha.createCache({batchSize: 1, maxLength: 2});
    expect(() => mha.applyCached(tf.zeros([1, 1, 2]), cache, {mask: tf.ones([1, 1])}))
        .toThrow(/needs fullyMaskedRows: 'zeros' .* Received: fullyMaskedRows='keras3'/);
    const cross = multiHeadAttention({numHeads: 1, keyDim: 2});
    cross.apply([tf.zeros([1, 1, 2]), tf.zeros([1, 3, 5])]);
    expect(() => cross.createCache({batchSize: 1, maxLength: 2}))
        .toThrow(/needs query, value and key of the same size. Received: .* query 2, value 5, key 5/);
  });
});
