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

import {checkMaskShape} from './masks';

/** Options of `scaledDotProductAttention` (and of every path: see {@link PathOptions}). */
export interface AttentionOptions {
  /**
   * Boolean mask broadcastable to the scores `[batch, (heads,) timeQ, timeK]`: `true` = may
   * attend. Numbers are read as `!= 0`. Default: none.
   */
  mask?: tf.Tensor|null;
  /** Query i attends only keys j <= i (as Keras's `use_causal_mask`). Default false. */
  causal?: boolean;
  /**
   * Query i attends only keys j with |i − j| < slidingWindow (Keras 3.15's `sliding_window`, a
   * symmetric band; with `causal` the keys i − slidingWindow + 1 … i). Default: none.
   */
  slidingWindow?: number|null;
  /** Factor the scores are multiplied by. Default 1/√dk (dk = last dimension of `query`). */
  scale?: number;
  /** Fraction of attention weights dropped, only when `training`. Default 0. */
  dropout?: number;
  /** Whether dropout applies. Default false. */
  training?: boolean;
  /** Seed for the dropout pattern. Default: random. */
  seed?: number;
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
  needWeights?: boolean;
  /**
   * Rows (queries) and columns (keys) per block of the memory-efficient path. Default
   * {@link DEFAULT_BLOCK_SIZE}. Other paths ignore it.
   */
  blockSize?: number;
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

/**
 * Checks inputs and options as every path needs them and resolves the defaults. Throws an error
 * naming the argument and the value received.
 */
export function resolve(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                        options: PathOptions = {}): Resolved {
  checkInputs(query, key, value);
  const {mask = null, causal = false, dropout = 0, training = false, seed} = options;
  checkDropout(dropout);
  const slidingWindow = options.slidingWindow ?? null;
  checkSlidingWindow(slidingWindow);
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!(Number.isInteger(blockSize) && blockSize > 0)) {
    throw new Error(`blockSize must be a positive integer. Received: blockSize=${blockSize}`);
  }
  const lead = query.shape.slice(0, -2);
  const timeQ = query.shape[query.rank - 2]!;
  const timeK = key.shape[key.rank - 2]!;
  const dk = query.shape[query.rank - 1]!;
  if (mask != null) {
    checkMaskShape(mask, [...lead, timeQ, timeK], 'mask');
  }
  return {
    lead, slices: lead.reduce((a, b) => a * b, 1), timeQ, timeK, dk,
    dv: value.shape[value.rank - 1]!, scale: options.scale ?? 1 / Math.sqrt(dk), mask,
    causal, slidingWindow, dropout: training ? dropout : 0, seed,
    needWeights: options.needWeights ?? true, blockSize,
  };
}

/** Throws unless `dropout` is a rate in [0, 1). */
export function checkDropout(dropout: unknown, argName = 'dropout', context = ''): void {
  if (!(typeof dropout === 'number' && dropout >= 0 && dropout < 1)) {
    throw new Error(`${context}${argName} must be in [0, 1). Received: ${argName}=${
        JSON.stringify(dropout)}`);
  }
}

/** Throws unless `window` is null (no window) or a positive integer. */
export function checkSlidingWindow(window: unknown, argName = 'slidingWindow', context = ''):
    void {
  if (window != null && !(typeof window === 'number' && Number.isInteger(window) && window > 0)) {
    throw new Error(`${context}${argName} must be a positive integer or null. Received: ${
        argName}=${JSON.stringify(window)}`);
  }
}

/** Throws a clear error unless query, key and value have ranks and shapes that fit. */
export function checkInputs(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor): void {
  const named = {query, key, value};
  for (const [name, t] of Object.entries(named)) {
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
