/**
 * KerasLayerNormalization: Keras 3's `LayerNormalization`, `rms_scaling` included, over any axes.
 *
 *   default:       y = (x - mean) / sqrt(var + epsilon) · gamma + beta      (over `axis`)
 *   rmsScaling:    y = x / sqrt(var + epsilon) · gamma                       (no beta)
 *
 * `rmsScaling` is what Keras 3 (through 3.15) computes for `rms_scaling=True`: it divides by the
 * *variance* over the axes, not by the root mean square (Keras itself now warns that the argument
 * is deprecated for that reason; `keras.layers.RMSNormalization` is the real RMS norm, see
 * rms_normalization.ts). Trained weights learned that function, so it is kept. tfjs 4.22's own
 * LayerNormalization has no such option and tiles its weights to the input's shape (see
 * src/layers/layer_norm.ts for what that costs); here the weights broadcast.
 *
 * Weights, in Keras's order: `gamma` (when `scale` or `rmsScaling`), `beta` (when `center` and not
 * `rmsScaling`), each of shape `[input_shape[a] for a in sorted axes]`.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgCheck, ArgSpec, checkArgs, checkCallArgs, checkTensorArg, is, LAYER_CALL_ARGS} from '../../args';
import {Constraint, Identifier, Initializer, Regularizer, resolveConstraint, resolveInitializer,
        resolveRegularizer, serialize} from '../../initializers';
import {buildWeights} from '../../layers/build';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link KerasLayerNormalization}. */
export interface KerasLayerNormalizationArgs extends LayerArgs {
  /** The axis or axes normalized over (negative counts from the end). Default -1. */
  axis?: number|number[];
  /** Added to the variance before the square root. Default 1e-3 (Keras's default). */
  epsilon?: number;
  /** Add the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiply by the learned scale `gamma`. Default true. */
  scale?: boolean;
  /** Keras 3's `rms_scaling`: x / sqrt(var + epsilon) · gamma, no centering, no beta. Default false. */
  rmsScaling?: boolean;
  /** Initializer of `beta`. Default 'zeros'. */
  betaInitializer?: Identifier<Initializer>;
  /** Initializer of `gamma`. Default 'ones'. */
  gammaInitializer?: Identifier<Initializer>;
  /** Regularizer of `beta`. Default none. */
  betaRegularizer?: Identifier<Regularizer>;
  /** Regularizer of `gamma`. Default none. */
  gammaRegularizer?: Identifier<Regularizer>;
  /** Constraint of `beta`. Default none. */
  betaConstraint?: Identifier<Constraint>;
  /** Constraint of `gamma`. Default none. */
  gammaConstraint?: Identifier<Constraint>;
}

/**
 * `[..., features]` → the same shape, normalized over `axis`. Passes masks on.
 *
 * ```js
 * const ln = new KerasLayerNormalization({epsilon: 1e-6});
 * ln.apply(tf.randomNormal([2, 5, 8]));  // [2, 5, 8]
 * ```
 */
export class KerasLayerNormalization extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under. */
  static className = 'KerasLayerNormalization';
  /** The normalized axes as given, negative from the end ({@link KerasLayerNormalizationArgs.axis}). */
  readonly axis: number[];
  /** Added to the variance ({@link KerasLayerNormalizationArgs.epsilon}). */
  readonly epsilon: number;
  /** Whether the learned offset `beta` is added ({@link KerasLayerNormalizationArgs.center}). */
  readonly center: boolean;
  /** Whether the learned scale `gamma` multiplies ({@link KerasLayerNormalizationArgs.scale}). */
  readonly scale: boolean;
  /**
   * Keras 3's `rms_scaling`: divide by the variance, no beta ({@link
   * KerasLayerNormalizationArgs.rmsScaling}).
   */
  readonly rmsScaling: boolean;
  private readonly betaInitializer: Initializer;
  private readonly gammaInitializer: Initializer;
  private readonly betaRegularizer: Regularizer|null;
  private readonly gammaRegularizer: Regularizer|null;
  private readonly betaConstraint: Constraint|null;
  private readonly gammaConstraint: Constraint|null;
  private gamma: tf.LayerVariable|null = null;
  private beta: tf.LayerVariable|null = null;
  /** The axes as non-negative numbers, sorted, once the input rank is known. */
  private axes: number[] = [];

  constructor(args: KerasLayerNormalizationArgs = {}) {
    super(checkArgs(KerasLayerNormalization.className, args, ARGS));
    const axis = args?.axis ?? -1;
    this.axis = Array.isArray(axis) ? axis : [axis];
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.rmsScaling = args.rmsScaling ?? false;
    this.betaInitializer = resolveInitializer(args.betaInitializer ?? 'zeros', 'betaInitializer')!;
    this.gammaInitializer = resolveInitializer(args.gammaInitializer ?? 'ones', 'gammaInitializer')!;
    this.betaRegularizer = resolveRegularizer(args.betaRegularizer, 'betaRegularizer');
    this.gammaRegularizer = resolveRegularizer(args.gammaRegularizer, 'gammaRegularizer');
    this.betaConstraint = resolveConstraint(args.betaConstraint, 'betaConstraint');
    this.gammaConstraint = resolveConstraint(args.gammaConstraint, 'gammaConstraint');
    this.supportsMasking = true;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const rank = shape.length;
    const axes = this.axis.map(a => (a < 0 ? a + rank : a));
    if (axes.some(a => a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
      throw new Error(`KerasLayerNormalization '${this.name}': axis ${JSON.stringify(this.axis)} ` +
                      `does not fit an input of shape [${shape}].`);
    }
    this.axes = [...axes].sort((a, b) => a - b);
    const weightShape = this.axes.map(a => shape[a]);
    if (weightShape.some(d => d == null)) {
      throw new Error(`KerasLayerNormalization '${this.name}' needs known sizes on the axes it ` +
                      `normalizes. Received: input shape [${shape}], axis ${JSON.stringify(this.axis)}`);
    }
    buildWeights(this, () => {
      if (this.scale || this.rmsScaling) {
        this.gamma = this.addWeight('gamma', weightShape as number[], 'float32',
                                    this.gammaInitializer, this.gammaRegularizer ?? undefined, true,
                                    this.gammaConstraint ?? undefined);
      }
      if (this.center && !this.rmsScaling) {
        this.beta = this.addWeight('beta', weightShape as number[], 'float32', this.betaInitializer,
                                   this.betaRegularizer ?? undefined, true,
                                   this.betaConstraint ?? undefined);
      }
    });
    this.built = true;
  }

  /** A weight `[sizes of the axes]` reshaped to broadcast against an input of rank `rank`. */
  private broadcast(weight: tf.Tensor, rank: number): tf.Tensor {
    if (this.axes.length === 1 && this.axes[0] === rank - 1) {
      return weight;
    }
    const shape = new Array<number>(rank).fill(1);
    this.axes.forEach((a, i) => {
      shape[a] = weight.shape[i]!;
    });
    return tf.reshape(weight, shape);
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: {mask?: unknown, training?: boolean} = {}):
      tf.Tensor {
    checkCallArgs(KerasLayerNormalization.className, kwargs, LAYER_CALL_ARGS);
    const x = inputs instanceof Array ? inputs[0]! : inputs;  // [..., features]
    checkTensorArg(KerasLayerNormalization.className, x, 'inputs');
    return tf.tidy(() => {
      const {mean, variance} = tf.moments(x, this.axes, true);  // each [..., 1]
      let inv = tf.rsqrt(tf.add(variance, this.epsilon));
      if (this.gamma !== null) {
        inv = tf.mul(inv, this.broadcast(this.gamma.read(), x.rank));
      }
      if (this.rmsScaling) {
        return tf.mul(x, inv);
      }
      // x·inv + (beta - mean·inv), Keras's arrangement of the same sum
      let offset = tf.neg(tf.mul(mean, inv));
      if (this.beta !== null) {
        offset = tf.add(offset, this.broadcast(this.beta.read(), x.rank));
      }
      return tf.add(tf.mul(x, inv), offset);
    });
  }

  override computeMask(_inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    return (mask ?? null) as tf.Tensor;  // tfjs reads null as "no mask"
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      axis: this.axis.length === 1 ? this.axis[0]! : this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      rmsScaling: this.rmsScaling,
      betaInitializer: serialize(this.betaInitializer),
      gammaInitializer: serialize(this.gammaInitializer),
      betaRegularizer: serialize(this.betaRegularizer),
      gammaRegularizer: serialize(this.gammaRegularizer),
      betaConstraint: serialize(this.betaConstraint),
      gammaConstraint: serialize(this.gammaConstraint),
    };
  }
}
tf.serialization.registerClass(KerasLayerNormalization);

/** `axis`: an integer or a non-empty list of integers (shared with KerasRMSNormalization). */
export const AXIS_ARG: ArgCheck = {
  expected: 'an integer or a non-empty list of integers',
  test: (v: unknown) => Number.isInteger(v) ||
      (Array.isArray(v) && v.length > 0 && v.every(a => Number.isInteger(a))),
};

/** `epsilon`: a non-negative number. */
export const EPSILON_ARG: ArgCheck = {
  expected: 'a non-negative number',
  test: (v: unknown) => typeof v === 'number' && v >= 0 && v < Infinity,
};

const ARGS: ArgSpec = {
  axis: AXIS_ARG, epsilon: EPSILON_ARG, center: is.boolean, scale: is.boolean,
  rmsScaling: is.boolean, betaInitializer: is.anything, gammaInitializer: is.anything,
  betaRegularizer: is.anything, gammaRegularizer: is.anything, betaConstraint: is.anything,
  gammaConstraint: is.anything,
};
