/**
 * Reading a Keras model config (the `model_config` JSON) into one form for both Keras versions.
 *
 * Keras writes the same graph three ways, and this module reads all of them into a
 * {@link KerasGraph}:
 * - Keras 3 (the converter's model.json, `to_json()`, a `.keras` archive's config.json): each
 *   node is `{args, kwargs}` holding Python values, with every tensor written as
 *   `{class_name: "__keras_tensor__", config: {keras_history: [layer, node, tensor]}}` and array
 *   constants as `{class_name: "__numpy__" | "__tensor__", config: {value, dtype}}`. Layers may
 *   carry `module`, `registered_name` and `build_config`; the op layers that `keras.ops` calls on
 *   functional tensors leave (`NotEqual`, `Add`, ...) have a config without `trainable`.
 * - tf.keras 2: each node is a list `[[layer, node, tensor, kwargs], ...]`, one entry per tensor
 *   of the call's first argument, every other argument in `kwargs` with tensors as
 *   `[layer, node, tensor]` (e.g. `mha(q, v)` is `[["q", 0, 0, {"value": ["v", 0, 0]}]]`).
 * - `Sequential` in either version: a list of layers without nodes, the first an `InputLayer`
 *   (or carrying `batch_input_shape`/`batch_shape` itself).
 *
 * Malformed JSON (a missing key, a node that names no layer) throws a {@link KerasConfigError}
 * naming the JSON path; what is well formed but not supported is decided later (rules.ts).
 */

/** A JSON object. */
export type Dict = Record<string, unknown>;

/** `keras_history`: output `index` of node `node` of layer `layer`. */
export interface TensorRef {
  layer: string;
  node: number;
  index: number;
}

/** A value passed to a layer call: a tensor, a constant, or a list or dict of values. */
export type KerasValue =
    {kind: 'tensor', ref: TensorRef}|
    {kind: 'list', items: KerasValue[]}|
    {kind: 'dict', entries: Record<string, KerasValue>}|
    /** `__numpy__`/`__tensor__` constants (Keras 3), nested lists of numbers (tf.keras 2). */
    {kind: 'array', dtype: string, value: unknown}|
    {kind: 'literal', value: null|boolean|number|string};

/** One call of a layer: its positional and keyword arguments. */
export interface KerasNode {
  args: KerasValue[];
  kwargs: Record<string, KerasValue>;
}

/** One layer of the model. */
export interface KerasLayer {
  name: string;
  className: string;
  /** Keras 3's `module` (e.g. 'keras.layers', 'keras.src.ops.numpy'), when written. */
  module?: string|undefined;
  /** `registered_name`, when written and not null (custom classes have one). */
  registeredName?: string|undefined;
  config: Dict;
  /**
   * An operation of `keras.ops` (an op layer), as its `module` says (.keras files); undefined
   * when the file does not say (the converter's legacy form: rules.ts tells them apart).
   */
  isOp?: boolean|undefined;
  nodes: KerasNode[];
  /** Where it is in the JSON, for messages: e.g. `layers[3] ('mha')`. */
  where: string;
}

/** The graph of a Functional or Sequential model. */
export interface KerasGraph {
  /** 3 for Keras 3, 2 for tf.keras 2 (node format, else keras_version, else the configs). */
  kerasVersion: 2|3;
  modelClass: 'Functional'|'Sequential';
  name: string;
  layers: KerasLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

/**
 * A config that is not a well-formed Keras model config.
 *
 * ```ts
 * try {
 *   await loadKerasModel('file://models/from-keras/model.json');
 * } catch (e) {
 *   if (e instanceof KerasConfigError) console.error(e.message);  // the file and what is malformed
 * }
 * ```
 */
export class KerasConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KerasConfigError';
  }
}

export function isDict(x: unknown): x is Dict {
  return x != null && typeof x === 'object' && !Array.isArray(x);
}

function fail(where: string, message: string, value?: unknown): never {
  const received = value === undefined ? '' : ` Received: ${preview(value)}`;
  throw new KerasConfigError(`${where}: ${message}.${received}`);
}

/** A short JSON preview of a value for messages. */
export function preview(value: unknown, max = 160): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const FUNCTIONAL = new Set(['Functional', 'Model']);
const OP_MODULE = /^keras(\.src)?\.ops(\.|$)/;

/**
 * Reads a Keras `model_config` (`{class_name, config}`) into a {@link KerasGraph}.
 * `kerasVersion` is the file's `keras_version` when known ('3.15.1', '2.15.0').
 */
export function readKerasConfig(modelConfig: unknown, kerasVersion?: string): KerasGraph {
  if (!isDict(modelConfig)) {
    fail('model_config', 'must be an object {class_name, config}', modelConfig);
  }
  const className = modelConfig['class_name'];
  const config = modelConfig['config'];
  if (typeof className !== 'string') {
    fail('model_config.class_name', 'must be a string', className);
  }
  if (!isDict(config) && !(className === 'Sequential' && Array.isArray(config))) {
    fail('model_config.config', 'must be an object', config);
  }
  if (FUNCTIONAL.has(className)) {
    return readFunctional(config as Dict, kerasVersion);
  }
  if (className === 'Sequential') {
    return readSequential(config as Dict|unknown[], kerasVersion);
  }
  throw new KerasConfigError(
      `model_config.class_name: the model is a '${className}'; a Keras file holds a ` +
      `'Functional' (or 'Model') or a 'Sequential' model. Subclassed models have no config that ` +
      `describes their computation and cannot be loaded from one.`);
}

function versionOf(kerasVersion: string|undefined): 2|3|undefined {
  if (typeof kerasVersion !== 'string') {
    return undefined;
  }
  const major = parseInt(kerasVersion, 10);
  return major >= 3 ? 3 : major === 2 ? 2 : undefined;
}

function readLayerHeader(entry: unknown, where: string): Omit<KerasLayer, 'nodes'|'where'> {
  if (!isDict(entry)) {
    fail(where, 'must be an object {class_name, config, ...}', entry);
  }
  const className = entry['class_name'];
  if (typeof className !== 'string') {
    fail(`${where}.class_name`, 'must be a string', className);
  }
  const config = entry['config'];
  if (!isDict(config)) {
    fail(`${where}.config`, 'must be an object', config);
  }
  const name = typeof entry['name'] === 'string' ? entry['name'] : config['name'];
  if (typeof name !== 'string' || name.length === 0) {
    fail(`${where}`, 'has no layer name (neither "name" nor "config.name")', entry);
  }
  const module = typeof entry['module'] === 'string' ? entry['module'] : undefined;
  const registeredName = typeof entry['registered_name'] === 'string' ?
      entry['registered_name'] : undefined;
  const isOp = module !== undefined ? OP_MODULE.test(module) : undefined;
  return {name, className, module, registeredName, config, isOp};
}

function readFunctional(config: Dict, kerasVersion?: string): KerasGraph {
  const layers = config['layers'];
  if (!Array.isArray(layers)) {
    fail('model_config.config.layers', 'must be a list of layers', layers);
  }
  let nodeFormat: 2|3|undefined;
  const out: KerasLayer[] = [];
  const names = new Set<string>();
  layers.forEach((entry, i) => {
    const where = `model_config.config.layers[${i}]`;
    const header = readLayerHeader(entry, where);
    if (names.has(header.name)) {
      fail(where, `repeats the layer name '${header.name}'`);
    }
    names.add(header.name);
    const inbound = (entry as Dict)['inbound_nodes'] ?? [];
    if (!Array.isArray(inbound)) {
      fail(`${where}.inbound_nodes`, 'must be a list', inbound);
    }
    const nodes = inbound.map((node, n) => {
      const at = `${where}.inbound_nodes[${n}]`;
      if (isDict(node)) {
        nodeFormat ??= 3;
        return readKeras3Node(node, at);
      }
      if (Array.isArray(node)) {
        nodeFormat ??= 2;
        return readKeras2Node(node, at, names);
      }
      return fail(at, 'must be {args, kwargs} (Keras 3) or a list (tf.keras 2)', node);
    });
    out.push({...header, nodes, where: `layer '${header.name}' (${header.className})`});
  });
  // Keras 2 kwargs may name layers that come later in the list: re-read with every name known.
  if (nodeFormat === 2) {
    const all = new Set(out.map(l => l.name));
    layers.forEach((entry, i) => {
      const inbound = ((entry as Dict)['inbound_nodes'] ?? []) as unknown[];
      out[i]!.nodes = inbound.map((node, n) => readKeras2Node(
          node as unknown[], `model_config.config.layers[${i}].inbound_nodes[${n}]`, all));
    });
  }
  const graph: KerasGraph = {
    kerasVersion: nodeFormat ?? versionOf(kerasVersion) ?? guessVersion(out),
    modelClass: 'Functional',
    name: typeof config['name'] === 'string' ? config['name'] : 'model',
    layers: out,
    inputs: readEnds(config['input_layers'], 'model_config.config.input_layers'),
    outputs: readEnds(config['output_layers'], 'model_config.config.output_layers'),
  };
  checkRefs(graph);
  return graph;
}

/** `input_layers`/`output_layers`: `[name, node, tensor]` or a list of those. */
function readEnds(value: unknown, where: string): TensorRef[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(where, 'must be a non-empty list of [layer, node, tensor]', value);
  }
  const list = typeof value[0] === 'string' ? [value] : value;
  return list.map((item, i) => {
    const ref = asRef(item);
    if (ref === null) {
      fail(`${where}[${i}]`, 'must be [layer name, node index, tensor index]', item);
    }
    return ref;
  });
}

function asRef(item: unknown): TensorRef|null {
  if (Array.isArray(item) && (item.length === 3 || item.length === 4) &&
      typeof item[0] === 'string' && Number.isInteger(item[1]) && Number.isInteger(item[2])) {
    return {layer: item[0], node: item[1] as number, index: item[2] as number};
  }
  return null;
}

function readKeras3Node(node: Dict, where: string): KerasNode {
  const args = node['args'] ?? [];
  const kwargs = node['kwargs'] ?? {};
  if (!Array.isArray(args)) {
    fail(`${where}.args`, 'must be a list', args);
  }
  if (!isDict(kwargs)) {
    fail(`${where}.kwargs`, 'must be an object', kwargs);
  }
  const entries: Record<string, KerasValue> = {};
  for (const [k, v] of Object.entries(kwargs)) {
    entries[k] = readKeras3Value(v, `${where}.kwargs.${k}`);
  }
  return {args: args.map((a, i) => readKeras3Value(a, `${where}.args[${i}]`)), kwargs: entries};
}

function readKeras3Value(value: unknown, where: string): KerasValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' ||
      typeof value === 'string') {
    return {kind: 'literal', value};
  }
  if (Array.isArray(value)) {
    return {kind: 'list', items: value.map((v, i) => readKeras3Value(v, `${where}[${i}]`))};
  }
  if (isDict(value)) {
    const cls = value['class_name'];
    const config = value['config'];
    if (cls === '__keras_tensor__') {
      const ref = isDict(config) ? asRef(config['keras_history']) : null;
      if (ref === null) {
        fail(where, 'is a __keras_tensor__ without a keras_history [layer, node, tensor]', value);
      }
      return {kind: 'tensor', ref};
    }
    if (cls === '__numpy__' || cls === '__tensor__') {
      if (!isDict(config) || !('value' in config) || typeof config['dtype'] !== 'string') {
        fail(where, `is a ${cls} constant without a value and a dtype`, value);
      }
      return {kind: 'array', dtype: config['dtype'] as string, value: config['value']};
    }
    const entries: Record<string, KerasValue> = {};
    for (const [k, v] of Object.entries(value)) {
      entries[k] = readKeras3Value(v, `${where}.${k}`);
    }
    return {kind: 'dict', entries};
  }
  return fail(where, 'is not a JSON value', value);
}

const CONSTANT_VALUE = '_CONSTANT_VALUE';

function readKeras2Node(node: unknown[], where: string, layers: Set<string>): KerasNode {
  const tensors: KerasValue[] = [];
  let kwargs: Record<string, KerasValue> = {};
  node.forEach((entry, i) => {
    const at = `${where}[${i}]`;
    if (!Array.isArray(entry) || entry.length < 3) {
      fail(at, 'must be [layer, node, tensor, kwargs]', entry);
    }
    if (entry[0] === CONSTANT_VALUE) {
      tensors.push(readKeras2Value(entry[2], `${at}[2]`, layers));
    } else {
      const ref = asRef(entry.slice(0, 3));
      if (ref === null) {
        fail(at, 'must be [layer, node, tensor, kwargs]', entry);
      }
      tensors.push({kind: 'tensor', ref});
    }
    if (entry.length > 3 && i === 0) {
      const raw = entry[3];
      if (raw != null && !isDict(raw)) {
        fail(`${at}[3]`, 'must be an object of keyword arguments', raw);
      }
      kwargs = {};
      for (const [k, v] of Object.entries((raw ?? {}) as Dict)) {
        kwargs[k] = readKeras2Value(v, `${at}[3].${k}`, layers);
      }
    }
  });
  // One tensor: the call's first argument is that tensor; more: a list of them.
  const first: KerasValue = tensors.length === 1 ? tensors[0]! : {kind: 'list', items: tensors};
  return {args: [first], kwargs};
}

/** A tf.keras 2 kwarg: `[layer, node, tensor]` is a tensor when it names a layer. */
function readKeras2Value(value: unknown, where: string, layers: Set<string>): KerasValue {
  const ref = asRef(value);
  if (ref !== null && layers.has(ref.layer)) {
    return {kind: 'tensor', ref};
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'number' ||
      typeof value === 'string') {
    return {kind: 'literal', value};
  }
  if (Array.isArray(value)) {
    if (isNumberArray(value)) {
      return {kind: 'array', dtype: 'float32', value};
    }
    return {kind: 'list', items: value.map((v, i) => readKeras2Value(v, `${where}[${i}]`, layers))};
  }
  if (isDict(value)) {
    const entries: Record<string, KerasValue> = {};
    for (const [k, v] of Object.entries(value)) {
      entries[k] = readKeras2Value(v, `${where}.${k}`, layers);
    }
    return {kind: 'dict', entries};
  }
  return fail(where, 'is not a JSON value', value);
}

function isNumberArray(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 &&
      value.every(v => typeof v === 'number' || isNumberArray(v));
}

function guessVersion(layers: KerasLayer[]): 2|3 {
  for (const layer of layers) {
    if (isDict(layer.config['dtype']) || 'batch_shape' in layer.config || layer.module) {
      return 3;
    }
  }
  return 2;
}

function readSequential(config: Dict|unknown[], kerasVersion?: string): KerasGraph {
  const list = Array.isArray(config) ? config : config['layers'];
  const name = !Array.isArray(config) && typeof config['name'] === 'string' ? config['name'] :
                                                                              'sequential';
  if (!Array.isArray(list) || list.length === 0) {
    fail('model_config.config.layers', 'must be a non-empty list of layers', list);
  }
  const layers: KerasLayer[] = [];
  const names = new Set<string>();
  list.forEach((entry, i) => {
    const where = `model_config.config.layers[${i}]`;
    const header = readLayerHeader(entry, where);
    if (names.has(header.name)) {
      fail(where, `repeats the layer name '${header.name}'`);
    }
    names.add(header.name);
    layers.push({...header, nodes: [], where: `layer '${header.name}' (${header.className})`});
  });
  // A Sequential without an InputLayer entry: its first layer carries the input shape.
  if (layers[0]!.className !== 'InputLayer') {
    const first = layers[0]!.config;
    const shape = first['batch_shape'] ?? first['batch_input_shape'] ??
        (!Array.isArray(config) ? config['build_input_shape'] : undefined);
    if (!Array.isArray(shape)) {
      fail('model_config.config.layers[0]',
           'starts a Sequential model without an InputLayer, so it needs batch_input_shape ' +
           '(or batch_shape)', first);
    }
    const inputName = uniqueName(`${layers[0]!.name}_input`, names);
    layers.unshift({
      name: inputName, className: 'InputLayer', nodes: [],
      config: {batch_shape: shape, dtype: typeof first['dtype'] === 'string' ? first['dtype'] :
                                                                                 'float32',
               name: inputName},
      where: `the input of layer '${layers[0]!.name}'`,
    });
  }
  // Chain the layers: each one's single node takes the previous layer's output.
  for (let i = 1; i < layers.length; i++) {
    if (layers[i]!.className === 'InputLayer') {
      fail(`model_config.config.layers[${i}]`, 'is a second InputLayer in a Sequential model');
    }
    layers[i]!.nodes = [{args: [{kind: 'tensor', ref: {layer: layers[i - 1]!.name, node: 0,
                                                          index: 0}}], kwargs: {}}];
  }
  const version = versionOf(kerasVersion) ?? guessVersion(layers);
  return {
    kerasVersion: version, modelClass: 'Sequential', name, layers,
    inputs: [{layer: layers[0]!.name, node: 0, index: 0}],
    outputs: [{layer: layers[layers.length - 1]!.name, node: 0, index: 0}],
  };
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) {
    name = `${base}_${i}`;
  }
  taken.add(name);
  return name;
}

/** Every tensor a node or the model's ends name must be an existing layer's node. */
function checkRefs(graph: KerasGraph): void {
  const byName = new Map(graph.layers.map(l => [l.name, l]));
  const check = (ref: TensorRef, where: string) => {
    const layer = byName.get(ref.layer);
    if (layer === undefined) {
      throw new KerasConfigError(`${where} uses the output of a layer '${ref.layer}' that the ` +
                                 'model does not have.');
    }
    const nodes = layer.className === 'InputLayer' ? 1 : layer.nodes.length;
    if (ref.node < 0 || ref.node >= nodes) {
      throw new KerasConfigError(`${where} uses node ${ref.node} of layer '${ref.layer}', which ` +
                                 `has ${nodes} node(s).`);
    }
  };
  for (const layer of graph.layers) {
    layer.nodes.forEach((node, n) => {
      for (const ref of tensorsOf(node)) {
        check(ref, `${layer.where}, node ${n},`);
      }
    });
  }
  graph.inputs.forEach(r => {
    check(r, 'model_config.config.input_layers');
    if (byName.get(r.layer)!.className !== 'InputLayer') {
      throw new KerasConfigError(`model_config.config.input_layers names '${r.layer}', which is ` +
                                 'not an InputLayer.');
    }
  });
  graph.outputs.forEach(r => check(r, 'model_config.config.output_layers'));
}

/** The tensors a node reads, in Keras's order (positional arguments, then kwargs by key). */
export function tensorsOf(node: KerasNode): TensorRef[] {
  const out: TensorRef[] = [];
  const visit = (v: KerasValue) => {
    if (v.kind === 'tensor') {
      out.push(v.ref);
    } else if (v.kind === 'list') {
      v.items.forEach(visit);
    } else if (v.kind === 'dict') {
      Object.keys(v.entries).sort().forEach(k => visit(v.entries[k]!));
    }
  };
  node.args.forEach(visit);
  Object.keys(node.kwargs).sort().forEach(k => visit(node.kwargs[k]!));
  return out;
}

/** A stable key for a tensor reference. */
export function refKey(ref: TensorRef): string {
  return `${ref.layer}:${ref.node}:${ref.index}`;
}
