/**
 * Steps 3–6 of self-attention, in one place: scores Q·Kᵀ, divided by √dk, softmax over the
 * keys, weighted sum of V. The SelfAttention layer calls this; every faster path is tested
 * against it.
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, causalMask, checkMaskShape, MASK_FILL} from './masks';

/** Options of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /**
   * Boolean mask broadcastable to the scores `[batch, (heads,) timeQ, timeK]`: `true` = may
   * attend. Numbers are read as `!= 0`. Default: none.
   */
  mask?: tf.Tensor|null;
  /** Query i attends only keys j <= i. Default false. */
  causal?: boolean;
  /** Factor the scores are multiplied by. Default 1/√dk (dk = last dimension of `query`). */
  scale?: number;
  /** Fraction of attention weights dropped, only when `training`. Default 0. */
  dropout?: number;
  /** Whether dropout applies. Default false. */
  training?: boolean;
  /** Seed for the dropout pattern. Default: random. */
  seed?: number;
}

/** What {@link scaledDotProductAttention} returns. */
export interface AttentionResult {
  /** Weighted sums of the values: `[batch, (heads,) timeQ, dv]`. */
  output: tf.Tensor;
  /** Softmax weights before dropout: `[batch, (heads,) timeQ, timeK]`; rows sum to 1 or to 0. */
  weights: tf.Tensor;
}

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
  checkInputs(query, key, value);
  const {mask = null, causal = false, dropout = 0, training = false, seed} = options;
  const dk = query.shape[query.rank - 1]!;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  if (!(dropout >= 0 && dropout < 1)) {
    throw new Error(`dropout must be in [0, 1). Received: dropout=${dropout}`);
  }
  const timeQ = query.shape[query.rank - 2]!;
  const timeK = key.shape[key.rank - 2]!;
  const scoresShape = [...query.shape.slice(0, -1), timeK];
  if (mask != null) {
    checkMaskShape(mask, scoresShape, 'mask');
  }

  const tensors = tf.tidy(() => {
    const scores = tf.matMul(query, key, false, true);  // step 3: [batch, (heads,) timeQ, timeK]
    const scaled = tf.mul(scores, scale);               // step 4: ÷ √dk
    const allowed = andMasks(mask, causal ? causalMask(timeQ, timeK) : null);
    const weights = maskedSoftmax(scaled, allowed);     // step 5
    const dropped = dropout > 0 && training ? tf.dropout(weights, dropout, undefined, seed) :
                                              weights;
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

/** Throws a clear error unless query, key and value have ranks and shapes that fit. */
export function checkInputs(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor): void {
  const named = {query, key, value};
  for (const [name, t] of Object.entries(named)) {
    if (t.rank !== 3 && t.rank !== 4) {
      throw new Error(
          `${name} must have rank 3 [batch, time, d] or 4 [batch, heads, time, d]. ` +
          `Received: ${name} with shape [${t.shape}].`);
    }
  }
  if (key.rank !== query.rank || value.rank !== query.rank) {
    throw new Error(
        `query, key and value must have the same rank. Received: query [${query.shape}], ` +
        `key [${key.shape}], value [${value.shape}].`);
  }
  const lead = (t: tf.Tensor) => t.shape.slice(0, -2).join(',');
  const lastDim = (t: tf.Tensor) => t.shape[t.rank - 1];
  const time = (t: tf.Tensor) => t.shape[t.rank - 2];
  if (lead(key) !== lead(query) || lead(value) !== lead(query)) {
    throw new Error(
        `query, key and value must share their batch (and heads) dimensions. Received: ` +
        `query [${query.shape}], key [${key.shape}], value [${value.shape}].`);
  }
  if (lastDim(key) !== lastDim(query)) {
    throw new Error(
        `key must have the same last dimension as query. Received: query [${query.shape}], ` +
        `key [${key.shape}].`);
  }
  if (time(value) !== time(key)) {
    throw new Error(
        `value must have as many time steps as key. Received: key [${key.shape}], ` +
        `value [${value.shape}].`);
  }
}
