/**
 * KerasRMSNormalization: Keras 3's `RMSNormalization`,
 *
 *   y = x / sqrt(mean(x², over axis) + epsilon) · scale
 *
 * One weight, `scale`, of shape `[input_shape[a] for a in sorted axes]` (Keras's name and shape).
 * Like Keras's layer it does not pass masks on.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkTensorArg, LAYER_CALL_ARGS} from '../../args';
import {buildWeights} from '../../layers/build';
import {AXIS_ARG, EPSILON_ARG} from './layer_normalization';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link KerasRMSNormalization}. */
export interface KerasRMSNormalizationArgs extends LayerArgs {
  /** The axis or axes normalized over (negative counts from the end). Default -1. */
  axis?: number|number[];
  /** Added to the mean square before the square root. Default 1e-6 (Keras's default). */
  epsilon?: number;
}

/**
 * `[..., features]` → the same shape, divided by its root mean square over `axis`, times `scale`.
 *
 * ```js
 * new KerasRMSNormalization({epsilon: 1e-5}).apply(tf.randomNormal([2, 4]));  // [2, 4]
 * ```
 */
export class KerasRMSNormalization extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under. */
  static className = 'KerasRMSNormalization';
  /** The normalized axes as given, negative from the end ({@link KerasRMSNormalizationArgs.axis}). */
  readonly axis: number[];
  /** Added to the mean square ({@link KerasRMSNormalizationArgs.epsilon}). */
  readonly epsilon: number;
  private scale: tf.LayerVariable|null = null;
  private axes: number[] = [];

  constructor(args: KerasRMSNormalizationArgs = {}) {
    super(checkArgs(KerasRMSNormalization.className, args, ARGS));
    const axis = args?.axis ?? -1;
    this.axis = Array.isArray(axis) ? axis : [axis];
    this.epsilon = args.epsilon ?? 1e-6;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const rank = shape.length;
    const axes = this.axis.map(a => (a < 0 ? a + rank : a));
    if (axes.some(a => a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
      throw new Error(`KerasRMSNormalization '${this.name}': axis ${JSON.stringify(this.axis)} ` +
                      `does not fit an input of shape [${shape}].`);
    }
    this.axes = [...axes].sort((a, b) => a - b);
    const weightShape = this.axes.map(a => shape[a]);
    if (weightShape.some(d => d == null)) {
      throw new Error(`KerasRMSNormalization '${this.name}' needs known sizes on the axes it ` +
                      `normalizes. Received: input shape [${shape}]`);
    }
    buildWeights(this, () => {
      this.scale = this.addWeight('scale', weightShape as number[], 'float32',
                                  tf.initializers.ones());
    });
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: {mask?: unknown, training?: boolean} = {}):
      tf.Tensor {
    checkCallArgs(KerasRMSNormalization.className, kwargs, LAYER_CALL_ARGS);
    const x = inputs instanceof Array ? inputs[0]! : inputs;                         // [..., features]
    checkTensorArg(KerasRMSNormalization.className, x, 'inputs');
    return tf.tidy(() => {
      const inv = tf.rsqrt(tf.add(tf.mean(tf.square(x), this.axes, true), this.epsilon));  // [..., 1]
      let scale = this.scale!.read();
      if (!(this.axes.length === 1 && this.axes[0] === x.rank - 1)) {
        const shape = new Array<number>(x.rank).fill(1);
        this.axes.forEach((a, i) => {
          shape[a] = scale.shape[i]!;
        });
        scale = tf.reshape(scale, shape);
      }
      return tf.mul(tf.mul(x, inv), scale);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), axis: this.axis.length === 1 ? this.axis[0]! : this.axis,
            epsilon: this.epsilon};
  }
}
tf.serialization.registerClass(KerasRMSNormalization);

const ARGS: ArgSpec = {axis: AXIS_ARG, epsilon: EPSILON_ARG};
