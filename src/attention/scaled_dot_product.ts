/**
 * The standard path: steps 3–6 of attention, in one place and as plainly as they read on paper:
 * scores Q·Kᵀ, times 1/√dk, masked softmax over the keys, weighted sum of V. This is the one
 * readable truth: every other path (src/attention/paths/) computes the same function and is
 * tested against it and against a float64 reference. Options and input checks are in
 * options.ts, masks in masks.ts.
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, MASK_FILL, positionMask} from './masks';
import {AttentionOptions, AttentionResult, resolve} from './options';

/** Every intermediate of steps 3–6, as {@link attentionSteps} returns them. */
export interface AttentionSteps extends AttentionResult {
  /** Step 3, raw scores query · keyᵀ: `[batch, (heads,) timeQ, timeK]`. */
  scores: tf.Tensor;
  /** Step 4, the scores times {@link AttentionSteps.scale}: `[batch, (heads,) timeQ, timeK]`. */
  scaled: tf.Tensor;
  /** The factor of step 4: 1/√dk unless `options.scale` was given. */
  scale: number;
}

/**
 * softmax(query · keyᵀ · scale) · value, for rank-3 `[batch, time, d]` or rank-4
 * `[batch, heads, time, d]` tensors. A query row whose keys are all masked gets weights 0 and
 * output 0, never NaN.
 */
export function scaledDotProductAttention(
    query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
    options: AttentionOptions = {}): AttentionResult {
  return tf.tidy(() => {
    const {output, weights} = attentionSteps(query, key, value, options);
    return {output, weights};
  });
}

/**
 * The same computation as {@link scaledDotProductAttention}, returning every step's tensor
 * (the caller disposes them): for explaining and inspecting attention. The layer's own path runs
 * through this function, so its numbers are the layer's numbers.
 */
export function attentionSteps(
    query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
    options: AttentionOptions = {}): AttentionSteps {
  const {timeQ, timeK, scale, mask, dropout, seed, ...rules} = resolve(query, key, value, options);

  const tensors = tf.tidy(() => {
    const scores = tf.matMul(query, key, false, true);  // step 3: [batch, (heads,) timeQ, timeK]
    const scaled = tf.mul(scores, scale);               // step 4: ÷ √dk
    const positions = positionMask(rules, {start: 0, size: timeQ}, {start: 0, size: timeK});
    const allowed = andMasks(mask, positions);          // [batch|1, (heads|1,) timeQ, timeK]
    const weights = maskedSoftmax(scaled, allowed);     // step 5
    const dropped = dropout > 0 ? tf.dropout(weights, dropout, undefined, seed) : weights;
    const output = tf.matMul(dropped, value);           // step 6: [batch, (heads,) timeQ, dv]
    return {scores, scaled, weights, output};
  });
  return {...tensors, scale};
}

/**
 * Softmax over the last axis, where `allowed` (boolean, broadcastable) is false the weight is 0.
 * Masked scores are first replaced by {@link MASK_FILL} so they cannot win the softmax's max;
 * multiplying by the mask afterwards turns rows with no allowed key into zeros.
 */
export function maskedSoftmax(scores: tf.Tensor, allowed: tf.Tensor|null): tf.Tensor {
  if (allowed == null) {
    return tf.softmax(scores);
  }
  return tf.tidy(() => {
    const filled = tf.where(allowed, scores, tf.scalar(MASK_FILL));
    return tf.mul(tf.softmax(filled), tf.cast(allowed, scores.dtype));
  });
}
