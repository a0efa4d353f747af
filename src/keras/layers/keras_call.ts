/**
 * KerasCall: one Keras layer call (a node of a Keras functional graph) as a tfjs layer, wrapping
 * the layer that does the work. It exists because tfjs 4.22's graph executor, which `predict`,
 * `evaluate` and `fit` use, cannot run such calls as Keras writes them:
 *
 * 1. A node that lists one tensor twice (`mha(x, x)` followed by a residual `Add([x, mha])`) has
 *    that tensor disposed too early: the executor counts the node as one user of `x` but
 *    subtracts one use per listing, so `x` is freed before the `Add` reads it ("Tensor is
 *    disposed"). Here every distinct tensor is one input of the node, and `call` hands the wrapped
 *    layer the arguments Keras passed (`args`/`kwargs` refer to inputs by position).
 * 2. Per-node call arguments (`use_causal_mask=True`, `return_attention_scores=True`) never reach
 *    `call` in `predict`/`fit`: the executor passes only `training` and a mask. Here they are part
 *    of the layer's config.
 * 3. Masks: the executor hands a layer only its first input's mask, and keeps handing a mask to
 *    every later layer once one was set. The Keras loader therefore computes masks as explicit
 *    tensors of the graph (the way Keras itself would, see src/keras/masks.ts), and they arrive
 *    here as ordinary inputs, passed to the wrapped layer as tfjs passes masks (`kwargs.mask`).
 *    `computeMask` returns null, so no tfjs mask ever enters the executor.
 *
 * 4. tfjs's recurrent cells keep the dropout masks of their last call alive (`tf.keep`) until
 *    their next call, so a model whose LSTM has `dropout` holds 8 tensors per layer after every
 *    `predict` and still after `dispose`. Outside training (when no gradient needs them) the
 *    wrapped layer's cached masks are released right after the call, and on `dispose`.
 *
 * The wrapped layer's weights are this layer's weights (same variables, same order), so
 * training, `getWeights`/`setWeights` and `model.save` see them as usual; `layer` gives it back.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, is} from '../../args';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;
type Kwargs = Record<string, unknown>;

/** One argument of the call: an input of this layer, a constant, or a list of arguments. */
export type CallArg = {
  /** This layer's input number `input` (0 = the first). */
  input: number,
}|{
  /** A constant. */
  value: number|boolean|null,
}|{
  /** A list, each entry an argument. */
  list: CallArg[],
};

/** Arguments of {@link KerasCall}. */
export interface KerasCallArgs extends LayerArgs {
  /** The wrapped layer as `{className, config}` (tfjs's serialized form). Required. */
  layer: {
    /** The registered tfjs class name. */
    className: string,
    /** Its config, as `fromConfig` takes it. */
    config: tf.serialization.ConfigDict,
  };
  /** What the wrapped layer's `call` gets as its inputs. Default `{input: 0}`. */
  inputs?: CallArg;
  /** What it gets as keyword arguments besides `training`, e.g. `{mask: {input: 1}}`. Default {}. */
  kwargs?: Record<string, CallArg>;
}

function resolve<T>(arg: CallArg, inputs: T[]): T|T[]|null|number|boolean {
  if ('input' in arg) {
    return inputs[arg.input]!;
  }
  if ('list' in arg) {
    return arg.list.map(a => resolve(a, inputs)) as T[];
  }
  return arg.value;
}

function countInputs(arg: CallArg, seen: Set<number>): void {
  if ('input' in arg) {
    seen.add(arg.input);
  } else if ('list' in arg) {
    arg.list.forEach(a => countInputs(a, seen));
  }
}

/** The dropout masks a tfjs recurrent layer's cells keep between calls (see the module comment). */
interface MaskCache {
  cell?: MaskCache;
  forwardLayer?: MaskCache;
  backwardLayer?: MaskCache;
  dropoutMask?: tf.Tensor|tf.Tensor[]|null;
  recurrentDropoutMask?: tf.Tensor|tf.Tensor[]|null;
}

function releaseDropoutMasks(layer: unknown): void {
  const l = layer as MaskCache;
  for (const inner of [l.cell, l.forwardLayer, l.backwardLayer]) {
    if (inner != null) {
      releaseDropoutMasks(inner);
    }
  }
  if (l.dropoutMask != null) {
    tf.dispose(l.dropoutMask);
    l.dropoutMask = null;
  }
  if (l.recurrentDropoutMask != null) {
    tf.dispose(l.recurrentDropoutMask);
    l.recurrentDropoutMask = null;
  }
}

/**
 * A call of `layer` with Keras's arguments.
 *
 * ```js
 * // mha(x, x) with a padding mask m: one input for x, one for the mask
 * new KerasCall({layer: {className: 'MultiHeadAttention', config: {numHeads: 2, keyDim: 8}},
 *                inputs: {list: [{input: 0}, {input: 0}]},
 *                kwargs: {mask: {list: [{input: 1}, {input: 1}]}}}).apply([x, m]);
 * ```
 */
export class KerasCall extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under. */
  static className = 'KerasCall';
  /** The wrapped layer. */
  readonly layer: tf.layers.Layer;
  /** What the wrapped layer's `call` gets as its inputs ({@link KerasCallArgs.inputs}). */
  readonly callInputs: CallArg;
  /** What it gets as keyword arguments ({@link KerasCallArgs.kwargs}). */
  readonly callKwargs: Record<string, CallArg>;

  constructor(args: KerasCallArgs) {
    super(checkArgs(KerasCall.className, args, ARGS, {required: ['layer']}));
    const spec = args.layer;
    const entry = spec != null && typeof spec.className === 'string' ?
        tf.serialization.SerializationMap.getMap().classNameMap[spec.className] : undefined;
    if (entry === undefined) {
      throw new Error(`KerasCall: layer must be {className, config} of a registered layer class. ` +
                      `Received: layer=${JSON.stringify(spec)?.slice(0, 200)}`);
    }
    const [cls, fromConfig] = entry;
    this.layer = fromConfig(cls, (spec.config ?? {}) as tf.serialization.ConfigDict) as
        unknown as tf.layers.Layer;
    this.callInputs = args.inputs ?? {input: 0};
    this.callKwargs = args.kwargs ?? {};
    this.trainable = args.trainable ?? this.layer.trainable;
  }

  /** How many inputs the call reads. */
  get inputCount(): number {
    const seen = new Set<number>();
    countInputs(this.callInputs, seen);
    Object.values(this.callKwargs).forEach(a => countInputs(a, seen));
    return seen.size;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shapes = this.shapes(inputShape);
    if (!this.layer.built) {
      this.layer.build(resolve(this.callInputs, shapes) as Shape|Shape[]);
      this.layer.built = true;
    }
    this.built = true;
  }

  private shapes(inputShape: Shape|Shape[]): Shape[] {
    return (Array.isArray(inputShape[0]) || inputShape.length === 0 ? inputShape :
                                                                      [inputShape]) as Shape[];
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape|Shape[] {
    const shapes = this.shapes(inputShape);
    const first = resolve(this.callInputs, shapes) as Shape|Shape[];
    return this.layer.computeOutputShape(first) as Shape|Shape[];
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: Kwargs): tf.Tensor|tf.Tensor[] {
    return tf.tidy(() => {
      const list = inputs instanceof Array ? inputs : [inputs];
      const callKwargs: Kwargs = {};
      for (const [key, arg] of Object.entries(this.callKwargs)) {
        callKwargs[key] = resolve(arg, list);
      }
      if (kwargs?.['training'] !== undefined) {
        callKwargs['training'] = kwargs['training'];
      }
      const out = this.layer.call(resolve(this.callInputs, list) as tf.Tensor|tf.Tensor[],
                                  callKwargs);
      if (callKwargs['training'] !== true) {
        releaseDropoutMasks(this.layer);
      }
      return out;
    });
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) {
      releaseDropoutMasks(this.layer);
    }
    return result;
  }

  override setFastWeightInitDuringBuild(value: boolean): void {
    super.setFastWeightInitDuringBuild(value);
    this.layer?.setFastWeightInitDuringBuild(value);
  }

  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor;  // masks travel as explicit inputs (see the module comment)
  }

  /** The wrapped layer's trainable weights (this layer's own). */
  override get trainableWeights(): tf.LayerVariable[] {
    return this.layer.trainableWeights;
  }

  /** Ignored: the wrapped layer owns its weights. */
  override set trainableWeights(_weights: tf.LayerVariable[]) {
    // the wrapped layer owns its weights
  }

  /** The wrapped layer's non-trainable weights. */
  override get nonTrainableWeights(): tf.LayerVariable[] {
    return this.layer.nonTrainableWeights;
  }

  /** Ignored: the wrapped layer owns its weights. */
  override set nonTrainableWeights(_weights: tf.LayerVariable[]) {
    // the wrapped layer owns its weights
  }

  /** Whether the wrapped layer trains. */
  override get trainable(): boolean {
    return this.layer?.trainable ?? true;
  }

  /** Sets whether the wrapped layer trains. */
  override set trainable(value: boolean) {
    if (this.layer !== undefined) {
      this.layer.trainable = value;
    }
  }

  /** The wrapped layer's regularization losses. */
  override get losses(): tf.layers.Layer['losses'] {
    return this.layer.losses;
  }

  override calculateLosses(): tf.Scalar[] {
    return this.layer.calculateLosses();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      layer: {className: this.layer.getClassName(), config: this.layer.getConfig()},
      inputs: this.callInputs as unknown as tf.serialization.ConfigDictValue,
      kwargs: this.callKwargs as unknown as tf.serialization.ConfigDictValue,
    };
  }
}
tf.serialization.registerClass(KerasCall);

const ARGS: ArgSpec = {layer: is.object, inputs: is.object, kwargs: is.object};
