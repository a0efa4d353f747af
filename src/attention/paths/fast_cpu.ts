/**
 * The fast path for CPU backends (wasm, cpu): the same function as `scaledDotProductAttention`,
 * with every matrix product computed one batch×head slice at a time as a 2-D matMul without
 * transpose flags, the only form that reaches the wasm backend's fast kernel (a batched or
 * flagged matMul runs a scalar loop there, 10–40× slower). Everything else (the masked softmax,
 * dropout, the softmax's gradient) runs once on the whole `[..., timeQ, timeK]` tensor, as on the
 * standard path: one kernel call instead of one per slice (each call costs ~20 µs on wasm), and
 * the masks broadcast as they are, never cut per slice.
 *
 * The products run through `sliceMatMul` (src/ops/slice_matmul.ts): on wasm one 2-D fast-kernel
 * product per slice on views of the `[slices, ..., ...]` tensors, so no slice is ever copied
 * (no `unstack`, no `stack`); elsewhere a batched `tf.matMul`. A custom gradient keeps the backward pass on the same kernel: every product whose
 * operand would need a transpose flag is written with the small `[time, d]` operand transposed
 * instead, never the `[timeQ, timeK]` one.
 *
 * Forward (per slice for the products):
 *   S = (scale·Q) · Kᵀ,  P = maskedSoftmax(S),  O = (P ⊙ M) · V
 * Backward, with D = rowsum(dO ⊙ O) (= rowsum(dP ⊙ P), on `[timeQ, dv]` instead of the scores):
 *   dV = ((dOᵀ) · (P ⊙ M))ᵀ,  dP = (dO · Vᵀ) ⊙ M,  dS = P ⊙ (dP − D),
 *   dQ = scale · dS · K,  dK = ((scale·Q)ᵀ · dS)ᵀ
 * (M is the dropout multiplier, drawn exactly as `tf.dropout` draws it.)
 */
import * as tf from '@tensorflow/tfjs';

import {sliceMatMul} from '../../ops/slice_matmul';
import {andMasks, positionMask} from '../masks';
import {emptyAttention, isEmpty, PathOptions, PathResult, resolve} from '../options';
import {maskedSoftmax} from '../scaled_dot_product';
import {customGrad3, dropoutMultiplier, toSlices} from './common';

/**
 * softmax(query · keyᵀ · scale) · value as {@link scaledDotProductAttention}, for rank-3 or
 * rank-4 inputs, with the same options and results (weights only when `needWeights`, the
 * default). The returned weights carry no gradient; the output does.
 *
 * ```ts
 * const q = tf.randomNormal([8, 4, 64, 16]);  // [batch, heads, time, keyDim]
 * const {output} = fastCpuAttention(q, q, q, {causal: true, needWeights: false});
 * // output [8, 4, 64, 16], the same numbers as scaledDotProductAttention's
 * ```
 */
export function fastCpuAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                 options: PathOptions = {}): PathResult {
  const r = resolve(query, key, value, options, 'fastCpuAttention');
  if (isEmpty(r)) {
    return emptyAttention(query, key, value, r);
  }
  const {slices, timeQ, timeK, scale} = r;
  const scoresShape = [...r.lead, timeQ, timeK];
  const [output, weights = null] = tf.tidy(() => {
    // The mask and the dropout draw are constants of the gradient, built once.
    const allowed = andMasks(r.mask, positionMask(r, {start: 0, size: timeQ},
                                                  {start: 0, size: timeK}));
    const multiplier = r.dropout > 0 ?
        dropoutMultiplier(scoresShape, r.dropout, r.seed).reshape([slices, timeQ, timeK]) :
        null;
    let weightsOut: tf.Tensor|null = null;

    const attend = customGrad3((q3, k3, v3, save) => {
      const qs = tf.mul(q3, scale);                                     // [slices, timeQ, dk]
      const scores = sliceMatMul(qs, tf.transpose(k3, [0, 2, 1]));        // [slices, timeQ, timeK]
      const p = maskedSoftmax(scores.reshape(scoresShape), allowed)
                    .reshape([slices, timeQ, timeK]);
      if (r.needWeights) {
        weightsOut = tf.keep(p.reshape(scoresShape));  // the forward runs in its own tidy
      }
      const value = sliceMatMul(multiplier ? tf.mul(p, multiplier) : p, v3);  // [slices, timeQ, dv]
      save([qs, k3, v3, value, p, ...(multiplier ? [multiplier] : [])]);

      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qsS, kS, vS, oS, pS, mS = null] = saved as [tf.Tensor, tf.Tensor, tf.Tensor,
                                                           tf.Tensor, tf.Tensor, tf.Tensor?];
        const dRow = tf.sum(tf.mul(dy, oS), -1, true);                 // [slices, timeQ, 1]
        let dp = sliceMatMul(dy, tf.transpose(vS, [0, 2, 1]));           // [slices, timeQ, timeK]
        if (mS != null) {
          dp = tf.mul(dp, mS);
        }
        const ds = tf.mul(pS, tf.sub(dp, dRow));                        // [slices, timeQ, timeK]
        const dq = tf.mul(sliceMatMul(ds, kS), scale);                    // [slices, timeQ, dk]
        // dK and dV as [timeK, timeQ]·[timeQ, d] products on the transposed scores: with the
        // small operand as the right-hand one, XNNPACK packs [timeQ, d], not [timeQ, timeK].
        const dk = sliceMatMul(tf.transpose(ds, [0, 2, 1]), qsS);      // [slices, timeK, dk]
        const dv = sliceMatMul(tf.transpose(mS != null ? tf.mul(pS, mS) : pS, [0, 2, 1]),
                               dy);                                     // [slices, timeK, dv]
        return [dq, dk, dv];
      };
      return {value, gradFunc};
    });

    const out3 = attend(toSlices(query, slices), toSlices(key, slices), toSlices(value, slices));
    const out = out3.reshape([...r.lead, timeQ, r.dv]);
    if (weightsOut == null) {
      return [out];
    }
    // A kept tensor escapes every tidy: hand out an ordinary one (same data, no copy).
    const weights = tf.clone(weightsOut as tf.Tensor);
    tf.dispose(weightsOut);
    return [out, weights];
  });
  return {output: output!, weights: weights ?? null};
}
