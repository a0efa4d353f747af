/**
 * matMul2d: `a · b` for 2-D tensors, the same value and gradients as `tf.matMul(a, b)`, with a
 * gradient that only uses plain 2-D products.
 *
 * tf.matMul's own gradient multiplies with `transposeA` / `transposeB` flags; on the wasm
 * backend (tfjs 4.22) only a 2-D matMul with no transpose flag reaches the fast kernel (about
 * 40 GFLOP/s here, against ~1–3 GFLOP/s with a flag). Transposing explicitly first is a cheap
 * copy, so the backward pass runs as fast as the forward one.
 */
import * as tf from '@tensorflow/tfjs';

const fastMatMul = tf.customGrad((...args: Array<tf.Tensor|tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor|tf.Tensor[], saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
    },
  };
});

/**
 * Backends where flagged matMuls are slow and explicit transposes pay off. Not cpu: there the
 * transposes (plain JavaScript) cost more than they save (`npm run bench`, cpu rows).
 */
const FLAGS_ARE_SLOW = new Set(['wasm']);

/**
 * `[m, k] · [k, n] → [m, n]`; see the module comment. Plain `tf.matMul` off wasm.
 *
 * ```ts
 * const a = tf.randomNormal([128, 64]);
 * const b = tf.randomNormal([64, 32]);
 * const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul2d(x, y).sum())([a, b]);
 * // the same values and gradients as tf.matMul(a, b); on wasm the backward pass stays fast
 * ```
 */
export function matMul2d(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new Error(`matMul2d needs a [m, k] and b [k, n]. Received: a with shape [${
        a.shape}], b with shape [${b.shape}]`);
  }
  return (FLAGS_ARE_SLOW.has(tf.getBackend()) ? fastMatMul(a, b) :
                                                tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)) as
      tf.Tensor2D;
}
