/**
 * Initializers, regularizers and constraints: the identity initializer the seed asks for
 * (rectangular too), and one way to turn a user's argument (a name, a serialized config or an
 * instance) into the object, with an error that names the argument when it cannot.
 */
import * as tf from '@tensorflow/tfjs';

import {describeValue} from './args';

// tfjs exports these base classes as types only, through its factories' return types.
export type Initializer = ReturnType<typeof tf.initializers.zeros>;
export type Regularizer = ReturnType<typeof tf.regularizers.l2>;
export type Constraint = ReturnType<typeof tf.constraints.nonNeg>;

/** What a user may pass for an initializer, regularizer or constraint argument. */
export type Identifier<T> = string | T | tf.serialization.ConfigDict;

/** Arguments of {@link Identity}. */
export interface IdentityArgs {
  /** Value on the main diagonal. Default 1. */
  gain?: number;
}

/**
 * Ones on the main diagonal, zeros elsewhere, for any 2-D shape `[rows, cols]` (tfjs's own
 * identity initializer accepts square shapes only). With it a projection starts as "copy the
 * first min(rows, cols) features", as the seed's W_q, W_k, W_v do.
 *
 * ```ts
 * new Identity({gain: 2}).apply([2, 3]).print();  // [[2, 0, 0], [0, 2, 0]]
 * ```
 */
export class Identity extends tf.serialization.Serializable {
  /** The name tfjs's serialization registers the class under. */
  static className = 'SelfAttentionIdentity';
  /** Value on the main diagonal (from {@link IdentityArgs.gain}, default 1). */
  readonly gain: number;

  constructor(args: IdentityArgs = {}) {
    super();
    this.gain = args.gain ?? 1;
  }

  /** Part of tfjs's serialization contract: the config holds no nested custom objects. */
  fromConfigUsesCustomObjects(): boolean {
    return false;
  }

  /**
   * The initial value `[rows, cols]`: `gain` on the main diagonal, 0 elsewhere. Throws unless
   * `shape` is 2-D.
   */
  apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length !== 2) {
      throw new Error(`Identity initializer needs a 2-D shape. Received: shape=[${shape}]`);
    }
    const [rows, cols] = shape as [number, number];
    return tf.tidy(() => tf.eye(rows, cols, undefined, dtype as 'float32').mul(this.gain));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {gain: this.gain};
  }
}
tf.serialization.registerClass(Identity);

/**
 * Factory in the style of `tf.initializers.*`.
 *
 * ```ts
 * const attention = selfAttention({numHeads: 2, kernelInitializer: identity({gain: 0.5})});
 * // W_q, W_k, W_v start as 0.5 on the main diagonal (whatever their shape)
 * ```
 */
export function identity(args?: IdentityArgs): Initializer {
  return new Identity(args) as unknown as Initializer;
}

const initializerFactories: Record<string, () => Initializer> = {
  identity: () => identity(),
  zeros: () => tf.initializers.zeros(),
  ones: () => tf.initializers.ones(),
  glorotuniform: () => tf.initializers.glorotUniform({}),
  glorotnormal: () => tf.initializers.glorotNormal({}),
  heuniform: () => tf.initializers.heUniform({}),
  henormal: () => tf.initializers.heNormal({}),
  lecununiform: () => tf.initializers.leCunUniform({}),
  lecunnormal: () => tf.initializers.leCunNormal({}),
  randomuniform: () => tf.initializers.randomUniform({}),
  randomnormal: () => tf.initializers.randomNormal({}),
  truncatednormal: () => tf.initializers.truncatedNormal({}),
  orthogonal: () => tf.initializers.orthogonal({}),
  variancescaling: () => tf.initializers.varianceScaling({}),
};

const regularizerFactories: Record<string, () => Regularizer> = {
  l1: () => tf.regularizers.l1(),
  l2: () => tf.regularizers.l2(),
  l1l2: () => tf.regularizers.l1l2(),
};

const constraintFactories: Record<string, () => Constraint> = {
  maxnorm: () => tf.constraints.maxNorm({maxValue: 2}),
  minmaxnorm: () => tf.constraints.minMaxNorm({}),
  nonneg: () => tf.constraints.nonNeg(),
  unitnorm: () => tf.constraints.unitNorm({}),
};

/** 'glorot_uniform', 'glorotUniform' and 'GlorotUniform' all name the same thing. */
function normalizeName(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

/** An initializer, regularizer or constraint object: something with `apply` and a class name. */
function isInstance(value: unknown): boolean {
  const v = value as {apply?: unknown, getClassName?: unknown};
  return typeof v.apply === 'function' && typeof v.getClassName === 'function';
}

function resolve<T extends object>(
    value: Identifier<T>|null|undefined, argName: string, kind: string,
    factories: Record<string, () => T>, layerName: string): T|null {
  const context = layerName === '' ? '' : `${layerName}: `;
  if (value == null) {
    return null;
  }
  if (isInstance(value)) {
    return value as T;
  }
  if (typeof value === 'string') {
    const factory = factories[normalizeName(value)];
    if (factory == null) {
      throw new Error(
          `${context}Unknown ${kind} name for ${argName}. Received: ${argName}='${value}'. ` +
          `Known names: ${Object.keys(factories).join(', ')}.`);
    }
    return factory();
  }
  // A serialized object, as getConfig writes it: {className, config}.
  const dict = value as tf.serialization.ConfigDict;
  const className = dict['className'];
  const entry = typeof className === 'string' ?
      tf.serialization.SerializationMap.getMap().classNameMap[className] :
      undefined;
  if (entry == null) {
    throw new Error(
        `${context}Unknown ${kind} for ${argName}. Received: ${argName}=${describeValue(value)}. ` +
        `Pass a name, an instance, or {className, config} of a registered class.`);
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, (dict['config'] ?? {}) as tf.serialization.ConfigDict) as unknown as T;
}

export function resolveInitializer(
    value: Identifier<Initializer>|undefined, argName: string, layerName = ''): Initializer|null {
  return resolve(value, argName, 'initializer', initializerFactories, layerName);
}

export function resolveRegularizer(
    value: Identifier<Regularizer>|undefined, argName: string, layerName = ''): Regularizer|null {
  return resolve(value, argName, 'regularizer', regularizerFactories, layerName);
}

export function resolveConstraint(
    value: Identifier<Constraint>|undefined, argName: string, layerName = ''): Constraint|null {
  return resolve(value, argName, 'constraint', constraintFactories, layerName);
}

/** The `{className, config}` form that getConfig stores and the resolvers read back. */
export function serialize(
    value: tf.serialization.Serializable|null): tf.serialization.ConfigDict|null {
  return value == null ? null : {className: value.getClassName(), config: value.getConfig()};
}
