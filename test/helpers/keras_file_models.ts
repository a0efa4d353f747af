/**
 * Small tfjs models for the `.keras` tests and for scripts/keras/save_fixtures.ts, which saves
 * them with saveKerasModel for Keras to load (scripts/keras/keras_files.py check). Each builder
 * gives the same model and weights every time (weights drawn from a seeded generator), and an
 * input to predict on, so a test can rebuild a committed file and compare bytes.
 */
import * as tf from '@tensorflow/tfjs';

import {KerasGlobalAveragePooling1D, multiHeadAttention, selfAttention, tokenEmbedding, layerNorm} from '../../src';
import {rng} from './reference';

export interface TestModel {
  model: tf.LayersModel;
  /** One input per model input, with a batch of 3. */
  inputs: tf.Tensor[];
}

/** Gives every weight a deterministic value: N(0, 0.3)-ish, scales around 1, variances > 0. */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  const next = rng(seed);
  const normal = () => {
    // Box–Muller from two uniforms
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  const values = model.weights.map(w => {
    const size = w.shape.reduce((a, b) => a! * b!, 1)!;
    const tail = w.originalName.split('/').pop()!;
    const data = Float32Array.from({length: size}, () =>
        tail === 'gamma' ? 1 + 0.3 * normal() :
        tail === 'moving_variance' ? 0.5 + next() : 0.3 * normal());
    return tf.tensor(data, w.shape as number[], w.dtype);
  });
  model.setWeights(values);
  tf.dispose(values);
}

function ids(next: () => number, batch: number, time: number, vocab: number, pad = false): tf.Tensor {
  const data = Int32Array.from({length: batch * time}, (_, i) => {
    const t = i % time;
    const row = Math.floor(i / time);
    return pad && t >= time - row ? 0 : 1 + Math.floor(next() * (vocab - 1));
  });
  return tf.tensor2d(data, [batch, time], 'int32');
}

function floats(next: () => number, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({length: size}, () => next() * 2 - 1), shape);
}

const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor|tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor;

/** The models, by name. */
export const TEST_MODELS: Record<string, () => TestModel> = {
  /** Sequential: Dense relu → LayerNormalization → Dropout → Dense. */
  sequential_mlp: () => {
    const model = tf.sequential({name: 'sequential_mlp', layers: [
      tf.layers.dense({units: 16, activation: 'relu', inputShape: [8], name: 'fc1'}),
      tf.layers.layerNormalization({name: 'norm'}),
      tf.layers.dropout({rate: 0.2, name: 'drop'}),
      tf.layers.dense({units: 4, name: 'out'}),
    ]});
    seedWeights(model, 1);
    return {model, inputs: [floats(rng(101), [3, 8])]};
  },

  /** Embedding → Conv1D → pooling, a Dense branch, Concatenate, BatchNormalization, softmax. */
  conv_text: () => {
    const tokens = tf.input({shape: [8], dtype: 'int32', name: 'tokens'});
    const e = apply(tf.layers.embedding({inputDim: 30, outputDim: 6, name: 'embed'}), tokens);
    const c = apply(tf.layers.conv1d({filters: 5, kernelSize: 3, padding: 'same', activation: 'relu',
                                      name: 'conv'}), e);
    const p = apply(tf.layers.maxPooling1d({poolSize: 2, name: 'maxpool'}), c);
    const g = apply(tf.layers.globalAveragePooling1d({name: 'avg'}), p);
    const m = apply(tf.layers.globalMaxPooling1d({name: 'max'}), e);
    const d = apply(tf.layers.dense({units: 5, activation: 'tanh', name: 'side'}), m);
    const cat = apply(tf.layers.concatenate({name: 'cat'}), [g, d]);
    const bn = apply(tf.layers.batchNormalization({name: 'bn'}), cat);
    const out = apply(tf.layers.dense({units: 3, activation: 'softmax', name: 'classes'}), bn);
    const model = tf.model({inputs: tokens, outputs: out, name: 'conv_text'});
    seedWeights(model, 2);
    return {model, inputs: [ids(rng(102), 3, 8, 30)]};
  },

  /** Two inputs, a residual Add, activations, Flatten, two outputs. */
  two_towers: () => {
    const a = tf.input({shape: [4, 6], name: 'a'});
    const b = tf.input({shape: [4, 6], name: 'b'});
    const h = apply(tf.layers.dense({units: 6, name: 'proj'}), a);
    const r = apply(tf.layers.add({name: 'residual'}), [h, b]);
    const n = apply(tf.layers.layerNormalization({epsilon: 1e-5, name: 'ln'}), r);
    const act = apply(tf.layers.activation({activation: 'gelu', name: 'gelu'}), n);
    const mul = apply(tf.layers.multiply({name: 'gate'}), [act, apply(tf.layers.activation(
        {activation: 'sigmoid', name: 'sig'}), b)]);
    const flat = apply(tf.layers.flatten({name: 'flat'}), mul);
    const y1 = apply(tf.layers.dense({units: 2, name: 'head1'}), flat);
    const y2 = apply(tf.layers.dense({units: 3, activation: 'softmax', name: 'head2'}),
                     apply(tf.layers.globalAveragePooling1d({name: 'pool'}), act));
    const model = tf.model({inputs: [a, b], outputs: [y1, y2], name: 'two_towers'});
    seedWeights(model, 3);
    return {model, inputs: [floats(rng(103), [3, 4, 6]), floats(rng(203), [3, 4, 6])]};
  },

  /** A Functional used twice and a Sequential, inside a Functional. */
  nested: () => {
    const ii = tf.input({shape: [6], name: 'ii'});
    const inner = tf.model({inputs: ii, outputs: apply(tf.layers.dense({units: 3, name: 'd'}),
        apply(tf.layers.dense({units: 4, activation: 'relu', name: 'd0'}), ii)), name: 'inner'});
    const seq = tf.sequential({name: 'seq', layers: [tf.layers.dense({units: 2, inputShape: [3], name: 'sd'})]});
    const x = tf.input({shape: [6], name: 'x'});
    const first = apply(inner, apply(tf.layers.dense({units: 6, name: 'pre'}), x));
    const second = apply(inner, x);
    const model = tf.model({inputs: x, outputs: [apply(seq, first), second], name: 'nested'});
    seedWeights(model, 4);
    return {model, inputs: [floats(rng(104), [3, 6])]};
  },

  /**
   * The package's layers: TokenEmbedding → SelfAttention (2 heads, output projection, biases)
   * → residual → LayerNorm → Dense → pooling → Dense. No padding mask (see docs/keras-files.md
   * for what Keras does with padded rows).
   */
  self_attention_encoder: () => {
    const tokens = tf.input({shape: [7], dtype: 'int32', name: 'tokens'});
    const e = apply(tokenEmbedding({vocabSize: 25, outputDim: 8, name: 'embed'}), tokens);
    const att = apply(selfAttention({numHeads: 2, useOutputProjection: true, useBias: true,
                                     name: 'attention'}), e);
    const r = apply(tf.layers.add({name: 'residual'}), [e, att]);
    const n = apply(layerNorm({name: 'norm'}), r);
    const f = apply(tf.layers.dense({units: 8, activation: 'relu', name: 'ffn'}), n);
    const p = apply(tf.layers.globalAveragePooling1d({name: 'pool'}), f);
    const out = apply(tf.layers.dense({units: 2, name: 'logits'}), p);
    const model = tf.model({inputs: tokens, outputs: out, name: 'self_attention_encoder'});
    seedWeights(model, 5);
    return {model, inputs: [ids(rng(105), 3, 7, 25)]};
  },

  /**
   * A padding mask (Embedding maskZero) through layers that pass it on as Keras's do, into the
   * Keras loader's masked average pooling (Keras's GlobalAveragePooling1D); rows padded at the end.
   */
  masked_mean: () => {
    const tokens = tf.input({shape: [6], dtype: 'int32', name: 'tokens'});
    const e = apply(tf.layers.embedding({inputDim: 20, outputDim: 6, maskZero: true, name: 'embed'}), tokens);
    const d = apply(tf.layers.dense({units: 6, activation: 'relu', name: 'ffn'}), e);
    const n = apply(tf.layers.layerNormalization({name: 'norm'}), d);
    const p = apply(new KerasGlobalAveragePooling1D({name: 'pool'}), n);
    const out = apply(tf.layers.dense({units: 2, name: 'logits'}), p);
    const model = tf.model({inputs: tokens, outputs: out, name: 'masked_mean'});
    seedWeights(model, 7);
    return {model, inputs: [ids(rng(107), 3, 6, 20, true)]};
  },

  /** The package's Keras-layout MultiHeadAttention: query, value and key of other widths. */
  keras_attention: () => {
    const q = tf.input({shape: [4, 6], name: 'q'});
    const v = tf.input({shape: [5, 8], name: 'v'});
    const k = tf.input({shape: [5, 7], name: 'k'});
    const att = apply(multiHeadAttention({numHeads: 2, keyDim: 3, valueDim: 4, outputShape: 5,
                                          name: 'mha'}), [q, v, k]);
    const out = apply(tf.layers.dense({units: 2, name: 'head'}), att);
    const model = tf.model({inputs: [q, v, k], outputs: out, name: 'keras_attention'});
    seedWeights(model, 8);
    return {model, inputs: [floats(rng(108), [3, 4, 6]), floats(rng(208), [3, 5, 8]),
                            floats(rng(308), [3, 5, 7])]};
  },

  /** Causal SelfAttention returning its weights, and cross-attention with other sizes. */
  attention_variants: () => {
    const x = tf.input({shape: [5, 6], name: 'x'});
    const ctx = tf.input({shape: [4, 10], name: 'context'});
    const [causal, weights] = selfAttention({numHeads: 2, keyDim: 3, causal: true,
                                              returnAttentionWeights: true, name: 'causal'})
        .apply(x) as tf.SymbolicTensor[];
    const cross = apply(selfAttention({numHeads: 3, keyDim: 4, valueDim: 5, outputDim: 7,
                                       useBias: true, name: 'cross'}), [causal!, ctx]);
    const model = tf.model({inputs: [x, ctx], outputs: [cross, weights!], name: 'attention_variants'});
    seedWeights(model, 6);
    return {model, inputs: [floats(rng(106), [3, 5, 6]), floats(rng(206), [3, 4, 10])]};
  },
};
