/**
 * Attention masks. Every mask here is boolean, `true` = may attend, `false` = masked out (the
 * Keras convention), and broadcasts against the scores `[batch, (heads,) timeQ, timeK]`.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * What masked scores are replaced with before the softmax: the most negative finite float16.
 * It stays finite where WebGL stores float16 textures (phones), where -1e9 would become -inf and
 * `-inf - -inf` a NaN. Masked weights are also multiplied by 0 after the softmax, so the value
 * only has to sit below every real score; it never leaks into the result.
 */
export const MASK_FILL = -65504;

/** Lower-triangular `[timeQ, timeK]`: query i may attend key j when j <= i (as Keras). */
export function causalMask(timeQ: number, timeK: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = tf.range(0, timeQ, 1, 'int32').reshape([timeQ, 1]);
    const cols = tf.range(0, timeK, 1, 'int32').reshape([1, timeK]);
    return tf.greaterEqual(rows, cols) as tf.Tensor2D;
  });
}

/**
 * Padding masks from per-token masks, as Keras builds them from an Embedding's `maskZero`:
 * `queryMask` `[batch, timeQ]` masks whole query rows, `keyMask` `[batch, timeK]` masks key
 * columns. Returns `[batch, 1, timeQ, timeK]` (or `[batch, timeQ, timeK]` when `rank` is 3), or
 * null when both are null.
 */
export function paddingMask(queryMask: tf.Tensor|null, keyMask: tf.Tensor|null,
                            rank: 3|4 = 4): tf.Tensor|null {
  if (queryMask == null && keyMask == null) {
    return null;
  }
  return tf.tidy(() => {
    const lead = rank === 4 ? [1] : [];
    const rows = queryMask == null ? null :
        toBool(queryMask).reshape([queryMask.shape[0]!, ...lead, queryMask.shape[1]!, 1]);
    const cols = keyMask == null ? null :
        toBool(keyMask).reshape([keyMask.shape[0]!, ...lead, 1, keyMask.shape[1]!]);
    return andMasks(rows, cols)!;
  });
}

/** Logical AND of two broadcastable masks; a null mask means "attend everywhere". */
export function andMasks(a: tf.Tensor|null, b: tf.Tensor|null): tf.Tensor|null {
  if (a == null) {
    return b == null ? null : toBool(b);
  }
  if (b == null) {
    return toBool(a);
  }
  return tf.tidy(() => tf.logicalAnd(toBool(a), toBool(b)));
}

/** Any nonzero number counts as "may attend". */
export function toBool(mask: tf.Tensor): tf.Tensor {
  return mask.dtype === 'bool' ? mask : tf.tidy(() => tf.notEqual(mask, 0));
}

/**
 * Throws unless `mask` broadcasts against `scoresShape` (right-aligned, each dimension equal to
 * the scores' or 1). `argName` is what the error calls it.
 */
export function checkMaskShape(mask: tf.Tensor, scoresShape: number[], argName: string): void {
  const fits = mask.rank <= scoresShape.length &&
      mask.shape.every((size, i) => {
        const target = scoresShape[scoresShape.length - mask.rank + i];
        return size === 1 || size === target;
      });
  if (!fits) {
    throw new Error(
        `${argName} must broadcast to the attention scores [${scoresShape}] ` +
        `([batch, (heads,) timeQ, timeK]). Received: ${argName} with shape [${mask.shape}].`);
  }
}
