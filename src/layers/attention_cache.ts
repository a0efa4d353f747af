/**
 * Key/value caches for decoding one step at a time, shared by the attention layers'
 * `createCache` / `applyCached` (SelfAttention, MultiHeadAttention), as keras-hub's
 * CachedMultiHeadAttention does for Keras.
 *
 * A decoder that generates token by token would otherwise project the keys and values of every
 * earlier token again at every step. A cache keeps them, already split into heads:
 *
 * - a **self-attention cache** (`createCache({batchSize, maxLength})`) starts empty; each
 *   `applyCached(xNew, cache)` projects the new tokens' keys and values, appends them, and
 *   attends the new queries to every key so far (causal within the new block);
 * - a **cross-attention cache** (`createCache({context, contextMask})`) holds the context's
 *   keys and values, projected once; `applyCached` only projects the new queries.
 *
 * Either way the arithmetic is the attention core's (`attend` → `attention()`), with the
 * position rules (causal, sliding window) turned into an explicit mask for the new queries'
 * absolute positions (`positionMask` with the rows starting at the cache's length), so a
 * cached step gives the full call's rows for those positions, on every path and backend.
 *
 * How the keys are stored. tfjs tensors are immutable, so "appending" makes a new tensor
 * either way; the choice is what each step copies and which shapes the kernels see:
 *
 * - 'growing' (the default): `concat([keys, newKeys])`, one op per step that copies the keys
 *   so far, and attention over exactly the keys so far (no mask for one new token). Memory is
 *   bounded by the keys so far; the previous tensor is disposed at once.
 * - 'preallocated': a `[batch, heads, maxLength, size]` buffer from the start; each step
 *   writes the new rows with one `tensorScatterUpdate` (the row indices are data; tfjs still
 *   copies the whole buffer) and attends over all maxLength slots with the unfilled ones
 *   masked. Every step sees the same shapes (a backend that compiles a program per shape,
 *   WebGL, compiles the attention once), at the price of maxLength-wide work from the first
 *   step.
 *
 * docs/generation.md gives the measurements behind the default.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkTensorArg, describeValue, is} from '../args';
import {andMasks, paddingMask, positionCoverage, positionMask, PositionRules, toBool} from '../attention/masks';

/** How a self-attention cache stores its keys and values (see the module comment). */
export type CacheLayout = 'growing'|'preallocated';

/** The layouts that exist. */
export const CACHE_LAYOUTS: readonly CacheLayout[] = ['growing', 'preallocated'];

/** Arguments of `createCache` for a self-attention cache. */
export interface SelfAttentionCacheArgs {
  /** Sequences decoded side by side. Required. */
  batchSize: number;
  /** The most positions the cache holds (prompt and generated tokens). Required. */
  maxLength: number;
  /** How keys and values are stored (see {@link CacheLayout}). Default 'growing'. */
  layout?: CacheLayout;
}

/** Arguments of `createCache` for a cross-attention cache. */
export interface CrossAttentionCacheArgs {
  /** What the queries attend to, `[batch, timeK, contextFeatures]`. Required. */
  context: tf.Tensor;
  /** `[batch, timeK]`, nonzero = a real token (padding is never attended). Default none. */
  contextMask?: tf.Tensor|null;
}

/** Arguments of `createCache`: a self-attention cache or a cross-attention cache. */
export type CreateCacheArgs = SelfAttentionCacheArgs|CrossAttentionCacheArgs;

/** Options of `applyCached`. */
export interface ApplyCachedArgs {
  /**
   * `[batch, tNew]` per-token mask of the new tokens (nonzero = real token): padded queries get
   * output 0 and, in a self-attention cache, padded keys are never attended by later queries.
   * Default none (every token real).
   */
  mask?: tf.Tensor|null;
}

/**
 * The keys and values one attention layer has seen while decoding, for
 * `layer.applyCached(xNew, cache)`. Made by the layer's `createCache`; holds tensors until
 * {@link AttentionCache.dispose}.
 *
 * ```ts
 * const layer = selfAttention({numHeads: 2, causal: true});
 * const prompt = tf.randomNormal([2, 5, 8]);      // [batch, promptLength, features]
 * layer.apply(prompt);                            // builds it
 * const cache = layer.createCache({batchSize: 2, maxLength: 64});
 * const y1 = layer.applyCached(prompt, cache);    // [2, 5, 8]
 * const nextToken = tf.randomNormal([2, 1, 8]);
 * const y2 = layer.applyCached(nextToken, cache); // [2, 1, 8]: attends to all so far
 * cache.dispose();
 * ```
 */
export class AttentionCache {
  /** 'self': keys grow with every step; 'cross': the context's keys, fixed. */
  readonly kind: 'self'|'cross';
  /** Batch size of the queries the cache takes (of the context, for a cross cache). */
  readonly batchSize: number;
  /** Self: the most positions the cache holds. Cross: the context's length (timeK). */
  readonly maxLength: number;
  /** How a self-attention cache stores its keys ('growing' for a cross-attention cache). */
  readonly layout: CacheLayout;
  /** The layer that made it (a cache fits only its own layer's projections). */
  readonly owner: tf.layers.Layer;
  private filled = 0;
  private disposed = false;
  /** `[batch, heads, keys, keyDim]` and `[batch, heads, keys, valueDim]`; null while empty. */
  private keys: tf.Tensor|null;
  private values: tf.Tensor|null;
  /** `[batch, keys]` float32 (1 = real token), or null while every key is a real token. */
  private keyMask: tf.Tensor|null;

  /** Use a layer's `createCache`; this constructor is for the layers. */
  constructor(init: {kind: 'self'|'cross', owner: tf.layers.Layer, batchSize: number,
                     maxLength: number, layout: CacheLayout, keys: tf.Tensor|null,
                     values: tf.Tensor|null, keyMask: tf.Tensor|null}) {
    this.kind = init.kind;
    this.owner = init.owner;
    this.batchSize = init.batchSize;
    this.maxLength = init.maxLength;
    this.layout = init.layout;
    this.keys = keepOrNull(init.keys);
    this.values = keepOrNull(init.values);
    this.keyMask = keepOrNull(init.keyMask);
  }

  /**
   * Self: positions filled so far. Cross: queries attended so far (the position of the next
   * query, which causal or windowed cross-attention counts from).
   */
  get length(): number {
    return this.filled;
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees the cached tensors; the cache cannot be used afterwards. Safe to call twice. */
  dispose(): void {
    if (!this.disposed) {
      tf.dispose([this.keys, this.values, this.keyMask].filter(t => t != null) as tf.Tensor[]);
      this.keys = this.values = this.keyMask = null;
      this.disposed = true;
    }
  }

  /**
   * One step for `tNew` new queries: the keys and values to attend to (for a self cache, the
   * cache's with the new ones written in), the mask of the scores `[batch|1, 1, tNew, keys]`
   * (position rules at the queries' absolute positions, key padding) or null, and `commit`,
   * which makes the step's keys the cache's (call it once the step has succeeded: a step that
   * fails leaves the cache as it was). Tensors are tracked by the caller's tidy; `commit` keeps
   * what the cache holds from then on.
   */
  step(tNew: number, rules: PositionRules, added: {keys: tf.Tensor, values: tf.Tensor,
                                                   mask: tf.Tensor|null}|null):
      {
        /** `[batch, heads, keys, keyDim]`: the keys to attend to. */
        keys: tf.Tensor,
        /** `[batch, heads, keys, valueDim]`: their values. */
        values: tf.Tensor,
        /** `[batch|1, 1, tNew, keys]` (true = may attend), or null when every key may be. */
        mask: tf.Tensor|null,
        /** Keys filled after this step (self; a preallocated buffer holds more), or all (cross). */
        visible: number,
        /** Makes the step's keys the cache's; call once the step has succeeded. */
        commit: () => void,
      } {
    const start = this.filled;
    let keys = this.keys!;
    let values = this.values!;
    let keyMask = this.keyMask;
    if (added != null) {
      [keys, values] = this.kind === 'self' && this.layout === 'preallocated' ?
          [writeRows(keys, added.keys, start), writeRows(values, added.values, start)] :
          [this.keys == null ? added.keys : tf.concat([keys, added.keys], 2),
           this.values == null ? added.values : tf.concat([values, added.values], 2)];
      keyMask = this.nextKeyMask(added.mask, tNew, keys.shape[2]!);
    }
    const timeK = keys.shape[2]!;
    const rows = {start, size: tNew};
    const cols = {start: 0, size: timeK};
    const positions = tNew === 0 || positionCoverage(rules, rows, cols) === 'all' ? null :
        positionMask(rules, rows, cols)!.reshape([1, 1, tNew, timeK]);
    const mask = andMasks(positions, keyMask == null ? null : paddingMask(null, keyMask));
    const visible = this.kind === 'self' ? start + tNew : timeK;
    const commit = () => {
      this.filled = start + tNew;
      if (added == null) {
        return;
      }
      for (const [old, next] of [[this.keys, keys], [this.values, values],
                                 [this.keyMask, keyMask]] as const) {
        if (next != null && next !== old) {
          tf.keep(next);
          old?.dispose();
        }
      }
      this.keys = keys;
      this.values = values;
      this.keyMask = keyMask;
    };
    return {keys, values, mask, visible, commit};
  }

  /** The key mask with the new tokens' mask written in (null while every key is real). */
  private nextKeyMask(added: tf.Tensor|null, tNew: number, timeK: number): tf.Tensor|null {
    if (added == null && this.keyMask == null) {
      return null;
    }
    const fresh = added == null ? tf.ones([this.batchSize, tNew]) : toBool(added).cast('float32');
    const old = this.keyMask ??  // every key so far was real
        tf.ones([this.batchSize, this.layout === 'preallocated' ? this.maxLength : this.filled]);
    return this.layout === 'preallocated' ?
        writeRows(old.reshape([this.batchSize, 1, this.maxLength, 1]),
                  fresh.reshape([this.batchSize, 1, tNew, 1]), this.filled)
            .reshape([this.batchSize, timeK]) :
        tf.concat([old, fresh], 1);
  }
}

/**
 * `buffer` `[batch, heads, slots, d]` with rows `start…start+size-1` replaced by `rows`
 * `[batch, heads, size, d]`: one `tensorScatterUpdate` whose shapes do not depend on `start`
 * (the row indices are data), so a backend that compiles a program per shape compiles it once
 * per block size.
 */
function writeRows(buffer: tf.Tensor, rows: tf.Tensor, start: number): tf.Tensor {
  const [batch, heads, , d] = buffer.shape as number[];
  const size = rows.shape[2]!;
  if (size === 0) {
    return buffer;
  }
  const indices = new Int32Array(batch! * heads! * size * 3);  // (b, h, start + i) per row
  let at = 0;
  for (let b = 0; b < batch!; b++) {
    for (let h = 0; h < heads!; h++) {
      for (let i = 0; i < size; i++) {
        indices.set([b, h, start + i], at);
        at += 3;
      }
    }
  }
  return tf.tensorScatterUpdate(buffer, tf.tensor2d(indices, [batch! * heads! * size, 3], 'int32'),
                                rows.reshape([batch! * heads! * size, d!]));
}

function keepOrNull(t: tf.Tensor|null): tf.Tensor|null {
  return t == null ? null : tf.keep(t);
}

// ---- What the layers call --------------------------------------------------------------------

const SELF_ARGS: ArgSpec = {
  batchSize: is.positiveInt,
  maxLength: is.positiveInt,
  layout: is.oneOf(CACHE_LAYOUTS),
};
const CROSS_ARGS: ArgSpec = {context: is.anything, contextMask: is.anything};
const APPLY_ARGS: ArgSpec = {mask: is.anything};

/**
 * Which cache `args` asks for, checked: {batchSize, maxLength} (self-attention) or {context}
 * (cross-attention, with `contextFeatures` features). Throws naming the argument otherwise.
 */
export function checkCacheArgs(className: string, args: unknown, contextFeatures: number):
    {kind: 'self', batchSize: number, maxLength: number, layout: CacheLayout}|
    {kind: 'cross', context: tf.Tensor, contextMask: tf.Tensor|null} {
  const fn = `${className}.createCache`;
  const record = (args ?? {}) as Record<string, unknown>;
  const cross = typeof args === 'object' && args !== null && 'context' in record;
  const usage = 'pass {batchSize, maxLength} for a self-attention cache or {context, ' +
      'contextMask?} for a cross-attention cache';
  if (cross && ('batchSize' in record || 'maxLength' in record || 'layout' in record)) {
    throw new Error(`${fn}: ${usage}, not both. Received: args with keys ${
        JSON.stringify(Object.keys(record))}`);
  }
  checkArgs(fn, args, cross ? CROSS_ARGS : SELF_ARGS,
            {layer: false, required: cross ? ['context'] : ['batchSize', 'maxLength'],
             suggestions: {batch: 'batchSize', maxLen: 'maxLength', length: 'maxLength',
                           encoderOutput: 'context', mask: 'contextMask', keyMask: 'contextMask'}});
  if (!cross) {
    const a = args as SelfAttentionCacheArgs;
    return {kind: 'self', batchSize: a.batchSize, maxLength: a.maxLength,
            layout: a.layout ?? 'growing'};
  }
  const {context, contextMask = null} = args as CrossAttentionCacheArgs;
  checkTensorArg(fn, context, 'context');
  if (context.rank !== 3 || context.shape[2] !== contextFeatures || context.dtype !== 'float32') {
    throw new Error(`${fn}: context must be a float32 tensor [batch, timeK, ${
        contextFeatures}] (the layer's context features). Received: context=${
        describeValue(context)}`);
  }
  checkTensorArg(fn, contextMask, 'contextMask');
  if (contextMask != null &&
      contextMask.shape.join(',') !== [context.shape[0], context.shape[1]].join(',')) {
    throw new Error(`${fn}: contextMask must have shape [batch, timeK] = [${context.shape[0]}, ${
        context.shape[1]}]. Received: contextMask with shape [${contextMask.shape}].`);
  }
  return {kind: 'cross', context, contextMask};
}

/**
 * Checks a call `applyCached(xNew, cache, options)` of `layer` (`features` = its query
 * features) and returns the new tokens' mask. Throws naming the argument and value when `xNew`
 * is not `[cache.batchSize, tNew, features]`, the cache is disposed, belongs to another layer,
 * or would pass its maxLength.
 */
export function checkCachedCall(className: string, layer: tf.layers.Layer, xNew: unknown,
                                cache: unknown, features: number, options: unknown):
    tf.Tensor|null {
  const fn = `${className}.applyCached`;
  if (!(cache instanceof AttentionCache)) {
    throw new Error(`${fn}: cache must be an AttentionCache from this layer's createCache(). ` +
                    `Received: cache=${describeValue(cache)}`);
  }
  if (cache.isDisposed) {
    throw new Error(`${fn}: cache was disposed; create a new one with createCache(). ` +
                    `Received: a disposed cache (kind '${cache.kind}', length ${cache.length})`);
  }
  if (cache.owner !== layer) {
    throw new Error(`${fn}: cache was made by layer '${cache.owner.name}', not by '${
        layer.name}' (a cache holds one layer's keys and values). Received: cache of '${
        cache.owner.name}'`);
  }
  checkTensorArg(fn, xNew, 'xNew');
  const x = xNew as tf.Tensor;
  if (x.rank !== 3 || x.dtype !== 'float32') {
    throw new Error(`${fn}: xNew must be a float32 tensor [batch, tNew, ${features}]. ` +
                    `Received: xNew=${describeValue(x)}`);
  }
  if (x.shape[0] !== cache.batchSize) {
    throw new Error(`${fn}: xNew must have the cache's batchSize=${cache.batchSize} rows. ` +
                    `Received: xNew with shape [${x.shape}]`);
  }
  if (x.shape[2] !== features) {
    throw new Error(`${fn}: xNew must have ${features} features (the layer's query ` +
                    `features). Received: xNew with shape [${x.shape}]`);
  }
  const tNew = x.shape[1]!;
  if (cache.kind === 'self' && cache.length + tNew > cache.maxLength) {
    throw new Error(`${fn}: the cache holds maxLength=${cache.maxLength} positions, ${
        cache.length} are filled, and xNew adds ${tNew}. Received: xNew with shape [${
        x.shape}]; create the cache with a larger maxLength`);
  }
  checkArgs(fn, options ?? {}, APPLY_ARGS, {layer: false, argName: 'options'});
  const mask = (options as ApplyCachedArgs|undefined)?.mask ?? null;
  checkTensorArg(fn, mask, 'mask');
  if (mask != null && mask.shape.join(',') !== [cache.batchSize, tNew].join(',')) {
    throw new Error(`${fn}: mask must have shape [batch, tNew] = [${cache.batchSize}, ${
        tNew}]. Received: mask with shape [${mask.shape}].`);
  }
  return mask;
}

/** An empty self-attention cache of `heads` heads (key size `keyDim`, value size `valueDim`). */
export function emptySelfCache(owner: tf.layers.Layer,
                               args: {batchSize: number, maxLength: number, layout: CacheLayout},
                               heads: number, keyDim: number, valueDim: number): AttentionCache {
  const {batchSize, maxLength, layout} = args;
  const buffer = (size: number) => layout === 'preallocated' ?
      tf.zeros([batchSize, heads, maxLength, size]) : null;
  return new AttentionCache({kind: 'self', owner, batchSize, maxLength, layout,
                             keys: buffer(keyDim), values: buffer(valueDim), keyMask: null});
}

/**
 * A cross-attention cache of projected context keys `[batch, heads, timeK, keyDim]` and values
 * `[batch, heads, timeK, valueDim]`, with the context's mask `[batch, timeK]` (or null).
 */
export function contextCache(owner: tf.layers.Layer, keys: tf.Tensor, values: tf.Tensor,
                             contextMask: tf.Tensor|null): AttentionCache {
  const [batchSize, , timeK] = keys.shape as number[];
  return new AttentionCache({
    kind: 'cross', owner, batchSize: batchSize!, maxLength: timeK!, layout: 'growing', keys,
    values, keyMask: contextMask == null ? null :
                                          tf.tidy(() => toBool(contextMask).cast('float32')),
  });
}
