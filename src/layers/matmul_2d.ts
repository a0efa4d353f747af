/**
 * `x · w` for 2-D tensors with a gradient that uses no transpose flags. tfjs's own matMul
 * gradient computes `dyᵀ`-style products with `transposeA`/`transposeB`, which on the wasm
 * backend leave the fast kernel (about 1 GFLOP/s with `transposeA` against 40+ without); here
 * the operands are transposed explicitly (a copy of the size of `x` or `w`), so the backward
 * pass runs at the speed of the forward pass. Same results as `tf.matMul`.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Backends where flagged matMuls are slow and explicit transposes pay off. Not cpu: there the
 * transposes (plain JavaScript) cost more than they save (`npm run bench`, cpu rows).
 */
const FLAGS_ARE_SLOW = new Set(['wasm']);

const matMulNoFlags = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor2D, [xs, ws]: tf.Tensor[]) => [
      tf.matMul(dy, tf.transpose(ws!)),   // dx = dy · wᵀ   [rows, in]
      tf.matMul(tf.transpose(xs!), dy),   // dw = xᵀ · dy   [in, out]
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** `x · w` (`[rows, in] · [in, out]`), with the flag-free gradient on wasm. */
export function matMul2d(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return (FLAGS_ARE_SLOW.has(tf.getBackend()) ? matMulNoFlags(x, w) : tf.matMul(x, w)) as
      tf.Tensor2D;
}
