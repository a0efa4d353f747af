/**
 * What the sliced paths (fast_cpu.ts, memory_efficient.ts) share: the view of `[..., time, d]`
 * tensors as a list of 2-D slices (one per batch×head), the dropout multiplier written exactly
 * as `tf.dropout` draws it, and the plumbing of a custom gradient over q, k, v. Their options
 * and results are in ../options.ts, the masks of a slice in ../masks.ts.
 */
import * as tf from '@tensorflow/tfjs';

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

/** Slice `s` of a `[slices, rows, cols]` tensor, as `[rows, cols]`. */
export function sliceOf(x: tf.Tensor, s: number): tf.Tensor2D {
  const [, rows, cols] = x.shape as [number, number, number];
  return x.slice([s, 0, 0], [1, rows, cols]).reshape([rows, cols]);
}
