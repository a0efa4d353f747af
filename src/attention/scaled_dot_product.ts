/**
 * The standard path: steps 3–6 of attention, in one place and as plainly as they read on paper:
 * scores Q·Kᵀ, times 1/√dk, masked softmax over the keys, weighted sum of V. This is the one
 * readable truth: every other path (src/attention/paths/) computes the same function and is
 * tested against it and against a float64 reference. Options and input checks are in
 * options.ts, masks in masks.ts.
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, MASK_FILL, positionMask, toBool} from './masks';
import {AttentionOptions, AttentionResult, emptyAttention, isEmpty, resolve, Resolved} from './options';

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
 *
 * ```ts
 * const q = tf.randomNormal([2, 5, 8]);                 // [batch, timeQ, dk]
 * const kv = tf.randomNormal([2, 7, 8]);                // [batch, timeK, d]
 * const {output, weights} = scaledDotProductAttention(q, kv, kv, {causal: false});
 * // output [2, 5, 8], weights [2, 5, 7] (each row sums to 1)
 * ```
 */
export function scaledDotProductAttention(
    query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
    options: AttentionOptions = {}): AttentionResult {
  const r = resolve(query, key, value, options, 'scaledDotProductAttention');
  return tf.tidy(() => {
    const {output, weights} = standardPath(query, key, value, r);
    return {output, weights};
  });
}

/**
 * {@link scaledDotProductAttention} for options already resolved (see `resolveChecked` in
 * options.ts) and inside the caller's `tf.tidy` (its intermediates are left to it): what the
 * dispatcher runs for a layer, without checking twice.
 */
export function standardPath(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, r: Resolved):
    AttentionResult {
  const {output, weights} = compute(query, key, value, r);
  return {output, weights};
}

/**
 * The same computation as {@link scaledDotProductAttention}, returning every step's tensor
 * (the caller disposes them): for explaining and inspecting attention. The layer's own path runs
 * through this function, so its numbers are the layer's numbers.
 *
 * ```ts
 * const x = tf.tensor3d([[[1, 0], [0, 1]]]);             // [batch 1, time 2, dk 2]
 * const steps = attentionSteps(x, x, x);
 * steps.scores.print();   // Q·Kᵀ      [[1, 0], [0, 1]]
 * steps.scaled.print();   // ÷ √2
 * steps.weights.print();  // softmax over the keys
 * tf.dispose([steps.scores, steps.scaled, steps.weights, steps.output]);
 * ```
 */
export function attentionSteps(
    query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
    options: AttentionOptions = {}): AttentionSteps {
  return steps(query, key, value, options, 'attentionSteps');
}

/** Steps 3–6; `fn` names the function called in errors. */
function steps(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, options: AttentionOptions,
               fn: string): AttentionSteps {
  const r = resolve(query, key, value, options, fn);
  const tensors = tf.tidy(() => {
    const {scores, scaled, weights, output} = compute(query, key, value, r);
    return {scores, scaled, weights, output};
  });
  return {...tensors, scale: r.scale};
}

/** Steps 3–6 on resolved options, every intermediate returned; the caller tidies. */
function compute(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, r: Resolved):
    AttentionSteps {
  const {timeQ, timeK, scale, mask, dropout, seed} = r;
  if (isEmpty(r)) {
    const {output, weights} = emptyAttention(query, key, value, {...r, needWeights: true});
    const zeros = () => tf.zeros([...r.lead, timeQ, timeK]);
    return {scores: zeros(), scaled: zeros(), weights: weights!, output, scale};
  }
  const scores = tf.matMul(query, key, false, true);  // step 3: [batch, (heads,) timeQ, timeK]
  const scaled = tf.mul(scores, scale);               // step 4: ÷ √dk
  const positions = positionMask(r, {start: 0, size: timeQ}, {start: 0, size: timeK});
  const allowed = andMasks(mask, positions);          // [batch|1, (heads|1,) timeQ, timeK]
  const weights = maskedSoftmax(scaled, allowed);     // step 5
  const dropped = dropout > 0 ? tf.dropout(weights, dropout, undefined, seed) : weights;
  const output = tf.matMul(dropped, value);           // step 6: [batch, (heads,) timeQ, dv]
  return {scores, scaled, weights, output, scale};
}

/**
 * Softmax over the last axis, where `allowed` (boolean, broadcastable) is false the weight is 0,
 * whatever the scores: masked keys get exactly 0 and the allowed keys of a row all of its weight,
 * even when every allowed score lies below the fill value (scores up to ±1e30 and beyond). A row
 * with no allowed key gets weights 0, never NaN.
 *
 * How: each row is first shifted by its largest *allowed* score (a constant of the gradient:
 * softmax does not depend on it), so the allowed scores are ≤ 0 with a 0 among them; masked
 * scores are then replaced by {@link MASK_FILL}, which lies below every allowed score that can
 * carry weight, and multiplying by the mask after the softmax zeroes them and the rows with no
 * allowed key. Every intermediate stays finite in float16 (WebGL on phones).
 *
 * ```ts
 * const scores = tf.tensor2d([[1, 2, 3], [1, 2, 3]]);
 * const allowed = tf.tensor2d([[1, 1, 0], [0, 0, 0]], undefined, 'bool');
 * maskedSoftmax(scores, allowed).print();  // [[0.27, 0.73, 0], [0, 0, 0]]
 * ```
 */
export function maskedSoftmax(scores: tf.Tensor, allowed: tf.Tensor|null): tf.Tensor {
  if (allowed == null && !maxIsClamped()) {
    return tf.softmax(scores);
  }
  return maskedSoftmaxWithStats(scores, allowed, false).weights;
}

/**
 * {@link maskedSoftmax}, and with `needStats` the statistics the memory-efficient path merges
 * blocks by, each `[..., 1]`: `rowMax`, the largest allowed score of each row, and `rowSum`,
 * Σ exp(score − rowMax) over its allowed keys (so log Σ exp(score) = rowMax + log rowSum, kept
 * apart because at large scores the sum would lose the digits that matter). A row with no
 * allowed key gets rowSum = 0 and rowMax = the lowest finite value the backend stores, so it adds
 * nothing to a merge. rowSum comes from the softmax for free: the largest weight of a row is
 * exp(0)/Σ.
 */
export function maskedSoftmaxWithStats(scores: tf.Tensor, allowed: tf.Tensor|null,
                                       needStats = true):
    {weights: tf.Tensor, rowMax: tf.Tensor|null, rowSum: tf.Tensor|null} {
  const [weights, rowMax = null, rowSum = null] = tf.tidy(() => {
    const mask = allowed == null ? null : toBool(allowed);
    let logits = scores;
    let max: tf.Tensor|null = null;                                     // [..., 1]
    if (mask != null || maxIsClamped()) {
      const candidates = mask == null ? scores : tf.where(mask, scores, tf.scalar(lowestFinite()));
      max = withoutGradient(rowMaxOf(candidates));
      const shifted = tf.sub(scores, max);                              // allowed: <= 0, max 0
      logits = mask == null ? shifted : tf.where(mask, shifted, tf.scalar(MASK_FILL));
    }
    const p = tf.softmax(logits);
    const weights = mask == null ? p : tf.mul(p, tf.cast(mask, p.dtype));
    if (!needStats) {
      return [weights];
    }
    const top = tf.max(p, -1, true);                                    // exp(0) / Σ
    return [weights, max ?? tf.max(scores, -1, true),
            mask == null ? tf.reciprocal(top) : tf.div(tf.sum(weights, -1, true), top)];
  });
  return {weights: weights!, rowMax, rowSum};
}

/**
 * Whether `tf.max` on the active backend cannot return values below −1e20: tfjs-backend-webgl
 * 4.22 starts its max reduction from −1e20 (its shader cannot write −∞ on every driver), so a
 * row whose values all lie below it gets −1e20. With float16 textures no value is that low.
 */
function maxIsClamped(): boolean {
  return tf.getBackend() === 'webgl' && lowestFinite() !== MASK_FILL;
}

/**
 * The maximum over the last axis, `[..., 1]`, exact on every backend: where {@link maxIsClamped},
 * the rows are scaled by 2⁻¹⁰⁰ into the reduction's range first and back after (exact: a power
 * of two; only values below 2⁻²⁶ in size may round to 0, which leaves the shift within 2⁻²⁶).
 */
function rowMaxOf(x: tf.Tensor): tf.Tensor {
  if (!maxIsClamped()) {
    return tf.max(x, -1, true);
  }
  return tf.mul(tf.max(tf.mul(x, 2 ** -100), -1, true), 2 ** 100);
}

/**
 * The most negative finite value the active backend stores: −65504 where WebGL keeps float16
 * textures (render targets without float32), else float32's −3.4028e38.
 */
export function lowestFinite(): number {
  const float16 = tf.getBackend() === 'webgl' &&
      (!tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ||
       tf.env().getBool('WEBGL_FORCE_F16_TEXTURES'));
  return float16 ? MASK_FILL : -3.4028234663852886e38;
}

/** The identity, with a zero gradient (tfjs has no stop-gradient op). */
const withoutGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
