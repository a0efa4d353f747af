/**
 * FeedForward: the position-wise block of a Transformer, `act(x·W1 + b1)·W2 + b2`, applied to
 * every time step alike.
 *
 * Same function as two `tf.layers.dense` layers, but both products run as one 2-D matMul over
 * all time steps through `matMul2d`, whose gradient avoids the slow transposed products of the
 * wasm backend (see src/ops/matmul.ts).
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkTensorArg, is, LAYER_CALL_ARGS, Suggestion} from '../args';
import {Identifier, Initializer, resolveInitializer, serialize} from '../initializers';
import {matMul2d} from '../ops/matmul';
import {buildWeights, initializing} from './build';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link FeedForward}. */
export interface FeedForwardArgs extends LayerArgs {
  /** Size of the hidden layer. Required. */
  hiddenDim: number;
  /** Size of the output. Default: the input's feature size. */
  outputDim?: number;
  /** Activation of the hidden layer: 'relu' or 'gelu' (tanh approximation). Default 'relu'. */
  activation?: 'relu'|'gelu';
  /** Initializer of both kernels. Default 'glorotUniform'. */
  kernelInitializer?: Identifier<Initializer>;
}

/**
 * `[batch, time, features]` → `[batch, time, outputDim]`. Passes masks on.
 *
 * ```ts
 * const x = tf.randomNormal([2, 5, 16]);
 * feedForward({hiddenDim: 64, activation: 'gelu'}).apply(x);  // [2, 5, 16]
 * ```
 */
export class FeedForward extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under (and model.json records). */
  static className = 'FeedForward';
  /** Size of the hidden layer ({@link FeedForwardArgs.hiddenDim}). */
  readonly hiddenDim: number;
  /** Activation of the hidden layer ({@link FeedForwardArgs.activation}, default 'relu'). */
  readonly activation: 'relu'|'gelu';
  private readonly outputDimArg: number|null;
  private readonly kernelInitializer: Initializer;
  private w1: tf.LayerVariable|null = null;
  private b1: tf.LayerVariable|null = null;
  private w2: tf.LayerVariable|null = null;
  private b2: tf.LayerVariable|null = null;

  constructor(args: FeedForwardArgs) {
    super(checkArgs('FeedForward', args, ARGS, {required: ['hiddenDim'], suggestions: SUGGESTIONS}));
    const activation = args.activation ?? 'relu';
    this.hiddenDim = args.hiddenDim;
    this.outputDimArg = args.outputDim ?? null;
    this.activation = activation;
    this.kernelInitializer =
        resolveInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer',
                           'FeedForward')!;
    this.supportsMasking = true;
  }

  private static features(inputShape: Shape|Shape[]): number {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const features = shape[shape.length - 1];
    if (shape.length !== 3 || features == null) {
      throw new Error(`FeedForward needs input [batch, time, features] with known features. ` +
                      `Received: input shape [${shape}]`);
    }
    return features;
  }

  override build(inputShape: Shape|Shape[]): void {
    const features = FeedForward.features(inputShape);
    const out = this.outputDimArg ?? features;
    const zeros = tf.initializers.zeros();
    const kernel = (name: string, shape: number[]) => initializing(
        'FeedForward', 'kernelInitializer', name, shape, this.kernelInitializer,
        () => this.addWeight(name, shape, 'float32', this.kernelInitializer));
    buildWeights(this, () => {
      this.w1 = kernel('inner_kernel', [features, this.hiddenDim]);
      this.b1 = this.addWeight('inner_bias', [this.hiddenDim], 'float32', zeros);
      this.w2 = kernel('outer_kernel', [this.hiddenDim, out]);
      this.b2 = this.addWeight('outer_bias', [out], 'float32', zeros);
    });
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: {mask?: unknown, training?: boolean} = {}):
      tf.Tensor {
    checkCallArgs('FeedForward', kwargs, LAYER_CALL_ARGS);
    const x = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, time, features]
    checkTensorArg('FeedForward', x, 'inputs');
    return tf.tidy(() => {
      const [batch, time, features] = x.shape as [number, number, number];
      const w1 = this.w1!.read();
      if (features !== w1.shape[0]) {
        throw new Error(`FeedForward was built for ${w1.shape[0]} features. Received: input ` +
                        `with shape [${x.shape}]`);
      }
      const flat = x.reshape([batch * time, features]);
      const pre = tf.add(matMul2d(flat, w1), this.b1!.read());  // [batch*time, hiddenDim]
      const hidden = this.activation === 'relu' ? tf.relu(pre) : gelu(pre);
      const out = tf.add(matMul2d(hidden, this.w2!.read()), this.b2!.read());
      return out.reshape([batch, time, -1]);  // [batch, time, outputDim]
    });
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0] ?? null, shape[1] ?? null, this.outputDimArg ?? FeedForward.features(shape)];
  }

  override computeMask(_inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    return (mask ?? null) as tf.Tensor;  // tfjs reads null as "no mask"
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), hiddenDim: this.hiddenDim, outputDim: this.outputDimArg,
            activation: this.activation, kernelInitializer: serialize(this.kernelInitializer)};
  }
}
tf.serialization.registerClass(FeedForward);

/**
 * Factory in the style of `tf.layers.*`.
 *
 * ```ts
 * const x = tf.input({shape: [10, 32]});
 * const y = feedForward({hiddenDim: 128, outputDim: 8}).apply(x);  // [null, 10, 8]
 * ```
 */
export function feedForward(args: FeedForwardArgs): FeedForward {
  return new FeedForward(args);
}

const ARGS: ArgSpec = {
  hiddenDim: is.positiveInt,
  outputDim: is.positiveInt,
  activation: is.oneOf(['relu', 'gelu']),
  kernelInitializer: is.anything,
};

/** Names from Keras, PyTorch and elsewhere that people write for FeedForward's arguments. */
const SUGGESTIONS: Record<string, Suggestion> = {
  units: 'hiddenDim',
  intermediateDim: 'hiddenDim',
  intermediateSize: 'hiddenDim',
  dff: 'hiddenDim',
  ffDim: 'hiddenDim',
  hiddenSize: 'hiddenDim',
  filterSize: 'hiddenDim',
  dimFeedforward: 'hiddenDim',
  useBias: {note: 'FeedForward always has biases'},
  biasInitializer: {note: 'FeedForward\'s biases start at zero'},
};

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}
