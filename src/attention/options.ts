/**
 * The contract of the attention core: the options every path takes, what a path returns, and
 * the checks of inputs and options. Every path (`scaled_dot_product.ts`, `paths/*.ts`) and both
 * attention layers import it; none of them checks an option on its own.
 *
 * Inputs are rank-3 `[batch, time, d]` or rank-4 `[batch, heads, time, d]` tensors:
 * query `[..., timeQ, dk]`, key `[..., timeK, dk]`, value `[..., timeK, dv]`. A path computes
 * softmax(query · keyᵀ · scale, masked) · value, `[..., timeQ, dv]`.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgCheck, ArgSpec, checkArgs, checkTensorArg, describeValue, is, Suggestion} from '../args';

import {checkMaskShape} from './masks';

/** Options of `scaledDotProductAttention` (and of every path: see {@link PathOptions}). */
export interface AttentionOptions {
  /**
   * Boolean mask broadcastable to the scores `[batch, (heads,) timeQ, timeK]`: `true` = may
   * attend. Numbers are read as `!= 0`. Default: none.
   */
  mask?: tf.Tensor|null|undefined;
  /** Query i attends only keys j <= i (as Keras's `use_causal_mask`). Default false. */
  causal?: boolean|undefined;
  /**
   * Query i attends only keys j with |i − j| < slidingWindow (Keras 3.15's `sliding_window`, a
   * symmetric band; with `causal` the keys i − slidingWindow + 1 … i). Default: none.
   */
  slidingWindow?: number|null|undefined;
  /** Factor the scores are multiplied by. Default 1/√dk (dk = last dimension of `query`). */
  scale?: number|undefined;
  /** Fraction of attention weights dropped, only when `training`. Default 0. */
  dropout?: number|undefined;
  /** Whether dropout applies. Default false. */
  training?: boolean|undefined;
  /** Seed for the dropout pattern. Default: random. */
  seed?: number|undefined;
}

/** What `scaledDotProductAttention` returns. */
export interface AttentionResult {
  /** Weighted sums of the values: `[batch, (heads,) timeQ, dv]`. */
  output: tf.Tensor;
  /** Softmax weights before dropout: `[batch, (heads,) timeQ, timeK]`; rows sum to 1 or to 0. */
  weights: tf.Tensor;
}

/** Options of every attention path: {@link AttentionOptions} plus what a path may skip. */
export interface PathOptions extends AttentionOptions {
  /**
   * Whether the caller wants the attention weights. Default true. When false, the fast and the
   * memory-efficient paths return `weights: null` and never build the `[..., timeQ, timeK]`
   * tensor for it.
   */
  needWeights?: boolean|undefined;
  /**
   * Rows (queries) and columns (keys) per block of the memory-efficient path. Default
   * {@link DEFAULT_BLOCK_SIZE}. Other paths ignore it.
   */
  blockSize?: number|undefined;
}

/** What a path returns: as `scaledDotProductAttention`, but `weights` may be skipped. */
export interface PathResult {
  /** `[batch, (heads,) timeQ, dv]`. */
  output: tf.Tensor;
  /**
   * `[batch, (heads,) timeQ, timeK]` softmax weights before dropout, or null when `needWeights`
   * was false. Weights from the fast and memory-efficient paths are for reading: gradients flow
   * through `output` only.
   */
  weights: tf.Tensor|null;
}

/** Default block size of the memory-efficient path (512×512 scores = 1 MiB per block). */
export const DEFAULT_BLOCK_SIZE = 512;

/** Options checked and resolved, plus the sizes every path needs. */
export interface Resolved {
  /** Leading dimensions: `[batch]` or `[batch, heads]`. */
  lead: number[];
  /** Number of 2-D slices: the product of `lead`. */
  slices: number;
  timeQ: number;
  timeK: number;
  dk: number;
  dv: number;
  scale: number;
  mask: tf.Tensor|null;
  causal: boolean;
  /** Band half-width + 1 (|i − j| < slidingWindow), or null for none. */
  slidingWindow: number|null;
  /** Dropout rate that applies now (0 unless training). */
  dropout: number;
  seed: number|undefined;
  needWeights: boolean;
  blockSize: number;
}

/** The options of every path and their checks (a path's options must be one of these). */
export const PATH_OPTIONS: ArgSpec = {
  mask: is.anything,  // checked by checkTensorArg and checkMaskShape
  causal: is.boolean,
  slidingWindow: is.positiveInt,
  scale: is.finiteNumber,
  dropout: {expected: 'in [0, 1)', test: is.rate.test} as ArgCheck,
  training: is.boolean,
  seed: is.finiteNumber,
  needWeights: is.boolean,
  blockSize: is.positiveInt,
};

/** Names people write for these options (PyTorch's, Keras's, the layers') → the option's name. */
export const PATH_OPTION_SUGGESTIONS: Record<string, Suggestion> = {
  attentionMask: 'mask',
  attnMask: 'mask',
  useCausalMask: 'causal',
  isCausal: 'causal',
  dropoutP: 'dropout',
  dropoutRate: 'dropout',
  returnAttentionWeights: 'needWeights',
  returnAttentionScores: 'needWeights',
  window: 'slidingWindow',
  windowSize: 'slidingWindow',
  keyMask: {note: 'pass key padding as mask, shaped [batch, 1, 1, timeK]'},
};

/**
 * Checks inputs and options as every path needs them and resolves the defaults. Throws an error
 * naming the argument and the value received; `fn` (the function called) starts the message.
 */
export function resolve(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                        options: PathOptions = {}, fn = 'attention'): Resolved {
  checkArgs(fn, options, PATH_OPTIONS,
            {layer: false, argName: 'options', suggestions: PATH_OPTION_SUGGESTIONS});
  checkTensorArg(fn, options.mask, 'mask');
  checkInputs(query, key, value, fn);
  const r = resolveChecked(query, key, value, options);
  if (r.mask != null) {
    checkMaskShape(r.mask, [...r.lead, r.timeQ, r.timeK], 'mask');
  }
  return r;
}

/**
 * {@link resolve} for inputs and options that are known to be valid (a layer's own projections,
 * its options checked when it was built, its masks checked by its call): the defaults and sizes
 * only, no checks. A layer's call at a short sequence spends as long checking as computing.
 */
export function resolveChecked(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                               options: PathOptions): Resolved {
  const rank = query.rank;
  const lead = query.shape.slice(0, -2);
  const dk = query.shape[rank - 1]!;
  return {
    lead, slices: rank === 4 ? lead[0]! * lead[1]! : lead[0]!, timeQ: query.shape[rank - 2]!,
    timeK: key.shape[rank - 2]!, dk, dv: value.shape[rank - 1]!,
    scale: options.scale ?? 1 / Math.sqrt(dk), mask: options.mask ?? null,
    causal: options.causal ?? false, slidingWindow: options.slidingWindow ?? null,
    dropout: (options.training ?? false) ? (options.dropout ?? 0) : 0, seed: options.seed,
    needWeights: options.needWeights ?? true, blockSize: options.blockSize ?? DEFAULT_BLOCK_SIZE,
  };
}

/**
 * Whether there is nothing to compute: batch (or heads), timeQ or timeK is 0. Every path then
 * returns {@link emptyAttention} without running a kernel (tfjs-backend-wasm 4.22 fails on
 * several size-0 kernels: `tf.where` corrupts its heap, a 2-D matMul returns uninitialised
 * memory, a batch of 0 divides by zero).
 */
export function isEmpty(r: Resolved): boolean {
  return r.slices === 0 || r.timeQ === 0 || r.timeK === 0;
}

/**
 * The result of attention over empty shapes, as the standard formula gives it: output zeros
 * `[..., timeQ, dv]` (with timeK = 0 every query row has no key, and a row with no allowed key
 * gets output 0), weights zeros `[..., timeQ, timeK]` (empty). The output's gradients are zeros
 * of the inputs' shapes.
 */
export function emptyAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, r: Resolved):
    PathResult {
  return {
    output: connectedZeros([...r.lead, r.timeQ, r.dv], [query, key, value]),
    weights: r.needWeights ? tf.zeros([...r.lead, r.timeQ, r.timeK]) : null,
  };
}

/**
 * Zeros of `shape` computed from `inputs` without running a kernel on them: their gradient with
 * respect to each input is zeros of its shape (so `tf.grads` through an empty case works).
 */
export function connectedZeros(shape: number[], inputs: tf.Tensor[]): tf.Tensor {
  const f = tf.customGrad(((...xs: tf.Tensor[]) => ({
    value: tf.zeros(shape),
    gradFunc: () => xs.slice(0, inputs.length).map(x => tf.zerosLike(x)),
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as
      (...xs: tf.Tensor[]) => tf.Tensor;
  return f(...inputs);
}

/** Throws unless `dropout` is a rate in [0, 1); `context` starts the message. */
export function checkDropout(dropout: unknown, argName = 'dropout', context = ''): void {
  if (!is.rate.test(dropout)) {
    throw new Error(`${context}${argName} must be in [0, 1). Received: ${argName}=${
        describeValue(dropout)}`);
  }
}

/** Throws unless `window` is null (no window) or a positive integer; `context` starts it. */
export function checkSlidingWindow(window: unknown, argName = 'slidingWindow', context = ''):
    void {
  if (window != null && !is.positiveInt.test(window)) {
    throw new Error(`${context}${argName} must be a positive integer or null. Received: ${
        argName}=${describeValue(window)}`);
  }
}

/**
 * Throws a clear error unless query, key and value are float32 tensors whose ranks and shapes
 * fit.
 */
export function checkInputs(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                            fn = 'attention'): void {
  const named = {query, key, value};
  for (const [name, t] of Object.entries(named)) {
    if (!(t instanceof tf.Tensor) || t.isDisposed || t.dtype !== 'float32') {
      throw new Error(`${fn}: ${name} must be a float32 tf.Tensor. Received: ${name}=${
          describeValue(t)}${t instanceof tf.Tensor && t.isDisposed ? ' (disposed)' : ''}`);
    }
    if (t.rank !== 3 && t.rank !== 4) {
      throw new Error(
          `${name} must have rank 3 [batch, time, d] or 4 [batch, heads, time, d]. ` +
          `Received: ${name} with shape [${t.shape}].`);
    }
  }
  if (key.rank !== query.rank || value.rank !== query.rank) {
    throw new Error(
        `query, key and value must have the same rank. Received: query [${query.shape}], ` +
        `key [${key.shape}], value [${value.shape}].`);
  }
  const lead = (t: tf.Tensor) => t.shape.slice(0, -2).join(',');
  const lastDim = (t: tf.Tensor) => t.shape[t.rank - 1];
  const time = (t: tf.Tensor) => t.shape[t.rank - 2];
  if (lead(key) !== lead(query) || lead(value) !== lead(query)) {
    throw new Error(
        `query, key and value must share their batch (and heads) dimensions. Received: ` +
        `query [${query.shape}], key [${key.shape}], value [${value.shape}].`);
  }
  if (lastDim(key) !== lastDim(query)) {
    throw new Error(
        `key must have the same last dimension as query. Received: query [${query.shape}], ` +
        `key [${key.shape}].`);
  }
  if (time(value) !== time(key)) {
    throw new Error(
        `value must have as many time steps as key. Received: key [${key.shape}], ` +
        `value [${value.shape}].`);
  }
}
