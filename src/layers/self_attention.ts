/**
 * The SelfAttention layer, this package's layout of attention: steps 1–2 of the seed (Q, K, V
 * from learned 2-D kernels W_q, W_k, W_v `[features, heads*size]`), split into heads, steps 3–6
 * by the attention core, heads merged, then the optional output projection W_o.
 *
 * What this file holds is what makes it *this* layer: its arguments, its weights (names, 2-D
 * shapes, identity initialization), its call convention (one tensor, `[query, context]` or
 * `[query, context, contextMask]`, masks from propagation) and its config. Everything between
 * the inputs and the output (projections, mask assembly, the call into `attention()` in
 * src/attention/dispatch.ts, which picks the standard, fast or memory-efficient path) is in
 * attention_layer.ts, shared with the Keras-layout MultiHeadAttention.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkMaskArg, checkTensorArg, describeValue, is, Suggestion} from '../args';
import {ATTENTION_PATHS, AttentionPath, DEFAULT_MEMORY_BUDGET_BYTES} from '../attention/dispatch';
import {Constraint, Identifier, Initializer, Regularizer, resolveConstraint,
        resolveInitializer, resolveRegularizer, serialize} from '../initializers';
import {ApplyKwargs, AttentionApplyResult} from './apply_types';
import {ApplyCachedArgs, AttentionCache, checkCacheArgs, checkCachedCall, contextCache,
        CreateCacheArgs, emptySelfCache} from './attention_cache';
import {buildWeights, initializing} from './build';
import {attend, checkFeatures, checkTokenMask, flatRows, mergeHeads, mergeRows, projectHeads,
        projectOutputRows, projectRows, scoresMask} from './attention_layer';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link SelfAttention}. All optional. */
export interface SelfAttentionArgs extends LayerArgs {
  /** Number of attention heads. Default 1. */
  numHeads?: number;
  /** Size of each head's queries and keys (dk). Default inputDim / numHeads. */
  keyDim?: number;
  /** Size of each head's values. Default keyDim. */
  valueDim?: number;
  /** Size of the output when there is an output projection. Default inputDim. */
  outputDim?: number;
  /**
   * Apply W_o `[numHeads*valueDim, outputDim]` after merging the heads. Default `numHeads > 1`;
   * without it the output is the concatenated heads, `numHeads*valueDim` wide.
   */
  useOutputProjection?: boolean;
  /** Add biases to Q, K, V (and the output projection). Default false, as in the seed. */
  useBias?: boolean;
  /** Each query attends only to itself and earlier keys. Default false. */
  causal?: boolean;
  /**
   * Query i attends only keys j with |i − j| < slidingWindow (Keras 3.15's `sliding_window`; with
   * `causal`, the slidingWindow most recent keys up to i). Default: none (every key).
   */
  slidingWindow?: number;
  /** Dropout rate on the attention weights, during training only. Default 0. */
  dropout?: number;
  /** Return `[output, weights]`, weights `[batch, numHeads, timeQ, timeK]`. Default false. */
  returnAttentionWeights?: boolean;
  /**
   * How steps 3–6 are computed; every path gives the same results. Default 'auto': the standard
   * path when `returnAttentionWeights` (its weights carry gradients), else the memory-efficient
   * path when the scores `[batch, numHeads, timeQ, timeK]` would exceed `memoryBudgetBytes`,
   * else the fast path on the wasm backend (from about 128 tokens with heads of 64),
   * else the standard path. 'standard',
   * 'fast' and 'memoryEfficient' force one.
   */
  attentionPath?: AttentionPath;
  /**
   * Bytes the float32 attention scores may take before 'auto' switches to the memory-efficient
   * path (blocks with an online softmax; memory grows with time, not time²). Default 64 MiB.
   */
  memoryBudgetBytes?: number;
  /** Initializer of every kernel. Default 'identity' (ones on the main diagonal, any shape). */
  kernelInitializer?: Identifier<Initializer>;
  /** Initializer of every bias. Default 'zeros'. */
  biasInitializer?: Identifier<Initializer>;
  /** Regularizer of every kernel. Default none. */
  kernelRegularizer?: Identifier<Regularizer>;
  /** Regularizer of every bias. Default none. */
  biasRegularizer?: Identifier<Regularizer>;
  /** Constraint on every kernel. Default none. */
  kernelConstraint?: Identifier<Constraint>;
  /** Constraint on every bias. Default none. */
  biasConstraint?: Identifier<Constraint>;
}

/** Keyword arguments of `call` (what `apply` and `model.fit`/`predict` pass). */
export interface SelfAttentionCallArgs {
  /**
   * Per-token masks `[batch, time]` (from an Embedding with `maskZero`, or `tf.layers.masking`):
   * one for self-attention, `[queryMask, contextMask]` for cross-attention.
   */
  mask?: tf.Tensor|Array<tf.Tensor|null>|null;
  /** Extra boolean mask `[batch, (numHeads|1,) timeQ, timeK]`, `true` = may attend. */
  attentionMask?: tf.Tensor|null;
  /** Whether dropout applies (model.fit passes true). */
  training?: boolean;
}

/**
 * Scaled dot-product self-attention (or cross-attention) with learned Q, K, V projections.
 *
 * Call arguments: a tensor `[batch, time, features]` for self-attention, or
 * `[query, context]` (`[batch, timeQ, features]`, `[batch, timeK, contextFeatures]`) for
 * cross-attention: Q from query, K and V from context, or `[query, context, contextMask]` with an
 * explicit key mask `[batch, timeK]` (nonzero = may attend). Padding masks propagated by tfjs
 * (Embedding `maskZero`) are used too; see {@link SelfAttentionCallArgs}.
 *
 * Returns `[batch, timeQ, outputDim]` (or `numHeads*valueDim` without the output projection),
 * and with `returnAttentionWeights` also the weights `[batch, numHeads, timeQ, timeK]`.
 *
 * Weights, in order: query_kernel, key_kernel, value_kernel, then (useBias) query_bias,
 * key_bias, value_bias, then (output projection) output_kernel (and output_bias).
 *
 * ```ts
 * const layer = new SelfAttention({numHeads: 2, causal: true});
 * const y = layer.apply(tf.randomNormal([1, 6, 8]));          // [1, 6, 8]
 * layer.getWeights().map(w => w.shape);                        // [[8, 8], [8, 8], [8, 8], [8, 8]]
 * ```
 */
export class SelfAttention<W extends boolean = boolean> extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under (and model.json records). */
  static className = 'SelfAttention';

  /** Number of heads ({@link SelfAttentionArgs.numHeads}, default 1). */
  readonly numHeads: number;
  /** Whether Q, K, V (and W_o) have biases ({@link SelfAttentionArgs.useBias}, default false). */
  readonly useBias: boolean;
  /** Whether query i attends only keys j ≤ i ({@link SelfAttentionArgs.causal}, default false). */
  readonly causal: boolean;
  /** Query i attends keys j with |i − j| < slidingWindow; null for none ({@link SelfAttentionArgs.slidingWindow}). */
  readonly slidingWindow: number|null;
  /**
   * Dropout rate on the attention weights while training ({@link SelfAttentionArgs.dropout},
   * default 0).
   */
  readonly dropout: number;
  /**
   * Whether `apply` also returns the weights ({@link SelfAttentionArgs.returnAttentionWeights},
   * default false).
   */
  readonly returnAttentionWeights: W;
  /** How steps 3–6 are computed ({@link SelfAttentionArgs.attentionPath}, default 'auto'). */
  readonly attentionPath: AttentionPath;
  /**
   * Scores size above which 'auto' takes the memory-efficient path ({@link
   * SelfAttentionArgs.memoryBudgetBytes}, default 64 MiB).
   */
  readonly memoryBudgetBytes: number;
  private readonly args: SelfAttentionArgs;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernelRegularizer: Regularizer|null;
  private readonly biasRegularizer: Regularizer|null;
  private readonly kernelConstraint: Constraint|null;
  private readonly biasConstraint: Constraint|null;

  // Known once built (they depend on the input's feature size).
  private dims: {query: number, context: number, key: number, value: number, output: number,
                 project: boolean}|null = null;
  private queryKernel!: tf.LayerVariable;
  private keyKernel!: tf.LayerVariable;
  private valueKernel!: tf.LayerVariable;
  private queryBias: tf.LayerVariable|null = null;
  private keyBias: tf.LayerVariable|null = null;
  private valueBias: tf.LayerVariable|null = null;
  private outputKernel: tf.LayerVariable|null = null;
  private outputBias: tf.LayerVariable|null = null;

  constructor(args: SelfAttentionArgs&{returnAttentionWeights?: W} = {}) {
    super(checkSelfAttentionArgs(args));
    this.args = {...args};
    this.numHeads = args.numHeads ?? 1;
    this.useBias = args.useBias ?? false;
    this.causal = args.causal ?? false;
    this.slidingWindow = args.slidingWindow ?? null;
    this.dropout = args.dropout ?? 0;
    this.returnAttentionWeights = (args.returnAttentionWeights ?? false) as W;
    this.attentionPath = args.attentionPath ?? 'auto';
    this.memoryBudgetBytes = args.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
    const name = 'SelfAttention';
    this.kernelInitializer =
        resolveInitializer(args.kernelInitializer ?? 'identity', 'kernelInitializer', name)!;
    this.biasInitializer =
        resolveInitializer(args.biasInitializer ?? 'zeros', 'biasInitializer', name)!;
    this.kernelRegularizer = resolveRegularizer(args.kernelRegularizer, 'kernelRegularizer', name);
    this.biasRegularizer = resolveRegularizer(args.biasRegularizer, 'biasRegularizer', name);
    this.kernelConstraint = resolveConstraint(args.kernelConstraint, 'kernelConstraint', name);
    this.biasConstraint = resolveConstraint(args.biasConstraint, 'biasConstraint', name);
    this.supportsMasking = true;
  }

  /** Sizes resolved from the input shape(s) and the args; throws if they do not fit. */
  private resolveDims(inputShape: Shape|Shape[]) {
    const [queryShape, contextShape] = splitShapes(inputShape);
    const query = queryShape[2];
    const context = contextShape[2];
    if (query == null || context == null) {
      throw new Error(`SelfAttention needs a known feature size (last dimension). Received: ` +
                      `input shape ${JSON.stringify(inputShape)}`);
    }
    const key = this.args.keyDim ?? query / this.numHeads;
    if (!Number.isInteger(key)) {
      throw new Error(
          `SelfAttention: the input's feature size ${query} is not divisible by numHeads=` +
          `${this.numHeads}; pass keyDim explicitly. Received: numHeads=${this.numHeads}`);
    }
    const value = this.args.valueDim ?? key;
    const project = this.args.useOutputProjection ?? this.numHeads > 1;
    const output = project ? this.args.outputDim ?? query : this.numHeads * value;
    return {query, context, key, value, output, project};
  }

  override build(inputShape: Shape|Shape[]): void {
    const dims = this.resolveDims(inputShape);
    const kernel = (name: string, shape: number[]) => initializing(
        'SelfAttention', 'kernelInitializer', name, shape, this.kernelInitializer,
        () => this.addWeight(name, shape, 'float32', this.kernelInitializer,
                             this.kernelRegularizer ?? undefined, true,
                             this.kernelConstraint ?? undefined));
    const bias = (name: string, size: number) => initializing(
        'SelfAttention', 'biasInitializer', name, [size], this.biasInitializer,
        () => this.addWeight(name, [size], 'float32', this.biasInitializer,
                             this.biasRegularizer ?? undefined, true,
                             this.biasConstraint ?? undefined));
    buildWeights(this, () => this.createWeights(dims, kernel, bias));
    this.dims = dims;
    this.built = true;
  }

  /** The weights, in their documented order (see the class comment). */
  private createWeights(dims: NonNullable<SelfAttention['dims']>,
                        kernel: (name: string, shape: number[]) => tf.LayerVariable,
                        bias: (name: string, size: number) => tf.LayerVariable): void {
    const h = this.numHeads;
    this.queryKernel = kernel('query_kernel', [dims.query, h * dims.key]);
    this.keyKernel = kernel('key_kernel', [dims.context, h * dims.key]);
    this.valueKernel = kernel('value_kernel', [dims.context, h * dims.value]);
    if (this.useBias) {
      this.queryBias = bias('query_bias', h * dims.key);
      this.keyBias = bias('key_bias', h * dims.key);
      this.valueBias = bias('value_bias', h * dims.value);
    }
    if (dims.project) {
      this.outputKernel = kernel('output_kernel', [h * dims.value, dims.output]);
      if (this.useBias) {
        this.outputBias = bias('output_bias', dims.output);
      }
    }
  }

  /**
   * Runs the layer on `x` (self-attention), `[query, context]` or `[query, context, contextMask]`
   * (cross-attention): tensors give the output tensor, symbolic tensors (while building a model)
   * a symbolic one; with `returnAttentionWeights: true`, the pair `[output, weights]`. Its type
   * says which, so `const [output, weights] = layer.apply(x)` needs no cast.
   *
   * ```ts
   * const [output, weights] = selfAttention({numHeads: 2, returnAttentionWeights: true})
   *                               .apply(tf.ones([1, 3, 4]));  // [1, 3, 4] and [1, 2, 3, 3]
   * ```
   */
  override apply(inputs: tf.Tensor|tf.Tensor[], kwargs?: ApplyKwargs):
      AttentionApplyResult<tf.Tensor, W>;
  override apply(inputs: tf.SymbolicTensor|tf.SymbolicTensor[], kwargs?: ApplyKwargs):
      AttentionApplyResult<tf.SymbolicTensor, W>;
  override apply(inputs: tf.Tensor|tf.Tensor[]|tf.SymbolicTensor|tf.SymbolicTensor[],
                 kwargs?: ApplyKwargs): tf.Tensor|tf.Tensor[]|tf.SymbolicTensor|tf.SymbolicTensor[];
  override apply(inputs: tf.Tensor|tf.Tensor[]|tf.SymbolicTensor|tf.SymbolicTensor[],
                 kwargs?: ApplyKwargs): tf.Tensor|tf.Tensor[]|tf.SymbolicTensor|tf.SymbolicTensor[] {
    return super.apply(inputs, kwargs);
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: SelfAttentionCallArgs = {}):
      tf.Tensor|tf.Tensor[] {
    checkCallArgs('SelfAttention', kwargs, CALL_ARGS, CALL_SUGGESTIONS);
    checkMaskArg('SelfAttention', kwargs.mask);
    checkTensorArg('SelfAttention', kwargs.attentionMask, 'attentionMask');
    return tf.tidy(() => {
      const [query, context] = splitInputs(inputs);
      const dims = this.dims!;
      checkFeatures('SelfAttention', query, dims.query, 'query');
      checkFeatures('SelfAttention', context, dims.context,
                    inputs instanceof Array ? 'context' : 'inputs');
      const [batch, timeQ] = query.shape as [number, number, number];
      const timeK = context.shape[1]!;

      // Steps 1–2: Q, K, V, each split into heads.  // [batch, heads, time, keyDim|valueDim]
      const {query: q, key: k, value: v} = this.project(query, context);

      const [queryMask, keyMask] = this.tokenMasks(inputs, kwargs.mask);
      checkTokenMask(queryMask, [batch, timeQ], 'query mask');
      const mask = scoresMask({keyMasks: [keyMask], attentionMask: kwargs.attentionMask, batch,
                               numHeads: this.numHeads, timeQ, timeK});  // boolean, or null
      // Steps 3–6.  // output [batch, heads, timeQ, valueDim], weights [batch, heads, timeQ, timeK]
      const {output, weights} = attend(q, k, v, {
        mask,
        queryMask,
        causal: this.causal,
        slidingWindow: this.slidingWindow,
        dropout: this.dropout,
        training: kwargs.training ?? false,
        path: this.attentionPath,
        memoryBudgetBytes: this.memoryBudgetBytes,
        needWeights: this.returnAttentionWeights,
      });

      const result = this.merge(output);  // [batch, timeQ, outputDim]
      return this.returnAttentionWeights ? [result, weights!] : result;
    });
  }

  /**
   * A cache for decoding step by step with {@link applyCached} (see src/layers/attention_cache.ts).
   * `{batchSize, maxLength}`: a self-attention cache, empty, for a causal layer (its keys are
   * the tokens given to `applyCached`). `{context, contextMask?}`: a cross-attention cache, the
   * context `[batch, timeK, contextFeatures]` projected to keys and values once. The layer must
   * be built. Dispose the cache when done.
   *
   * ```ts
   * const self = selfAttention({numHeads: 4, causal: true});
   * self.apply(tf.zeros([1, 1, 64]));                       // builds it
   * const cache = self.createCache({batchSize: 1, maxLength: 128});
   * const x = tf.randomNormal([1, 3, 64]);                   // the next 3 steps' inputs
   * const y = self.applyCached(x, cache);                    // x [1, t, 64] → [1, t, 64]
   * cache.dispose();
   * ```
   */
  createCache(args: CreateCacheArgs): AttentionCache {
    const dims = this.builtDims('createCache');
    const spec = checkCacheArgs('SelfAttention', args, dims.context);
    const h = this.numHeads;
    if (spec.kind === 'self') {
      if (!this.causal || dims.context !== dims.query) {
        throw new Error(`SelfAttention.createCache: a self-attention cache needs a causal ` +
                        `self-attention layer (causal: true, context = query), whose outputs for ` +
                        `earlier tokens do not depend on later ones. Received: layer '${
                            this.name}' with causal=${this.causal}${
                            dims.context !== dims.query ? ', built for cross-attention' : ''}`);
      }
      return emptySelfCache(this, spec, h, dims.key, dims.value);
    }
    const [keys, values] = tf.tidy(() => [
      projectHeads(spec.context, this.keyKernel, this.keyBias, h, dims.key),
      projectHeads(spec.context, this.valueKernel, this.valueBias, h, dims.value),
    ]);  // [batch, heads, timeK, keyDim|valueDim]
    return contextCache(this, keys!, values!, spec.contextMask);  // the cache owns them
  }

  /**
   * The layer's output for new tokens `xNew` `[batch, tNew, queryFeatures]` → `[batch, tNew,
   * outputDim]` (with `returnAttentionWeights` also the weights `[batch, numHeads, tNew, keys
   * so far]`), attending to what `cache` holds: for a self-attention cache, every token given
   * so far plus the new ones (causal within them), which it then keeps; for a cross-attention
   * cache, the context. The rows equal the full call's rows for those positions. Inference
   * only (no dropout). Throws naming the argument when xNew's batch or features do not fit,
   * the cache is full (maxLength), disposed, or another layer's.
   */
  applyCached(xNew: tf.Tensor, cache: AttentionCache, options: ApplyCachedArgs = {}):
      tf.Tensor|tf.Tensor[] {
    const dims = this.builtDims('applyCached');
    const mask = checkCachedCall('SelfAttention', this, xNew, cache, dims.query, options);
    const h = this.numHeads;
    const tNew = xNew.shape[1]!;
    return tf.tidy(() => {
      const q = projectHeads(xNew, this.queryKernel, this.queryBias, h, dims.key);
      const added = cache.kind === 'cross' ? null : {
        keys: projectHeads(xNew, this.keyKernel, this.keyBias, h, dims.key),
        values: projectHeads(xNew, this.valueKernel, this.valueBias, h, dims.value),
        mask,
      };  // [batch, heads, tNew, keyDim|valueDim]
      const step = cache.step(tNew, {causal: this.causal, slidingWindow: this.slidingWindow},
                              added);
      // output [batch, heads, tNew, valueDim], weights [batch, heads, tNew, keys]
      const {output, weights} = attend(q, step.keys, step.values, {
        mask: step.mask, queryMask: mask, path: this.attentionPath,
        memoryBudgetBytes: this.memoryBudgetBytes, needWeights: this.returnAttentionWeights,
      });
      const result = this.mergeHeads(output);  // [batch, tNew, outputDim]
      step.commit();
      return this.returnAttentionWeights ?
          [result, weights!.slice([0, 0, 0, 0], [-1, -1, -1, step.visible])] : result;
    });
  }

  /** The sizes known once built; throws naming `fn` on a layer not built yet. */
  private builtDims(fn: string): NonNullable<SelfAttention['dims']> {
    if (this.dims == null) {
      throw new Error(`SelfAttention.${fn} needs a built layer: call apply() or build() ` +
                      `first. Received: layer '${this.name}' not built.`);
    }
    return this.dims;
  }

  /**
   * Step 2 as `call` computes it: Q from `query`, K and V from `context` (the same tensor for
   * self-attention) with this layer's W_q, W_k, W_v (and biases), split into heads. For
   * inspecting the layer (see `attentionSteps`); the caller disposes the result.
   * Returns query/key `[batch, heads, time, keyDim]`, value `[batch, heads, timeK, valueDim]`.
   */
  projectQKV(query: tf.Tensor, context: tf.Tensor = query): {
    /** Q `[batch, heads, timeQ, keyDim]`. */
    query: tf.Tensor,
    /** K `[batch, heads, timeK, keyDim]`. */
    key: tf.Tensor,
    /** V `[batch, heads, timeK, valueDim]`. */
    value: tf.Tensor,
  } {
    if (this.dims == null) {
      throw new Error(`SelfAttention.projectQKV needs a built layer: call apply() or build() ` +
                      `first. Received: layer '${this.name}' not built.`);
    }
    checkFeatures('SelfAttention', query, this.dims.query, 'query');
    checkFeatures('SelfAttention', context, this.dims.context, 'context');
    return tf.tidy(() => this.project(query, context));
  }

  /** {@link projectQKV} on checked inputs; the caller tidies. Self-attention reshapes x once. */
  private project(query: tf.Tensor, context: tf.Tensor):
      {query: tf.Tensor, key: tf.Tensor, value: tf.Tensor} {
    const dims = this.dims!;
    const h = this.numHeads;
    const [batch, timeQ] = query.shape as [number, number, number];
    const timeK = context.shape[1]!;
    const queryRows = flatRows(query);                                  // [batch*timeQ, features]
    const contextRows = context === query ? queryRows : flatRows(context);
    return {
      query: projectRows(queryRows, batch, timeQ, this.queryKernel, this.queryBias, h, dims.key),
      key: projectRows(contextRows, batch, timeK, this.keyKernel, this.keyBias, h, dims.key),
      value: projectRows(contextRows, batch, timeK, this.valueKernel, this.valueBias, h,
                         dims.value),
    };
  }

  /**
   * After step 6, as `call` does it: the heads' outputs `[batch, heads, timeQ, valueDim]`
   * concatenated to `[batch, timeQ, heads*valueDim]`, then W_o (and its bias) when the layer has
   * an output projection. The caller disposes the result.
   */
  mergeHeads(headsOutput: tf.Tensor): tf.Tensor {
    if (this.dims == null) {
      throw new Error(`SelfAttention.mergeHeads needs a built layer: call apply() or build() ` +
                      `first. Received: layer '${this.name}' not built.`);
    }
    const [, heads, , size] = headsOutput.shape;
    if (headsOutput.rank !== 4 || heads !== this.numHeads || size !== this.dims.value) {
      throw new Error(`mergeHeads expects [batch, numHeads=${this.numHeads}, timeQ, valueDim=${
          this.dims.value}]. Received: headsOutput with shape [${headsOutput.shape}].`);
    }
    return tf.tidy(() => this.merge(headsOutput));
  }

  /** {@link mergeHeads} on a checked input; the caller tidies. */
  private merge(headsOutput: tf.Tensor): tf.Tensor {
    if (this.outputKernel == null) {
      return mergeHeads(headsOutput);  // [batch, timeQ, heads*valueDim]
    }
    const [batch, , timeQ] = headsOutput.shape as [number, number, number, number];
    return projectOutputRows(mergeRows(headsOutput),  // [batch*timeQ, heads*valueDim]
                             batch, timeQ, this.outputKernel, this.outputBias);
  }

  /**
   * [queryMask, keyMask] (each `[batch, time]` or null). A third input, when given, is the key
   * mask and the propagated masks are ignored. tfjs's `predict`/`fit` executor hands a layer with
   * several inputs only the first input's mask, as one tensor: that one is the query's.
   */
  private tokenMasks(inputs: tf.Tensor|tf.Tensor[],
                     mask: SelfAttentionCallArgs['mask']): [tf.Tensor|null, tf.Tensor|null] {
    if (inputs instanceof Array && inputs.length === 3) {
      return [null, inputs[2]!];
    }
    if (mask instanceof Array) {
      return [mask[0] ?? null, mask[inputs instanceof Array ? 1 : 0] ?? null];
    }
    if (inputs instanceof Array && inputs.length === 2) {
      return [mask ?? null, null];
    }
    return [mask ?? null, mask ?? null];
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape|Shape[] {
    const dims = this.dims ?? this.resolveDims(inputShape);
    const [queryShape, contextShape] = splitShapes(inputShape);
    const output: Shape = [queryShape[0] ?? null, queryShape[1] ?? null, dims.output];
    if (!this.returnAttentionWeights) {
      return output;
    }
    return [output, [queryShape[0] ?? null, this.numHeads, queryShape[1] ?? null,
                     contextShape[1] ?? null]];
  }

  /** The output keeps the query's mask (the weights output has none). */
  override computeMask(inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    void inputs;
    const queryMask = mask instanceof Array ? mask[0] ?? null : mask ?? null;
    // tfjs types masks as non-null but passes and accepts null for "no mask".
    return (this.returnAttentionWeights ? [queryMask, null] : queryMask) as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const a = this.args;
    const config: tf.serialization.ConfigDict = {
      numHeads: this.numHeads,
      keyDim: a.keyDim ?? null,
      valueDim: a.valueDim ?? null,
      outputDim: a.outputDim ?? null,
      useOutputProjection: a.useOutputProjection ?? null,
      useBias: this.useBias,
      causal: this.causal,
      // Written only when set, so configs without a window stay as they were.
      ...(this.slidingWindow == null ? {} : {slidingWindow: this.slidingWindow}),
      dropout: this.dropout,
      returnAttentionWeights: this.returnAttentionWeights,
      attentionPath: this.attentionPath,
      memoryBudgetBytes: this.memoryBudgetBytes,
      kernelInitializer: serialize(this.kernelInitializer),
      biasInitializer: serialize(this.biasInitializer),
      kernelRegularizer: serialize(this.kernelRegularizer),
      biasRegularizer: serialize(this.biasRegularizer),
      kernelConstraint: serialize(this.kernelConstraint),
      biasConstraint: serialize(this.biasConstraint),
    };
    return {...super.getConfig(), ...config};
  }

  /** Rebuilds from getConfig's output (nulls mean "default"). */
  static override fromConfig<T extends tf.serialization.Serializable>(
      cls: tf.serialization.SerializableConstructor<T>,
      config: tf.serialization.ConfigDict): T {
    const args = Object.fromEntries(Object.entries(config).filter(([, v]) => v != null));
    return new cls(args);
  }
}
tf.serialization.registerClass(SelfAttention);

/**
 * Factory in the style of `tf.layers.*`: `new SelfAttention(args)`. Its type remembers
 * `returnAttentionWeights`, so that `apply` is typed as returning the output or
 * `[output, weights]` (see {@link SelfAttention.apply}).
 *
 * ```ts
 * const layer = selfAttention({numHeads: 4, causal: true});  // apply(x) gives the output
 * const probe = selfAttention({numHeads: 4, returnAttentionWeights: true});  // [output, weights]
 * ```
 */
export function selfAttention(args: SelfAttentionArgs&{returnAttentionWeights: true}):
    SelfAttention<true>;
export function selfAttention(args?: SelfAttentionArgs&{returnAttentionWeights?: false}):
    SelfAttention<false>;
export function selfAttention(args?: SelfAttentionArgs): SelfAttention;
export function selfAttention(args?: SelfAttentionArgs): SelfAttention {
  return new SelfAttention(args);
}

// ---- Helpers -----------------------------------------------------------------------------

/** The constructor's arguments and their checks (base layer arguments are added by checkArgs). */
const ARGS: ArgSpec = {
  numHeads: is.positiveInt,
  keyDim: is.positiveInt,
  valueDim: is.positiveInt,
  outputDim: is.positiveInt,
  useOutputProjection: is.boolean,
  useBias: is.boolean,
  causal: is.boolean,
  slidingWindow: is.positiveInt,
  dropout: is.rate,
  returnAttentionWeights: is.boolean,
  attentionPath: is.oneOf(ATTENTION_PATHS),
  memoryBudgetBytes: {expected: 'a positive number of bytes', test: is.positiveNumber.test},
  kernelInitializer: is.anything,
  biasInitializer: is.anything,
  kernelRegularizer: is.anything,
  biasRegularizer: is.anything,
  kernelConstraint: is.anything,
  biasConstraint: is.anything,
};

const CALL_NOTE = 'masks come from mask propagation (an Embedding with maskZero), as ' +
    '{mask: [queryMask, contextMask]}, or as the third input [query, context, contextMask]';

/** Names from Keras, PyTorch and elsewhere that people write for SelfAttention's arguments. */
const SUGGESTIONS: Record<string, Suggestion> = {
  useCausalMask: 'causal',
  isCausal: 'causal',
  returnAttentionScores: 'returnAttentionWeights',
  needWeights: 'returnAttentionWeights',
  outputShape: 'outputDim',
  heads: 'numHeads',
  nHeads: 'numHeads',
  numAttentionHeads: 'numHeads',
  headDim: 'keyDim',
  headSize: 'keyDim',
  dropoutRate: 'dropout',
  attentionDropout: 'dropout',
  path: 'attentionPath',
  flashAttention: 'attentionPath',
  embedDim: {note: 'the model dimension is the input\'s last axis; the output size is outputDim'},
  attentionAxes: {note: 'SelfAttention attends over the time axis (axis 1) only'},
  mask: {note: `not a constructor argument: ${CALL_NOTE}`},
  attentionMask: {note: 'not a constructor argument: pass it when calling, ' +
                        'layer.apply(x, {attentionMask})'},
};

const CALL_ARGS: ArgSpec = {mask: is.anything, attentionMask: is.anything, training: is.boolean};

const CALL_SUGGESTIONS: Record<string, Suggestion> = {
  useCausalMask: {note: 'causal attention is a constructor argument: selfAttention({causal: true})'},
  returnAttentionScores: {note: 'a constructor argument: ' +
                                'selfAttention({returnAttentionWeights: true})'},
  queryMask: {note: CALL_NOTE},
  keyMask: {note: CALL_NOTE},
  valueMask: {note: CALL_NOTE},
  contextMask: {note: CALL_NOTE},
};

/** Checks SelfAttention's arguments (see {@link checkArgs}) and how they combine. */
function checkSelfAttentionArgs(args: SelfAttentionArgs): SelfAttentionArgs {
  checkArgs('SelfAttention', args, ARGS, {suggestions: SUGGESTIONS});
  const project = args.useOutputProjection ?? (args.numHeads ?? 1) > 1;
  if (args.outputDim != null && !project) {
    throw new Error(
        `SelfAttention: outputDim sets the size of the output projection, which this layer ` +
        `does not have (${args.useOutputProjection === false ? 'useOutputProjection=false' :
                                                             'numHeads=1 and no useOutputProjection'});` +
        ` set useOutputProjection: true, or leave outputDim out. Received: outputDim=${
            describeValue(args.outputDim)}`);
  }
  return args;
}

/** One shape for self-attention, two for cross-attention → [queryShape, contextShape]. */
function splitShapes(inputShape: Shape|Shape[]): [Shape, Shape] {
  const shapes: Shape[] = Array.isArray(inputShape[0]) ? inputShape as Shape[] :
                                                         [inputShape as Shape];
  if (shapes.length < 1 || shapes.length > 3) {
    throw new Error(`SelfAttention takes 1 input (self-attention), [query, context] ` +
                    `(cross-attention) or [query, context, contextMask]. Received: ${
                        shapes.length} inputs.`);
  }
  const [query, context = query, contextMask] = shapes as [Shape, Shape?, Shape?];
  for (const shape of [query, context]) {
    if (shape.length !== 3) {
      throw new Error(`SelfAttention inputs must have rank 3 [batch, time, features]. ` +
                      `Received: input shape [${shape}].`);
    }
  }
  if (contextMask != null && (contextMask.length !== 2 || contextMask[1] !== context[1])) {
    throw new Error(`contextMask (the third input) must have shape [batch, timeK] = [${
        context[0]}, ${context[1]}]. Received: contextMask with shape [${contextMask}].`);
  }
  return [query, context];
}

function splitInputs(inputs: tf.Tensor|tf.Tensor[]): [tf.Tensor, tf.Tensor] {
  if (!(inputs instanceof Array)) {  // self-attention, the common call: checked without arrays
    checkTensorArg('SelfAttention', inputs, 'inputs');
    if (inputs.rank !== 3) {
      splitShapes(inputs.shape);  // throws, naming the shape
    }
    return [inputs, inputs];
  }
  const list = inputs;
  const names = list.length === 1 ? ['inputs'] : ['query', 'context', 'contextMask'];
  list.forEach((t, i) => checkTensorArg('SelfAttention', t, names[i] ?? `inputs[${i}]`));
  splitShapes(list.map(t => t.shape));
  return [list[0]!, list[1] ?? list[0]!];
}
