/**
 * Every attention mask, built here and nowhere else. A mask is boolean, `true` = may attend,
 * `false` = masked out (the Keras convention), and broadcasts against the scores
 * `[batch, (heads,) timeQ, timeK]`.
 *
 * Kinds of mask, and who builds them:
 * - position rules ({@link PositionRules}): causal (key j ≤ query i) and Keras 3.15's sliding
 *   window (|i − j| < window), as a whole `[timeQ, timeK]` mask or for one block of rows and
 *   columns ({@link positionMask}); {@link positionCoverage} tells a path which blocks it may
 *   skip or compute unmasked;
 * - padding from per-token masks `[batch, time]` ({@link paddingMask}, {@link queryRowsMask});
 * - explicit masks a caller passes, checked by {@link checkMaskShape}, cut into per-slice
 *   (batch×head) masks by {@link maskSlices} and into blocks by {@link blockMask};
 * - {@link andMasks} combines any two; null means "attend everywhere" throughout.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * What masked scores are replaced with before the softmax: the most negative finite float16.
 * It stays finite where WebGL stores float16 textures (phones), where -1e9 would become -inf and
 * `-inf - -inf` a NaN. Masked weights are also multiplied by 0 after the softmax, so the value
 * only has to sit below every real score; it never leaks into the result.
 */
export const MASK_FILL = -65504;

/** Rules on positions alone (the same for every batch entry and head). */
export interface PositionRules {
  /** Query i may attend key j only when j <= i. */
  causal: boolean;
  /** Query i may attend key j only when |i − j| < slidingWindow; null for no window. */
  slidingWindow: number|null;
}

/** Positions `start … start+size-1`: the rows (queries) or columns (keys) of a block. */
export interface Span {
  /** First position (0 = the first query or key). */
  start: number;
  /** Number of positions. */
  size: number;
}

/**
 * Lower-triangular `[timeQ, timeK]`: query i may attend key j when j <= i (as Keras).
 *
 * ```ts
 * causalMask(3, 3).print();  // [[true, false, false], [true, true, false], [true, true, true]]
 * ```
 */
export function causalMask(timeQ: number, timeK: number): tf.Tensor2D {
  return positionMask({causal: true, slidingWindow: null}, {start: 0, size: timeQ},
                      {start: 0, size: timeK})!;
}

/**
 * Band `[timeQ, timeK]`: query i may attend key j when |i − j| < window, as Keras 3.15's
 * `MultiHeadAttention(sliding_window=window)` (AND it with {@link causalMask} for the causal
 * sliding window).
 *
 * ```ts
 * slidingWindowMask(4, 4, 2).print();  // query i sees keys i-1, i, i+1 (|i − j| < 2)
 * ```
 */
export function slidingWindowMask(timeQ: number, timeK: number, window: number): tf.Tensor2D {
  return positionMask({causal: false, slidingWindow: window}, {start: 0, size: timeQ},
                      {start: 0, size: timeK})!;
}

/**
 * The position rules' mask of the block `rows × cols` (query positions × key positions),
 * `[rows.size, cols.size]`, or null when no rule is set. Positions count from 0 at the first
 * query and the first key (Keras's convention; top-left aligned when timeQ ≠ timeK).
 *
 * ```ts
 * const rules = {causal: true, slidingWindow: null};
 * positionMask(rules, {start: 2, size: 2}, {start: 0, size: 4})?.print();
 * // queries 2–3 × keys 0–3: [[true, true, true, false], [true, true, true, true]]
 * ```
 */
export function positionMask(rules: PositionRules, rows: Span, cols: Span): tf.Tensor2D|null {
  if (!rules.causal && rules.slidingWindow == null) {
    return null;
  }
  return tf.tidy(() => {
    const i = tf.range(rows.start, rows.start + rows.size, 1, 'int32').reshape([rows.size, 1]);
    const j = tf.range(cols.start, cols.start + cols.size, 1, 'int32').reshape([1, cols.size]);
    let allowed: tf.Tensor|null = rules.causal ? tf.greaterEqual(i, j) : null;  // j <= i
    const w = rules.slidingWindow;
    if (w != null) {
      // |i − j| < w  ⇔  i < j + w  and  j < i + w.
      const band = tf.logicalAnd(tf.less(i, tf.add(j, w)), tf.less(j, tf.add(i, w)));
      allowed = allowed == null ? band : tf.logicalAnd(allowed, band);
    }
    return allowed as tf.Tensor2D;
  });
}

/**
 * Which entries of the block `rows × cols` the position rules allow: 'all' (the block needs no
 * position mask), 'none' (a path may skip it) or 'some'. Computed from the block's corners,
 * without building a tensor.
 *
 * ```ts
 * const rules = {causal: true, slidingWindow: null};
 * positionCoverage(rules, {start: 512, size: 512}, {start: 0, size: 512});    // 'all'
 * positionCoverage(rules, {start: 0, size: 512}, {start: 512, size: 512});    // 'none'
 * positionCoverage(rules, {start: 0, size: 512}, {start: 0, size: 512});      // 'some'
 * ```
 */
export function positionCoverage(rules: PositionRules, rows: Span, cols: Span):
    'all'|'none'|'some' {
  const [r0, r1, c0, c1] = [rows.start, rows.start + rows.size - 1, cols.start,
                            cols.start + cols.size - 1];
  let all = true;
  let none = false;
  if (rules.causal) {
    all = c1 <= r0;
    none = c0 > r1;
  }
  const w = rules.slidingWindow;
  if (w != null) {
    const farthest = Math.max(Math.abs(r1 - c0), Math.abs(c1 - r0));
    const nearest = Math.max(0, c0 - r1, r0 - c1);
    all = all && farthest < w;
    none = none || nearest >= w;
  }
  return none ? 'none' : all ? 'all' : 'some';
}

/**
 * Padding masks from per-token masks, as Keras builds them from an Embedding's `maskZero`:
 * `queryMask` `[batch, timeQ]` masks whole query rows, `keyMask` `[batch, timeK]` masks key
 * columns. Returns `[batch, 1, timeQ, timeK]` (or `[batch, timeQ, timeK]` when `rank` is 3), or
 * null when both are null.
 *
 * ```ts
 * const tokens = tf.tensor2d([[1, 1, 0]]);             // [batch 1, time 3]: the last is padding
 * paddingMask(null, tokens)?.shape;                     // [1, 1, 1, 3]: the padded key is masked
 * paddingMask(tokens, tokens, 3)?.shape;                // [1, 3, 3]: its query row too
 * ```
 */
export function paddingMask(queryMask: tf.Tensor|null, keyMask: tf.Tensor|null,
                            rank: 3|4 = 4): tf.Tensor|null {
  if (queryMask == null && keyMask == null) {
    return null;
  }
  return tf.tidy(() => {
    const rows = queryMask == null ? null : queryRowsMask(queryMask, rank);
    const cols = keyMask == null ? null :
        toBool(keyMask).reshape([keyMask.shape[0]!, ...(rank === 4 ? [1] : []), 1,
                                 keyMask.shape[1]!]);
    return andMasks(rows, cols)!;
  });
}

/**
 * A per-token query mask `[batch, timeQ]` (nonzero = real token) as rows of the scores:
 * `[batch, 1, timeQ, 1]` (or `[batch, timeQ, 1]` when `rank` is 3), broadcasting over heads and
 * keys.
 */
export function queryRowsMask(queryMask: tf.Tensor, rank: 3|4 = 4): tf.Tensor {
  const [batch, timeQ] = queryMask.shape as [number, number];
  return tf.tidy(() => toBool(queryMask).reshape([batch, ...(rank === 4 ? [1] : []), timeQ, 1]));
}

/**
 * Logical AND of two broadcastable masks; a null mask means "attend everywhere".
 *
 * ```ts
 * const both = andMasks(causalMask(4, 4), slidingWindowMask(4, 4, 2));  // the causal window
 * andMasks(null, null);                                                 // null: attend everywhere
 * ```
 */
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

/**
 * An explicit mask cut into the masks of the 2-D slices a path computes one at a time (one per
 * batch×head, row-major over `lead`): each `[1|timeQ, 1|timeK]` boolean, or null for "all
 * allowed". Slices that share a mask (a mask without a heads axis, say) share one tensor.
 */
export function maskSlices(r: {mask: tf.Tensor|null, lead: number[], slices: number}):
    Array<tf.Tensor2D|null> {
  const {mask, lead, slices} = r;
  if (mask == null) {
    return new Array<null>(slices).fill(null);
  }
  const full = mask.reshape([...new Array<number>(lead.length + 2 - mask.rank).fill(1),
                             ...mask.shape]);
  const bool = toBool(full);
  const [mq, mk] = bool.shape.slice(-2) as [number, number];
  const cache = new Map<string, tf.Tensor2D>();
  const out: tf.Tensor2D[] = [];
  for (let s = 0; s < slices; s++) {
    // Row-major multi-index of slice s over `lead`; broadcast axes (size 1) read index 0.
    const begin: number[] = [];
    let rest = s;
    for (let d = lead.length - 1; d >= 0; d--) {
      begin.unshift(bool.shape[d] === 1 ? 0 : rest % lead[d]!);
      rest = Math.floor(rest / lead[d]!);
    }
    const id = begin.join(',');
    if (!cache.has(id)) {
      cache.set(id, bool.slice([...begin, 0, 0], [...begin.map(() => 1), mq, mk])
                        .reshape([mq, mk]) as tf.Tensor2D);
    }
    out.push(cache.get(id)!);
  }
  return out;
}

/**
 * The whole mask of the block `rows × cols` of one slice: the slice's explicit mask
 * (`[1|timeQ, 1|timeK]`, from {@link maskSlices}) cut to the block, AND the position rules.
 * Returns `[rows.size|1, cols.size|1]` boolean, or null when every entry is allowed.
 */
export function blockMask(mask: tf.Tensor2D|null, rules: PositionRules, rows: Span, cols: Span):
    tf.Tensor|null {
  const positionsNeeded = positionCoverage(rules, rows, cols) !== 'all';
  if (mask == null && !positionsNeeded) {
    return null;
  }
  return tf.tidy(() => {
    let explicit: tf.Tensor|null = null;
    if (mask != null) {
      const [mq, mk] = mask.shape;
      explicit = mask.slice([mq === 1 ? 0 : rows.start, mk === 1 ? 0 : cols.start],
                            [mq === 1 ? 1 : rows.size, mk === 1 ? 1 : cols.size]);
    }
    return andMasks(explicit, positionsNeeded ? positionMask(rules, rows, cols) : null)!;
  });
}
