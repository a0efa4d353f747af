/**
 * KerasGRU and its cell: Keras's GRU with `reset_after=True` (Keras's default since tf.keras
 * 2.0, the cuDNN formulation), which tfjs 4.22's GRU does not implement.
 *
 *   [x_z, x_r, x_h] = x · kernel + input_bias                 kernel [inputDim, 3·units]
 *   [h_z, h_r, h_h] = h_prev · recurrent_kernel + recurrent_bias   recurrent_kernel [units, 3·units]
 *   z = recurrent_activation(x_z + h_z),  r = recurrent_activation(x_r + h_r)
 *   h = z · h_prev + (1 - z) · activation(x_h + r · h_h)
 *
 * Weights, as Keras names and orders them: `kernel`, `recurrent_kernel`, `bias` `[2, 3·units]`
 * (row 0 the input bias, row 1 the recurrent bias). Dropout (training only) draws a new mask per
 * step, where Keras keeps one mask for the whole sequence.
 *
 * KerasGRU is the layer (as tfjs's GRU is to its GRUCell): its config is the cell's arguments
 * plus the recurrent layer's, so it serializes flat and works inside tfjs's Bidirectional (which
 * cannot copy a plain `tf.layers.rnn` of a custom cell: RNN.fromConfig replaces the cell config
 * it is given by the cell itself, and the backward copy then fails).
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, is} from '../../args';
import {Constraint, Identifier, Initializer, Regularizer, resolveConstraint, resolveInitializer,
        resolveRegularizer, serialize} from '../../initializers';
import {buildWeights} from '../../layers/build';

type Shape = Array<number|null>;
type CellArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Activation = {apply(x: tf.Tensor): tf.Tensor, getClassName(): string};

/** Arguments of {@link KerasGRUCell}. */
export interface KerasGRUCellArgs extends CellArgs {
  /** Size of the state and the output. Required. */
  units: number;
  /** Activation of the candidate state (a tfjs activation name). Default 'tanh'. */
  activation?: string;
  /** Activation of the gates. Default 'sigmoid' (Keras's; tfjs's GRU defaults to hardSigmoid). */
  recurrentActivation?: string;
  /** Whether the cell has the biases. Default true. */
  useBias?: boolean;
  /** Initializer of `kernel`. Default 'glorotUniform'. */
  kernelInitializer?: Identifier<Initializer>;
  /** Initializer of `recurrent_kernel`. Default 'orthogonal'. */
  recurrentInitializer?: Identifier<Initializer>;
  /** Initializer of `bias`. Default 'zeros'. */
  biasInitializer?: Identifier<Initializer>;
  /** Regularizer of `kernel`. Default none. */
  kernelRegularizer?: Identifier<Regularizer>|null;
  /** Regularizer of `recurrent_kernel`. Default none. */
  recurrentRegularizer?: Identifier<Regularizer>|null;
  /** Regularizer of `bias`. Default none. */
  biasRegularizer?: Identifier<Regularizer>|null;
  /** Constraint of `kernel`. Default none. */
  kernelConstraint?: Identifier<Constraint>|null;
  /** Constraint of `recurrent_kernel`. Default none. */
  recurrentConstraint?: Identifier<Constraint>|null;
  /** Constraint of `bias`. Default none. */
  biasConstraint?: Identifier<Constraint>|null;
  /** Dropout rate of the inputs, in training. Default 0. */
  dropout?: number;
  /** Dropout rate of the previous state, in training. Default 0. */
  recurrentDropout?: number;
}

function activationOf(name: string, arg: string): Activation {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
  if (entry === undefined) {
    throw new Error(`KerasGRUCell: ${arg} must name a registered activation. Received: ${arg}=${
        JSON.stringify(name)}`);
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, {}) as unknown as Activation;
}

/**
 * One step of Keras's GRU (reset_after=True): `[x [batch, inputDim], h [batch, units]]` →
 * `[h', h']`.
 *
 * ```js
 * const cell = new KerasGRUCell({units: 8});
 * tf.layers.rnn({cell, returnSequences: true}).apply(tf.randomNormal([2, 5, 4]));  // [2, 5, 8]
 * ```
 */
export class KerasGRUCell extends tf.layers.RNNCell {
  /** The name tfjs's serialization registers the class under (and model.json records). */
  static className = 'KerasGRUCell';
  /** Size of the state and the output ({@link KerasGRUCellArgs.units}). */
  readonly units: number;
  readonly stateSize: number;
  /** Whether the cell has the biases ({@link KerasGRUCellArgs.useBias}, default true). */
  readonly useBias: boolean;
  /** Dropout rate of the inputs in training ({@link KerasGRUCellArgs.dropout}, default 0). */
  readonly dropout: number;
  /**
   * Dropout rate of the previous state in training ({@link KerasGRUCellArgs.recurrentDropout},
   * default 0).
   */
  readonly recurrentDropout: number;
  private readonly activation: Activation;
  private readonly recurrentActivation: Activation;
  private readonly kernelInitializer: Initializer;
  private readonly recurrentInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernelRegularizer: Regularizer|null;
  private readonly recurrentRegularizer: Regularizer|null;
  private readonly biasRegularizer: Regularizer|null;
  private readonly kernelConstraint: Constraint|null;
  private readonly recurrentConstraint: Constraint|null;
  private readonly biasConstraint: Constraint|null;
  private kernel: tf.LayerVariable|null = null;
  private recurrentKernel: tf.LayerVariable|null = null;
  private bias: tf.LayerVariable|null = null;

  constructor(args: KerasGRUCellArgs) {
    super(checkArgs(KerasGRUCell.className, args, CELL_ARGS, {required: ['units']}));
    this.units = args.units;
    this.stateSize = args.units;
    this.useBias = args.useBias ?? true;
    this.activation = activationOf(args.activation ?? 'tanh', 'activation');
    this.recurrentActivation = activationOf(args.recurrentActivation ?? 'sigmoid',
                                            'recurrentActivation');
    this.dropout = args.dropout ?? 0;
    this.recurrentDropout = args.recurrentDropout ?? 0;
    this.kernelInitializer =
        resolveInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer')!;
    this.recurrentInitializer =
        resolveInitializer(args.recurrentInitializer ?? 'orthogonal', 'recurrentInitializer')!;
    this.biasInitializer = resolveInitializer(args.biasInitializer ?? 'zeros', 'biasInitializer')!;
    this.kernelRegularizer = resolveRegularizer(args.kernelRegularizer ?? undefined, 'kernelRegularizer');
    this.recurrentRegularizer =
        resolveRegularizer(args.recurrentRegularizer ?? undefined, 'recurrentRegularizer');
    this.biasRegularizer = resolveRegularizer(args.biasRegularizer ?? undefined, 'biasRegularizer');
    this.kernelConstraint = resolveConstraint(args.kernelConstraint ?? undefined, 'kernelConstraint');
    this.recurrentConstraint =
        resolveConstraint(args.recurrentConstraint ?? undefined, 'recurrentConstraint');
    this.biasConstraint = resolveConstraint(args.biasConstraint ?? undefined, 'biasConstraint');
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const inputDim = shape[shape.length - 1];
    if (inputDim == null) {
      throw new Error(`KerasGRUCell '${this.name}' needs a known feature size. Received: input ` +
                      `shape [${shape}]`);
    }
    const u = this.units;
    buildWeights(this, () => {
      this.kernel = this.addWeight('kernel', [inputDim, 3 * u], 'float32', this.kernelInitializer,
                                   this.kernelRegularizer ?? undefined, true,
                                   this.kernelConstraint ?? undefined);
      this.recurrentKernel = this.addWeight('recurrent_kernel', [u, 3 * u], 'float32',
                                            this.recurrentInitializer,
                                            this.recurrentRegularizer ?? undefined, true,
                                            this.recurrentConstraint ?? undefined);
      if (this.useBias) {
        this.bias = this.addWeight('bias', [2, 3 * u], 'float32', this.biasInitializer,
                                   this.biasRegularizer ?? undefined, true,
                                   this.biasConstraint ?? undefined);
      }
    });
    this.built = true;
  }

  override call(inputs: tf.Tensor[], kwargs: {training?: boolean}): tf.Tensor[] {
    return tf.tidy(() => {
      let x = inputs[0]!;                   // [batch, inputDim]
      let hPrev = inputs[1]!;               // [batch, units]
      const training = kwargs?.['training'] === true;
      if (training && this.dropout > 0) {
        x = tf.dropout(x, this.dropout);
      }
      const state = hPrev;
      if (training && this.recurrentDropout > 0) {
        hPrev = tf.dropout(hPrev, this.recurrentDropout);
      }
      let mx = tf.matMul(x, this.kernel!.read());                 // [batch, 3·units]
      let mh = tf.matMul(hPrev, this.recurrentKernel!.read());    // [batch, 3·units]
      if (this.bias !== null) {
        const [inputBias, recurrentBias] = tf.unstack(this.bias.read());
        mx = tf.add(mx, inputBias!);
        mh = tf.add(mh, recurrentBias!);
      }
      const [xz, xr, xh] = tf.split(mx, 3, -1);
      const [hz, hr, hh] = tf.split(mh, 3, -1);
      const z = this.recurrentActivation.apply(tf.add(xz!, hz!));
      const r = this.recurrentActivation.apply(tf.add(xr!, hr!));
      const candidate = this.activation.apply(tf.add(xh!, tf.mul(r, hh!)));
      const h = tf.add(tf.mul(z, state), tf.mul(tf.sub(1, z), candidate));  // [batch, units]
      return [h, h];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation.getClassName(),
      recurrentActivation: this.recurrentActivation.getClassName(),
      useBias: this.useBias,
      kernelInitializer: serialize(this.kernelInitializer),
      recurrentInitializer: serialize(this.recurrentInitializer),
      biasInitializer: serialize(this.biasInitializer),
      kernelRegularizer: serialize(this.kernelRegularizer),
      recurrentRegularizer: serialize(this.recurrentRegularizer),
      biasRegularizer: serialize(this.biasRegularizer),
      kernelConstraint: serialize(this.kernelConstraint),
      recurrentConstraint: serialize(this.recurrentConstraint),
      biasConstraint: serialize(this.biasConstraint),
      dropout: this.dropout,
      recurrentDropout: this.recurrentDropout,
    };
  }
}
tf.serialization.registerClass(KerasGRUCell);

const CELL_ARGS: ArgSpec = {
  units: is.positiveInt, activation: is.anything, recurrentActivation: is.anything,
  useBias: is.boolean, kernelInitializer: is.anything, recurrentInitializer: is.anything,
  biasInitializer: is.anything, kernelRegularizer: is.anything, recurrentRegularizer: is.anything,
  biasRegularizer: is.anything, kernelConstraint: is.anything, recurrentConstraint: is.anything,
  biasConstraint: is.anything, dropout: is.rate, recurrentDropout: is.rate,
};

type RNNArgs = ConstructorParameters<typeof tf.layers.RNN>[0];

/** Arguments of {@link KerasGRU}: the cell's, and the recurrent layer's. */
export interface KerasGRUArgs extends KerasGRUCellArgs {
  /** Return the whole output sequence `[batch, steps, units]`. Default false (the last step). */
  returnSequences?: boolean;
  /** Also return the last state. Default false. */
  returnState?: boolean;
  /** Run the sequence backwards. Default false. */
  goBackwards?: boolean;
}

/**
 * Keras's GRU (reset_after=True): `[batch, steps, features]` → `[batch, units]`, or
 * `[batch, steps, units]` with `returnSequences`. Masks as tfjs's recurrent layers take them.
 *
 * ```js
 * const gru = new KerasGRU({units: 8, returnSequences: true});
 * gru.apply(tf.randomNormal([2, 5, 4]));  // [2, 5, 8]
 * ```
 */
export class KerasGRU extends tf.layers.RNN {
  static override className = 'KerasGRU';

  constructor(args: KerasGRUArgs) {
    checkArgs(KerasGRU.className, args, GRU_ARGS, {required: ['units']});
    const {returnSequences, returnState, goBackwards, name, trainable, stateful: _s, unroll: _u,
           customObjects: _c, ...cellArgs} = args as KerasGRUArgs & Record<string, unknown>;
    void _s;
    void _u;
    void _c;
    super({name, trainable, returnSequences, returnState, goBackwards,
           cell: new KerasGRUCell(cellArgs as KerasGRUCellArgs)} as RNNArgs);
  }

  /** Its config is flat (the cell's arguments beside the layer's): RNN's reads a `cell` entry. */
  static override fromConfig<T extends tf.serialization.Serializable>(
      cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls(config);
  }
}
tf.serialization.registerClass(KerasGRU);

/** KerasGRU's arguments; `stateful` (false) and `unroll` come back from tfjs's RNN.getConfig. */
const GRU_ARGS: ArgSpec = {
  ...CELL_ARGS, returnSequences: is.boolean, returnState: is.boolean, goBackwards: is.boolean,
  stateful: is.oneOf([false]), unroll: is.boolean,
};
