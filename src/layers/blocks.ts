/**
 * Functional builders of Transformer blocks: an encoder block (self-attention + feed-forward)
 * and a decoder block (causal self-attention + cross-attention + feed-forward), pre-layer-norm,
 * each sub-block wrapped in a residual connection.
 *
 * They only wire registered layers (SelfAttention, FeedForward, LayerNorm, tf.layers.add /
 * dropout) onto symbolic tensors, so a model built with them saves and loads like any
 * functional model: nothing here needs its own serialization.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, is, Suggestion} from '../args';
import {Identifier, Initializer, resolveInitializer} from '../initializers';
import {feedForward} from './feed_forward';
import {layerNorm} from './layer_norm';
import {selfAttention} from './self_attention';

/** Arguments shared by {@link encoderBlock} and {@link decoderBlock}. All optional. */
export interface TransformerBlockArgs {
  /** Number of attention heads. Default 4. */
  numHeads?: number;
  /** Size of each head's queries and keys. Default modelDim / numHeads. */
  keyDim?: number;
  /** Hidden size of the feed-forward block. Default 4 * modelDim. */
  ffDim?: number;
  /** Activation of the feed-forward block's hidden layer. Default 'relu'. */
  activation?: 'relu'|'gelu';
  /** Dropout after attention and feed-forward, during training only. Default 0 (no layer). */
  dropout?: number;
  /** Epsilon of the layer normalizations. Default 1e-6. */
  epsilon?: number;
  /** Initializer of attention and dense kernels. Default 'glorotUniform'. */
  kernelInitializer?: Identifier<Initializer>;
  /** Prefix of the block's layer names (must be unique in the model). Default: tfjs's names. */
  name?: string;
}

/** The modelDim of a `[batch, time, modelDim]` symbolic tensor. */
function modelDim(x: tf.SymbolicTensor, what: string): number {
  const d = x.shape[x.shape.length - 1];
  if (x.shape.length !== 3 || d == null) {
    throw new Error(`${what} needs x of shape [batch, time, modelDim] with a known modelDim. ` +
                    `Received: x with shape [${x.shape}]`);
  }
  return d;
}

const BLOCK_ARGS: ArgSpec = {
  numHeads: is.positiveInt,
  keyDim: is.positiveInt,
  ffDim: is.positiveInt,
  activation: is.oneOf(['relu', 'gelu']),
  dropout: is.rate,
  epsilon: is.positiveNumber,
  kernelInitializer: is.anything,
  name: is.anything,  // checked as a layer name by each layer it prefixes
};

const BLOCK_SUGGESTIONS: Record<string, Suggestion> = {
  heads: 'numHeads',
  headSize: 'keyDim',
  hiddenDim: 'ffDim',
  intermediateDim: 'ffDim',
  dff: 'ffDim',
  dropoutRate: 'dropout',
  layerNormEpsilon: 'epsilon',
  eps: 'epsilon',
};

function resolve(args: TransformerBlockArgs, d: number, what: string) {
  checkArgs(what, args, BLOCK_ARGS, {layer: false, suggestions: BLOCK_SUGGESTIONS});
  const numHeads = args.numHeads ?? 4;
  if (!(Number.isInteger(numHeads) && numHeads > 0)) {
    throw new Error(`${what}: numHeads must be a positive integer. Received: numHeads=${
        JSON.stringify(args.numHeads)}`);
  }
  const keyDim = args.keyDim ?? d / numHeads;
  if (!(Number.isInteger(keyDim) && keyDim > 0)) {
    throw new Error(`${what}: keyDim must be a positive integer (by default modelDim / ` +
                    `numHeads = ${d} / ${numHeads}). Received: keyDim=${keyDim}`);
  }
  const ffDim = args.ffDim ?? 4 * d;
  if (!(Number.isInteger(ffDim) && ffDim > 0)) {
    throw new Error(`${what}: ffDim must be a positive integer. Received: ffDim=${
        JSON.stringify(args.ffDim)}`);
  }
  const dropout = args.dropout ?? 0;
  if (!(typeof dropout === 'number' && dropout >= 0 && dropout < 1)) {
    throw new Error(`${what}: dropout must be a number in [0, 1). Received: dropout=${
        JSON.stringify(args.dropout)}`);
  }
  const prefix = args.name;
  return {
    numHeads, keyDim, ffDim, dropout,
    activation: args.activation ?? 'relu',
    epsilon: args.epsilon ?? 1e-6,
    kernelInitializer:
        resolveInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer', what)!,
    /** `{name}` for a part's layer, or nothing (tfjs's names) without a prefix. */
    named: (part: string): {name?: string} =>
        (prefix == null ? {} : {name: `${prefix}_${part}`}),
  };
}

type Resolved = ReturnType<typeof resolve>;

/** x + dropout(sublayer(x)). */
function residual(x: tf.SymbolicTensor, y: tf.SymbolicTensor, r: Resolved, part: string):
    tf.SymbolicTensor {
  if (r.dropout > 0) {
    y = tf.layers.dropout({rate: r.dropout, ...r.named(`${part}_dropout`)})
            .apply(y) as tf.SymbolicTensor;
  }
  return tf.layers.add({...r.named(`${part}_add`)}).apply([x, y]) as tf.SymbolicTensor;
}

function norm(x: tf.SymbolicTensor, r: Resolved, part: string): tf.SymbolicTensor {
  return layerNorm({epsilon: r.epsilon, ...r.named(`${part}_norm`)}).apply(x) as
      tf.SymbolicTensor;
}

function attention(r: Resolved, d: number, part: string, causal: boolean) {
  return selfAttention({
    numHeads: r.numHeads, keyDim: r.keyDim, useOutputProjection: true, outputDim: d,
    useBias: true, causal, kernelInitializer: r.kernelInitializer, ...r.named(part),
  });
}

/** Position-wise feed-forward block, with LN and residual. */
function feedForwardBlock(x: tf.SymbolicTensor, r: Resolved): tf.SymbolicTensor {
  const h = norm(x, r, 'ff');
  const out = feedForward({hiddenDim: r.ffDim, activation: r.activation,
                           kernelInitializer: r.kernelInitializer, ...r.named('ff')})
                  .apply(h) as tf.SymbolicTensor;
  return residual(x, out, r, 'ff');
}

/**
 * Encoder block: `x + SelfAttention(LN(x))`, then `+ FeedForward(LN(·))`.
 *
 * @param x `[batch, time, modelDim]`.
 * @param mask `[batch, time]` (1/true = a real token, 0/false = padding) or null: padded keys
 *     are never attended to. Passed as the attention's explicit third input, so it does not
 *     depend on tfjs's mask propagation.
 * @returns `[batch, time, modelDim]`.
 *
 * ```ts
 * const ids = tf.input({shape: [32], dtype: 'int32'});
 * const mask = tf.input({shape: [32]});                               // 1 = token, 0 = padding
 * let x = tokenEmbedding({vocabSize: 60, outputDim: 64}).apply(ids) as tf.SymbolicTensor;
 * x = encoderBlock(x, mask, {numHeads: 4, ffDim: 128});               // [null, 32, 64]
 * ```
 */
export function encoderBlock(x: tf.SymbolicTensor, mask: tf.SymbolicTensor|null,
                             args: TransformerBlockArgs = {}): tf.SymbolicTensor {
  const d = modelDim(x, 'encoderBlock');
  const r = resolve(args, d, 'encoderBlock');
  const h = norm(x, r, 'attention');
  const a = attention(r, d, 'attention', false).apply(mask == null ? h : [h, h, mask]);
  return feedForwardBlock(residual(x, a as tf.SymbolicTensor, r, 'attention'), r);
}

/**
 * Decoder block: `x + CausalSelfAttention(LN(x))`, `+ CrossAttention(LN(·), context)` (only
 * with a context), then `+ FeedForward(LN(·))`. With `context` null it is the block of a
 * decoder-only language model (causal self-attention and feed-forward).
 *
 * A model built from these blocks decodes step by step with key/value caches
 * (`startDecoding`, `generate` in src/generation/): the encoder runs once per input, and each
 * step runs the decoder on the new tokens only.
 *
 * @param x `[batch, timeQ, modelDim]`, the decoder's sequence so far (shifted right).
 * @param context `[batch, timeK, contextDim]`, the encoder's output, or null (no
 *     cross-attention).
 * @param contextMask `[batch, timeK]` (1/true = real token) or null.
 * @returns `[batch, timeQ, modelDim]`.
 *
 * ```ts
 * const encoded = tf.input({shape: [32, 64]});                        // the encoder's output
 * const mask = tf.input({shape: [32]});
 * const target = tf.input({shape: [10, 64]});                         // embedded, shifted right
 * const y = decoderBlock(target, encoded, mask, {numHeads: 4});       // [null, 10, 64]
 * ```
 */
export function decoderBlock(x: tf.SymbolicTensor, context: tf.SymbolicTensor|null,
                             contextMask: tf.SymbolicTensor|null,
                             args: TransformerBlockArgs = {}): tf.SymbolicTensor {
  const d = modelDim(x, 'decoderBlock');
  if (context == null && contextMask != null) {
    throw new Error(`decoderBlock: contextMask needs a context (the block has no ` +
                    `cross-attention without one). Received: context=null and a contextMask`);
  }
  if (context != null) {
    modelDim(context, 'decoderBlock (context)');
  }
  const r = resolve(args, d, 'decoderBlock');
  const h1 = norm(x, r, 'self_attention');
  const a1 = attention(r, d, 'self_attention', true).apply(h1) as tf.SymbolicTensor;
  let y = residual(x, a1, r, 'self_attention');
  if (context != null) {
    const h2 = norm(y, r, 'cross_attention');
    const a2 = attention(r, d, 'cross_attention', false)
                   .apply(contextMask == null ? [h2, context] : [h2, context, contextMask]);
    y = residual(y, a2 as tf.SymbolicTensor, r, 'cross_attention');
  }
  return feedForwardBlock(y, r);
}
