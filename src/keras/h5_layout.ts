/**
 * Where Keras 3 keeps each weight in `model.weights.h5` (inside a `.keras` archive, or a
 * standalone `.weights.h5`), computed from the model's Keras config. One walk serves both ways:
 * loading reads the datasets it names, saving writes them.
 *
 * The rules, from Keras's saving_lib (checked against Keras 3.15.1 by the project's fixture
 * script, test/fixtures/keras/layout_facts.json):
 * - A model's layers live under `layers/`, each in a group named after its *class*, not its
 *   name: `snake_case(ClassName)`, with `_1`, `_2`, … for the second, third … layer of that class
 *   in the same container, counted in the order of `model.layers`. That order is Keras's
 *   topological order (`map_graph`: by depth from the inputs, ties by first visit of a depth-first
 *   walk from the outputs); Keras itself lists a Functional's config layers in it, and so does
 *   the saver here. A Functional counts its InputLayers but not `keras.src.ops` operations; a
 *   Sequential does not count its InputLayer.
 * - A layer's own variables are datasets `vars/0`, `vars/1`, … in the layer's creation order
 *   (Dense kernel, bias). Sub-layers kept as attributes have their own groups under the layer:
 *   MultiHeadAttention `query_dense`, `key_dense`, `value_dense`, `output_dense`, `_gate_dense`;
 *   LSTM/GRU/SimpleRNN `cell`; Bidirectional `forward_layer`, `backward_layer`;
 *   TimeDistributed `layer`. A nested Functional or Sequential recurses:
 *   `layers/functional/layers/dense/vars/0`.
 * - Every weight is also given the name tensorflowjs_converter gives it (Keras's variable path
 *   in a loaded model: `<layer>/kernel`, `<mha>/query/kernel`, `<lstm>/lstm_cell/kernel`,
 *   `forward_<lstm>/lstm_cell/kernel`), so a `.keras` file and a converted model.json name the
 *   same weights the same way.
 */

/** A Keras config object: `{class_name, config, module?, …}`. */
export interface KerasObject {
  /** Keras's class name ('Dense', 'Functional', …). */
  class_name: string;
  /** Its constructor arguments, as Keras writes them. */
  config: Record<string, unknown>;
  /** The Python module of the class ('keras.layers'), as Keras 3 writes it. */
  module?: string|undefined;
  /** The layer's name, in a model's list of layers. */
  name?: string|undefined;
  /** The calls of the layer in a functional model, as Keras writes them. */
  inbound_nodes?: unknown[]|undefined;
  [key: string]: unknown;
}

/** One weight of a Keras model in the weights file. */
export interface KerasWeightSlot {
  /** The dataset's path in the weights file, e.g. 'layers/dense/vars/0'. */
  path: string;
  /** The weight's name as tensorflowjs_converter writes it, e.g. 'fc1/kernel'. */
  name: string;
  /** The top-level Keras layer that holds it (its name), for errors. */
  layer: string;
  /** That layer's Keras class. */
  className: string;
  /** The names of the nested models the layer sits in, outermost first ([] at the top). */
  scope: string[];
}

/** Keras's `to_snake_case`: 'MultiHeadAttention' → 'multi_head_attention', 'PReLU' → 'p_re_lu'. */
export function toSnakeCase(name: string): string {
  return name.replace(/\W+/g, '')
      .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .toLowerCase();
}

const CONTAINERS = new Set(['Functional', 'Sequential', 'Model']);

/** True for a nested model inside a model's layer list. */
export function isContainer(layer: KerasObject): boolean {
  return CONTAINERS.has(layer.class_name);
}

/** True for a `keras.src.ops` operation (NotEqual, …): in the graph, not in `model.layers`. */
export function isOperation(layer: KerasObject): boolean {
  return typeof layer.module === 'string' && layer.module.startsWith('keras.src.ops');
}

/**
 * Every weight slot of `model` (a Keras 3 model config, as in config.json), in `model.layers`
 * order and, within a layer, by sub-layer and Keras's variable order. A class missing from the
 * table has no weights here; a file that has some for it fails the caller's check for unused
 * datasets.
 */
export function kerasWeightSlots(model: KerasObject): KerasWeightSlot[] {
  const slots: KerasWeightSlot[] = [];
  walkLayers(model, (layer, path, scope) => {
    const name = layerName(layer);
    for (const slot of layerSlots(layer, name)) {
      slot.names.forEach((weight, i) => slots.push({
        path: `${path}/${slot.group}vars/${i}`, name: weight, layer: name,
        className: layer.class_name, scope,
      }));
    }
  });
  return slots;
}

/**
 * Calls `visit` for every layer of `model` that is not a nested model, with its group's path
 * ('layers/dense', 'layers/functional/layers/dense') and the names of the nested models it is in.
 */
export function walkLayers(model: KerasObject,
                           visit: (layer: KerasObject, path: string, scope: string[]) => void,
                           prefix = '', scope: string[] = []): void {
  for (const {layer, group} of containerLayers(model)) {
    const path = `${prefix}layers/${group}`;
    if (isContainer(layer)) {
      walkLayers(layer, visit, `${path}/`, [...scope, layerName(layer)]);
    } else {
      visit(layer, path, scope);
    }
  }
}

/** The layers of a Functional or Sequential in `model.layers` order, with their h5 groups. */
export function containerLayers(model: KerasObject): Array<{layer: KerasObject, group: string}> {
  const list = layerList(model);
  const ordered = model.class_name === 'Sequential' ?
      list.filter(l => l.class_name !== 'InputLayer') :
      kerasLayerOrder(model).filter(l => !isOperation(l));
  const used = new Map<string, number>();
  return ordered.map(layer => {
    const base = toSnakeCase(layer.class_name);
    const count = used.get(base);
    used.set(base, count === undefined ? 0 : count + 1);
    return {layer, group: count === undefined ? base : `${base}_${count + 1}`};
  });
}

function layerList(model: KerasObject): KerasObject[] {
  const layers = model.config?.['layers'];
  if (!Array.isArray(layers)) {
    throw new Error(`The ${model.class_name} config has no "layers" list.`);
  }
  return layers as KerasObject[];
}

export function layerName(layer: KerasObject): string {
  const name = layer.config?.['name'] ?? layer.name;
  if (typeof name !== 'string') {
    throw new Error(`A ${layer.class_name} layer in the config has no name.`);
  }
  return name;
}

/** A group of datasets under a layer's own group ('' = the layer's own `vars`). */
interface SlotGroup {
  group: string;
  names: string[];
}

type Rule = (config: Record<string, unknown>, name: string) => SlotGroup[];

const own = (name: string, weights: string[]): SlotGroup[] =>
    [{group: '', names: weights.map(w => `${name}/${w}`)}];
const biased = (config: Record<string, unknown>, ...kernels: string[]) =>
    config['use_bias'] === false ? kernels : [...kernels, 'bias'];
const kernelAndBias: Rule = (c, n) => own(n, biased(c, 'kernel'));
const rnn = (cell: string): Rule => (c, n) =>
    [{group: 'cell/', names: biased(c, 'kernel', 'recurrent_kernel').map(w => `${n}/${cell}/${w}`)}];

/** Keras layer class → its weights. Classes not listed have none. */
const RULES: Record<string, Rule> = {
  Dense: kernelAndBias,
  EinsumDense: (c, n) => own(n, c['bias_axes'] == null ? ['kernel'] : ['kernel', 'bias']),
  Embedding: (_, n) => own(n, ['embeddings']),
  LayerNormalization: (c, n) => own(n, [
    ...(c['scale'] === false ? [] : ['gamma']),
    ...(c['center'] === false || c['rms_scaling'] === true ? [] : ['beta']),
  ]),
  RMSNormalization: (_, n) => own(n, ['scale']),
  GroupNormalization: (c, n) => own(n, [...(c['scale'] === false ? [] : ['gamma']),
                                        ...(c['center'] === false ? [] : ['beta'])]),
  BatchNormalization: (c, n) => own(n, [
    ...(c['scale'] === false ? [] : ['gamma']), ...(c['center'] === false ? [] : ['beta']),
    'moving_mean', 'moving_variance',
  ]),
  Conv1D: kernelAndBias, Conv2D: kernelAndBias, Conv3D: kernelAndBias,
  Conv1DTranspose: kernelAndBias, Conv2DTranspose: kernelAndBias, Conv3DTranspose: kernelAndBias,
  DepthwiseConv1D: kernelAndBias, DepthwiseConv2D: kernelAndBias,
  SeparableConv1D: (c, n) => own(n, biased(c, 'depthwise_kernel', 'pointwise_kernel')),
  SeparableConv2D: (c, n) => own(n, biased(c, 'depthwise_kernel', 'pointwise_kernel')),
  PReLU: (_, n) => own(n, ['alpha']),
  MultiHeadAttention: (c, n) => {
    const projections: Array<[string, string]> = [
      ['query_dense', 'query'], ['key_dense', 'key'], ['value_dense', 'value'],
      ['output_dense', 'attention_output'],
      ...(c['use_gate'] === true ? [['_gate_dense', 'gate'] as [string, string]] : []),
    ];
    return projections.map(([group, weight]) => ({
      group: `${group}/`, names: biased(c, 'kernel').map(w => `${n}/${weight}/${w}`),
    }));
  },
  LSTM: rnn('lstm_cell'),
  GRU: rnn('gru_cell'),
  SimpleRNN: rnn('simple_rnn_cell'),
  Bidirectional: (c, n) => {
    const forward = wrapped(c['layer'], n, 'layer');
    const name = layerName(forward);
    const inner = (layer: KerasObject, innerName: string, group: string) =>
        layerSlots(layer, innerName).map(s => ({group: group + s.group, names: s.names}));
    // Keras names its copies forward_<name> and backward_<name>, prefixes not repeated; a
    // backward_layer given in the config keeps its own name.
    const strip = (prefix: string) => name.startsWith(prefix) ? name.slice(prefix.length) : name;
    const backward = c['backward_layer'] == null ? null : wrapped(c['backward_layer'], n, 'backward_layer');
    return [
      ...inner(backward ?? forward, backward === null ? `backward_${strip('backward_')}` :
                                                        layerName(backward), 'backward_layer/'),
      ...inner(forward, `forward_${strip('forward_')}`, 'forward_layer/'),
    ];
  },
  TimeDistributed: (c, n) => {
    const inner = wrapped(c['layer'], n, 'layer');
    return layerSlots(inner, layerName(inner)).map(s => ({group: 'layer/' + s.group, names: s.names}));
  },
};

/** The layer classes whose weight layout is known (for error messages and tests). */
export const LAYERS_WITH_WEIGHTS = Object.keys(RULES);

function wrapped(value: unknown, owner: string, key: string): KerasObject {
  if (value === null || typeof value !== 'object' || typeof (value as KerasObject).class_name !== 'string') {
    throw new Error(`The layer ${owner} has no "${key}" config to take its weights from.`);
  }
  return value as KerasObject;
}

function layerSlots(layer: KerasObject, name: string): SlotGroup[] {
  const rule = RULES[layer.class_name];
  return rule === undefined ? [] : rule(layer.config ?? {}, name);
}

// ---- Keras's layer order (keras/src/ops/function.py, map_graph) -------------------------------

interface GraphNode {
  layer: KerasObject;
  key: string;
  isInput: boolean;
  /** The nodes that made its input tensors, in Keras's flattening order. */
  parents: Array<[string, number]>;
}

/**
 * The layers (and operations) of a Functional config in Keras's `model.operations` order: by
 * depth from the outputs, deepest (the inputs) first; within a depth, in the order a depth-first
 * walk from the outputs first reaches them. Inputs that no output uses come with depth 0.
 */
export function kerasLayerOrder(model: KerasObject): KerasObject[] {
  const layers = layerList(model);
  const byName = new Map<string, KerasObject>();
  for (const layer of layers) {
    byName.set(layerName(layer), layer);
  }
  const node = (name: string, index: number): GraphNode => {
    const layer = byName.get(name);
    if (layer === undefined) {
      throw new Error(`The ${model.class_name} config ${String(model.config['name'])} refers to ` +
                      `a layer ${JSON.stringify(name)} it does not list.`);
    }
    const nodes = layer.inbound_nodes ?? [];
    if (layer.class_name === 'InputLayer' && nodes.length === 0 && index === 0) {
      return {layer, key: `${name}:0`, isInput: true, parents: []};
    }
    const data = nodes[index];
    if (data === undefined) {
      throw new Error(`The ${model.class_name} config refers to call ${index} of the layer ` +
                      `${name}, which has ${nodes.length}.`);
    }
    return {layer, key: `${name}:${index}`, isInput: false, parents: nodeInputs(data)};
  };

  // _build_map: depth-first from each output, nodes appended once finished.
  const finished = new Set<string>();
  const inProgress = new Set<string>();
  const ordered: GraphNode[] = [];
  const visitIndex = new Map<KerasObject, number>();
  const visit = ([name, index]: [string, number]) => {
    const n = node(name, index);
    if (finished.has(n.key)) {
      return;
    }
    if (inProgress.has(n.key)) {
      throw new Error(`The model's graph has a cycle through the layer ${name}.`);
    }
    if (!visitIndex.has(n.layer)) {
      visitIndex.set(n.layer, visitIndex.size);
    }
    inProgress.add(n.key);
    n.parents.forEach(visit);
    finished.add(n.key);
    inProgress.delete(n.key);
    ordered.push(n);
  };
  const outputs = tensorRefs(model.config['output_layers'], byName);
  outputs.forEach(visit);

  // map_graph: depths from the outputs back.
  const nodeDepth = new Map<string, number>();
  const layerDepth = new Map<KerasObject, number>();
  for (const n of [...ordered].reverse()) {
    let depth = nodeDepth.get(n.key) ?? 0;
    depth = Math.max(depth, layerDepth.get(n.layer) ?? 0);
    layerDepth.set(n.layer, depth);
    nodeDepth.set(n.key, depth);
    for (const [name, index] of n.parents) {
      const key = `${name}:${index}`;
      if (finished.has(key)) {
        nodeDepth.set(key, Math.max(depth + 1, nodeDepth.get(key) ?? 0));
      }
    }
  }
  for (const [name] of tensorRefs(model.config['input_layers'], byName)) {
    const layer = byName.get(name)!;
    if (!layerDepth.has(layer)) {
      layerDepth.set(layer, 0);
      visitIndex.set(layer, -1);
    }
  }
  const depths = [...new Set(layerDepth.values())].sort((a, b) => b - a);
  const result: KerasObject[] = [];
  for (const depth of depths) {
    const atDepth = [...layerDepth].filter(([, d]) => d === depth).map(([l]) => l);
    atDepth.sort((a, b) => visitIndex.get(a)! - visitIndex.get(b)!);  // stable
    result.push(...atDepth);
  }
  return result;
}

/** `[name, node, tensor]` references of input_layers / output_layers (one, or a nest of them). */
function tensorRefs(value: unknown, byName: Map<string, KerasObject>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'number') {
      // Keras counts a nested Functional's built-in node in these references (and only here).
      const functional = byName.get(v[0])?.class_name === 'Functional';
      out.push([v[0], functional ? v[1] - 1 : v[1]]);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v !== null && typeof v === 'object') {
      Object.values(v as Record<string, unknown>).forEach(walk);
    }
  };
  walk(value);
  return out;
}

/**
 * The producing nodes of a node's input tensors: Keras 3 `{args, kwargs}` (tensors are
 * `__keras_tensor__` objects; kwargs flattened in sorted key order, as Keras's tree does), or
 * the legacy list `[[name, node, tensor, kwargs?], …]`.
 */
function nodeInputs(data: unknown): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  if (Array.isArray(data)) {
    for (const entry of data) {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number') {
        out.push([entry[0], entry[1]]);
      }
    }
    return out;
  }
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v !== null && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      if (obj['class_name'] === '__keras_tensor__') {
        const history = (obj['config'] as Record<string, unknown>|undefined)?.['keras_history'];
        if (Array.isArray(history) && typeof history[0] === 'string' &&
            typeof history[1] === 'number') {
          out.push([history[0], history[1]]);
        }
        return;
      }
      if (obj['class_name'] !== undefined && 'config' in obj) {
        return;  // another serialized object (an inlined constant): not a graph edge
      }
      for (const key of Object.keys(obj).sort()) {
        walk(obj[key]);
      }
    }
  };
  const node = data as {args?: unknown, kwargs?: unknown};
  walk(node.args ?? []);
  walk(node.kwargs ?? {});
  return out;
}
