/**
 * Pre-layer-norm Transformer blocks for the headline model: an encoder block (self-attention +
 * feed-forward) and a decoder block (causal self-attention + cross-attention + feed-forward),
 * each sub-block `x + f(LN(x))`.
 *
 * A local stand-in for the package's shared block builders: the two exported functions have the
 * shape `encoderBlock(x, mask, args)` / `decoderBlock(x, context, contextMask, args)`, so the
 * model can switch to the shared ones by changing one import (and retraining, since layer class
 * names change).
 */
import * as tf from '@tensorflow/tfjs';

import {selfAttention} from '../../src';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/**
 * Layer normalization over the last axis, `(x - mean) / sqrt(var + 1e-6) · gamma + beta`.
 *
 * The same function as `tf.layers.layerNormalization`, whose tfjs 4.22 implementation tiles
 * gamma, beta, mean and variance to the input's shape: the gradient of `tile` then runs one
 * slice and add per repetition (thousands of kernels per step here). Plain broadcasting keeps
 * the gradient one sum.
 */
export class HeadlineLayerNorm extends tf.layers.Layer {
  static className = 'HeadlineLayerNorm';
  private gamma: tf.LayerVariable|null = null;
  private beta: tf.LayerVariable|null = null;

  constructor(args: LayerArgs = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const features = shape[shape.length - 1];
    if (features == null) {
      throw new Error(`HeadlineLayerNorm needs a known last dimension. Received: input shape [${
          shape}]`);
    }
    this.gamma = this.addWeight('gamma', [features], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [features], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, time, features]
      const centered = tf.sub(x, tf.mean(x, -1, true));
      const variance = tf.mean(tf.square(centered), -1, true);  // [batch, time, 1]
      const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, 1e-6)));
      return tf.add(tf.mul(normalized, this.gamma!.read()), this.beta!.read());
    });
  }

  override computeMask(_inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    return (mask ?? null) as tf.Tensor;  // tfjs reads null as "no mask"
  }
}
tf.serialization.registerClass(HeadlineLayerNorm);

/** Arguments of {@link encoderBlock} and {@link decoderBlock}. */
export interface TransformerBlockArgs {
  /** Number of attention heads. Default 4. */
  numHeads?: number;
  /** Hidden size of the feed-forward sub-block. Default 4 · modelDim. */
  ffDim?: number;
  /** Prefix of the block's layer names (unique in the model). Required here. */
  name: string;
}

function modelDim(x: tf.SymbolicTensor): number {
  const d = x.shape[2];
  if (x.shape.length !== 3 || d == null) {
    throw new Error(`A Transformer block needs x [batch, time, modelDim] with a known ` +
                    `modelDim. Received: x with shape [${x.shape}]`);
  }
  return d;
}

const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor|tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor;

function norm(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(new HeadlineLayerNorm({name: `${name}_norm`}), x);
}

function add(x: tf.SymbolicTensor, y: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.add({name: `${name}_add`}), [x, y]);
}

function attention(x: tf.SymbolicTensor, context: tf.SymbolicTensor|null,
                   mask: tf.SymbolicTensor|null, causal: boolean, name: string,
                   args: TransformerBlockArgs): tf.SymbolicTensor {
  const d = modelDim(x);
  const layer = selfAttention({
    numHeads: args.numHeads ?? 4, useOutputProjection: true, outputDim: d, useBias: true,
    causal, kernelInitializer: 'glorotUniform', name,
  });
  const h = norm(x, name);
  const inputs = context == null ? (mask == null ? h : [h, h, mask]) :
                                   (mask == null ? [h, context] : [h, context, mask]);
  return add(x, apply(layer, inputs), name);
}

function feedForward(x: tf.SymbolicTensor, args: TransformerBlockArgs): tf.SymbolicTensor {
  const d = modelDim(x);
  const name = `${args.name}_ff`;
  const hidden = apply(tf.layers.dense({units: args.ffDim ?? 4 * d, activation: 'relu',
                                        name: `${name}_hidden`}),
                       norm(x, name));
  return add(x, apply(tf.layers.dense({units: d, name: `${name}_out`}), hidden), name);
}

/**
 * Encoder block. `x` `[batch, time, modelDim]`; `mask` `[batch, time]` (1 = token, 0 = padding)
 * or null, passed to attention as its explicit key mask. Returns `[batch, time, modelDim]`.
 */
export function encoderBlock(x: tf.SymbolicTensor, mask: tf.SymbolicTensor|null,
                             args: TransformerBlockArgs): tf.SymbolicTensor {
  return feedForward(attention(x, null, mask, false, `${args.name}_attention`, args), args);
}

/**
 * Decoder block. `x` `[batch, timeQ, modelDim]` (the output so far, shifted right), `context`
 * `[batch, timeK, contextDim]` (the encoder's output), `contextMask` `[batch, timeK]` or null.
 * Returns `[batch, timeQ, modelDim]`.
 */
export function decoderBlock(x: tf.SymbolicTensor, context: tf.SymbolicTensor,
                             contextMask: tf.SymbolicTensor|null,
                             args: TransformerBlockArgs): tf.SymbolicTensor {
  const self = attention(x, null, null, true, `${args.name}_self_attention`, args);
  const cross = attention(self, context, contextMask, false, `${args.name}_cross_attention`,
                          args);
  return feedForward(cross, args);
}
