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

import {queryRowsMask} from './masks';
import {PATH_OPTION_SUGGESTIONS, PATH_OPTIONS, PathOptions, PathResult} from './options';
import {fastCpuAttention} from './paths/fast_cpu';
import {fusedAttention, fusedUnsupported} from './paths/fused';
import {memoryEfficientAttention} from './paths/memory_efficient';
import {scaledDotProductAttention} from './scaled_dot_product';

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
 * Backends where 'auto' takes the fast path: on wasm only 2-D matMuls without transpose flags
 * reach the fast kernel. On cpu (plain JavaScript) every matMul runs at about the same speed and
 * the fast path measured 0.6–1.1× the standard one (`npm run bench`), so 'auto' keeps the
 * standard path there; 'fast' can still be forced.
 */
const FAST_PATH_BACKENDS = new Set(['wasm']);

/**
 * Work per batch×head slice, timeQ·timeK·(dk + dv), from which 'auto' takes the fast path (2²¹:
 * 128 tokens with heads of 64). Below it the fast path's per-slice operations cost more than
 * they save (measured with `npm run bench` on wasm: n = 64 with heads of 64, and n = 256 with
 * heads of 8, ran as fast or faster on the standard path).
 */
export const FAST_PATH_MIN_WORK = 2 ** 21;

/** Options of {@link attention}. */
export interface DispatchOptions extends PathOptions {
  /** Which path computes attention. Default 'auto' (see {@link choosePath}). */
  path?: AttentionPath;
  /**
   * With 'auto': bytes the float32 scores `[batch, heads, timeQ, timeK]` may take before the
   * memory-efficient path is used. Default {@link DEFAULT_MEMORY_BUDGET_BYTES}.
   */
  memoryBudgetBytes?: number;
  /** Last dimension of the values (dv), for 'auto''s estimate of the work. Default dk. */
  valueDim?: number;
  /**
   * Per-token query mask `[batch, timeQ]` (nonzero = real token): rows of padding queries get
   * output 0 and weights 0. Kept apart from `mask` so that no path has to build a
   * `[batch, timeQ, timeK]` mask for it. Default none.
   */
  queryMask?: tf.Tensor|null;
}

/**
 * The path 'auto' takes for these inputs on the active backend:
 * 1. 'standard' when the weights are wanted (`needWeights`, the default): they are a full
 *    `[timeQ, timeK]` tensor anyway, and only the standard path's weights carry gradients;
 * 2. 'fused' on webgpu: its programs keep no `[timeQ, timeK]` tensor, at any length;
 * 3. 'memoryEfficient' when the float32 scores would exceed `memoryBudgetBytes`;
 * 4. 'fused' on webgl with WebGL 2 (its programs keep two score-sized textures);
 * 5. 'fast' on the wasm backend when a slice has at least {@link FAST_PATH_MIN_WORK} of work;
 * 6. 'standard' elsewhere (tensorflow runs batched matMuls at full speed; cpu).
 * The fused path measured faster than the standard one on both GPU backends
 * (docs/attention-paths.md, `npm run bench -- --browser`).
 */
export function choosePath(query: tf.Tensor, key: tf.Tensor,
                           options: DispatchOptions = {}): Exclude<AttentionPath, 'auto'> {
  checkDispatchOptions('choosePath', options);
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
  const fused = fusedUnsupported() == null;
  if (fused && tf.getBackend() === 'webgpu') {
    return 'fused';
  }
  const scoresBytes = 4 * query.size / query.shape[query.rank - 1]! * key.shape[key.rank - 2]!;
  if (scoresBytes > budget) {
    return 'memoryEfficient';
  }
  if (fused) {
    return 'fused';
  }
  const work = query.shape[query.rank - 2]! * key.shape[key.rank - 2]! *
      (query.shape[query.rank - 1]! + (options.valueDim ?? query.shape[query.rank - 1]!));
  return FAST_PATH_BACKENDS.has(tf.getBackend()) && work >= FAST_PATH_MIN_WORK ? 'fast' :
                                                                                'standard';
}

/**
 * softmax(query · keyᵀ · scale) · value by the path {@link choosePath} picks. Same arguments and
 * results as `scaledDotProductAttention`, plus the options of {@link DispatchOptions}.
 */
export function attention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                          options: DispatchOptions = {}): PathResult {
  checkDispatchOptions('attention', options);
  checkTensorArg('attention', options.queryMask, 'queryMask');
  const {path: _path, memoryBudgetBytes: _budget, queryMask = null, valueDim: _dv, ...pathOptions} =
      options;
  void [_path, _budget, _dv];
  const chosen = choosePath(query, key, {...options, valueDim: value.shape[value.rank - 1]});
  if (queryMask != null) {
    const expected = query.shape.slice(0, 1).concat(query.shape[query.rank - 2]!);
    if (queryMask.shape.join(',') !== expected.join(',')) {
      throw new Error(`queryMask must have shape [batch, timeQ] = [${expected}]. Received: ` +
                      `queryMask with shape [${queryMask.shape}].`);
    }
  }
  const result = run(chosen, query, key, value, pathOptions);
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
