/**
 * matMul2d: `a · b (+ bias)` for 2-D tensors, the same value and gradients as
 * `tf.matMul(a, b)` (plus the bias), with a gradient that only uses plain 2-D products where
 * that is faster.
 *
 * tf.matMul's own gradient multiplies with `transposeA` / `transposeB` flags; on the wasm
 * backend (tfjs 4.22) only a 2-D matMul with no transpose flag reaches the fast kernel (about
 * 40 GFLOP/s here, against ~1–3 GFLOP/s with a flag). Transposing explicitly first is a cheap
 * copy, so the backward pass runs as fast as the forward one. For tiny products (m·k·n up to
 * {@link SMALL_PRODUCT}) the two extra transposes cost more than the flags do, and tf.matMul's
 * own gradient is kept, and so is plain tf.matMul when no gradient is being recorded
 * (`tf.engine().isTapeOn()`: a forward pass alone skips the custom-gradient bookkeeping).
 *
 * A bias is added by the same kernel (`tf.fused.matMul`), except on wasm: its `_FusedMatMul`
 * (tfjs 4.22) reads the rank of the bias from the shape the data was first written with, so a
 * bias that is a reshape (a Keras-layout `[heads, keyDim]` bias read as `[heads*keyDim]`, or a
 * variable assigned a reshaped tensor) fails there; wasm adds it with a second kernel.
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
 * m·k·n up to which tf.matMul's flagged gradient is kept on wasm: at [128, 16] · [16, 16]
 * (32,768) its forward + backward took 0.64 ms against 0.93 ms with the explicit transposes; at
 * [128, 64] · [64, 64] 2.4 ms against 0.86 ms.
 */
export const SMALL_PRODUCT = 2 ** 16;

/**
 * `[m, k] · [k, n] (+ bias [n]) → [m, n]`; see the module comment. Plain `tf.matMul` (or
 * `tf.fused.matMul` with a bias) off wasm, and for tiny products on wasm. Throws naming the
 * argument when shapes do not fit.
 *
 * ```ts
 * const a = tf.randomNormal([128, 64]);
 * const b = tf.randomNormal([64, 32]);
 * const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul2d(x, y).sum())([a, b]);
 * // the same values and gradients as tf.matMul(a, b); on wasm the backward pass stays fast
 * const y = matMul2d(a, b, tf.ones([32]));  // a·b + 1 (one kernel off wasm)
 * ```
 */
export function matMul2d(a: tf.Tensor, b: tf.Tensor, bias?: tf.Tensor|null): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new Error(`matMul2d needs a [m, k] and b [k, n]. Received: a with shape [${
        a.shape}], b with shape [${b.shape}]`);
  }
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== b.shape[1])) {
    throw new Error(`matMul2d needs bias [n] = [${b.shape[1]}]. Received: bias with shape [${
        bias.shape}]`);
  }
  const [m, k] = a.shape as [number, number];
  const backend = tf.getBackend();
  if (backend !== 'wasm' && bias != null) {
    return tf.fused.matMul({a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias}) as tf.Tensor2D;
  }
  // The explicit-transpose gradient only where a gradient will be taken (a tape records this op).
  const flagFree = FLAGS_ARE_SLOW.has(backend) && m * k * b.shape[1]! > SMALL_PRODUCT &&
      tf.engine().isTapeOn();
  const product = (): tf.Tensor2D => flagFree ? fastMatMul(a, b) as tf.Tensor2D :
                                                tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  return bias == null ? product() : tf.tidy((): tf.Tensor2D => tf.add(product(), bias));
}
