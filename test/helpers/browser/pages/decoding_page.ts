/**
 * Runs in the test page (bundled by the harness): cached decoding on one backend and path,
 * through the package's browser build. Each case decodes in blocks and reports how far the
 * cached rows are from the float64 reference (where there is one) and from the full call, as
 * max |a − e| / (1 + |e|), how large they are, and the tensors left behind. Values are read
 * with `await data()` (WebGPU's synchronous read-back is not reliable in a headless browser).
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

import {AttentionCache, AttentionPath, CacheLayout, decoderBlock, encoderBlock, layerNorm, MultiHeadAttention, multiHeadAttention, positionalEmbedding, SelfAttention, selfAttention, startDecoding, tokenEmbedding, useBestBackend} from '../../../../src';
import {attentionBatch, Matrix, randomMatrix, rng} from '../../reference';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

/** One case's result. */
export interface DecodingCase {
  name: string;
  /** Against the float64 reference; null where the case has none. */
  reference: number|null;
  /** Against the same layer's (model's) full call on this backend. */
  full: number;
  /** max |cached output|: an output of zeros would match a full call of zeros. */
  magnitude: number;
  leakedTensors: number;
}

/** max |a − e| / (1 + |e|). */
function distance(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    return Infinity;
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!));
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst;
}

/** max |a|. */
function magnitude(values: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    worst = Math.max(worst, Math.abs(values[i]!));
  }
  return worst;
}

function blocksOf(layer: SelfAttention|MultiHeadAttention, cache: AttentionCache, x: tf.Tensor,
                  blocks: number[]): tf.Tensor {
  const outputs: tf.Tensor[] = [];
  let start = 0;
  for (const size of blocks) {
    const xNew = x.slice([0, start, 0], [-1, size, -1]);
    outputs.push(layer.applyCached(xNew, cache) as tf.Tensor);
    xNew.dispose();
    start += size;
  }
  const all = tf.concat(outputs, 1);
  tf.dispose(outputs);
  return all;
}

function randomWeights(layer: tf.layers.Layer, next: () => number): Matrix[] {
  const values = layer.weights.map(w => {
    const shape = w.shape as number[];
    return randomMatrix(shape.length === 2 ? shape[0]! : 1, shape[shape.length - 1]!, next, 0.5)
        .map(row => Array.from(Float32Array.from(row)));
  });
  tf.tidy(() => layer.setWeights(layer.weights.map((w, i) => tf.tensor(values[i]!.flat(),
                                                                       w.shape as number[]))));
  return values;
}

/** Self-attention cases against the reference and the full call, both layouts. */
async function selfCases(path: AttentionPath): Promise<DecodingCase[]> {
  const results: DecodingCase[] = [];
  const configs = [
    {name: '2 heads, biases', window: undefined as number|undefined},
    {name: 'causal sliding window 3', window: 3},
  ];
  for (const {name, window} of configs) {
    for (const layout of ['growing', 'preallocated'] as CacheLayout[]) {
      const next = rng(11);
      const [batch, time, features, heads] = [2, 7, 6, 2];
      const layer = selfAttention({numHeads: heads, useBias: true, causal: true,
                                   attentionPath: path, ...(window == null ? {} : {slidingWindow: window})});
      tf.tidy(() => void layer.apply(tf.zeros([1, 1, features])));
      const w = randomWeights(layer, next);
      // Tensors are counted from here: building a layer leaves one of tfjs's own behind.
      const before = tf.memory().numTensors;
      const byName = Object.fromEntries(layer.weights.map((v, i) => [v.originalName.split('/').pop()!, w[i]!]));
      const x = randomMatrix(batch * time, features, next).map(r => Array.from(Float32Array.from(r)));
      const queries = [0, 1].map(b => x.slice(b * time, (b + 1) * time));
      const reference = attentionBatch(queries, queries, {
        wq: byName['query_kernel']!, wk: byName['key_kernel']!, wv: byName['value_kernel']!,
        bq: byName['query_bias']![0], bk: byName['key_bias']![0], bv: byName['value_bias']![0],
        wo: byName['output_kernel'], bo: byName['output_bias']![0],
      }, {numHeads: heads, keyDim: features / heads, valueDim: features / heads, causal: true,
          allowed: window == null ? undefined :
              queries.map(q => q.map((_, i) => q.map((__, j) => Math.abs(i - j) < window)))});
      const input = tf.tensor3d(x.flat(), [batch, time, features]);
      const full = layer.apply(input) as tf.Tensor;
      const cache = layer.createCache({batchSize: batch, maxLength: 9, layout});
      const cached = blocksOf(layer, cache, input, [3, 1, 1, 2]);
      const values = await cached.data();
      results.push({name: `SelfAttention ${name} (${layout})`,
                    reference: distance(values, reference.output.flat(2)),
                    full: distance(values, await full.data()), magnitude: magnitude(values),
                    leakedTensors: 0});
      cache.dispose();
      tf.dispose([input, full, cached]);
      results[results.length - 1]!.leakedTensors = tf.memory().numTensors - before;
      layer.dispose();
    }
  }
  return results;
}

async function crossAndMhaCases(path: AttentionPath): Promise<DecodingCase[]> {
  const results: DecodingCase[] = [];
  {
    const layer = selfAttention({numHeads: 2, useBias: true, attentionPath: path,
                                 kernelInitializer: 'glorotUniform', biasInitializer: 'randomNormal'});
    const query = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 1);
    const context = tf.randomNormal([2, 6, 6], 0, 1, 'float32', 2);
    const contextMask = tf.tensor2d([[1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 1, 1]]);
    const full = layer.apply([query, context, contextMask]) as tf.Tensor;
    const before = tf.memory().numTensors;
    const cache = layer.createCache({context, contextMask});
    const cached = blocksOf(layer, cache, query, [2, 1, 2]);
    const values = await cached.data();
    results.push({name: 'SelfAttention cross-attention with a context mask', reference: null,
                  full: distance(values, await full.data()), magnitude: magnitude(values),
                  leakedTensors: 0});
    cache.dispose();
    cached.dispose();
    results[results.length - 1]!.leakedTensors = tf.memory().numTensors - before;
    tf.dispose([query, context, contextMask, full]);
    layer.dispose();
  }
  for (const layout of ['growing', 'preallocated'] as CacheLayout[]) {
    const mha = multiHeadAttention({numHeads: 2, keyDim: 3, useGate: true, attentionPath: path,
                                    biasInitializer: 'randomNormal'});
    const x = tf.randomNormal([2, 6, 5], 0, 1, 'float32', 3);
    const full = mha.apply(x, {value: x, useCausalMask: true}) as tf.Tensor;
    const before = tf.memory().numTensors;
    const cache = mha.createCache({batchSize: 2, maxLength: 6, layout});
    const cached = blocksOf(mha, cache, x, [3, 1, 2]);
    const values = await cached.data();
    results.push({name: `MultiHeadAttention causal, gated (${layout})`, reference: null,
                  full: distance(values, await full.data()), magnitude: magnitude(values),
                  leakedTensors: 0});
    cache.dispose();
    cached.dispose();
    results[results.length - 1]!.leakedTensors = tf.memory().numTensors - before;
    tf.dispose([x, full]);
    mha.dispose();
  }
  return results;
}

/** An encoder–decoder of the blocks, decoded by a session, against model.predict. */
async function sessionCase(): Promise<DecodingCase> {
  const V = 13;
  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: 'encoder_ids'});
  const encoderMask = tf.input({shape: [null], name: 'encoder_mask'});
  const decoderIds = tf.input({shape: [null], dtype: 'int32', name: 'decoder_ids'});
  let x = tokenEmbedding({vocabSize: V, outputDim: 8}).apply(encoderIds) as tf.SymbolicTensor;
  x = encoderBlock(x, encoderMask, {numHeads: 2, ffDim: 16});
  let y = tokenEmbedding({vocabSize: V, outputDim: 8}).apply(decoderIds) as tf.SymbolicTensor;
  y = positionalEmbedding({maxLength: 10}).apply(y) as tf.SymbolicTensor;
  y = decoderBlock(y, x, encoderMask, {numHeads: 2, ffDim: 16});
  y = layerNorm({}).apply(y) as tf.SymbolicTensor;
  const model = tf.model({inputs: [encoderIds, encoderMask, decoderIds],
                          outputs: tf.layers.dense({units: V}).apply(y) as tf.SymbolicTensor});
  const ids = tf.tensor2d([[3, 4, 5, 0], [7, 8, 9, 10]], undefined, 'int32');
  const mask = tf.tensor2d([[1, 1, 1, 0], [1, 1, 1, 1]]);
  const tokens = tf.tensor2d([[1, 5, 2, 9, 4], [1, 12, 11, 3, 6]], undefined, 'int32');
  const full = model.predict([ids, mask, tokens]) as tf.Tensor;
  const before = tf.memory().numTensors;
  const session = startDecoding(model, {maxLength: 5, inputs: {encoder_ids: ids, encoder_mask: mask}});
  const parts = [0, 2, 3, 4].map((start, i, all) => {
    const block = tokens.slice([0, start], [-1, (all[i + 1] ?? 5) - start]);
    const out = session.step(block) as tf.Tensor;
    block.dispose();
    return out;
  });
  session.dispose();
  const cached = tf.concat(parts, 1);
  const values = await cached.data();
  const result = {name: 'decoding session of an encoder–decoder', reference: null,
                  full: distance(values, await full.data()), magnitude: magnitude(values),
                  leakedTensors: 0};
  tf.dispose([...parts, cached]);
  result.leakedTensors = tf.memory().numTensors - before;
  tf.dispose([ids, mask, tokens, full]);
  model.dispose();
  return result;
}

/** Every case on `key` ('wasm', 'webgl', 'webgpu') with the layers' `path`. */
export async function runOn(key: string, path: AttentionPath) {
  const choice = await useBestBackend({order: [key]});
  const cases = [...await selfCases(path), ...await crossAndMhaCases(path),
                 ...(path === 'auto' ? [await sessionCase()] : [])];
  return {backend: choice.backend, cases};
}
