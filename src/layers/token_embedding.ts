/**
 * TokenEmbedding: step 1 of the seed, token ids → vectors, computed as oneHot(ids) · table.
 *
 * Same result as `tf.layers.embedding`, but its gradient is a matMul, so it trains on every
 * backend: in tfjs 4.22 the gather gradient behind `tf.layers.embedding` has no wasm kernel
 * (UnsortedSegmentSum), and on cpu it is slow. Meant for vocabularies of up to a few thousand.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkTensorArg, is, LAYER_CALL_ARGS, Suggestion} from '../args';
import {Identifier, Initializer, resolveInitializer, serialize} from '../initializers';
import {buildWeights, initializing} from './build';

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
    super({dtype: 'int32', ...checkArgs('TokenEmbedding', args, ARGS, {
      required: ['vocabSize', 'outputDim'], suggestions: SUGGESTIONS, dtypes: ['int32', 'float32'],
    })});
    this.vocabSize = args.vocabSize;
    this.outputDim = args.outputDim;
    this.maskZero = args.maskZero ?? false;
    this.embeddingsInitializer = resolveInitializer(
        args.embeddingsInitializer ?? tf.initializers.randomUniform({minval: -0.05, maxval: 0.05}),
        'embeddingsInitializer', 'TokenEmbedding')!;
    this.supportsMasking = this.maskZero;
  }

  override build(): void {
    const shape = [this.vocabSize, this.outputDim];
    buildWeights(this, () => {
      this.table = initializing(
          'TokenEmbedding', 'embeddingsInitializer', 'embeddings', shape,
          this.embeddingsInitializer,
          () => this.addWeight('embeddings', shape, 'float32', this.embeddingsInitializer));
    });
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: {mask?: unknown, training?: boolean} = {}):
      tf.Tensor {
    checkCallArgs('TokenEmbedding', kwargs, LAYER_CALL_ARGS);
    const ids = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, time]
    checkTensorArg('TokenEmbedding', ids, 'ids');
    return tf.tidy(() => {
      if (ids.rank !== 2) {
        throw new Error(`TokenEmbedding expects ids [batch, time]. Received: ids with shape [${
            ids.shape}]`);
      }
      const [batch, time] = ids.shape as [number, number];
      // tf.oneHot needs a depth of at least 2: a vocabulary of 1 takes the first column of 2.
      const depth = Math.max(2, this.vocabSize);
      let oneHot = tf.oneHot(tf.cast(ids, 'int32').reshape([batch * time]), depth);
      if (depth !== this.vocabSize) {
        oneHot = oneHot.slice([0, 0], [-1, this.vocabSize]);  // [batch*time, vocabSize]
      }
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

const ARGS: ArgSpec = {
  vocabSize: is.positiveInt,
  outputDim: is.positiveInt,
  maskZero: is.boolean,
  embeddingsInitializer: is.anything,
};

/** Names from Keras, PyTorch and elsewhere that people write for TokenEmbedding's arguments. */
const SUGGESTIONS: Record<string, Suggestion> = {
  inputDim: 'vocabSize',
  vocabularySize: 'vocabSize',
  numEmbeddings: 'vocabSize',
  embeddingDim: 'outputDim',
  embedDim: 'outputDim',
  dim: 'outputDim',
  paddingIdx: {note: 'id 0 is the padding id with maskZero: true'},
  inputLength: {note: 'the sequence length comes from the input'},
  embeddingsRegularizer: {note: 'not supported by TokenEmbedding'},
  embeddingsConstraint: {note: 'not supported by TokenEmbedding'},
};

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
