/**
 * Argument checking for every layer and function the package exports, so that every error reads
 * the same way, `<Class>: <name> must be <what>. Received: <name>=<value>`, and nothing unknown
 * is accepted silently:
 *
 * - {@link checkArgs}: a constructor's or a function's options object. It must be an object;
 *   every key must be known (the layer's own, the base layer's that tfjs itself passes, see
 *   {@link BASE_LAYER_ARGS}); an unknown key is an error that names it and suggests the right
 *   name (a table of Keras names first, then the camelCase of a snake_case name, then the
 *   closest known name by edit distance); every value given must pass its check.
 * - {@link checkCallArgs}: the keyword arguments of a layer's `call`, and
 *   {@link checkMaskArg} / {@link checkTensorArg} for tensors passed there.
 * - {@link describeValue}: the `<value>` part of a message.
 *
 * Values that are `undefined` or `null` mean "the default" (configs store defaults as null), so
 * checks apply only to values given.
 *
 * A Keras-layout layer uses it as, for example:
 *
 *   constructor(args: MultiHeadAttentionArgs) {
 *     super(checkArgs('MultiHeadAttention', args, MHA_ARGS, {required: ['numHeads', 'keyDim'],
 *                     suggestions: KERAS_NAMES}));
 */
import * as tf from '@tensorflow/tfjs';

/** One argument's check: what it must be (for the message) and the test. */
export interface ArgCheck {
  /** Completes "<name> must be …", e.g. 'a positive integer'. */
  expected: string;
  test: (value: unknown) => boolean;
  /** A more precise `expected` for a value that fails, when there is one. */
  expectedFor?: (value: unknown) => string;
}

/** The largest size tfjs can index (shapes are int32). */
export const MAX_SIZE = 2 ** 31 - 1;

/** The known arguments of a layer or function, with their checks. */
export type ArgSpec = Record<string, ArgCheck>;

/** A suggestion for an unknown name: the package's name for it, or a sentence. */
export type Suggestion = string|{note: string};

/** Options of {@link checkArgs}. */
export interface CheckArgsOptions {
  /** Arguments that must be given. Default none. */
  required?: string[];
  /**
   * Names people write for this layer's arguments (Keras's, PyTorch's, misremembered ones) →
   * the package's name, or `{note}` to say why there is none. Consulted before edit distance.
   * Default none.
   */
  suggestions?: Record<string, Suggestion>|undefined;
  /**
   * Whether the base layer arguments of {@link BASE_LAYER_ARGS} are known too. Default true (a
   * function's options set it to false).
   */
  layer?: boolean;
  /** dtypes the layer accepts for `dtype` and `inputDType`. Default ['float32']. */
  dtypes?: tf.DataType[];
  /** What a non-object is called in the message. Default 'args'. */
  argName?: string;
}

// ---- Checks ---------------------------------------------------------------------------------

const isNumber = (v: unknown): v is number => typeof v === 'number';

/** Checks for the kinds of argument the package has. */
export const is = {
  positiveInt: {
    expected: 'a positive integer',
    test: (v: unknown) => isNumber(v) && Number.isInteger(v) && v > 0 && v <= MAX_SIZE,
    expectedFor: (v: unknown) =>
        isNumber(v) && v > MAX_SIZE ? `a positive integer of at most ${MAX_SIZE}` :
                                      'a positive integer',
  } as ArgCheck,
  boolean: {expected: 'a boolean (true or false)', test: (v: unknown) => typeof v === 'boolean'} as
      ArgCheck,
  rate: {
    expected: 'a number in [0, 1)',
    test: (v: unknown) => isNumber(v) && v >= 0 && v < 1,
  } as ArgCheck,
  positiveNumber: {
    expected: 'a positive number',
    test: (v: unknown) => isNumber(v) && v > 0 && v < Infinity,
  } as ArgCheck,
  finiteNumber: {expected: 'a finite number', test: (v: unknown) => isNumber(v) && isFinite(v)} as
      ArgCheck,
  integer: {expected: 'an integer', test: (v: unknown) => isNumber(v) && Number.isInteger(v)} as
      ArgCheck,
  /** Checked elsewhere (initializers, regularizers, constraints resolve their own). */
  anything: {expected: 'anything', test: () => true} as ArgCheck,
  object: {
    expected: 'an object',
    test: (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v),
  } as ArgCheck,
  /** A tensor whose entries are numbers or booleans (not strings). */
  tensor: {
    expected: 'a tf.Tensor of numbers or booleans',
    test: (v: unknown) => v instanceof tf.Tensor && v.dtype !== 'string' && !v.isDisposed,
  } as ArgCheck,
  /** One of `values` (compared with ===). */
  oneOf(values: readonly unknown[]): ArgCheck {
    const names = values.map(v => (typeof v === 'string' ? `'${v}'` : String(v)));
    return {
      expected: names.length === 2 ? `${names[0]} or ${names[1]}` : `one of ${names.join(', ')}`,
      test: (v: unknown) => values.includes(v),
    };
  },
  /** A layer's input shape without the batch: positive integers or null (any length). */
  shape: {
    expected: 'an array of positive integers or null',
    test: (v: unknown) => Array.isArray(v) &&
        v.every(d => d === null || (isNumber(d) && Number.isInteger(d) && d > 0 && d <= MAX_SIZE)),
  } as ArgCheck,
};

/** The valid tensor name tfjs requires of a layer name (its weights are named `<name>/...`). */
const TENSOR_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

/**
 * Base layer arguments (tfjs's `LayerArgs`, plus what tfjs passes when it deserializes a model:
 * `customObjects`), accepted by every layer. `dtype` and `inputDType` are checked against the
 * layer's dtypes separately.
 */
export const BASE_LAYER_ARGS: ArgSpec = {
  name: {
    expected: 'a string that is a valid tensor name (letters, digits, and after the first ' +
        'character also - _ . /)',
    test: (v: unknown) => typeof v === 'string' && (v === '' || TENSOR_NAME.test(v)),
  },
  trainable: is.boolean,
  inputShape: is.shape,
  batchInputShape: is.shape,
  batchSize: is.positiveInt,
  weights: {
    expected: 'an array of tf.Tensors',
    test: (v: unknown) => Array.isArray(v) && v.every(t => t instanceof tf.Tensor),
  },
  dtype: is.anything,
  inputDType: is.anything,
  /** tfjs's deserializer adds the registered classes to every config it rebuilds. */
  customObjects: is.object,
};

/** What tfjs passes to the `call` of a layer that takes no call options of its own. */
export const LAYER_CALL_ARGS: ArgSpec = {mask: is.anything, training: is.boolean};

/** Throws unless `value` is absent (undefined or null) or a positive integer. */
export function checkPositiveInt(className: string, value: unknown, name: string): void {
  if (value != null && !is.positiveInt.test(value)) {
    throw new Error(`${className}: ${name} must be ${is.positiveInt.expectedFor!(value)}. ` +
                    `Received: ${name}=${describeValue(value)}`);
  }
}

// ---- checkArgs ------------------------------------------------------------------------------

/**
 * Checks the options object `args` of `className` against `spec` and returns it (so a
 * constructor can write `super(checkArgs(...))`). Throws an error naming the argument and the
 * value received when `args` is not an object, a key is unknown (with a suggestion), a value
 * fails its check, or a required argument is missing.
 */
export function checkArgs<T>(className: string, args: T, spec: ArgSpec,
                             options: CheckArgsOptions = {}): T {
  const argName = options.argName ?? 'args';
  if (args === undefined) {
    checkArgs(className, {}, spec, options);  // required arguments missing?
    return {} as T;
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args) ||
      args instanceof tf.Tensor) {
    throw new Error(`${className}: ${argName} must be an object of options, e.g. {${
        Object.keys(spec).slice(0, 2).map(k => `${k}: …`).join(', ')}}. Received: ${argName}=${
        describeValue(args)}`);
  }
  const layer = options.layer ?? true;
  const known: ArgSpec = layer ? {...BASE_LAYER_ARGS, ...spec} : spec;
  const record = args as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(key in known)) {
      throw unknownArgument(className, key, record[key], Object.keys(spec), options.suggestions);
    }
  }
  for (const name of options.required ?? []) {
    if (record[name] == null) {
      throw new Error(`${className}: ${name} must be ${known[name]?.expected ?? 'given'} (it is ` +
                      `required). Received: ${name}=${describeValue(record[name])}`);
    }
  }
  for (const [name, check] of Object.entries(known)) {
    const value = record[name];
    if (value != null && !check.test(value)) {
      throw new Error(`${className}: ${name} must be ${
          check.expectedFor?.(value) ?? check.expected}. Received: ${name}=${describeValue(value)}`);
    }
  }
  if (layer) {
    const dtypes = options.dtypes ?? ['float32'];
    for (const name of ['dtype', 'inputDType']) {
      const value = record[name];
      if (value != null && !dtypes.includes(value as tf.DataType)) {
        throw new Error(`${className}: ${name} must be ${
            dtypes.map(d => `'${d}'`).join(' or ')}. Received: ${name}=${describeValue(value)}`);
      }
    }
  }
  return args;
}

/**
 * Checks the keyword arguments a layer's `call` received: every key known (with suggestions),
 * every value given passing its check. tfjs itself passes `mask` and `training`.
 */
export function checkCallArgs(className: string, kwargs: unknown, spec: ArgSpec,
                              suggestions?: Record<string, Suggestion>): void {
  if (kwargs == null || (kwargs.constructor === Object && Object.keys(kwargs).length === 0)) {
    return;  // nothing to check (what apply passes most calls: cheap at short sequences)
  }
  checkArgs(className, kwargs, spec, {layer: false, suggestions, argName: 'call options'});
}

/**
 * Throws unless `value` is null/undefined or a tensor of numbers or booleans (a mask or an
 * explicit input): plain arrays and string tensors get an error naming `argName`.
 */
export function checkTensorArg(className: string, value: unknown, argName: string): void {
  if (value == null || is.tensor.test(value)) {
    return;
  }
  const hint = Array.isArray(value) ? ' (a plain array: make it a tensor with tf.tensor(...))' :
      value instanceof tf.Tensor && value.isDisposed ? ' (a disposed tensor)' :
      value instanceof tf.Tensor ? ` (dtype '${value.dtype}': use bool or numbers)` :
                                   '';
  throw new Error(`${className}: ${argName} must be a tf.Tensor of booleans or numbers${
      hint}. Received: ${argName}=${describeValue(value)}`);
}

/**
 * A `mask` call argument: a tensor, null, or (for several inputs) an array of tensors or nulls.
 */
export function checkMaskArg(className: string, mask: unknown, argName = 'mask'): void {
  if (Array.isArray(mask) && mask.some(m => m == null || m instanceof tf.Tensor)) {
    mask.forEach((m, i) => checkTensorArg(className, m, `${argName}[${i}]`));
    return;
  }
  checkTensorArg(className, mask, argName);
}

// ---- Messages -------------------------------------------------------------------------------

/** A value as an error message shows it: JSON where it can, tensors by shape and dtype. */
export function describeValue(value: unknown): string {
  if (value instanceof tf.Tensor) {
    return `a tensor of shape [${value.shape}] and dtype '${value.dtype}'`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return String(value);  // NaN, Infinity (JSON would write null)
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' ||
      typeof value === 'bigint') {
    return typeof value === 'function' ? `a function` : String(value);
  }
  try {
    const json = JSON.stringify(value, (_k, v: unknown) =>
        v instanceof tf.Tensor ? `<tensor [${v.shape}] ${v.dtype}>` : v);
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  } catch {
    return String(value);  // a cycle
  }
}

function unknownArgument(className: string, key: string, value: unknown, known: string[],
                         suggestions: Record<string, Suggestion> = {}): Error {
  const received = `Received: ${key}=${describeValue(value)}`;
  const hint = suggestions[key] ?? suggestions[camelCase(key)] ?? closest(key, known);
  if (hint != null && typeof hint === 'object') {
    return new Error(`${className}: unknown argument '${key}': ${hint.note}. ${received}`);
  }
  if (hint != null) {
    return new Error(`${className}: unknown argument '${key}'. Did you mean '${hint}'? ${
        received}`);
  }
  return new Error(`${className}: unknown argument '${key}'. Known arguments: ${
      known.join(', ')}. ${received}`);
}

/** snake_case (or kebab-case) → camelCase: `num_heads` → `numHeads`. */
export function camelCase(name: string): string {
  return name.replace(/[_-]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The known name closest to `key` (ignoring case and `_`), if close enough to be a typo. */
function closest(key: string, known: string[]): string|null {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const target = norm(key);
  let best: string|null = null;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(target, norm(name));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(target.length / 4)) ? best : null;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) =>
      Array.from({length: b.length + 1}, (__, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}
