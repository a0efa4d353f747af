/**
 * The fast path for CPU backends (wasm, cpu): the same function as `scaledDotProductAttention`,
 * computed one batch×head slice at a time with 2-D matMuls that carry no transpose flag, the
 * only form that reaches the wasm backend's fast kernel (a batched or flagged matMul runs 10–40×
 * slower there). A custom gradient keeps the backward pass on that same kernel: every product
 * whose operand would need a transpose flag is written with the small `[time, d]` operand
 * transposed instead, never the `[timeQ, timeK]` one.
 *
 * Forward, per slice:   S = (scale·Q) · Kᵀ,  P = maskedSoftmax(S),  O = (P ⊙ M) · V
 * Backward, per slice:  dV = ((dOᵀ) · (P ⊙ M))ᵀ,  dP = (dO · Vᵀ) ⊙ M,
 *                       dS = P ⊙ (dP − rowsum(dP ⊙ P)),
 *                       dQ = scale · dS · K,  dK = ((scale·Q)ᵀ · dS)ᵀ
 * (M is the dropout multiplier, drawn exactly as `tf.dropout` draws it.)
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, maskSlices, positionMask} from '../masks';
import {emptyAttention, isEmpty, PathOptions, PathResult, resolve} from '../options';
import {maskedSoftmax} from '../scaled_dot_product';
import {customGrad3, dropoutMultiplier, SliceGradients, stackSliceGradients, toSlices} from './common';

/**
 * softmax(query · keyᵀ · scale) · value as {@link scaledDotProductAttention}, for rank-3 or
 * rank-4 inputs, with the same options and results (weights only when `needWeights`, the
 * default). The returned weights carry no gradient; the output does.
 */
export function fastCpuAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                 options: PathOptions = {}): PathResult {
  const r = resolve(query, key, value, options, 'fastCpuAttention');
  if (isEmpty(r)) {
    return emptyAttention(query, key, value, r);
  }
  const {slices, timeQ, timeK, scale} = r;
  const [output, weights = null] = tf.tidy(() => {
    // Masks and the dropout draw are constants of the gradient; built once, per slice.
    const positions = positionMask(r, {start: 0, size: timeQ}, {start: 0, size: timeK});
    const allowedCache = new Map<tf.Tensor|null, tf.Tensor|null>();
    const allowed = maskSlices(r).map(m => {
      if (!allowedCache.has(m)) {
        allowedCache.set(m, andMasks(m, positions));
      }
      return allowedCache.get(m)!;
    });
    const multiplier = r.dropout > 0 ?
        tf.unstack(dropoutMultiplier([...r.lead, timeQ, timeK], r.dropout, r.seed)
                       .reshape([slices, timeQ, timeK])) :
        null;
    const probsOut: tf.Tensor[] = [];

    const attend = customGrad3((q3, k3, v3, save) => {
      const qs = tf.mul(q3, scale);                                   // [slices, timeQ, dk]
      const kT = tf.unstack(tf.transpose(k3, [0, 2, 1]));             // each [dk, timeK]
      const qList = tf.unstack(qs);                                   // each [timeQ, dk]
      const vList = tf.unstack(v3);                                   // each [timeK, dv]
      const outputs: tf.Tensor[] = [];
      const probs: tf.Tensor[] = [];
      for (let s = 0; s < slices; s++) {
        // One slice at a time, its temporaries freed before the next.
        const [o, p] = tf.tidy(() => {
          const scores = tf.matMul(qList[s]!, kT[s]!);                // [timeQ, timeK]
          const p = maskedSoftmax(scores, allowed[s]!);
          const dropped = multiplier ? tf.mul(p, multiplier[s]!) : p;
          return [tf.matMul(dropped, vList[s]!), p];                  // [timeQ, dv], weights
        });
        outputs.push(o!);
        probs.push(p!);
      }
      if (r.needWeights) {
        // The forward function runs in its own tidy: keep the weights for the caller.
        probsOut.push(...probs.map(p => tf.keep(p)));
      }
      save([qs, k3, v3, ...probs, ...(multiplier ?? [])]);  // kept for the backward pass
      const value = tf.stack(outputs) as tf.Tensor3D;                 // [slices, timeQ, dv]

      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qsSaved, kSaved, vSaved, ...rest] = saved as [tf.Tensor, tf.Tensor, tf.Tensor,
                                                             ...tf.Tensor[]];
        const p = rest.slice(0, slices);
        const mult = multiplier ? rest.slice(slices) : null;
        const dyList = tf.unstack(dy);                                // each [timeQ, dv]
        const dyT = tf.unstack(tf.transpose(dy, [0, 2, 1]));          // each [dv, timeQ]
        const vT = tf.unstack(tf.transpose(vSaved, [0, 2, 1]));       // each [dv, timeK]
        const qsT = tf.unstack(tf.transpose(qsSaved, [0, 2, 1]));     // each [dk, timeQ]
        const kList = tf.unstack(kSaved);                             // each [timeK, dk]
        const perSlice: SliceGradients[] = [];
        for (let s = 0; s < slices; s++) {
          const grads = tf.tidy((): SliceGradients => {
            const ps = p[s]!;
            const dropped = mult ? tf.mul(ps, mult[s]!) : ps;
            const dvTs = tf.matMul(dyT[s]!, dropped);                 // [dv, timeK]
            let dp = tf.matMul(dyList[s]!, vT[s]!);                   // [timeQ, timeK]
            if (mult) {
              dp = tf.mul(dp, mult[s]!);
            }
            const ds = tf.mul(ps, tf.sub(dp, tf.sum(tf.mul(dp, ps), -1, true)));
            return [tf.matMul(ds, kList[s]!), tf.matMul(qsT[s]!, ds), dvTs];  // dq, dkᵀ, dvᵀ
          });
          perSlice.push(grads);
        }
        return stackSliceGradients(perSlice, scale);
      };
      return {value, gradFunc};
    });

    const out3 = attend(toSlices(query, slices), toSlices(key, slices), toSlices(value, slices));
    const out = out3.reshape([...r.lead, timeQ, r.dv]);
    if (!r.needWeights) {
      return [out];
    }
    const weights = tf.stack(probsOut).reshape([...r.lead, timeQ, timeK]);
    tf.dispose(probsOut);
    return [out, weights];
  });
  return {output: output!, weights: weights ?? null};
}
