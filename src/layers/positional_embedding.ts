/**
 * PositionalEmbedding: adds a position vector to each time step, so that attention (which by
 * itself is blind to order) can tell positions apart.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkCallArgs, checkTensorArg, is, LAYER_CALL_ARGS, Suggestion} from '../args';
import {buildWeights} from './build';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** Arguments of {@link PositionalEmbedding}. */
export interface PositionalEmbeddingArgs extends LayerArgs {
  /** Longest sequence the layer accepts. Required. */
  maxLength: number;
  /**
   * 'learned': a trainable `[maxLength, features]` table (initialised with small random
   * values); 'sinusoidal': the fixed sines and cosines of "Attention Is All You Need".
   * Default 'learned'.
   */
  kind?: 'learned'|'sinusoidal';
}

/**
 * `[batch, time, features]` → the same plus `positions[0:time]`. Passes masks on.
 *
 * ```ts
 * const x = tf.zeros([2, 5, 8]);                                  // [batch, time, features]
 * positionalEmbedding({maxLength: 64, kind: 'sinusoidal'}).apply(x);  // x + sinusoidalTable(5, 8)
 * ```
 */
export class PositionalEmbedding extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under (and model.json records). */
  static className = 'PositionalEmbedding';
  /** Longest sequence accepted ({@link PositionalEmbeddingArgs.maxLength}). */
  readonly maxLength: number;
  /** 'learned' or 'sinusoidal' ({@link PositionalEmbeddingArgs.kind}, default 'learned'). */
  readonly kind: 'learned'|'sinusoidal';
  private table: tf.LayerVariable|null = null;
  private fixedTable: tf.Tensor2D|null = null;

  constructor(args: PositionalEmbeddingArgs) {
    super(checkArgs('PositionalEmbedding', args, ARGS,
                    {required: ['maxLength'], suggestions: SUGGESTIONS}));
    const kind = args.kind ?? 'learned';
    this.maxLength = args.maxLength;
    this.kind = kind;
    this.supportsMasking = true;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const features = shape[shape.length - 1];
    if (shape.length !== 3 || features == null) {
      throw new Error(`PositionalEmbedding needs input [batch, time, features] with known ` +
                      `features. Received: input shape [${shape}]`);
    }
    if (this.kind === 'learned') {
      buildWeights(this, () => {
        this.table = this.addWeight('positions', [this.maxLength, features], 'float32',
                                    tf.initializers.randomUniform({minval: -0.05, maxval: 0.05}));
      });
    } else {
      this.fixedTable = tf.keep(sinusoidalTable(this.maxLength, features));
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: {mask?: unknown, training?: boolean} = {}):
      tf.Tensor {
    checkCallArgs('PositionalEmbedding', kwargs, LAYER_CALL_ARGS);
    const x = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, time, features]
    checkTensorArg('PositionalEmbedding', x, 'inputs');
    return this.addPositions(x, 0);
  }

  /**
   * `x` `[batch, time, features]` plus the position vectors `start … start+time-1`: `call` is
   * `start = 0`; decoding step by step passes the position of the first new token. Throws when
   * the positions pass maxLength.
   */
  addPositions(x: tf.Tensor, start: number): tf.Tensor {
    if (!this.built) {
      throw new Error(`PositionalEmbedding.addPositions needs a built layer: call apply() ` +
                      `first. Received: layer '${this.name}' not built.`);
    }
    return tf.tidy(() => {
      const time = x.shape[1]!;
      if (!(Number.isInteger(start) && start >= 0) || start + time > this.maxLength) {
        throw new Error(`PositionalEmbedding: the sequence has ${start + time} steps, more than ` +
                        `maxLength=${this.maxLength}. Received: input shape [${x.shape}]${
                            start === 0 ? '' : ` at position ${start}`}`);
      }
      const table = this.table != null ? this.table.read() : this.fixedTable!;
      return tf.add(x, table.slice([start, 0], [time, -1]));  // [batch, time, features]
    });
  }

  override computeMask(_inputs: tf.Tensor|tf.Tensor[], mask?: tf.Tensor|tf.Tensor[]):
      tf.Tensor|tf.Tensor[] {
    return (mask ?? null) as tf.Tensor;  // tfjs reads null as "no mask"
  }

  override dispose() {
    this.fixedTable?.dispose();
    this.fixedTable = null;
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), maxLength: this.maxLength, kind: this.kind};
  }
}
tf.serialization.registerClass(PositionalEmbedding);

const ARGS: ArgSpec = {maxLength: is.positiveInt, kind: is.oneOf(['learned', 'sinusoidal'])};

/** Names from Keras, PyTorch and elsewhere that people write for PositionalEmbedding's arguments. */
const SUGGESTIONS: Record<string, Suggestion> = {
  sequenceLength: 'maxLength',
  maxLen: 'maxLength',
  maxSequenceLength: 'maxLength',
  maxPositionEmbeddings: 'maxLength',
  numPositions: 'maxLength',
  inputDim: 'maxLength',
  outputDim: {note: 'the size of each position vector is the input\'s last axis'},
  initializer: {note: 'a learned table starts from randomUniform(-0.05, 0.05)'},
};

/**
 * Factory in the style of `tf.layers.*`.
 *
 * ```ts
 * const ids = tf.input({shape: [20], dtype: 'int32'});
 * const x = tokenEmbedding({vocabSize: 50, outputDim: 32}).apply(ids) as tf.SymbolicTensor;
 * const withPositions = positionalEmbedding({maxLength: 20}).apply(x);  // [null, 20, 32]
 * ```
 */
export function positionalEmbedding(args: PositionalEmbeddingArgs): PositionalEmbedding {
  return new PositionalEmbedding(args);
}

/**
 * `[length, features]`: sin on even features, cos on odd, wavelengths 2π … 10000·2π.
 *
 * ```ts
 * sinusoidalTable(3, 4).print();  // row 0: [0, 1, 0, 1] (sin 0, cos 0, …)
 * ```
 */
export function sinusoidalTable(length: number, features: number): tf.Tensor2D {
  const values = new Float32Array(length * features);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < features; i++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(i / 2)) / features);
      values[pos * features + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [length, features]);
}
