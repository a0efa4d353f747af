/**
 * TokenEmbedding: step 1 of the seed, token ids → vectors, computed as oneHot(ids) · table.
 *
 * Same result as `tf.layers.embedding`, but its gradient is a matMul, so it trains on every
 * backend: in tfjs 4.22 the gather gradient behind `tf.layers.embedding` has no wasm kernel
 * (UnsortedSegmentSum), and on cpu it is slow. Meant for vocabularies of up to a few thousand.
 */
import * as tf from '@tensorflow/tfjs';

import {Identifier, Initializer, resolveInitializer, serialize} from '../initializers';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link TokenEmbedding}. */
export interface TokenEmbeddingArgs extends LayerArgs {
  /** Number of token ids (ids are 0 … vocabSize-1). Required. */
  vocabSize: number;
  /** Size of each token's vector. Required. */
  outputDim: number;
  /** Id 0 is padding: it produces a mask (false) that attention layers use. Default false. */
  maskZero?: boolean;
  /** Initializer of the table. Default randomUniform(-0.05, 0.05), as tf.layers.embedding. */
  embeddingsInitializer?: Identifier<Initializer>;
}

/**
 * `[batch, time]` ids → `[batch, time, outputDim]`.
 *
 * ```ts
 * const ids = tf.tensor2d([[3, 1, 0]], undefined, 'int32');      // [batch 1, time 3], 0 = padding
 * const table = tokenEmbedding({vocabSize: 10, outputDim: 4, maskZero: true});
 * table.apply(ids);                                               // [1, 3, 4]
 * ```
 */
export class TokenEmbedding extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under (and model.json records). */
  static className = 'TokenEmbedding';
  /** Number of token ids ({@link TokenEmbeddingArgs.vocabSize}). */
  readonly vocabSize: number;
  /** Size of each token's vector ({@link TokenEmbeddingArgs.outputDim}). */
  readonly outputDim: number;
  /** Whether id 0 is padding and masked ({@link TokenEmbeddingArgs.maskZero}, default false). */
  readonly maskZero: boolean;
  private readonly embeddingsInitializer: Initializer;
  private table: tf.LayerVariable|null = null;

  constructor(args: TokenEmbeddingArgs) {
    super({dtype: 'int32', ...args});
    for (const name of ['vocabSize', 'outputDim'] as const) {
      const value = args?.[name];
      if (!(typeof value === 'number' && Number.isInteger(value) && value > 0)) {
        throw new Error(`TokenEmbedding: ${name} must be a positive integer. Received: ${name}=${
            JSON.stringify(value)}`);
      }
    }
    this.vocabSize = args.vocabSize;
    this.outputDim = args.outputDim;
    this.maskZero = args.maskZero ?? false;
    this.embeddingsInitializer = resolveInitializer(
        args.embeddingsInitializer ?? tf.initializers.randomUniform({minval: -0.05, maxval: 0.05}),
        'embeddingsInitializer')!;
    this.supportsMasking = this.maskZero;
  }

  override build(): void {
    this.table = this.addWeight('embeddings', [this.vocabSize, this.outputDim], 'float32',
                                this.embeddingsInitializer);
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, time]
      if (ids.rank !== 2) {
        throw new Error(`TokenEmbedding expects ids [batch, time]. Received: ids with shape [${
            ids.shape}]`);
      }
      const [batch, time] = ids.shape as [number, number];
      const oneHot = tf.oneHot(tf.cast(ids, 'int32').reshape([batch * time]), this.vocabSize);
      const vectors = tf.matMul(tf.cast(oneHot, 'float32'), this.table!.read());
      return vectors.reshape([batch, time, this.outputDim]);  // [batch, time, outputDim]
    });
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [...shape, this.outputDim];
  }

  override computeMask(inputs: tf.Tensor|tf.Tensor[]): tf.Tensor|tf.Tensor[] {
    if (!this.maskZero) {
      return null as unknown as tf.Tensor;  // tfjs reads null as "no mask"
    }
    const ids = inputs instanceof Array ? inputs[0]! : inputs;
    return tf.tidy(() => tf.notEqual(ids, 0));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), vocabSize: this.vocabSize, outputDim: this.outputDim,
            maskZero: this.maskZero, embeddingsInitializer: serialize(this.embeddingsInitializer)};
  }
}
tf.serialization.registerClass(TokenEmbedding);

/**
 * Factory in the style of `tf.layers.*`.
 *
 * ```ts
 * const model = tf.sequential({layers: [
 *   tokenEmbedding({vocabSize: 100, outputDim: 16, maskZero: true, inputShape: [12]}),
 *   selfAttention({numHeads: 4}),  // padded keys (id 0) are masked
 * ]});
 * ```
 */
export function tokenEmbedding(args: TokenEmbeddingArgs): TokenEmbedding {
  return new TokenEmbedding(args);
}
