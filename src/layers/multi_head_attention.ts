/**
 * The MultiHeadAttention layer: Keras's `keras.layers.MultiHeadAttention` (Keras 3.15, and
 * Keras 2 where it differs) on this package's attention core. Same arguments, weight names,
 * shapes and order, call convention and numbers as Keras, so that a Keras model's weights load
 * into it by name; steps 3–6 go through `attention()` (src/attention/dispatch.ts) like
 * SelfAttention's, so every path (standard, fast, memory-efficient) and backend applies.
 *
 * What it adds to the core, in call order: the Keras call convention and masks (query, value,
 * key, attention mask, causal, sliding window) → Q, K, V (and the gate) projected with 3-D
 * kernels `[dim, heads, size]` → attention → Keras's rule for rows with no key to attend
 * (below) → gate → output projection `[heads, valueDim, ...outputShape]`.
 *
 * Rows with no key to attend ("fully masked rows") get what Keras gives them:
 * | fullyMaskedRows | such a row's attention output (before the output projection) | scores |
 * | --- | --- | --- |
 * | 'keras3' (default) | dropout 0 and no scores returned (Keras 3's `dot_product_attention` path): the plain average of the row's values; otherwise (Keras 3's einsum path): 0 | 0 (when returned) |
 * | 'average' (Keras 2) | the plain average of the values | 1 / timeK |
 * | 'zeros' (this package's SelfAttention) | 0 | 0 |
 */
import * as tf from '@tensorflow/tfjs';

import {ArgCheck, ArgSpec, checkArgs, checkCallArgs, checkMaskArg, checkTensorArg, is, MAX_SIZE,
        Suggestion} from '../args';
import {ATTENTION_PATHS, AttentionPath, DEFAULT_MEMORY_BUDGET_BYTES} from '../attention/dispatch';
import {andMasks, toBool} from '../attention/masks';
import {Constraint, Identifier, Initializer, Regularizer, resolveConstraint,
        resolveInitializer, resolveRegularizer, serialize} from '../initializers';
import {ApplyCachedArgs, AttentionCache, checkCacheArgs, checkCachedCall, contextCache,
        CreateCacheArgs, emptySelfCache} from './attention_cache';
import {attend, AttendOptions, checkFeatures, checkTokenMask, dense, mergeHeads, projectHeads,
        projectOutput, scoresMask} from './attention_layer';

const CLASS = 'MultiHeadAttention';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** What a positional input of {@link MultiHeadAttention} can be (see `inputOrder`). */
export type MultiHeadAttentionInput =
    'query'|'value'|'key'|'attentionMask'|'queryMask'|'valueMask'|'keyMask';

/** The rule for rows with no key to attend; see {@link MultiHeadAttentionArgs.fullyMaskedRows}. */
export type FullyMaskedRows = 'keras3'|'average'|'zeros';

const INPUT_NAMES: readonly MultiHeadAttentionInput[] =
    ['query', 'value', 'key', 'attentionMask', 'queryMask', 'valueMask', 'keyMask'];
const FULLY_MASKED_ROWS: readonly FullyMaskedRows[] = ['keras3', 'average', 'zeros'];

/** The positional layout `apply` assumes for 1 to 4 inputs when `inputOrder` is not set. */
const DEFAULT_INPUT_ORDER: Record<number, MultiHeadAttentionInput[]> = {
  1: ['query'],
  2: ['query', 'value'],
  3: ['query', 'value', 'key'],
  4: ['query', 'value', 'key', 'attentionMask'],
};

/** Keras 3 writes the shapes a layer was built with as `build_config`; this is its camelCase form. */
export interface MultiHeadAttentionBuildConfig {
  /** The input shapes the layer was built for. */
  shapesDict: {
    /** `[batch, timeQ, queryFeatures]`. */
    queryShape: Shape,
    /** `[batch, timeK, valueFeatures]`. */
    valueShape: Shape,
    /** `[batch, timeK, keyFeatures]`; absent or null: the value's shape. */
    keyShape?: Shape|null,
  };
}

/**
 * Arguments of {@link MultiHeadAttention}: Keras's, in camelCase (a Keras config's snake_case keys
 * load as they do for tfjs's own layers), then this package's.
 */
export interface MultiHeadAttentionArgs extends LayerArgs {
  /** Number of attention heads. Required. */
  numHeads: number;
  /** Size of each head for query and key. Required. */
  keyDim: number;
  /** Size of each head for value. Default `keyDim`. */
  valueDim?: number|null;
  /** Dropout rate on the attention weights, during training only. Default 0. */
  dropout?: number;
  /** Whether the projections (query, key, value, gate, output) have biases. Default true. */
  useBias?: boolean;
  /**
   * Shape of each output position, besides batch and time: a number or a list of numbers.
   * Default: the query's last dimension.
   */
  outputShape?: number|number[]|null;
  /**
   * Axes attention runs over. Only Keras's default is supported (the time axis of
   * `[batch, time, dim]` inputs: `null`, `1`, `[1]`, `-2` or `[-2]`); anything else is an error.
   * Default null.
   */
  attentionAxes?: number|number[]|null;
  /**
   * Each query attends only to keys within `slidingWindow - 1` positions of it (a symmetric band,
   * |i − j| < slidingWindow; with `useCausalMask`, the keys i − slidingWindow + 1 … i). Keras 3.15.
   * Default null (no window).
   */
  slidingWindow?: number|null;
  /**
   * Gated attention (Keras 3.14): the attention output is multiplied by sigmoid(query ·
   * W_gate + b_gate), `[heads, valueDim]` per position, before the output projection. Default false.
   */
  useGate?: boolean;
  /** Initializer of every kernel. Default 'glorotUniform' (as Keras). */
  kernelInitializer?: Identifier<Initializer>;
  /** Initializer of every bias. Default 'zeros'. */
  biasInitializer?: Identifier<Initializer>;
  /** Regularizer of every kernel. Default none. */
  kernelRegularizer?: Identifier<Regularizer>|null;
  /** Regularizer of every bias. Default none. */
  biasRegularizer?: Identifier<Regularizer>|null;
  /**
   * Regularizer of the projections' outputs (query, key, value, gate, attention output), each
   * divided by the batch size, added to the training loss as Keras does. Default none.
   */
  activityRegularizer?: Identifier<Regularizer>|null;
  /** Constraint on every kernel. Default none. */
  kernelConstraint?: Identifier<Constraint>|null;
  /** Constraint on every bias. Default none. */
  biasConstraint?: Identifier<Constraint>|null;
  /**
   * Seed of the dropout pattern: the n-th training call uses seed + n, so a run is reproducible
   * and every step still drops different weights. Default null (random).
   */
  seed?: number|null;
  /** Keras 2's softmax option; kept for its configs (it changes no number here). Default null. */
  softmaxRobustMasking?: boolean|null;
  /**
   * Keras 2's build shapes (`query_shape`, `value_shape`, `key_shape` of its configs): given, the
   * layer creates its weights at once. Default null (built by the first call).
   */
  queryShape?: Shape|null;
  /** See `queryShape`. */
  valueShape?: Shape|null;
  /** See `queryShape`. Default: `valueShape`. */
  keyShape?: Shape|null;
  /** Keras 3's `build_config` (shapes the weights are built for at once). Default null. */
  buildConfig?: MultiHeadAttentionBuildConfig|null;
  /**
   * Apply a causal mask (query i attends keys j <= i) unless a call says otherwise: Keras's
   * call argument `use_causal_mask` as a layer setting, so that a model (where tfjs passes no
   * call arguments) keeps it. Default false.
   */
  useCausalMask?: boolean;
  /**
   * Also return the attention scores `[batch, heads, timeQ, timeK]` (before dropout) unless a
   * call says otherwise; Keras's `return_attention_scores` as a layer setting. Default false.
   */
  returnAttentionScores?: boolean;
  /**
   * What each positional input is: a list starting with 'query', then any of 'value', 'key',
   * 'attentionMask', 'queryMask', 'valueMask', 'keyMask' once each. Without 'value' the layer
   * attends over the query itself (value = key = query, with the query's mask), so a model's
   * self-attention node lists its tensor once. Default by count: `[query]`, `[query, value]`,
   * `[query, value, key]`, `[query, value, key, attentionMask]`.
   */
  inputOrder?: MultiHeadAttentionInput[]|null;
  /**
   * What a row with no key to attend gives (see the module comment): 'keras3', 'average'
   * (Keras 2) or 'zeros'. Default 'keras3', or 'average' for a Keras 2 config (one with
   * `queryShape` or `softmaxRobustMasking`).
   */
  fullyMaskedRows?: FullyMaskedRows;
  /**
   * How steps 3–6 are computed; every path gives the same numbers. Default 'auto' (see
   * `choosePath`: the standard path when scores are returned).
   */
  attentionPath?: AttentionPath;
  /**
   * Bytes the float32 attention scores may take before 'auto' takes the memory-efficient path.
   * Default 64 MiB.
   */
  memoryBudgetBytes?: number;
}

/**
 * Keyword arguments of `apply` and `call`: Keras's call arguments in camelCase. The tensors
 * (`value`, `key`, `attentionMask`, the masks) go with a single `query` tensor; with a list of
 * inputs they are positional (see `inputOrder`).
 */
export interface MultiHeadAttentionCallArgs {
  /** `[batch, timeK, valueFeatures]`. */
  value?: tf.Tensor|tf.SymbolicTensor;
  /** `[batch, timeK, keyFeatures]`. Default: `value`. */
  key?: tf.Tensor|tf.SymbolicTensor;
  /**
   * Boolean mask (numbers read as `!= 0`), `true` = may attend: `[batch, timeQ, timeK]`,
   * `[batch, 1|heads, timeQ, timeK]` or `[timeQ, timeK]`. Default none.
   */
  attentionMask?: tf.Tensor|tf.SymbolicTensor|null;
  /** Per-token query mask `[batch, timeQ]`. Default: the query's propagated mask. */
  queryMask?: tf.Tensor|tf.SymbolicTensor|null;
  /** Per-token value mask `[batch, timeK]`. Default: the value's propagated mask. */
  valueMask?: tf.Tensor|tf.SymbolicTensor|null;
  /** Per-token key mask `[batch, timeK]`. Default: the key's propagated mask. */
  keyMask?: tf.Tensor|tf.SymbolicTensor|null;
  /** Default: the layer's `useCausalMask`. */
  useCausalMask?: boolean;
  /** Default: the layer's `returnAttentionScores`. */
  returnAttentionScores?: boolean;
  /** Whether dropout applies (`fit` passes true). Default false. */
  training?: boolean;
  /**
   * Propagated masks as tfjs passes them: one tensor (the first input's) or one per input.
   * Inputs' own `kerasMask` fill in the rest.
   */
  mask?: tf.Tensor|Array<tf.Tensor|null>|null;
}

/** Sizes fixed when the layer is built. */
interface Dims {
  query: number;
  value: number;
  key: number;
  /** The output shape besides batch and time. */
  output: number[];
}

/** One weight per projection (the bias is null without `useBias`). */
interface Projection {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable|null;
}

/**
 * Multi-head attention with Keras's weights and call convention.
 *
 * Args: see {@link MultiHeadAttentionArgs} (Keras's arguments, camelCase).
 *
 * Call arguments, in any of Keras's forms:
 * - `apply([query, value])`, `apply([query, value, key])`, `apply([query, value, key,
 *   attentionMask])`, or any layout set by `inputOrder`; `apply(query)` alone is self-attention
 *   (value = key = query), the same as `apply([query, query])` (in a model, prefer it: tfjs's
 *   `predict` mishandles a node that lists one tensor twice);
 * - `apply(query, {value, key, attentionMask, useCausalMask, returnAttentionScores, training})`
 *   (see {@link MultiHeadAttentionCallArgs}).
 *
 * `query` is `[batch, timeQ, queryFeatures]`, `value` `[batch, timeK, valueFeatures]`, `key`
 * `[batch, timeK, keyFeatures]` (default `value`). Masks propagated by tfjs (an Embedding with
 * `maskZero`, `tf.layers.masking`) are used as Keras uses them: the query's masks query rows,
 * the value's and the key's mask keys. They come from the call's `mask` (tfjs's `predict` and
 * `fit` hand a layer only its first input's) or, for the others, from each input's `kerasMask`.
 *
 * In a model (symbolic `apply`), tfjs passes no call arguments at `predict`/`fit` time, so what a
 * Keras node can pass is expressed in the layer itself: tensors positionally (a symbolic
 * `apply(query, {value, attentionMask})` records `inputOrder` `['query', 'value',
 * 'attentionMask']`), and `useCausalMask` / `returnAttentionScores` given at the layer's first
 * symbolic call become its settings (a later call with other values is an error). Both are in
 * `getConfig`, so `model.save` and `tf.loadLayersModel` keep them.
 *
 * Returns `[batch, timeQ, ...outputShape]` (default `[batch, timeQ, queryFeatures]`), and with
 * `returnAttentionScores` also the scores `[batch, numHeads, timeQ, timeK]` (before dropout).
 * The output's mask is the query's.
 *
 * Weights, in Keras's order and names (`<layer>/query/kernel`, ...): query/kernel
 * `[queryFeatures, numHeads, keyDim]`, query/bias `[numHeads, keyDim]`, key/kernel
 * `[keyFeatures, numHeads, keyDim]`, key/bias, (with `useGate`) gate/kernel
 * `[queryFeatures, numHeads, valueDim]`, gate/bias, value/kernel `[valueFeatures, numHeads,
 * valueDim]`, value/bias, attention_output/kernel `[numHeads, valueDim, ...outputShape]`,
 * attention_output/bias `[...outputShape]` (biases only with `useBias`). Head h of a kernel
 * `[dim, heads, size]` is the column block h·size … (h+1)·size − 1 of the same numbers viewed as
 * `[dim, heads·size]`, as in SelfAttention.
 *
 * ```ts
 * const mha = multiHeadAttention({numHeads: 2, keyDim: 16});
 * const x = tf.input({shape: [10, 32]});
 * const y = mha.apply([x, x], {useCausalMask: true}) as tf.SymbolicTensor;  // [null, 10, 32]
 * const model = tf.model({inputs: x, outputs: y});
 * ```
 */
export class MultiHeadAttention extends tf.layers.Layer {
  /**
   * The name tfjs's serialization registers the class under (Keras's own name, so Keras configs map
   * onto it).
   */
  static className = 'MultiHeadAttention';

  /** Number of heads ({@link MultiHeadAttentionArgs.numHeads}). */
  readonly numHeads: number;
  /** Size of each head for query and key ({@link MultiHeadAttentionArgs.keyDim}). */
  readonly keyDim: number;
  /** Size of each head for value ({@link MultiHeadAttentionArgs.valueDim}, default keyDim). */
  readonly valueDim: number;
  /**
   * Dropout rate on the attention weights while training ({@link MultiHeadAttentionArgs.dropout},
   * default 0).
   */
  readonly dropout: number;
  /** Whether the projections have biases ({@link MultiHeadAttentionArgs.useBias}, default true). */
  readonly useBias: boolean;
  /**
   * Whether the output is gated per head ({@link MultiHeadAttentionArgs.useGate}, default false).
   */
  readonly useGate: boolean;
  /**
   * Query i attends keys with |i − j| < slidingWindow; null for none ({@link
   * MultiHeadAttentionArgs.slidingWindow}).
   */
  readonly slidingWindow: number|null;
  /** Seed of the dropout pattern; null for random ({@link MultiHeadAttentionArgs.seed}). */
  readonly seed: number|null;
  /**
   * What a query row with every key masked gets ({@link MultiHeadAttentionArgs.fullyMaskedRows}).
   */
  readonly fullyMaskedRows: FullyMaskedRows;
  /** How steps 3–6 are computed ({@link MultiHeadAttentionArgs.attentionPath}, default 'auto'). */
  readonly attentionPath: AttentionPath;
  /**
   * Scores size above which 'auto' takes the memory-efficient path ({@link
   * MultiHeadAttentionArgs.memoryBudgetBytes}, default 64 MiB).
   */
  readonly memoryBudgetBytes: number;
  /** Causal mask by default (see the args). Set by the first symbolic call that passes it. */
  useCausalMask: boolean;
  /** Return scores by default (see the args). Set by the first symbolic call that passes it. */
  returnAttentionScores: boolean;
  /** The positional input layout, or null for the default by count. */
  inputOrder: MultiHeadAttentionInput[]|null;

  /** `outputShape` as a list, or null; `outputShapeGiven` as given (Keras 2 keeps a number). */
  private readonly outputShapeArg: number[]|null;
  private readonly outputShapeGiven: number|number[]|null;
  private readonly attentionAxesArg: number[]|null;
  private readonly softmaxRobustMasking: boolean|null;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernelRegularizer: Regularizer|null;
  private readonly biasRegularizer: Regularizer|null;
  private readonly activityRegularizerFn: Regularizer|null;
  private readonly kernelConstraint: Constraint|null;
  private readonly biasConstraint: Constraint|null;

  private dims: Dims|null = null;
  private builtShapes: {query: Shape, value: Shape, key: Shape}|null = null;
  private queryDense!: Projection;
  private keyDense!: Projection;
  private valueDense!: Projection;
  private gateDense: Projection|null = null;
  private outputDense!: Projection;
  /** The layout of the `apply` under way (kwargs tensors made positional), read by build/call. */
  private callLayout: MultiHeadAttentionInput[]|null = null;
  /** `returnAttentionScores` of the eager `apply` under way, for `computeMask`. */
  private callReturnsScores: boolean|null = null;
  /** Training calls so far with dropout, for the per-call seed. */
  private dropoutCalls = 0;
  /** The activity regularization of the last training call (kept for the loss). */
  private activityLoss: tf.Scalar|null = null;

  constructor(args: MultiHeadAttentionArgs) {
    super(checkArgs(CLASS, args, ARGS, {required: ['numHeads', 'keyDim'], suggestions: SUGGESTIONS}));
    const a = args;
    this.numHeads = a.numHeads;
    this.keyDim = a.keyDim;
    this.valueDim = a.valueDim ?? this.keyDim;
    this.dropout = a.dropout ?? 0;
    this.useBias = a.useBias ?? true;
    this.useGate = a.useGate ?? false;
    this.outputShapeGiven = a.outputShape ?? null;
    this.outputShapeArg = a.outputShape == null ? null : [a.outputShape].flat();
    this.attentionAxesArg = a.attentionAxes == null ? null : [1];
    this.slidingWindow = a.slidingWindow ?? null;
    this.seed = a.seed ?? null;
    this.softmaxRobustMasking = a.softmaxRobustMasking ?? null;
    this.useCausalMask = a.useCausalMask ?? false;
    this.returnAttentionScores = a.returnAttentionScores ?? false;
    this.inputOrder = a.inputOrder ?? null;
    const keras2 = 'queryShape' in a || a.softmaxRobustMasking != null;
    this.fullyMaskedRows = a.fullyMaskedRows ?? (keras2 ? 'average' : 'keras3');
    this.attentionPath = a.attentionPath ?? 'auto';
    this.memoryBudgetBytes = a.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
    this.kernelInitializer =
        resolveInitializer(a.kernelInitializer ?? 'glorotUniform', 'kernelInitializer')!;
    this.biasInitializer = resolveInitializer(a.biasInitializer ?? 'zeros', 'biasInitializer')!;
    this.kernelRegularizer = resolveRegularizer(a.kernelRegularizer ?? undefined, 'kernelRegularizer');
    this.biasRegularizer = resolveRegularizer(a.biasRegularizer ?? undefined, 'biasRegularizer');
    this.activityRegularizerFn =
        resolveRegularizer(a.activityRegularizer ?? undefined, 'activityRegularizer');
    this.kernelConstraint = resolveConstraint(a.kernelConstraint ?? undefined, 'kernelConstraint');
    this.biasConstraint = resolveConstraint(a.biasConstraint ?? undefined, 'biasConstraint');
    this.supportsMasking = true;
    if (this.activityRegularizerFn != null) {
      this.addLoss(() => this.activityLoss ?? tf.scalar(0));
    }

    const shapes = shapesFromConfig(a);
    if (shapes != null) {
      // Built at once (a deserialized layer has its weights before any call). Outside `apply`
      // no name scope is active, so the layer's name is the weights' prefix here.
      this.buildFromShapes(shapes.query, shapes.value, shapes.key, `${this.name}/`);
      this.built = true;
      if (this.initialWeights != null) {
        this.setWeights(this.initialWeights);
        this.initialWeights = null as unknown as tf.Tensor[];  // applied: apply() must not again
      }
    }
  }

  // ---- Calling --------------------------------------------------------------------------

  /**
   * Keras's call forms (see the class comment): a list of inputs, or a query with the other
   * tensors as keyword arguments. Symbolic calls record their layout and constants in the layer.
   */
  override apply(inputs: tf.Tensor|tf.Tensor[]|tf.SymbolicTensor|tf.SymbolicTensor[],
                 kwargs: MultiHeadAttentionCallArgs = {}):
      tf.Tensor|tf.Tensor[]|tf.SymbolicTensor|tf.SymbolicTensor[] {
    checkCallArgs(CLASS, kwargs, CALL_ARGS, CALL_SUGGESTIONS);
    if (!(list0IsSymbolic(inputs))) {
      for (const name of TENSOR_CALL_ARGS) {
        checkTensorArg(CLASS, kwargs[name as keyof typeof kwargs], name);
      }
      checkMaskArg(CLASS, kwargs.mask);
    }
    const given = TENSOR_CALL_ARGS.filter(name => kwargs[name as keyof typeof kwargs] != null);
    let list: Array<tf.Tensor|tf.SymbolicTensor>;
    let layout: MultiHeadAttentionInput[]|null = null;
    if (given.length > 0) {
      if (Array.isArray(inputs)) {
        throw new Error(`MultiHeadAttention '${this.name}': pass the inputs either as a list or ` +
                        `as query plus keyword tensors, not both. Received: a list of ${
                            inputs.length} and ${given.join(', ')}.`);
      }
      layout = ['query', ...given];
      list = [inputs, ...given.map(name => kwargs[name as keyof typeof kwargs] as tf.Tensor)];
    } else {
      list = Array.isArray(inputs) ? inputs : [inputs];
    }
    layout = layout ?? this.inputOrder ?? defaultOrder(list.length, this.name);
    if (layout.length !== list.length) {
      throw new Error(`MultiHeadAttention '${this.name}': inputOrder [${layout}] names ${
          layout.length} inputs. Received: ${list.length} inputs.`);
    }
    const rest: Record<string, unknown> = {};
    for (const name of ['useCausalMask', 'returnAttentionScores', 'training', 'mask'] as const) {
      if (kwargs[name] !== undefined) {
        rest[name] = kwargs[name];
      }
    }
    if (list[0] instanceof tf.SymbolicTensor) {
      // In a model: what the call passes becomes the layer's (tfjs passes no call arguments in
      // predict/fit), and the node records only the tensors.
      this.adoptSymbolicCall(layout, given.length > 0 || this.inputOrder != null, kwargs);
      delete rest['useCausalMask'];
      delete rest['returnAttentionScores'];
    }
    this.callLayout = layout;
    this.callReturnsScores = kwargs.returnAttentionScores ?? null;
    try {
      return super.apply(list as tf.Tensor[], rest);
    } finally {
      this.callLayout = null;
      this.callReturnsScores = null;
    }
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: MultiHeadAttentionCallArgs = {}):
      tf.Tensor|tf.Tensor[] {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const layout = this.callLayout ?? this.inputOrder ?? defaultOrder(list.length, this.name);
      const named = bindInputs(list, layout, this.name);
      const dims = this.dims!;
      const query = named.query!;
      const value = named.value ?? query;
      const key = named.key ?? value;
      for (const [name, x, features] of [['query', query, dims.query], ['value', value, dims.value],
                                         ['key', key, dims.key]] as const) {
        if (x.rank !== 3) {
          throw new Error(`${CLASS} '${this.name}': ${name} must have rank 3 [batch, time, ` +
                          `features]. Received: ${name} with shape [${x.shape}].`);
        }
        checkFeatures(CLASS, x, features, name);
      }
      const [batch, timeQ] = query.shape as [number, number, number];
      const timeK = value.shape[1]!;
      if (key.shape[0] !== batch || value.shape[0] !== batch || key.shape[1] !== timeK) {
        throw new Error(`${CLASS} '${this.name}': query, value and key must share the batch ` +
                        `size, and key and value the time steps. Received: query [${
                            query.shape}], value [${value.shape}], key [${key.shape}].`);
      }

      const masks = this.tokenMasks(list, layout, named, kwargs.mask ?? null);
      checkTokenMask(masks.query, [batch, timeQ], 'query mask');
      const explicit = named.attentionMask ?? kwargs.attentionMask as tf.Tensor ?? null;
      const mask = andMasks(
          scoresMask({keyMasks: [masks.value, masks.key], batch, numHeads: this.numHeads, timeQ,
                      timeK}),  // [batch, 1, 1, timeK]
          explicit == null ? null : this.explicitMask(explicit, batch, timeQ, timeK));
      const returnScores = kwargs.returnAttentionScores ?? this.returnAttentionScores;

      // Steps 1–2: projections, split into heads.  // [batch, heads, time, keyDim|valueDim]
      const h = this.numHeads;
      const q = projectHeads(query, this.queryDense.kernel, this.queryDense.bias, h, this.keyDim);
      const k = projectHeads(key, this.keyDense.kernel, this.keyDense.bias, h, this.keyDim);
      const v = projectHeads(value, this.valueDense.kernel, this.valueDense.bias, h, this.valueDim);
      const gate = this.gateDense == null ? null :  // [batch, timeQ, heads·valueDim]
          tf.sigmoid(dense(query, this.gateDense.kernel, this.gateDense.bias));

      // Steps 3–6, then Keras's rule for rows with no key to attend.
      const training = kwargs.training ?? false;
      const {output, weights} = this.attendLikeKeras(q, k, v, {
        mask, queryMask: masks.query, causal: kwargs.useCausalMask ?? this.useCausalMask,
        slidingWindow: this.slidingWindow, dropout: this.dropout, training,
        path: this.attentionPath, memoryBudgetBytes: this.memoryBudgetBytes,
        needWeights: returnScores, layerName: `${CLASS} '${this.name}'`,
      });  // output [batch, heads, timeQ, valueDim], weights [batch, heads, timeQ, timeK]

      const merged = mergeHeads(output);  // [batch, timeQ, heads·valueDim]
      const gated = gate == null ? merged : tf.mul(merged, gate);
      const result = projectOutput(gated, this.outputDense.kernel, this.outputDense.bias)
                         .reshape([batch, timeQ, ...dims.output]);  // [batch, timeQ, ...outputShape]
      if (training && this.activityRegularizerFn != null) {
        this.keepActivityLoss([q, k, v, ...(gate == null ? [] : [gate]), result]);
      }
      return returnScores ? [result, weights!] : result;
    });
  }

  // ---- Decoding step by step (see src/layers/attention_cache.ts) ------------------------------

  /**
   * A cache for {@link applyCached}: `{batchSize, maxLength}` for causal self-attention (query,
   * value and key the same tokens), `{context, contextMask?}` for cross-attention to a fixed
   * `context` `[batch, timeK, valueFeatures]` (used as value and key, projected once). The
   * layer must be built. Dispose the cache when done.
   *
   * ```ts
   * const mha = multiHeadAttention({numHeads: 2, keyDim: 16});
   * const x = tf.randomNormal([1, 6, 32]);                  // [batch, time, features]
   * mha.apply([x, x], {useCausalMask: true});              // builds it
   * const xNew = tf.randomNormal([1, 1, 32]);               // the next step's queries
   * const cache = mha.createCache({batchSize: 1, maxLength: 64});
   * const y = mha.applyCached(xNew, cache);                 // [1, 1, 32]
   * cache.dispose();
   * ```
   */
  createCache(args: CreateCacheArgs): AttentionCache {
    const dims = this.cacheDims('createCache');
    const spec = checkCacheArgs(`${CLASS} '${this.name}'`, args, dims.value);
    if (spec.kind === 'self') {
      if (dims.value !== dims.query || dims.key !== dims.query) {
        throw new Error(`${CLASS}.createCache: a self-attention cache needs query, value and ` +
                        `key of the same size. Received: layer '${this.name}' built for query ${
                            dims.query}, value ${dims.value}, key ${dims.key} features`);
      }
      return emptySelfCache(this, spec, this.numHeads, this.keyDim, this.valueDim);
    }
    if (dims.key !== dims.value) {
      throw new Error(`${CLASS}.createCache: a cross-attention cache uses context as value and ` +
                      `key, so they must have the same size. Received: layer '${
                          this.name}' built for value ${dims.value}, key ${dims.key} features`);
    }
    const h = this.numHeads;
    const [keys, values] = tf.tidy(() => [
      projectHeads(spec.context, this.keyDense.kernel, this.keyDense.bias, h, this.keyDim),
      projectHeads(spec.context, this.valueDense.kernel, this.valueDense.bias, h, this.valueDim),
    ]);  // [batch, heads, timeK, keyDim|valueDim]
    return contextCache(this, keys!, values!, spec.contextMask);  // the cache owns them
  }

  /**
   * The layer's output for new tokens `xNew` `[batch, tNew, queryFeatures]` →
   * `[batch, tNew, ...outputShape]` (with `returnAttentionScores` also the scores over the keys
   * so far), attending to `cache`: with a self-attention cache, causally (as a call with
   * `useCausalMask: true`) to every token so far and the new ones, which it keeps; with a
   * cross-attention cache, to the context. The rows equal the full call's. Inference only. A
   * padding `mask` with a self-attention cache needs `fullyMaskedRows: 'zeros'` (Keras's rules
   * for rows with no key average over keys a step has not seen yet).
   */
  applyCached(xNew: tf.Tensor, cache: AttentionCache, options: ApplyCachedArgs = {}):
      tf.Tensor|tf.Tensor[] {
    const dims = this.cacheDims('applyCached');
    const mask = checkCachedCall(`${CLASS} '${this.name}'`, this, xNew, cache, dims.query,
                                 options);
    if (cache.kind === 'self' && mask != null && this.fullyMaskedRows !== 'zeros') {
      throw new Error(`${CLASS}.applyCached: a padding mask with a self-attention cache needs ` +
                      `fullyMaskedRows: 'zeros' (the '${this.fullyMaskedRows}' rule averages a ` +
                      `row with no key over every key, later ones included). Received: ` +
                      `fullyMaskedRows='${this.fullyMaskedRows}' and a mask`);
    }
    const [batch, tNew] = xNew.shape as [number, number, number];
    const h = this.numHeads;
    const returnScores = this.returnAttentionScores;
    return tf.tidy(() => {
      const q = projectHeads(xNew, this.queryDense.kernel, this.queryDense.bias, h, this.keyDim);
      const added = cache.kind === 'cross' ? null : {
        keys: projectHeads(xNew, this.keyDense.kernel, this.keyDense.bias, h, this.keyDim),
        values: projectHeads(xNew, this.valueDense.kernel, this.valueDense.bias, h,
                             this.valueDim),
        mask,
      };  // [batch, heads, tNew, keyDim|valueDim]
      const step = cache.step(tNew, {causal: cache.kind === 'self' || this.useCausalMask,
                                     slidingWindow: this.slidingWindow}, added);
      const options: AttendOptions = {
        mask: step.mask, queryMask: mask, path: this.attentionPath,
        memoryBudgetBytes: this.memoryBudgetBytes, needWeights: returnScores,
        layerName: `${CLASS} '${this.name}'`,
      };
      // Self: every row has a key (its own), so Keras's empty-row rule never applies.
      const {output, weights} = cache.kind === 'self' ?
          attend(q, step.keys, step.values, options) :
          this.attendLikeKeras(q, step.keys, step.values, options);
      const merged = mergeHeads(output);  // [batch, tNew, heads·valueDim]
      const gated = this.gateDense == null ? merged :
          tf.mul(merged, tf.sigmoid(dense(xNew, this.gateDense.kernel, this.gateDense.bias)));
      const result = projectOutput(gated, this.outputDense.kernel, this.outputDense.bias)
                         .reshape([batch, tNew, ...dims.output]);  // [batch, tNew, ...outputShape]
      step.commit();
      return returnScores ?
          [result, weights!.slice([0, 0, 0, 0], [-1, -1, -1, step.visible])] : result;
    });
  }

  private cacheDims(fn: string): Dims {
    if (this.dims == null) {
      throw new Error(`${CLASS}.${fn} needs a built layer: call apply() or build() first. ` +
                      `Received: layer '${this.name}' not built.`);
    }
    return this.dims;
  }

  /**
   * Steps 3–6 (`attend`, the core), then Keras's rule for rows with no key to attend: with
   * 'average' (resolved from {@link FullyMaskedRows}), such a row gets the plain average of the
   * values (and, in the scores, 1/timeK). The rows are found by the same path and masks: a ones
   * column appended to the values comes out as each row's weight sum, 1 where some key was
   * allowed and 0 where none was.
   */
  private attendLikeKeras(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttendOptions):
      {output: tf.Tensor, weights: tf.Tensor|null} {
    const dropoutNow = (options.training ?? false) && this.dropout > 0;
    const withSeed: AttendOptions = {
      ...options,
      seed: dropoutNow && this.seed != null ? this.seed + this.dropoutCalls++ : undefined,
    };
    const maybeEmptyRows = options.mask != null || options.queryMask != null ||
        this.slidingWindow != null;
    const average = maybeEmptyRows && (this.fullyMaskedRows === 'average' ||
        (this.fullyMaskedRows === 'keras3' && this.dropout === 0 && !options.needWeights));
    if (!average) {
      return attend(q, k, v, withSeed);
    }
    const dv = v.shape[3]!;
    const ones = tf.onesLike(v.slice([0, 0, 0, 0], [-1, -1, -1, 1]));  // [batch, heads, timeK, 1]
    let output: tf.Tensor;
    let weights: tf.Tensor|null;
    let rowSums: tf.Tensor;  // [batch, heads, timeQ, 1]
    if (!dropoutNow) {
      const r = attend(q, k, tf.concat([v, ones], 3), withSeed);
      output = r.output.slice([0, 0, 0, 0], [-1, -1, -1, dv]);
      rowSums = r.output.slice([0, 0, 0, dv], [-1, -1, -1, 1]);
      weights = r.weights;
    } else {
      // Dropout would drop the ones column too: find the empty rows without it.
      ({output, weights} = attend(q, k, v, withSeed));
      rowSums = attend(q, k, ones, {...options, dropout: 0, needWeights: false}).output;
    }
    // 1 for a row with no key, else 0 (`step`, not a comparison: it has a gradient, 0). The
    // blend is exact: an empty row's output is 0, and x + 0·(…) = x elsewhere.
    const empty = tf.step(tf.sub(0.5, rowSums));  // [batch, heads, timeQ, 1]
    const averageOfValues = tf.mean(v, 2, true);  // [batch, heads, 1, valueDim]
    output = tf.add(output, tf.mul(empty, tf.sub(averageOfValues, output)));
    if (weights != null) {
      weights = tf.add(weights, tf.mul(empty, tf.sub(1 / weights.shape[3]!, weights)));
    }
    return {output, weights};
  }

  /**
   * Keras's attention mask (`[batch, timeQ, timeK]`, `[batch, 1|heads, timeQ, timeK]` or
   * `[timeQ, timeK]`; missing batch and head axes broadcast) as a boolean
   * `[batch|1, 1|heads, timeQ, timeK]`.
   */
  private explicitMask(mask: tf.Tensor, batch: number, timeQ: number, timeK: number): tf.Tensor {
    if (mask.rank < 2 || mask.rank > 4) {
      throw new Error(`${CLASS} '${this.name}': attentionMask must have shape [batch, timeQ, ` +
                      `timeK], [batch, 1|numHeads, timeQ, timeK] or [timeQ, timeK]. Received: ` +
                      `attentionMask with shape [${mask.shape}].`);
    }
    const as4 = mask.rank === 3 ? mask.expandDims(1) :
        mask.reshape([...new Array<number>(4 - mask.rank).fill(1), ...mask.shape]);
    const scores = [batch, this.numHeads, timeQ, timeK];
    if (!as4.shape.every((size, i) => size === 1 || size === scores[i])) {
      throw new Error(`${CLASS} '${this.name}': attentionMask must broadcast to the attention ` +
                      `scores [batch, numHeads, timeQ, timeK] = [${scores}] (a 3-D mask is ` +
                      `[batch, timeQ, timeK]). Received: attentionMask with shape [${mask.shape}].`);
    }
    return toBool(as4);
  }

  /**
   * The query, value and key masks `[batch, time]` (or null): explicit mask inputs first, then
   * the call's `mask` (one tensor: the first input's; a list: one per input), then each input's
   * own `kerasMask`. The key's mask counts only when a key was given (as in Keras).
   */
  private tokenMasks(list: tf.Tensor[], layout: MultiHeadAttentionInput[],
                     named: Partial<Record<MultiHeadAttentionInput, tf.Tensor>>,
                     mask: tf.Tensor|Array<tf.Tensor|null>|null):
      {query: tf.Tensor|null, value: tf.Tensor|null, key: tf.Tensor|null} {
    const propagated = (name: MultiHeadAttentionInput): tf.Tensor|null => {
      const at = layout.indexOf(name);
      if (at < 0) {
        return null;
      }
      const passed = Array.isArray(mask) ? mask[at] ?? null : at === 0 ? mask : null;
      return passed ?? list[at]!.kerasMask ?? null;
    };
    return {
      query: named.queryMask ?? propagated('query'),
      value: named.valueMask ?? propagated(named.value == null ? 'query' : 'value'),
      key: named.keyMask ?? (named.key == null ? null : propagated('key')),
    };
  }

  /** Keeps Σ activityRegularizer(output) / batch over the projections' outputs for the loss. */
  private keepActivityLoss(outputs: tf.Tensor[]): void {
    const loss = tf.addN(outputs.map(t => tf.div(this.activityRegularizerFn!.apply(t), t.shape[0]!)));
    this.activityLoss?.dispose();
    this.activityLoss = tf.keep(loss) as tf.Scalar;
  }

  /**
   * A symbolic call's tensors layout and constants become the layer's. The first symbolic call
   * sets them; a later one must agree (a model's nodes share the layer's settings).
   */
  private adoptSymbolicCall(layout: MultiHeadAttentionInput[], explicitLayout: boolean,
                            kwargs: MultiHeadAttentionCallArgs): void {
    const first = this.inboundNodes.length === 0;
    const differ = (what: string, setting: unknown, asked: unknown) => new Error(
        `MultiHeadAttention '${this.name}': in a model every call of a layer uses the layer's ` +
        `${what} (tfjs passes no call arguments when it runs a model); this layer has ${what}=${
            JSON.stringify(setting)}. Received: ${what}=${JSON.stringify(asked)}. Use another ` +
        `layer, or set it when creating this one.`);
    if (explicitLayout && (this.inputOrder ?? []).join() !== layout.join()) {
      if (!first && this.inputOrder != null) {
        throw differ('inputOrder', this.inputOrder, layout);
      }
      this.inputOrder = layout;
    }
    for (const name of ['useCausalMask', 'returnAttentionScores'] as const) {
      const asked = kwargs[name];
      if (asked == null || asked === this[name]) {
        continue;
      }
      if (!first) {
        throw differ(name, this[name], asked);
      }
      this[name] = asked;
    }
  }

  // ---- Building ---------------------------------------------------------------------------

  override build(inputShape: Shape|Shape[]): void {
    const shapes: Shape[] = Array.isArray(inputShape[0]) ? inputShape as Shape[] :
                                                           [inputShape as Shape];
    const layout = this.callLayout ?? this.inputOrder ?? defaultOrder(shapes.length, this.name);
    const at = (name: MultiHeadAttentionInput) => shapes[layout.indexOf(name)];
    const query = at('query')!;
    const value = at('value') ?? query;
    this.buildFromShapes(query, value, at('key') ?? value, '');
    this.built = true;
  }

  /** Creates the weights for these input shapes (in Keras's order); `prefix` names them. */
  private buildFromShapes(query: Shape, value: Shape, key: Shape, prefix: string): void {
    for (const [name, shape] of [['query', query], ['value', value], ['key', key]] as const) {
      if (!Array.isArray(shape) || shape.length !== 3 || !(Number.isInteger(shape[2]) && shape[2]! > 0)) {
        throw new Error(`MultiHeadAttention '${this.name}': ${name} must have shape [batch, time, ` +
                        `features] with a known feature size. Received: ${name} shape ${
                            JSON.stringify(shape)}`);
      }
    }
    if (value[1] != null && key[1] != null && value[1] !== key[1]) {
      throw new Error(`MultiHeadAttention '${this.name}': value and key must have the same time ` +
                      `steps. Received: value shape ${JSON.stringify(value)}, key shape ${
                          JSON.stringify(key)}`);
    }
    const dims: Dims = {query: query[2]!, value: value[2]!, key: key[2]!,
                        output: this.outputShapeArg ?? [query[2]!]};
    const h = this.numHeads;
    const projection = (name: string, kernelShape: number[], biasShape: number[]): Projection => ({
      kernel: this.addWeight(`${prefix}${name}/kernel`, kernelShape, 'float32',
                             this.kernelInitializer, this.kernelRegularizer ?? undefined, true,
                             this.kernelConstraint ?? undefined),
      bias: !this.useBias ? null :
          this.addWeight(`${prefix}${name}/bias`, biasShape, 'float32', this.biasInitializer,
                         this.biasRegularizer ?? undefined, true, this.biasConstraint ?? undefined),
    });
    this.queryDense = projection('query', [dims.query, h, this.keyDim], [h, this.keyDim]);
    this.keyDense = projection('key', [dims.key, h, this.keyDim], [h, this.keyDim]);
    if (this.useGate) {
      this.gateDense = projection('gate', [dims.query, h, this.valueDim], [h, this.valueDim]);
    }
    this.valueDense = projection('value', [dims.value, h, this.valueDim], [h, this.valueDim]);
    this.outputDense = projection('attention_output', [h, this.valueDim, ...dims.output],
                                  dims.output);
    this.dims = dims;
    this.builtShapes = {query, value, key};
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape|Shape[] {
    const shapes: Shape[] = Array.isArray(inputShape[0]) ? inputShape as Shape[] :
                                                           [inputShape as Shape];
    const layout = this.callLayout ?? this.inputOrder ?? defaultOrder(shapes.length, this.name);
    const query = shapes[layout.indexOf('query')]!;
    const value = shapes[layout.indexOf('value')] ?? query;
    const output = [query[0] ?? null, query[1] ?? null,
                    ...(this.dims?.output ?? this.outputShapeArg ?? [query[2] ?? null])];
    if (!this.returnAttentionScores) {
      return output;
    }
    return [output, [query[0] ?? null, this.numHeads, query[1] ?? null, value[1] ?? null]];
  }

  /**
   * The output keeps the query's mask (the scores have none), as in Keras. A copy: tfjs disposes
   * a tensor's `kerasMask` with the tensor, and the query keeps its own.
   */
  override computeMask(inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const layout = this.callLayout ?? this.inputOrder ?? defaultOrder(list.length, this.name);
    const explicit = layout.indexOf('queryMask');
    const passed = Array.isArray(mask) ? mask[0] ?? null : mask ?? null;
    const found = explicit >= 0 ? list[explicit]! : passed ?? list[0]?.kerasMask ?? null;
    const queryMask = found == null ? null : tf.tidy(() => tf.clone(toBool(found)));
    // tfjs types masks as non-null but passes and accepts null for "no mask".
    return (this.callReturnsScores ?? this.returnAttentionScores ? [queryMask, null] : queryMask) as
        tf.Tensor;
  }

  // ---- Serialization ---------------------------------------------------------------------

  /** Keras's config keys (camelCase, as tfjs writes its own layers'), then this package's. */
  override getConfig(): tf.serialization.ConfigDict {
    const shapes = this.builtShapes;
    const config: tf.serialization.ConfigDict = {
      dtype: 'float32',
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      dropout: this.dropout,
      useBias: this.useBias,
      useGate: this.useGate,
      outputShape: this.outputShapeGiven,
      attentionAxes: this.attentionAxesArg ?? (this.built ? [1] : null),
      slidingWindow: this.slidingWindow,
      kernelInitializer: serialize(this.kernelInitializer),
      biasInitializer: serialize(this.biasInitializer),
      kernelRegularizer: serialize(this.kernelRegularizer),
      biasRegularizer: serialize(this.biasRegularizer),
      activityRegularizer: serialize(this.activityRegularizerFn),
      kernelConstraint: serialize(this.kernelConstraint),
      biasConstraint: serialize(this.biasConstraint),
      seed: this.seed,
      queryShape: shapes?.query ?? null,
      valueShape: shapes?.value ?? null,
      keyShape: shapes?.key ?? null,
      ...(this.softmaxRobustMasking == null ? {} : {softmaxRobustMasking: this.softmaxRobustMasking}),
      useCausalMask: this.useCausalMask,
      returnAttentionScores: this.returnAttentionScores,
      inputOrder: this.inputOrder,
      fullyMaskedRows: this.fullyMaskedRows,
      attentionPath: this.attentionPath,
      memoryBudgetBytes: this.memoryBudgetBytes,
    };
    return {...super.getConfig(), ...config};
  }

  /**
   * Rebuilds from getConfig's output, or a Keras 2 / Keras 3 config in camelCase. (tfjs's
   * deserializer adds its `customObjects` to every config; they are not the layer's.)
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
      cls: tf.serialization.SerializableConstructor<T>,
      config: tf.serialization.ConfigDict): T {
    const {customObjects: _customObjects, ...args} = config;
    void _customObjects;
    return new cls(args);
  }

  /**
   * As tfjs's, and a layer built from its config (weights made in the constructor) that no
   * model uses counts as used once, so that its weights can be disposed (tfjs counts a use only
   * when `apply` builds the layer).
   */
  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    if (this.built && this._refCount === null) {
      this._refCount = 1;
    }
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) {
      this.activityLoss?.dispose();
      this.activityLoss = null;
    }
    return result;
  }
}
tf.serialization.registerClass(MultiHeadAttention);

/**
 * Factory in the style of `tf.layers.*`: `new MultiHeadAttention(args)`.
 *
 * ```ts
 * // Keras: MultiHeadAttention(num_heads=2, key_dim=8)(query, value, attention_mask=mask)
 * const query = tf.randomNormal([2, 5, 16]);                   // [batch, timeQ, queryFeatures]
 * const value = tf.randomNormal([2, 7, 12]);                   // [batch, timeK, valueFeatures]
 * const mask = tf.ones([2, 5, 7], 'bool');                     // true = may attend
 * const mha = multiHeadAttention({numHeads: 2, keyDim: 8});
 * const out = mha.apply(query, {value, attentionMask: mask});  // [2, 5, 16]
 * ```
 */
export function multiHeadAttention(args: MultiHeadAttentionArgs): MultiHeadAttention {
  return new MultiHeadAttention(args);
}

// ---- Arguments -----------------------------------------------------------------------------

const TENSOR_CALL_ARGS: MultiHeadAttentionInput[] =
    ['value', 'key', 'attentionMask', 'queryMask', 'valueMask', 'keyMask'];

/** Whether `v` is `outputShape`: a positive integer or a non-empty list of them. */
function isOutputShape(v: unknown): boolean {
  const list = typeof v === 'number' ? [v] : v;
  return Array.isArray(list) && list.length > 0 && list.every(d => is.positiveInt.test(d));
}

/** Keras's default attention axes (the time axis of `[batch, time, features]`), in each form. */
function isDefaultAxes(v: unknown): boolean {
  const list = typeof v === 'number' ? [v] : v;
  return Array.isArray(list) && list.length === 1 && (list[0] === 1 || list[0] === -2);
}

function isInputOrder(v: unknown): boolean {
  return Array.isArray(v) && v[0] === 'query' &&
      v.every(n => INPUT_NAMES.includes(n as MultiHeadAttentionInput)) &&
      new Set(v).size === v.length && (v.includes('value') || !v.includes('key'));
}

/** A build shape: `[batch, time, features]` with null for unknown sizes (rank checked at build). */
const BUILD_SHAPE: ArgCheck = {
  expected: 'a shape [batch, time, features] (null for an unknown size)',
  test: v => Array.isArray(v) &&
      v.every(d => d === null || (typeof d === 'number' && Number.isInteger(d) && d > 0 && d <= MAX_SIZE)),
};

/** The layer's own arguments and their checks (tfjs's layer arguments are known too). */
const ARGS: ArgSpec = {
  numHeads: is.positiveInt,
  keyDim: is.positiveInt,
  valueDim: is.positiveInt,
  dropout: is.rate,
  useBias: is.boolean,
  outputShape: {expected: 'a positive integer or a list of positive integers', test: isOutputShape},
  attentionAxes: {
    expected: "Keras's default only, attention over the time axis of [batch, time, features] " +
        '(null, 1, [1], -2 or [-2]); other axes are not supported',
    test: isDefaultAxes,
  },
  slidingWindow: is.positiveInt,
  useGate: is.boolean,
  kernelInitializer: is.anything,
  biasInitializer: is.anything,
  kernelRegularizer: is.anything,
  biasRegularizer: is.anything,
  activityRegularizer: is.anything,
  kernelConstraint: is.anything,
  biasConstraint: is.anything,
  seed: is.integer,
  softmaxRobustMasking: is.boolean,
  queryShape: BUILD_SHAPE,
  valueShape: BUILD_SHAPE,
  keyShape: BUILD_SHAPE,
  buildConfig: is.object,
  useCausalMask: is.boolean,
  returnAttentionScores: is.boolean,
  inputOrder: {
    expected: `a list that starts with 'query' and names each of ${
        INPUT_NAMES.slice(1).map(n => `'${n}'`).join(', ')} at most once ('key' only with 'value')`,
    test: isInputOrder,
  },
  fullyMaskedRows: is.oneOf(FULLY_MASKED_ROWS),
  attentionPath: is.oneOf(ATTENTION_PATHS),
  memoryBudgetBytes: {expected: 'a positive number of bytes', test: is.positiveNumber.test},
};

const CALL_NOTE = "it is a call argument: layer.apply(query, {value, attentionMask, ...})";

/** Names people write for the layer's arguments (Keras's are camelCased before this). */
const SUGGESTIONS: Record<string, Suggestion> = {
  causal: 'useCausalMask',
  isCausal: 'useCausalMask',
  returnAttentionWeights: 'returnAttentionScores',
  outputDim: 'outputShape',
  heads: 'numHeads',
  headDim: 'keyDim',
  path: 'attentionPath',
  flashAttention: {note: "a speed switch of Keras's backends; here the path is attentionPath"},
  value: {note: CALL_NOTE},
  key: {note: CALL_NOTE},
  attentionMask: {note: CALL_NOTE},
  mask: {note: CALL_NOTE},
};

/** Keyword arguments of `apply` (tensors checked as tensors apart). */
const CALL_ARGS: ArgSpec = {
  value: is.anything, key: is.anything, attentionMask: is.anything, queryMask: is.anything,
  valueMask: is.anything, keyMask: is.anything, useCausalMask: is.boolean,
  returnAttentionScores: is.boolean, training: is.boolean, mask: is.anything,
};

const CALL_SUGGESTIONS: Record<string, Suggestion> = {
  causal: 'useCausalMask',
  returnAttentionWeights: 'returnAttentionScores',
  query: {note: 'the query is the first argument: layer.apply(query, {value})'},
  numHeads: {note: 'a constructor argument: multiHeadAttention({numHeads, keyDim})'},
};

// ---- Helpers -------------------------------------------------------------------------------

/** Whether the first input (of a list) is symbolic: a model is being built. */
function list0IsSymbolic(inputs: unknown): boolean {
  return (Array.isArray(inputs) ? inputs[0] : inputs) instanceof tf.SymbolicTensor;
}

function defaultOrder(count: number, layerName: string): MultiHeadAttentionInput[] {
  const order = DEFAULT_INPUT_ORDER[count];
  if (order == null) {
    throw new Error(`MultiHeadAttention '${layerName}' takes query, [query, value], [query, ` +
                    `value, key] or [query, value, key, attentionMask] (or the layout of ` +
                    `inputOrder), or query with {value, ...}. Received: ${count} inputs.`);
  }
  return order;
}

/** Build shapes from a config: Keras 2's `queryShape`/`valueShape`/`keyShape` or Keras 3's `buildConfig`. */
function shapesFromConfig(a: MultiHeadAttentionArgs): {query: Shape, value: Shape, key: Shape}|null {
  if (a.buildConfig != null) {
    const dict = (a.buildConfig as Partial<MultiHeadAttentionBuildConfig>).shapesDict;
    if (dict == null || dict.queryShape == null || dict.valueShape == null) {
      throw new Error(`MultiHeadAttention: buildConfig must be {shapesDict: {queryShape, ` +
                      `valueShape, keyShape?}} (Keras 3's build_config). Received: buildConfig=${
                          JSON.stringify(a.buildConfig)}`);
    }
    return {query: dict.queryShape, value: dict.valueShape, key: dict.keyShape ?? dict.valueShape};
  }
  if (a.queryShape == null && a.valueShape == null) {
    return null;  // Keras 2 writes nulls for a layer that was never built
  }
  if (a.queryShape == null || a.valueShape == null) {
    throw new Error(`MultiHeadAttention: queryShape and valueShape go together. Received: ` +
                    `queryShape=${JSON.stringify(a.queryShape)}, valueShape=${
                        JSON.stringify(a.valueShape)}`);
  }
  return {query: a.queryShape, value: a.valueShape, key: a.keyShape ?? a.valueShape};
}

function bindInputs(list: tf.Tensor[], layout: MultiHeadAttentionInput[], layerName: string):
    Partial<Record<MultiHeadAttentionInput, tf.Tensor>> {
  if (list.length !== layout.length) {
    throw new Error(`MultiHeadAttention '${layerName}': inputOrder [${layout}] names ${
        layout.length} inputs. Received: ${list.length} inputs.`);
  }
  const named: Partial<Record<MultiHeadAttentionInput, tf.Tensor>> = {};
  layout.forEach((name, i) => {
    named[name] = list[i]!;
  });
  return named;
}
