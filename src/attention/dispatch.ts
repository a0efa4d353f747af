/**
 * Picks how attention is computed: the standard path (`scaledDotProductAttention`, the one
 * readable truth), the fast path for CPU backends, the memory-efficient path, or the fused GPU
 * programs. All compute the same function and are tested against the same float64 reference.
 *
 * `attention()` is what the layers call: it picks a path ({@link choosePath}), runs it with
 * the options of options.ts, and zeroes the rows of padding queries (`queryMask`) afterwards,
 * so that no path has to build a `[batch, timeQ, timeK]` mask for them. A new path is one
 * function with the signature of `scaledDotProductAttention` (PathOptions → PathResult), a
 * name in {@link AttentionPath}, a case in `run`, and a rule in `choosePath`.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgCheck, ArgSpec, checkArgs, checkTensorArg, is, Suggestion} from '../args';

import {DISPATCH_TABLE} from './dispatch_table';
import {queryRowsMask} from './masks';
import {PATH_OPTION_SUGGESTIONS, PATH_OPTIONS, PathOptions, PathResult, resolveChecked} from './options';
import {fastCpuAttention} from './paths/fast_cpu';
import {fusedAttention, fusedUnsupported} from './paths/fused';
import {memoryEfficientAttention} from './paths/memory_efficient';
import {scaledDotProductAttention, standardPath} from './scaled_dot_product';

/** A path the caller can ask for; 'auto' lets {@link choosePath} decide. */
export type AttentionPath = 'auto'|'standard'|'fast'|'memoryEfficient'|'fused';

/** The paths that exist. */
export const ATTENTION_PATHS: readonly AttentionPath[] =
    ['auto', 'standard', 'fast', 'memoryEfficient', 'fused'];

/**
 * Default memory budget of 'auto' for the attention scores: 64 MiB, a 4096×4096 float32 matrix.
 * Above it, 'auto' takes the memory-efficient path (the standard path holds several tensors of
 * that size at once, about 8× for forward + backward).
 */
export const DEFAULT_MEMORY_BUDGET_BYTES = 64 * 2 ** 20;

/**
 * One measured cell of ./dispatch_table.ts: forward + backward median milliseconds of the
 * standard and the fast path at timeQ = timeK = `time`, dk = dv = `dim`, and the forward alone.
 */
export interface DispatchCell {
  /** Sequence length: timeQ = timeK. */
  time: number;
  /** Head size: dk = dv. */
  dim: number;
  /** Median milliseconds of the standard path (forward + backward). */
  standardMs: number;
  /** Median milliseconds of the fast path (forward + backward). */
  fastMs: number;
  /** Median milliseconds of the standard path's forward alone (tables made since it was added). */
  standardForwardMs?: number;
  /** Median milliseconds of the fast path's forward alone (tables made since it was added). */
  fastForwardMs?: number;
}

/**
 * What a call is measured for: 'training' (tfjs is recording gradients: forward + backward
 * times decide) or 'inference' (no gradient recorded: the forward times decide, where the cell
 * has them).
 */
export type DispatchMode = 'training'|'inference';

/**
 * The path the measurements of ./dispatch_table.ts (`npm run bench -- --dispatch-table`) found
 * faster on `backend` for slices of `timeQ × timeK` with head sizes dk and dv: that of the nearest
 * measured cell, distances taken on log₂ of the length √(timeQ·timeK) and of the head size
 * (dk + dv)/2. 'standard' on a backend the table does not list (webgl, webgpu, tensorflow run
 * batched matMuls at full speed), or where the fast path was not at least 10% faster
 * ({@link FAST_PATH_MARGIN}). `mode` says which
 * times decide (default 'training': forward + backward); `table` defaults to the checked-in
 * {@link DISPATCH_TABLE}.
 *
 * ```ts
 * measuredPath('wasm', 256, 256, 8, 8);  // 'fast' (forward + backward ~4× faster, see the table)
 * measuredPath('wasm', 16, 16, 8, 8, 'inference');  // the faster forward at that size
 * ```
 */
export function measuredPath(backend: string, timeQ: number, timeK: number, dk: number,
                             dv: number, mode: DispatchMode = 'training',
                             table: Readonly<Record<string, readonly DispatchCell[]>> =
                                 DISPATCH_TABLE): 'standard'|'fast' {
  if (mode !== 'training' && mode !== 'inference') {
    throw new Error(`measuredPath: mode must be 'training' or 'inference'. Received: mode=${JSON.stringify(mode)}`);
  }
  const cells = table[backend];
  if (cells == null || cells.length === 0) {
    return 'standard';
  }
  const memo = table === DISPATCH_TABLE ? `${backend} ${timeQ} ${timeK} ${dk} ${dv} ${mode}` : null;
  const known = memo == null ? undefined : MEASURED_PATHS.get(memo);
  if (known != null) {
    return known;
  }
  const time = Math.log2(Math.max(1, Math.sqrt(timeQ * timeK)));
  const dim = Math.log2(Math.max(1, (dk + dv) / 2));
  let best = cells[0]!;
  let bestDistance = Infinity;
  for (const cell of cells) {
    const distance = (Math.log2(cell.time) - time) ** 2 + (Math.log2(cell.dim) - dim) ** 2;
    if (distance < bestDistance) {
      best = cell;
      bestDistance = distance;
    }
  }
  const forward = mode === 'inference' && best.fastForwardMs != null && best.standardForwardMs != null;
  const [fast, standard] = forward ? [best.fastForwardMs!, best.standardForwardMs!] : [best.fastMs, best.standardMs];
  const path = fast < FAST_PATH_MARGIN * standard ? 'fast' : 'standard';
  if (memo != null && MEASURED_PATHS.size < 4096) {
    MEASURED_PATHS.set(memo, path);
  }
  return path;
}

/**
 * The fast path is taken where it measured at least 10% faster than the standard one: closer
 * calls are within the noise of one measurement, and there the standard path runs the same
 * kernels as attention written by hand.
 */
export const FAST_PATH_MARGIN = 0.9;

/** measuredPath's answers from the checked-in table, by backend and sizes (a layer asks each call). */
const MEASURED_PATHS = new Map<string, 'standard'|'fast'>();

/** Options of {@link attention}. */
export interface DispatchOptions extends PathOptions {
  /** Which path computes attention. Default 'auto' (see {@link choosePath}). */
  path?: AttentionPath|undefined;
  /**
   * With 'auto': bytes the float32 scores `[batch, heads, timeQ, timeK]` may take before the
   * memory-efficient path is used. Default {@link DEFAULT_MEMORY_BUDGET_BYTES}.
   */
  memoryBudgetBytes?: number|undefined;
  /** Last dimension of the values (dv), for 'auto''s estimate of the work. Default dk. */
  valueDim?: number|undefined;
  /**
   * Per-token query mask `[batch, timeQ]` (nonzero = real token): rows of padding queries get
   * output 0 and weights 0. Kept apart from `mask` so that no path has to build a
   * `[batch, timeQ, timeK]` mask for it. Default none.
   */
  queryMask?: tf.Tensor|null|undefined;
}

/**
 * The path 'auto' takes for these inputs on the active backend:
 * 1. 'standard' when the weights are wanted (`needWeights`, the default): they are a full
 *    `[timeQ, timeK]` tensor anyway, and only the standard path's weights carry gradients;
 * 2. 'fused' on webgpu: its programs keep no `[timeQ, timeK]` tensor, at any length;
 * 3. 'memoryEfficient' when the float32 scores would exceed `memoryBudgetBytes`;
 * 4. 'fused' on webgl with WebGL 2 (its programs keep two score-sized textures);
 * 5. otherwise the path measured faster for this backend and these sizes ({@link measuredPath},
 *    from the checked-in table ./dispatch_table.ts; 'standard' on backends it does not list:
 *    tensorflow runs batched matMuls at full speed): forward + backward times while tfjs
 *    records gradients, forward times when it does not (inference).
 * The fused path measured faster than the standard one on both GPU backends
 * (docs/attention-paths.md, `npm run bench:programs`).
 *
 * ```ts
 * const q = tf.randomNormal([1, 8, 2048, 64]);
 * choosePath(q, q);                                       // 'standard': weights wanted
 * choosePath(q, q, {needWeights: false});                // 'memoryEfficient': scores 128 MiB
 * choosePath(q, q, {needWeights: false, path: 'fast'});  // 'fast': asked for
 * ```
 */
export function choosePath(query: tf.Tensor, key: tf.Tensor,
                           options: DispatchOptions = {}): Exclude<AttentionPath, 'auto'> {
  checkDispatchOptions('choosePath', options);
  return pickPath(query, key, options);
}

/** {@link choosePath} for options already checked; `valueDim` overrides the option's. */
function pickPath(query: tf.Tensor, key: tf.Tensor, options: DispatchOptions,
                  valueDim = options.valueDim): Exclude<AttentionPath, 'auto'> {
  const path = options.path ?? 'auto';
  checkPath(path);
  if (path !== 'auto') {
    return path;
  }
  if (options.needWeights ?? true) {
    return 'standard';
  }
  const budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  checkBudget(budget);
  const backend = tf.getBackend();
  const fused = (backend === 'webgl' || backend === 'webgpu') && fusedUnsupported() == null;
  if (fused && backend === 'webgpu') {
    return 'fused';
  }
  const scoresBytes = 4 * query.size / query.shape[query.rank - 1]! * key.shape[key.rank - 2]!;
  if (scoresBytes > budget) {
    return 'memoryEfficient';
  }
  if (fused) {
    return 'fused';
  }
  const dk = query.shape[query.rank - 1]!;
  return measuredPath(backend, query.shape[query.rank - 2]!, key.shape[key.rank - 2]!, dk,
                      valueDim ?? dk, tf.engine().isTapeOn() ? 'training' : 'inference');
}

/**
 * softmax(query · keyᵀ · scale) · value by the path {@link choosePath} picks. Same arguments and
 * results as `scaledDotProductAttention`, plus the options of {@link DispatchOptions}.
 *
 * ```ts
 * const q = tf.randomNormal([2, 4, 128, 32]);           // [batch, heads, time, dk]
 * const {output, weights} = attention(q, q, q, {causal: true, needWeights: false});
 * // output [2, 4, 128, 32]; weights null (not asked for), so 'auto' may take a faster path
 * ```
 */
export function attention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                          options: DispatchOptions = {}): PathResult {
  checkDispatchOptions('attention', options);
  checkTensorArg('attention', options.queryMask, 'queryMask');
  const queryMask = options.queryMask ?? null;
  if (queryMask != null) {
    const expected = query.shape.slice(0, 1).concat(query.shape[query.rank - 2]!);
    if (queryMask.shape.join(',') !== expected.join(',')) {
      throw new Error(`queryMask must have shape [batch, timeQ] = [${expected}]. Received: ` +
                      `queryMask with shape [${queryMask.shape}].`);
    }
  }
  const {path: _path, memoryBudgetBytes: _budget, queryMask: _mask, valueDim: _dv,
         ...pathOptions} = options;
  void [_path, _budget, _mask, _dv];
  const chosen = pickPath(query, key, options, value.shape[value.rank - 1]);
  return zeroPaddedRows(run(chosen, query, key, value, pathOptions), query, key, queryMask);
}

/**
 * {@link attention} for a caller that has checked everything already: the attention layers,
 * whose options were checked when they were built and whose masks and projections their call
 * checked or made. The same path and the same result; the standard path also skips its own
 * checks (`resolveChecked`) and its own `tf.tidy`, so call this inside one. At a short
 * sequence the checks took about as long as the arithmetic (docs/benchmarks.md, n = 16).
 */
export function attentionChecked(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                 options: DispatchOptions): PathResult {
  const chosen = pickPath(query, key, options, value.shape[value.rank - 1]);
  if (chosen === 'standard') {  // resolveChecked reads the path options and ignores the rest
    const result = standardPath(query, key, value, resolveChecked(query, key, value, options));
    return zeroPaddedRows(result, query, key, options.queryMask ?? null);
  }
  const {path: _path, memoryBudgetBytes: _budget, queryMask = null, valueDim: _dv,
         ...pathOptions} = options;
  void [_path, _budget, _dv];
  return zeroPaddedRows(run(chosen, query, key, value, pathOptions), query, key, queryMask);
}

/** Output (and weights) with the rows of padded queries (`queryMask` false) set to +0. */
function zeroPaddedRows(result: PathResult, query: tf.Tensor, key: tf.Tensor,
                        queryMask: tf.Tensor|null): PathResult {
  if (queryMask == null || result.output.size === 0 || key.shape[key.rank - 2] === 0) {
    return result;  // nothing to zero (and no size-0 kernel: see isEmpty in options.ts)
  }
  const [output, weights = null] = tf.tidy(() => {
    // [batch, (1,) timeQ, 1]: broadcasts over heads and the last axis. `where` (not a product)
    // so padded rows are +0, as the standard path's masked softmax gives.
    const rows = queryRowsMask(queryMask, query.rank === 4 ? 4 : 3);
    const zeroRows = (t: tf.Tensor) => tf.where(tf.broadcastTo(rows, t.shape), t, tf.zerosLike(t));
    const out = zeroRows(result.output);
    return result.weights == null ? [out] : [out, zeroRows(result.weights)];
  });
  tf.dispose([result.output, result.weights].filter(t => t != null) as tf.Tensor[]);
  return {output: output!, weights: weights ?? null};
}

const DISPATCH_OPTIONS: ArgSpec = {
  ...PATH_OPTIONS,
  path: is.oneOf(ATTENTION_PATHS),
  memoryBudgetBytes: {expected: 'a positive number of bytes', test: is.positiveNumber.test} as
      ArgCheck,
  valueDim: is.positiveInt,
  queryMask: is.anything,  // checked by checkTensorArg and its shape
};

const DISPATCH_SUGGESTIONS: Record<string, Suggestion> = {
  ...PATH_OPTION_SUGGESTIONS,
  attentionPath: 'path',
  budget: 'memoryBudgetBytes',
  memoryBudget: 'memoryBudgetBytes',
};

/** Throws, naming the option, unless `options` holds only known, well-typed options. */
function checkDispatchOptions(fn: string, options: unknown): void {
  checkArgs(fn, options, DISPATCH_OPTIONS,
            {layer: false, argName: 'options', suggestions: DISPATCH_SUGGESTIONS});
}

function run(path: Exclude<AttentionPath, 'auto'>, query: tf.Tensor, key: tf.Tensor,
             value: tf.Tensor, options: PathOptions): PathResult {
  switch (path) {
    case 'standard': {
      return scaledDotProductAttention(query, key, value, options);
    }
    case 'fast':
      return fastCpuAttention(query, key, value, options);
    case 'memoryEfficient':
      return memoryEfficientAttention(query, key, value, options);
    case 'fused':
      return fusedAttention(query, key, value, options);
  }
}

/** Throws unless `path` names a path. */
export function checkPath(path: unknown, argName = 'path', context = ''):
    asserts path is AttentionPath {
  if (!ATTENTION_PATHS.includes(path as AttentionPath)) {
    throw new Error(`${context}${argName} must be one of ${ATTENTION_PATHS.map(p => `'${p}'`).join(', ')}. ` +
                    `Received: ${argName}=${JSON.stringify(path)}`);
  }
}

/** Throws unless `budget` is a positive number of bytes. */
export function checkBudget(budget: unknown, argName = 'memoryBudgetBytes', context = ''): void {
  if (!(typeof budget === 'number' && budget > 0)) {
    throw new Error(`${context}${argName} must be a positive number of bytes. Received: ${argName}=${
        JSON.stringify(budget)}`);
  }
}
