/**
 * What the attention paths share: their options and result, the view of `[..., time, d]` tensors
 * as a list of 2-D slices (one per batch×head), the mask of one slice, and the dropout multiplier
 * written exactly as `tf.dropout` draws it.
 */
import * as tf from '@tensorflow/tfjs';

import {checkMaskShape} from '../masks';
import {AttentionOptions, checkInputs} from '../scaled_dot_product';

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
  /** Dropout rate that applies now (0 unless training). */
  dropout: number;
  seed: number|undefined;
  needWeights: boolean;
  blockSize: number;
}

/** Validates inputs and options as `scaledDotProductAttention` does, and resolves defaults. */
export function resolve(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                        options: PathOptions): Resolved {
  checkInputs(query, key, value);
  const {mask = null, causal = false, dropout = 0, training = false, seed} = options;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new Error(`dropout must be in [0, 1). Received: dropout=${dropout}`);
  }
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
    causal, dropout: training ? dropout : 0, seed, needWeights: options.needWeights ?? true,
    blockSize,
  };
}

/**
 * The mask of each 2-D slice, `[1|timeQ, 1|timeK]` boolean, or null for "all allowed". Slices
 * that share a mask (a mask without a heads axis, say) share one tensor.
 */
export function maskSlices(r: Resolved): Array<tf.Tensor2D|null> {
  const {mask, lead, slices} = r;
  if (mask == null) {
    return new Array<null>(slices).fill(null);
  }
  const full = mask.reshape([...new Array<number>(lead.length + 2 - mask.rank).fill(1),
                             ...mask.shape]);
  const bool = full.dtype === 'bool' ? full : tf.notEqual(full, 0);
  const [mq, mk] = bool.shape.slice(-2) as [number, number];
  const cache = new Map<string, tf.Tensor2D>();
  const out: tf.Tensor2D[] = [];
  for (let s = 0; s < slices; s++) {
    // Row-major multi-index of slice s over `lead`; broadcast axes (size 1) read index 0.
    const begin: number[] = [];
    let rest = s;
    for (let d = lead.length - 1; d >= 0; d--) {
      begin.unshift(bool.shape[d] === 1 ? 0 : rest % lead[d]!);
      rest = Math.floor(rest / lead[d]!);
    }
    const id = begin.join(',');
    if (!cache.has(id)) {
      cache.set(id, bool.slice([...begin, 0, 0], [...begin.map(() => 1), mq, mk])
                        .reshape([mq, mk]) as tf.Tensor2D);
    }
    out.push(cache.get(id)!);
  }
  return out;
}

/**
 * The multiplier `tf.dropout(x, rate, undefined, seed)` applies to an `x` of `shape`: the same
 * random draw, so a path that applies it slice by slice drops what the standard path drops.
 */
export function dropoutMultiplier(shape: number[], rate: number, seed?: number): tf.Tensor {
  return tf.tidy(() => {
    const keep = 1 - rate;
    return tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep);
  });
}

/** `[..., time, d]` → `[slices, time, d]`. */
export function toSlices(x: tf.Tensor, slices: number): tf.Tensor3D {
  const [time, d] = x.shape.slice(-2) as [number, number];
  return x.reshape([slices, time, d]);
}

/** One slice's gradients: dq `[timeQ, dk]`, dkᵀ `[dk, timeK]`, dvᵀ `[dv, timeK]`. */
export type SliceGradients = [tf.Tensor, tf.Tensor, tf.Tensor];

/**
 * Every slice's gradients → the gradients of q (times `scale`), k and v, each
 * `[slices, time, d]`, as a custom gradient function returns them.
 */
export function stackSliceGradients(perSlice: SliceGradients[], scale: number): tf.Tensor[] {
  return [
    tf.mul(tf.stack(perSlice.map(g => g[0])), scale),
    tf.transpose(tf.stack(perSlice.map(g => g[1])), [0, 2, 1]),
    tf.transpose(tf.stack(perSlice.map(g => g[2])), [0, 2, 1]),
  ];
}

/** The function a three-input custom gradient wraps (`tf.customGrad`, typed for q, k, v). */
export type Attend3 = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, save: tf.GradSaveFunc) => {
  value: tf.Tensor,
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[],
};

/** `tf.customGrad` for a function of (q, k, v): tfjs types its arguments loosely. */
export function customGrad3(f: Attend3): (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor {
  const wrapped = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
  return (q, k, v) => wrapped(q, k, v);
}
