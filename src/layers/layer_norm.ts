/**
 * LayerNorm: layer normalization over the last axis, `(x - mean) / sqrt(var + epsilon) * gamma
 * + beta`, the same function as `tf.layers.layerNormalization({axis: -1})`.
 *
 * Why a second one: tfjs 4.22's LayerNormalization tiles gamma, beta, the mean and the
 * variance to the input's full shape, and the gradient of `tile` slices and adds one
 * repetition at a time. For a `[128, 20, 64]` input that is about 2,560 slice + add kernels per
 * tiled tensor: one training step of a small Transformer ran ~76,000 kernels and spent most of
 * its time there. Here the broadcasts are plain broadcasting ops whose gradients are one sum.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkTensorArg, is, LAYER_CALL_ARGS, Suggestion} from '../args';

import {buildWeights} from './build';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link LayerNorm}. */
export interface LayerNormArgs extends LayerArgs {
  /** Added to the variance before the square root. Default 1e-6. */
  epsilon?: number;
}

/**
 * `[..., features]` → the same shape, each feature vector normalized. Passes masks on.
 *
 * ```ts
 * const x = tf.tensor3d([[[1, 2, 3, 4]]]);
 * layerNorm().apply(x);  // [[[-1.34, -0.45, 0.45, 1.34]]] before the learned gain and bias
 * ```
 */
export class LayerNorm extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under (and model.json records). */
  static className = 'LayerNorm';
  /** Added to the variance ({@link LayerNormArgs.epsilon}, default 1e-6). */
  readonly epsilon: number;
  private gamma: tf.LayerVariable|null = null;
  private beta: tf.LayerVariable|null = null;

  constructor(args: LayerNormArgs = {}) {
    super(checkArgs('LayerNorm', args, ARGS, {suggestions: SUGGESTIONS}));
    this.epsilon = args?.epsilon ?? 1e-6;
    this.supportsMasking = true;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const features = shape[shape.length - 1];
    if (features == null) {
      throw new Error(`LayerNorm needs a known last dimension. Received: input shape [${shape}]`);
    }
    buildWeights(this, () => {
      this.gamma = this.addWeight('gamma', [features], 'float32', tf.initializers.ones());
      this.beta = this.addWeight('beta', [features], 'float32', tf.initializers.zeros());
    });
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: {mask?: unknown, training?: boolean} = {}):
      tf.Tensor {
    checkCallArgs('LayerNorm', kwargs, LAYER_CALL_ARGS);
    const x = inputs instanceof Array ? inputs[0]! : inputs;  // [..., features]
    checkTensorArg('LayerNorm', x, 'inputs');
    return tf.tidy(() => {
      const mean = tf.mean(x, -1, true);                         // [..., 1]
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), -1, true);   // [..., 1]
      const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normalized, this.gamma!.read()), this.beta!.read());
    });
  }

  override computeMask(_inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    return (mask ?? null) as tf.Tensor;  // tfjs reads null as "no mask"
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), epsilon: this.epsilon};
  }
}
tf.serialization.registerClass(LayerNorm);

const ARGS: ArgSpec = {epsilon: is.positiveNumber};

/** Names from Keras, PyTorch and elsewhere that people write for LayerNorm's arguments. */
const SUGGESTIONS: Record<string, Suggestion> = {
  eps: 'epsilon',
  layerNormEps: 'epsilon',
  layerNormEpsilon: 'epsilon',
  axis: {note: 'LayerNorm normalizes over the last axis only'},
  normalizedShape: {note: 'LayerNorm normalizes over the last axis, whatever its size'},
  center: {note: 'LayerNorm always learns beta'},
  scale: {note: 'LayerNorm always learns gamma'},
  elementwiseAffine: {note: 'LayerNorm always learns gamma and beta'},
  rmsScaling: {note: 'not supported: LayerNorm subtracts the mean'},
};

/**
 * Factory in the style of `tf.layers.*`.
 *
 * ```ts
 * const x = tf.input({shape: [10, 64]});
 * const normed = layerNorm({epsilon: 1e-5}).apply(x);  // [null, 10, 64]
 * ```
 */
export function layerNorm(args?: LayerNormArgs): LayerNorm {
  return new LayerNorm(args);
}
