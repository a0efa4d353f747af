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
 * own gradient is kept. A bias is added by the same kernel (`tf.fused.matMul`), not a second one.
 */
import * as tf from '@tensorflow/tfjs';

/** save([a, b]) and a·b + bias in one kernel; gradients by plain 2-D products (and a row sum). */
const fastMatMul = tf.customGrad((...args: Array<tf.Tensor|tf.GradSaveFunc>) => {
  const save = args[args.length - 1] as tf.GradSaveFunc;
  const [a, b, bias] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D?];
  const withBias = args.length === 4;
  save([a, b]);
  return {
    value: withBias ? tf.fused.matMul({a, b, bias: bias!}) : tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor|tf.Tensor[], saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      const grads = [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
      return withBias ? [...grads, tf.sum(g, 0)] : grads;  // bias: [n]
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
 * `tf.fused.matMul` with a bias) off wasm and for tiny products. Throws naming the argument
 * when shapes do not fit.
 *
 * ```ts
 * const a = tf.randomNormal([128, 64]);
 * const b = tf.randomNormal([64, 32]);
 * const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul2d(x, y).sum())([a, b]);
 * // the same values and gradients as tf.matMul(a, b); on wasm the backward pass stays fast
 * const y = matMul2d(a, b, tf.ones([32]));  // a·b + 1, one kernel
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
  const flagsAreSlow = FLAGS_ARE_SLOW.has(tf.getBackend()) && m * k * b.shape[1]! > SMALL_PRODUCT;
  if (flagsAreSlow) {
    return (bias == null ? fastMatMul(a, b) : fastMatMul(a, b, bias)) as tf.Tensor2D;
  }
  return bias == null ? tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) :
                        tf.fused.matMul({a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias}) as tf.Tensor2D;
}
