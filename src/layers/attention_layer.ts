/**
 * What the package's attention layers share, as plain functions: `SelfAttention` (this
 * package's layout: 2-D kernels `[features, heads*keyDim]`) and `MultiHeadAttention` (Keras's
 * layout: 3-D kernels `[features, heads, keyDim]`, Keras's call convention) differ only in how
 * they store their weights and how they are called; everything between the inputs and the
 * output goes through here:
 *
 *   inputs ─ checkFeatures ─ projectHeads (steps 1–2, per Q, K, V) ─┐
 *   propagated / explicit masks ─ scoresMask ───────────────────────┴─ attend (steps 3–6:
 *   limits, dispatch → one path, padded query rows zeroed) ─ mergeHeads ─ projectOutput ─ output
 *
 * Plain functions rather than a base class: each layer stays one readable `tf.layers.Layer`
 * subclass with its own weights, config and call convention, and calls these helpers in order.
 * Both kernel layouts hold the same numbers (head h uses columns h*keyDim…(h+1)*keyDim-1), so
 * every helper takes either: a 3-D `[features, heads, size]` kernel is read as
 * `[features, heads*size]`, and a 3-D output kernel `[heads, valueDim, out]` as
 * `[heads*valueDim, out]`.
 *
 * A Keras-layout layer's `call`, sketched:
 *
 *   return tf.tidy(() => {
 *     checkFeatures('MultiHeadAttention', query, this.queryDim, 'query');
 *     const q = projectHeads(query, this.queryKernel, this.queryBias, heads, keyDim);
 *     const k = projectHeads(key, this.keyKernel, this.keyBias, heads, keyDim);
 *     const v = projectHeads(value, this.valueKernel, this.valueBias, heads, valueDim);
 *     const mask = scoresMask({keyMasks: [valueMask, keyMask], attentionMask, batch,
 *                              numHeads: heads, timeQ, timeK});
 *     const {output, weights} = attend(q, k, v, {mask, queryMask, causal: useCausalMask,
 *         dropout: this.dropout, training, needWeights: returnAttentionScores});
 *     return projectOutput(mergeHeads(output), this.outputKernel, this.outputBias);
 *   });
 */
import * as tf from '@tensorflow/tfjs';

import {attentionChecked, DispatchOptions} from '../attention/dispatch';
import {checkScoresFitBackend} from '../attention/limits';
import {andMasks, paddingMask, toBool} from '../attention/masks';
import {connectedZeros, PathResult} from '../attention/options';
import {matMul2d} from '../ops/matmul';

/** Throws unless `x` (`[batch, time, features]`) has `expected` features. */
export function checkFeatures(className: string, x: tf.Tensor, expected: number, name: string):
    void {
  if (x.shape[2] !== expected) {
    throw new Error(`${className} was built for ${name} with ${expected} features. Received: ` +
                    `${name} with shape [${x.shape}].`);
  }
}

/** Throws unless a per-token mask is null or has shape `expected` (`[batch, time]`). */
export function checkTokenMask(mask: tf.Tensor|null, expected: number[], name: string): void {
  if (mask != null && mask.shape.join(',') !== expected.join(',')) {
    throw new Error(`${name} must have shape [batch, time] = [${expected}]. Received: ${
        name} with shape [${mask.shape}].`);
  }
}

// ---- Projections ------------------------------------------------------------------------------

/**
 * x · W (+ b) over the last axis, as one 2-D matMul with the bias in the same kernel (and a
 * flag-free gradient on wasm, see src/ops/matmul.ts). `kernel` is `[features, units]`, or
 * `[features, ...]` read as `[features, product of the rest]`; `bias` has `units` values in any
 * shape. `[batch, time, features]` → `[batch, time, units]`.
 */
export function dense(x: tf.Tensor, kernel: tf.LayerVariable, bias: tf.LayerVariable|null):
    tf.Tensor {
  return tf.tidy(() => {
    const [batch, time, features] = x.shape as [number, number, number];
    const y = dense2d(x.reshape([batch * time, features]), kernel, bias);  // [batch*time, units]
    return y.reshape([batch, time, y.shape[1]!]);
  });
}

/** `[batch, time, features]` → `[batch*time, features]`, the rows {@link projectRows} takes. */
export function flatRows(x: tf.Tensor): tf.Tensor2D {
  const [batch, time, features] = x.shape as [number, number, number];
  return x.reshape([batch * time, features]);
}

/**
 * {@link dense} on rows: `[rows, features]` → `[rows, units]`. Runs no kernel but the matMul
 * (and the reshapes of rank-3 weights, and on wasm the bias add); the caller tidies.
 */
function dense2d(rows: tf.Tensor2D, kernel: tf.LayerVariable, bias: tf.LayerVariable|null):
    tf.Tensor2D {
  const w = kernel.read();
  const units = w.size / w.shape[0]!;
  if (rows.shape[0] === 0) {  // no size-0 kernel (wasm fails on them)
    return connectedZeros([0, units],
                          bias == null ? [rows, w] : [rows, w, bias.read()]) as tf.Tensor2D;
  }
  return matMul2d(rows, asMatrix(w, units), asVector(bias));
}

/** A kernel `[rows, ...]` as `[rows, units]` (no op when it is 2-D already). */
function asMatrix(w: tf.Tensor, units: number): tf.Tensor2D {
  return (w.rank === 2 ? w : w.reshape([w.shape[0]!, units])) as tf.Tensor2D;
}

/** A bias of any shape as `[units]` (no op when it is 1-D already), or null. */
function asVector(bias: tf.LayerVariable|null): tf.Tensor1D|null {
  if (bias == null) {
    return null;
  }
  const b = bias.read();
  return (b.rank === 1 ? b : b.reshape([b.size])) as tf.Tensor1D;
}

/**
 * `[batch*time, heads*size]` → `[batch, heads, time, size]`: head h takes columns h*size….
 * One head (or nothing to move: wasm's size-0 transpose fails) is a reshape alone: moving an
 * axis of size 1 leaves the values in place.
 */
function splitRows(x: tf.Tensor, batch: number, time: number, heads: number, size: number):
    tf.Tensor {
  if (heads === 1 || x.size === 0) {
    return x.reshape([batch, heads, time, size]);
  }
  return x.reshape([batch, time, heads, size]).transpose([0, 2, 1, 3]);  // the caller tidies
}

/**
 * Steps 1–2 for one of Q, K, V: `[batch, time, features]` → `[batch, heads, time, size]`, with a
 * kernel `[features, heads*size]` or `[features, heads, size]` and a bias of `heads*size` values.
 */
export function projectHeads(x: tf.Tensor, kernel: tf.LayerVariable, bias: tf.LayerVariable|null,
                             heads: number, size: number): tf.Tensor {
  const [batch, time] = x.shape as [number, number, number];
  return tf.tidy(() => projectRows(flatRows(x), batch, time, kernel, bias, heads, size));
}

/**
 * {@link projectHeads} on rows `[batch*time, features]` ({@link flatRows}), so that Q, K and V
 * of self-attention share one reshape of the input; the caller tidies.
 */
export function projectRows(rows: tf.Tensor2D, batch: number, time: number,
                            kernel: tf.LayerVariable, bias: tf.LayerVariable|null, heads: number,
                            size: number): tf.Tensor {
  return splitRows(dense2d(rows, kernel, bias), batch, time, heads, size);
}

/** `[batch, heads, timeQ, size]` → `[batch, timeQ, heads*size]`, the heads side by side. */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [batch, heads, timeQ, size] = x.shape as [number, number, number, number];
  if (heads === 1 || x.size === 0) {
    return x.reshape([batch, timeQ, heads * size]);  // nothing to move (see splitRows)
  }
  return tf.tidy(() => x.transpose([0, 2, 1, 3]).reshape([batch, timeQ, heads * size]));
}

/**
 * The output projection W_o: `[batch, timeQ, heads*valueDim]` · kernel (+ bias) →
 * `[batch, timeQ, units]`. The kernel is `[heads*valueDim, units]`, or Keras's
 * `[heads, valueDim, ...outputShape]` (units = the product of outputShape; reshape the result to
 * `[batch, timeQ, ...outputShape]` when it has several axes).
 */
export function projectOutput(merged: tf.Tensor, kernel: tf.LayerVariable,
                              bias: tf.LayerVariable|null): tf.Tensor {
  const [batch, timeQ] = merged.shape as [number, number, number];
  return tf.tidy(() => projectOutputRows(flatRows(merged), batch, timeQ, kernel, bias));
}

/**
 * {@link mergeHeads} straight to rows: `[batch, heads, timeQ, size]` → `[batch*timeQ,
 * heads*size]`, what {@link projectOutputRows} takes (one reshape fewer); the caller tidies.
 */
export function mergeRows(x: tf.Tensor): tf.Tensor2D {
  const [batch, heads, timeQ, size] = x.shape as [number, number, number, number];
  const moved = heads === 1 || x.size === 0 ? x : x.transpose([0, 2, 1, 3]);  // see splitRows
  return moved.reshape([batch * timeQ, heads * size]);
}

/**
 * {@link projectOutput} on rows `[batch*timeQ, heads*valueDim]` → `[batch, timeQ, units]`;
 * the caller tidies.
 */
export function projectOutputRows(rows: tf.Tensor2D, batch: number, timeQ: number,
                                  kernel: tf.LayerVariable, bias: tf.LayerVariable|null):
    tf.Tensor {
  const width = rows.shape[1];
  const w = kernel.read();
  const units = w.size / width;
  if (batch * timeQ === 0) {  // no size-0 kernel (wasm fails on them)
    return connectedZeros([batch, timeQ, units],
                          bias == null ? [rows, w] : [rows, w, bias.read()]);
  }
  const w2d = (w.rank === 2 ? w : w.reshape([width, units])) as tf.Tensor2D;  // Keras: [heads, dv, ...]
  return matMul2d(rows, w2d, asVector(bias)).reshape([batch, timeQ, units]);
}

// ---- Masks ------------------------------------------------------------------------------------

/** What {@link scoresMask} combines. */
export interface ScoresMaskArgs {
  /**
   * Per-token masks of the keys `[batch, timeK]` (nonzero = real token), e.g. a value mask and a
   * key mask; nulls are skipped. All are ANDed.
   */
  keyMasks: Array<tf.Tensor|null>;
  /**
   * Explicit mask `[batch, timeQ, timeK]` or `[batch, 1|numHeads, timeQ, timeK]`, `true` = may
   * attend (numbers: nonzero). Default none.
   */
  attentionMask?: tf.Tensor|null|undefined;
  batch: number;
  numHeads: number;
  timeQ: number;
  timeK: number;
}

/**
 * The mask of the scores as the layers pass it to `attend`: the keys' padding AND the explicit
 * attention mask, `[batch, 1|numHeads, timeQ|1, timeK]` boolean, or null. Per-token query masks
 * stay apart (`attend`'s `queryMask` zeroes whole rows), so padding alone never builds a
 * timeQ×timeK mask. Throws, naming the argument, when a shape does not fit.
 */
export function scoresMask(args: ScoresMaskArgs): tf.Tensor|null {
  const {batch, numHeads, timeQ, timeK} = args;
  args.keyMasks.forEach(m => checkTokenMask(m, [batch, timeK], 'key mask'));
  const extra = args.attentionMask ?? null;
  if (extra != null) {
    const fits = (extra.rank === 3 || extra.rank === 4) && extra.shape[0] === batch &&
        (extra.rank === 3 || extra.shape[1] === 1 || extra.shape[1] === numHeads) &&
        extra.shape[extra.rank - 2] === timeQ && extra.shape[extra.rank - 1] === timeK;
    if (!fits) {
      throw new Error(
          `attentionMask must have shape [batch, timeQ, timeK] = [${batch}, ${timeQ}, ${
              timeK}] or [batch, 1|numHeads, timeQ, timeK]. Received: attentionMask with ` +
          `shape [${extra.shape}].`);
    }
  }
  if (extra == null && args.keyMasks.every(m => m == null)) {
    return null;  // nothing to combine: no kernel, no scope
  }
  return tf.tidy(() => {
    let mask: tf.Tensor|null = null;
    for (const keyMask of args.keyMasks) {
      mask = andMasks(mask, paddingMask(null, keyMask));  // [batch, 1, 1, timeK]
    }
    if (extra != null) {
      mask = andMasks(mask, toBool(extra.rank === 3 ? extra.expandDims(1) : extra));
    }
    return mask as tf.Tensor;  // tidy keeps a null result as null
  });
}

// ---- Steps 3–6 --------------------------------------------------------------------------------

/**
 * Options of {@link attend}: what the layer resolved, plus this call's masks and mode. The
 * dispatcher's options ({@link DispatchOptions}: `mask` from {@link scoresMask}, `queryMask`,
 * `causal`, `slidingWindow`, `dropout`, `training`, `seed`, `path`, `memoryBudgetBytes`), with
 * the same defaults except `needWeights`.
 */
export interface AttendOptions extends Pick<DispatchOptions, 'mask'|'queryMask'|'causal'|'slidingWindow'|
                                                              'dropout'|'training'|'seed'|'path'|
                                                              'memoryBudgetBytes'> {
  /** Whether the weights are returned. Default false (a layer asks only when it returns them). */
  needWeights?: boolean|undefined;
  /** Name used in errors. Default 'SelfAttention'. */
  layerName?: string|undefined;
}

/**
 * Steps 3–6 for projected heads: query `[batch, heads, timeQ, keyDim]`, key
 * `[batch, heads, timeK, keyDim]`, value `[batch, heads, timeK, valueDim]` → output
 * `[batch, heads, timeQ, valueDim]` and (with `needWeights`) weights
 * `[batch, heads, timeQ, timeK]`. Checks the backend's size limits first, then the dispatcher
 * picks the path (`attentionChecked`: the layer checked its options and masks). Call it inside
 * `tf.tidy` (a layer's call): intermediates are left to that scope.
 */
export function attend(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                       options: AttendOptions = {}): PathResult {
  const [batch, heads, timeQ] = query.shape as [number, number, number, number];
  const timeK = key.shape[2]!;
  checkScoresFitBackend(batch * heads, timeQ, timeK, options.layerName);
  checkTokenMask(options.queryMask ?? null, [batch, timeQ], 'query mask');
  return attentionChecked(query, key, value, {
    mask: options.mask ?? null,
    queryMask: options.queryMask ?? null,
    causal: options.causal ?? false,
    slidingWindow: options.slidingWindow ?? null,
    dropout: options.dropout ?? 0,
    training: options.training ?? false,
    seed: options.seed,
    path: options.path,
    memoryBudgetBytes: options.memoryBudgetBytes,
    needWeights: options.needWeights ?? false,
  });
}
