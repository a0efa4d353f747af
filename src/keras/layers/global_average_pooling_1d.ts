/**
 * KerasGlobalAveragePooling1D: the mean over the steps of a sequence, counting only the steps its
 * mask keeps, as Keras's `GlobalAveragePooling1D` does (tfjs 4.22's ignores the mask and averages
 * the padding in).
 *
 *   no mask:  y[b, c] = mean_t x[b, t, c]
 *   mask:     y[b, c] = Σ_t m[b, t]·x[b, t, c] / Σ_t m[b, t]      (a row with no kept step: NaN,
 *                                                                  as in Keras)
 *
 * The mask comes as tfjs passes masks, in `call`'s `kwargs.mask` ([batch, steps], true = keep).
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkMaskArg, checkTensorArg, is, LAYER_CALL_ARGS} from '../../args';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link KerasGlobalAveragePooling1D}. */
export interface KerasGlobalAveragePooling1DArgs extends LayerArgs {
  /** 'channelsLast' (inputs `[batch, steps, features]`) or 'channelsFirst'. Default 'channelsLast'. */
  dataFormat?: 'channelsLast'|'channelsFirst';
  /** Keep the pooled axis with size 1. Default false. */
  keepdims?: boolean;
}

/**
 * `[batch, steps, features]` (+ mask `[batch, steps]`) → `[batch, features]`.
 *
 * ```js
 * const pool = new KerasGlobalAveragePooling1D();
 * pool.apply(x, {mask: tf.tensor2d([[1, 1, 0]], [1, 3], 'bool')});  // mean of steps 0 and 1
 * ```
 */
export class KerasGlobalAveragePooling1D extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under. */
  static className = 'KerasGlobalAveragePooling1D';
  /** Which axis holds the steps ({@link KerasGlobalAveragePooling1DArgs.dataFormat}). */
  readonly dataFormat: 'channelsLast'|'channelsFirst';
  /**
   * Whether the pooled axis stays with size 1 ({@link KerasGlobalAveragePooling1DArgs.keepdims}).
   */
  readonly keepdims: boolean;

  constructor(args: KerasGlobalAveragePooling1DArgs = {}) {
    super(checkArgs(KerasGlobalAveragePooling1D.className, args, ARGS));
    this.dataFormat = args?.dataFormat ?? 'channelsLast';
    this.keepdims = args?.keepdims ?? false;
    this.supportsMasking = true;
    this.inputSpec = [{ndim: 3}];
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const steps = this.dataFormat === 'channelsLast' ? 1 : 2;
    return this.keepdims ? s.map((d, i) => (i === steps ? 1 : d)) : s.filter((_, i) => i !== steps);
  }

  override call(inputs: tf.Tensor|tf.Tensor[],
                kwargs: {mask?: tf.Tensor|tf.Tensor[]|null, training?: boolean} = {}): tf.Tensor {
    checkCallArgs(KerasGlobalAveragePooling1D.className, kwargs, LAYER_CALL_ARGS);
    const x = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, steps, features]
    checkTensorArg(KerasGlobalAveragePooling1D.className, x, 'inputs');
    const mask = kwargs?.mask instanceof Array ? kwargs.mask[0] : kwargs?.mask;
    checkMaskArg(KerasGlobalAveragePooling1D.className, mask);
    return tf.tidy(() => {
      const steps = this.dataFormat === 'channelsLast' ? 1 : 2;
      if (mask == null) {
        return tf.mean(x, steps, this.keepdims);
      }
      const keep = tf.expandDims(tf.cast(mask, 'bool'), steps === 1 ? 2 : 1);  // [batch, steps, 1]
      const kept = tf.where(keep, x, tf.zerosLike(x));
      const count = tf.sum(tf.cast(keep, x.dtype), steps, this.keepdims);      // [batch, 1]
      return tf.div(tf.sum(kept, steps, this.keepdims), count);
    });
  }

  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor;  // the steps are gone, and so is their mask
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), dataFormat: this.dataFormat, keepdims: this.keepdims};
  }
}
tf.serialization.registerClass(KerasGlobalAveragePooling1D);

const ARGS: ArgSpec = {dataFormat: is.oneOf(['channelsLast', 'channelsFirst']), keepdims: is.boolean};
