/**
 * KerasOp: one `keras.ops` operation as a tfjs layer: the op layers Keras 3 writes into a
 * functional config when `keras.ops` (or an operator such as `x * 2`) is applied to a model's
 * tensors, with their constants (scalars, `__numpy__`/`__tensor__` arrays) inlined, and the
 * mask arithmetic this package's Keras loader adds (`zeroMasked`, `concatMask`).
 *
 * Config: `op` (a name of `KERAS_OPS`, camelCase: 'notEqual', 'expandDims'), `args` (the
 * op's positional arguments: `{input: i}` for the layer's i-th input, `{value: v}` for a scalar,
 * `{array: {dtype, shape, values}}` for a constant array, `{list: [...]}` for a list), and the
 * op's own options (`axis`, `keepdims`, `dtype`, `newshape`, ...). Dtypes follow Keras: int
 * inputs stay int under `+ - *` with int scalars, `/` gives float32, comparisons give bool.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgCheck, ArgSpec, checkArgs, is} from '../../args';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number|null>;

/** One positional argument of an op. */
export type OpArg = {
  /** This layer's input number `input` (0 = the first). */
  input: number,
}|{
  /** A constant. */
  value: number|boolean|null,
}|{
  /** A constant tensor, as the Keras config inlines it. */
  array: {
    /** Its dtype ('float32', 'int32', 'bool'). */
    dtype: string,
    /** Its shape. */
    shape: number[],
    /** Its values, flattened. */
    values: number[],
  },
}|{
  /** A list, each entry an argument. */
  list: OpArg[],
};

/** Arguments of {@link KerasOp}. */
export interface KerasOpArgs extends LayerArgs {
  /** The operation, one of `KERAS_OPS`. Required. */
  op: string;
  /** Its positional arguments. Default: one per input, in order. */
  args?: OpArg[];
  /** Reduction/expansion axis (or axes). Default: the op's (all axes for reductions). */
  axis?: number|number[]|null;
  /** Keep reduced axes with size 1. Default false. */
  keepdims?: boolean;
  /** Target dtype of `cast`, `onesLike`, `zerosLike`. Default: the input's. */
  castTo?: string;
  /** Target shape of `reshape` (-1 for one unknown size). */
  newshape?: number[];
  /** Permutation of `transpose`. Default: reversed axes. */
  axes?: number[]|null;
  /** Repeats of `tile`. */
  repeats?: number[];
  /** `pad`: [before, after] zeros per axis (the batch axis included). */
  paddings?: Array<[number, number]>;
  /** Lower bound of `clip`. */
  min?: number;
  /** Upper bound of `clip`. */
  max?: number;
  /** `alpha` of `elu`. */
  alpha?: number;
  /** `negativeSlope` of `leakyRelu`. */
  negativeSlope?: number;
  /** `gelu`: the tanh approximation. Default true (as keras.ops.gelu). */
  approximate?: boolean;
}

type Dtype = 'float32'|'int32'|'bool';
type Fn = (x: tf.Tensor[], op: KerasOp) => tf.Tensor;

interface OpDef {
  /** Number of tensor arguments; 'list' for one list argument. */
  arity: number|'list';
  fn: Fn;
  shape: (s: Shape[], op: KerasOp) => Shape;
  /** 'same' (of the promoted inputs), 'float' (float32), 'bool', or 'cast'. */
  dtype: 'same'|'float'|'bool'|'cast';
}

const elementwise = (s: Shape[]) => broadcastShapes(s);
const first = (s: Shape[]) => s[0]!;
const float = (x: tf.Tensor) => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

function unary(fn: (x: tf.Tensor, op: KerasOp) => tf.Tensor, dtype: OpDef['dtype'] = 'float'): OpDef {
  return {arity: 1, fn: (x, op) => fn(dtype === 'float' ? float(x[0]!) : x[0]!, op), shape: first,
          dtype};
}

function binary(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, dtype: OpDef['dtype'] = 'same'):
    OpDef {
  return {arity: 2, fn: x => fn(x[0]!, x[1]!), shape: elementwise, dtype};
}

function reduction(fn: (x: tf.Tensor, axis: number[]|undefined, keep: boolean) => tf.Tensor,
                   dtype: OpDef['dtype'] = 'same'): OpDef {
  return {
    arity: 1,
    fn: (x, op) => fn(dtype === 'float' ? float(x[0]!) : x[0]!, op.axisList(x[0]!.rank), op.keepdims),
    shape: (s, op) => {
      const rank = s[0]!.length;
      const axes = op.axisList(rank) ?? s[0]!.map((_, i) => i);
      return op.keepdims ? s[0]!.map((d, i) => (axes.includes(i) ? 1 : d)) :
                           s[0]!.filter((_, i) => !axes.includes(i));
    },
    dtype,
  };
}

/** The operations, by their camelCase names (Keras's class names with a lower-case start). */
const OPS: Record<string, OpDef> = {
  add: binary(tf.add), subtract: binary(tf.sub), multiply: binary(tf.mul),
  divide: binary((a, b) => tf.div(float(a), float(b)), 'float'),
  power: binary(tf.pow), maximum: binary(tf.maximum), minimum: binary(tf.minimum),
  floorDivide: binary(tf.floorDiv), mod: binary(tf.mod),
  equal: binary(tf.equal, 'bool'), notEqual: binary(tf.notEqual, 'bool'),
  greater: binary(tf.greater, 'bool'), greaterEqual: binary(tf.greaterEqual, 'bool'),
  less: binary(tf.less, 'bool'), lessEqual: binary(tf.lessEqual, 'bool'),
  logicalAnd: binary((a, b) => tf.logicalAnd(tf.cast(a, 'bool'), tf.cast(b, 'bool')), 'bool'),
  logicalOr: binary((a, b) => tf.logicalOr(tf.cast(a, 'bool'), tf.cast(b, 'bool')), 'bool'),
  logicalNot: unary(x => tf.logicalNot(tf.cast(x, 'bool')), 'bool'),
  matmul: {arity: 2, fn: x => tf.matMul(float(x[0]!), float(x[1]!)), dtype: 'float',
           shape: s => matmulShape(s[0]!, s[1]!)},
  where: {arity: 3, fn: x => tf.where(tf.cast(x[0]!, 'bool'), x[1]!, x[2]!), dtype: 'same',
          shape: elementwise},
  tanh: unary(tf.tanh), sigmoid: unary(tf.sigmoid), exp: unary(tf.exp), log: unary(tf.log),
  sqrt: unary(tf.sqrt), rsqrt: unary(tf.rsqrt), square: unary(tf.square, 'same'),
  abs: unary(tf.abs, 'same'), absolute: unary(tf.abs, 'same'), negative: unary(tf.neg, 'same'),
  sign: unary(tf.sign, 'same'), sin: unary(tf.sin), cos: unary(tf.cos),
  reciprocal: unary(tf.reciprocal), floor: unary(tf.floor), ceil: unary(tf.ceil),
  erf: unary(tf.erf), log1p: unary(tf.log1p), expm1: unary(tf.expm1),
  relu: unary(tf.relu, 'same'), relu6: unary(tf.relu6, 'same'),
  silu: unary(x => tf.mul(x, tf.sigmoid(x))), softplus: unary(tf.softplus),
  elu: unary((x, op) => (op.alpha === 1 ? tf.elu(x) :
                         tf.where(tf.greater(x, 0), x, tf.mul(op.alpha, tf.sub(tf.exp(x), 1))))),
  leakyRelu: unary((x, op) => tf.leakyRelu(x, op.negativeSlope)),
  gelu: unary((x, op) => (op.approximate ?
      tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI),
                                                      tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))) :
      tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))))),
  softmax: unary((x, op) => softmaxOver(x, op.axisList(x.rank) ?? [x.rank - 1], false)),
  logSoftmax: unary((x, op) => softmaxOver(x, op.axisList(x.rank) ?? [x.rank - 1], true)),
  cast: {arity: 1, fn: (x, op) => tf.cast(x[0]!, op.castTo as Dtype), shape: first, dtype: 'cast'},
  onesLike: {arity: 1, fn: (x, op) => tf.onesLike(tf.cast(x[0]!, op.castTo as Dtype)), shape: first,
             dtype: 'cast'},
  zerosLike: {arity: 1, fn: (x, op) => tf.zerosLike(tf.cast(x[0]!, op.castTo as Dtype)),
              shape: first, dtype: 'cast'},
  clip: unary((x, op) => tf.clipByValue(x, op.min, op.max), 'same'),
  mean: reduction((x, a, k) => tf.mean(x, a, k), 'float'),
  sum: reduction((x, a, k) => tf.sum(x, a, k)),
  prod: reduction((x, a, k) => tf.prod(x, a, k)),
  max: reduction((x, a, k) => tf.max(x, a, k)),
  min: reduction((x, a, k) => tf.min(x, a, k)),
  any: reduction((x, a, k) => tf.any(tf.cast(x, 'bool'), a, k), 'bool'),
  all: reduction((x, a, k) => tf.all(tf.cast(x, 'bool'), a, k), 'bool'),
  var: reduction((x, a, k) => tf.moments(x, a, k).variance, 'float'),
  std: reduction((x, a, k) => tf.sqrt(tf.moments(x, a, k).variance), 'float'),
  logsumexp: reduction((x, a, k) => tf.logSumExp(x, a, k), 'float'),
  expandDims: {arity: 1, dtype: 'same', fn: (x, op) => tf.expandDims(x[0]!, op.axisNumber()),
               shape: (s, op) => {
                 const out = [...s[0]!];
                 const axis = op.axisNumber();
                 out.splice(axis < 0 ? out.length + axis + 1 : axis, 0, 1);
                 return out;
               }},
  squeeze: {arity: 1, dtype: 'same', fn: (x, op) => tf.squeeze(x[0]!, op.axisList(x[0]!.rank)),
            shape: (s, op) => {
              const axes = op.axisList(s[0]!.length);
              return s[0]!.filter((d, i) => (axes == null ? d !== 1 : !axes.includes(i)));
            }},
  reshape: {arity: 1, dtype: 'same', fn: (x, op) => tf.reshape(x[0]!, op.newshape),
            shape: (s, op) => reshapeShape(s[0]!, op.newshape)},
  transpose: {arity: 1, dtype: 'same', fn: (x, op) => tf.transpose(x[0]!, op.axes ?? undefined),
              shape: (s, op) => (op.axes ?? s[0]!.map((_, i) => s[0]!.length - 1 - i))
                  .map(a => s[0]![a]!)},
  tile: {arity: 1, dtype: 'same', fn: (x, op) => tf.tile(x[0]!, op.repeats),
         shape: (s, op) => s[0]!.map((d, i) => (d == null ? null : d * op.repeats[i]!))},
  concatenate: {arity: 'list', dtype: 'same', fn: (x, op) => tf.concat(x, op.axisNumber()),
                shape: (s, op) => {
                  const rank = s[0]!.length;
                  const axis = (op.axisNumber() + rank) % rank;
                  return s[0]!.map((d, i) => (i !== axis ? d : s.some(t => t[i] == null) ? null :
                                                               s.reduce((n, t) => n + t[i]!, 0)));
                }},
  stack: {arity: 'list', dtype: 'same', fn: (x, op) => tf.stack(x, op.axisNumber()),
          shape: (s, op) => {
            const out = [...s[0]!];
            const axis = op.axisNumber();
            out.splice(axis < 0 ? out.length + axis + 1 : axis, 0, s.length);
            return out;
          }},
  pad: {arity: 1, dtype: 'same', fn: (x, op) => tf.pad(x[0]!, op.paddings),
        shape: (s, op) => s[0]!.map((d, i) => (d == null ? null :
                                                d + op.paddings[i]![0] + op.paddings[i]![1]))},
  /** [x, mask]: x where the mask (broadcast over x's trailing axes) is true, else 0. */
  zeroMasked: {arity: 2, dtype: 'same', shape: first, fn: x => {
    let keep = tf.cast(x[1]!, 'bool');
    while (keep.rank < x[0]!.rank) {
      keep = tf.expandDims(keep, -1);
    }
    return tf.where(keep, x[0]!, tf.zerosLike(x[0]!));
  }},
};

/**
 * Concatenate's output mask, from `[x1, m1, x2, m2, ...]` (an `m` may be null): Keras 3
 * ('concatMaskAny') broadcasts each mask to its input's shape (a missing one is all true),
 * concatenates along `axis` and takes `any` over the last axis; tf.keras 2 ('concatMaskAll')
 * expands each mask by one axis and takes `all`.
 */
function concatMask(pairs: Array<tf.Tensor|null>, axis: number, any: boolean): tf.Tensor {
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const x = pairs[i]!;
    let m = pairs[i + 1];
    if (m == null) {
      parts.push(tf.onesLike(x).cast('bool'));
      continue;
    }
    m = tf.cast(m, 'bool');
    if (m.rank < x.rank) {
      m = tf.expandDims(m, -1);
      if (any) {
        m = tf.logicalOr(m, tf.zerosLike(x).cast('bool'));
      }
    }
    parts.push(m);
  }
  const joined = tf.concat(parts, axis);
  return any ? tf.any(joined, -1) : tf.all(joined, -1);
}

const CONCAT_MASK_OPS = ['concatMaskAny', 'concatMaskAll'];

/** The names of the operations {@link KerasOp} runs. */
export const KERAS_OPS: readonly string[] = [...Object.keys(OPS), ...CONCAT_MASK_OPS].sort();

function softmaxOver(x: tf.Tensor, axes: number[], log: boolean): tf.Tensor {
  if (axes.length === 1 && axes[0] === x.rank - 1) {
    return log ? tf.logSoftmax(x) : tf.softmax(x);
  }
  const shifted = tf.sub(x, tf.max(x, axes, true));
  const logSum = tf.log(tf.sum(tf.exp(shifted), axes, true));
  return log ? tf.sub(shifted, logSum) : tf.exp(tf.sub(shifted, logSum));
}

/** Numpy broadcasting of shapes (null: unknown size). */
export function broadcastShapes(shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map(s => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let size: number|null = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) {
        continue;
      }
      if (d === null) {
        size = size === 1 ? null : size;
      } else if (size === 1 || size === null) {
        size = d;
      } else if (size !== d) {
        throw new Error(`shapes [${shapes.map(s => `[${s}]`).join(', ')}] do not broadcast`);
      }
    }
    out.push(size);
  }
  return out;
}

function matmulShape(a: Shape, b: Shape): Shape {
  const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
  return [...batch, a[a.length - 2]!, b[b.length - 1]!];
}

function reshapeShape(input: Shape, newshape: number[]): Shape {
  const known = input.every(d => d != null) ? input.reduce((n, d) => n! * d!, 1) : null;
  const product = newshape.filter(d => d !== -1).reduce((n, d) => n * d, 1);
  return newshape.map(d => (d !== -1 ? d : known == null ? null : known / product));
}

function dtypeRank(d: string): number {
  return d === 'bool' ? 0 : d === 'int32' ? 1 : 2;
}

/**
 * `op(args...)` on the layer's inputs.
 *
 * ```js
 * new KerasOp({op: 'notEqual', args: [{input: 0}, {value: 0}]}).apply(tokens);  // bool mask
 * ```
 */
export class KerasOp extends tf.layers.Layer {
  /** The name tfjs's serialization registers the class under. */
  static className = 'KerasOp';
  /** The operation ({@link KerasOpArgs.op}). */
  readonly op: string;
  /** Its positional arguments ({@link KerasOpArgs.args}). */
  readonly opArgs: OpArg[];
  /** Reduction/expansion axis or axes; null for the op's default ({@link KerasOpArgs.axis}). */
  readonly axis: number|number[]|null;
  /** Whether reductions keep size-1 axes ({@link KerasOpArgs.keepdims}). */
  readonly keepdims: boolean;
  /** Target dtype, or null for the input's ({@link KerasOpArgs.castTo}). */
  readonly castTo: string|null;
  /** Target shape of `reshape` ({@link KerasOpArgs.newshape}). */
  readonly newshape: number[];
  /** Permutation of `transpose`; null for reversed axes ({@link KerasOpArgs.axes}). */
  readonly axes: number[]|null;
  /** Repeats of `tile` ({@link KerasOpArgs.repeats}). */
  readonly repeats: number[];
  /** `[before, after]` zeros per axis of `pad` ({@link KerasOpArgs.paddings}). */
  readonly paddings: Array<[number, number]>;
  /** Lower bound of `clip` ({@link KerasOpArgs.min}). */
  readonly min: number;
  /** Upper bound of `clip` ({@link KerasOpArgs.max}). */
  readonly max: number;
  /** `alpha` of `elu` ({@link KerasOpArgs.alpha}). */
  readonly alpha: number;
  /** `negativeSlope` of `leakyRelu` ({@link KerasOpArgs.negativeSlope}). */
  readonly negativeSlope: number;
  /** Whether `gelu` uses the tanh approximation ({@link KerasOpArgs.approximate}, default true). */
  readonly approximate: boolean;
  private readonly def: OpDef;

  constructor(args: KerasOpArgs) {
    super(checkArgs(KerasOp.className, args, ARGS, {required: ['op']}));
    const def = CONCAT_MASK_OPS.includes(args.op) ? CONCAT_MASK_DEF : OPS[args.op]!;
    this.def = def;
    this.op = args.op;
    this.opArgs = args.args ?? [];
    this.axis = args.axis ?? null;
    this.keepdims = args.keepdims ?? false;
    this.castTo = args.castTo ?? null;
    if (def.dtype === 'cast' && this.castTo === null) {
      throw new Error(`KerasOp: castTo must be 'float32', 'int32' or 'bool' for op '${args.op}' ` +
                      `(it is required). Received: castTo=${JSON.stringify(args.castTo)}`);
    }
    this.newshape = args.newshape ?? [];
    this.axes = args.axes ?? null;
    this.repeats = args.repeats ?? [];
    this.paddings = args.paddings ?? [];
    this.min = args.min ?? -Infinity;
    this.max = args.max ?? Infinity;
    this.alpha = args.alpha ?? 1;
    this.negativeSlope = args.negativeSlope ?? 0.2;
    this.approximate = args.approximate ?? true;
  }

  /** `axis` as a list of non-negative axes for a tensor of `rank`, or undefined for all. */
  axisList(rank: number): number[]|undefined {
    if (this.axis == null) {
      return undefined;
    }
    const list = Array.isArray(this.axis) ? this.axis : [this.axis];
    return list.map(a => (a < 0 ? a + rank : a));
  }

  /** `axis` as one number: the configured one, else -1 for concatenations and 0 otherwise. */
  axisNumber(): number {
    return typeof this.axis === 'number' ? this.axis :
        this.op === 'concatenate' || this.op.startsWith('concatMask') ? -1 : 0;
  }

  /** The positional arguments with inputs put in: tensors, numbers or lists of tensors. */
  private resolve<T>(inputs: T[], constant: (a: OpArg) => T): Array<T|T[]> {
    const one = (a: OpArg): T => ('input' in a ? inputs[a.input]! : constant(a));
    const args = this.opArgs.length > 0 ? this.opArgs : inputs.map((_, i) => ({input: i}));
    return args.map(a => ('list' in a ? a.list.map(one) : one(a)));
  }

  /** The dtype Keras gives the result, from the tensor arguments and the constants. */
  private resultDtype(dtypes: string[], constants: OpArg[]): Dtype {
    if (this.def.dtype === 'bool') {
      return 'bool';
    }
    if (this.def.dtype === 'float') {
      return 'float32';
    }
    if (this.def.dtype === 'cast') {
      return this.castTo as Dtype;
    }
    let rank = Math.max(0, ...dtypes.map(dtypeRank));
    for (const c of constants) {  // Python scalars are weak: a float one makes the result float
      if ('value' in c && typeof c.value === 'number' && !Number.isInteger(c.value)) {
        rank = 2;
      }
      if ('array' in c) {
        rank = Math.max(rank, dtypeRank(c.array.dtype));
      }
    }
    return (['bool', 'int32', 'float32'] as const)[rank]!;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as Shape[];
    if (this.def === CONCAT_MASK_DEF) {  // the inputs' concatenation without its last axis
      const xs = this.pairs(shapes).filter((_, i) => i % 2 === 0) as Shape[];
      return OPS['concatenate']!.shape(xs, this).slice(0, -1);
    }
    const resolved = this.resolve<Shape>(shapes, a => constantShape(a));
    const flat = this.def.arity === 'list' ? resolved[0] as Shape[] : resolved as Shape[];
    try {
      return this.def.shape(flat, this);
    } catch (e) {
      throw new Error(`KerasOp '${this.name}' (${this.op}): ${(e as Error).message}`, {cause: e});
    }
  }

  /** For the concat-mask ops: `[x1, m1, x2, m2, ...]` with null for a missing mask. */
  private pairs<T>(inputs: T[]): Array<T|null> {
    return this.opArgs.map(a => ('input' in a ? inputs[a.input]! : null));
  }

  override call(inputs: tf.Tensor|tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const tensors = inputs instanceof Array ? inputs : [inputs];
      if (this.def === CONCAT_MASK_DEF) {
        return concatMask(this.pairs(tensors), this.axisNumber(), this.op === 'concatMaskAny');
      }
      const constants = this.opArgs.flatMap(a => ('list' in a ? a.list : [a]))
          .filter(a => !('input' in a));
      const dtype = this.resultDtype(tensors.map(t => t.dtype), constants);
      // Constants take the result's dtype (bool ones stay bool), inputs are cast to it.
      const work = (this.def.dtype === 'same') ? dtype : null;
      const toTensor = (a: OpArg): tf.Tensor => {
        if ('value' in a) {
          const v = a.value;
          return typeof v === 'boolean' ? tf.scalar(v, 'bool') :
                                          tf.scalar(v ?? 0, (work ?? 'float32') === 'bool' ? 'float32' : work ?? 'float32');
        }
        const {dtype: d, shape, values} = (a as {array: {dtype: string, shape: number[], values: number[]}}).array;
        return tf.tensor(values, shape, d === 'bool' ? 'bool' : d.startsWith('int') ? 'int32' : 'float32');
      };
      const cast = (t: tf.Tensor) => (work != null && t.dtype !== work && work !== 'bool' ?
                                      tf.cast(t, work) : t);
      const resolved = this.resolve<tf.Tensor>(tensors, toTensor);
      const flat = (this.def.arity === 'list' ? resolved[0] as tf.Tensor[] : resolved as tf.Tensor[])
          .map(cast);
      return this.def.fn(flat, this);
    });
  }

  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor;  // Keras's ops carry no masks
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {...super.getConfig(), op: this.op,
                                                 args: this.opArgs as unknown as tf.serialization.ConfigDictValue};
    if (this.axis !== null) config['axis'] = this.axis;
    if (this.keepdims) config['keepdims'] = true;
    if (this.castTo !== null) config['castTo'] = this.castTo;
    if (this.newshape.length > 0) config['newshape'] = this.newshape;
    if (this.axes !== null) config['axes'] = this.axes;
    if (this.repeats.length > 0) config['repeats'] = this.repeats;
    if (this.paddings.length > 0) config['paddings'] = this.paddings;
    if (this.min !== -Infinity) config['min'] = this.min;
    if (this.max !== Infinity) config['max'] = this.max;
    if (this.op === 'elu') config['alpha'] = this.alpha;
    if (this.op === 'leakyRelu') config['negativeSlope'] = this.negativeSlope;
    if (this.op === 'gelu') config['approximate'] = this.approximate;
    return config;
  }
}
tf.serialization.registerClass(KerasOp);

const intList: ArgCheck = {
  expected: 'an array of integers',
  test: (v: unknown) => Array.isArray(v) && v.every(a => Number.isInteger(a)),
};
const number: ArgCheck = {expected: 'a number', test: (v: unknown) => typeof v === 'number'};

const ARGS: ArgSpec = {
  op: is.oneOf(KERAS_OPS),
  args: {expected: 'an array of {input}, {value}, {array} or {list} entries',
         test: (v: unknown) => Array.isArray(v) && v.every(isOpArg)},
  axis: {expected: 'an integer or an array of integers',
         test: (v: unknown) => Number.isInteger(v) || intList.test(v)},
  keepdims: is.boolean,
  castTo: is.oneOf(['float32', 'int32', 'bool']),
  newshape: intList, axes: intList, repeats: intList,
  paddings: {expected: 'an array of [before, after] pairs of integers',
             test: (v: unknown) => Array.isArray(v) && v.every(p => intList.test(p) &&
                                                               (p as number[]).length === 2)},
  min: number, max: number, alpha: number, negativeSlope: number, approximate: is.boolean,
};

function isOpArg(a: unknown): boolean {
  if (a === null || typeof a !== 'object') {
    return false;
  }
  const arg = a as Record<string, unknown>;
  if ('input' in arg) {
    return Number.isInteger(arg['input']) && (arg['input'] as number) >= 0;
  }
  if ('value' in arg) {
    return arg['value'] === null || ['number', 'boolean'].includes(typeof arg['value']);
  }
  if ('list' in arg) {
    return Array.isArray(arg['list']) && arg['list'].every(isOpArg);
  }
  const array = arg['array'] as Record<string, unknown>|undefined;
  return array != null && typeof array['dtype'] === 'string' && intList.test(array['shape']) &&
      Array.isArray(array['values']) && array['values'].every(x => typeof x === 'number') &&
      (array['values'] as number[]).length ===
          (array['shape'] as number[]).reduce((n, d) => n * d, 1);
}

/** Placeholder definition of the concat-mask ops (run by `concatMask`). */
const CONCAT_MASK_DEF: OpDef = {arity: 'list', dtype: 'bool', fn: x => x[0]!, shape: s => s[0]!};

function constantShape(a: OpArg): Shape {
  return 'array' in a ? a.array.shape : [];
}
