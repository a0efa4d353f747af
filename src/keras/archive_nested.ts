/**
 * Nested models in a Keras config, inlined: a Functional or Sequential model used as a layer of
 * another becomes its layers, called where the nested model was called, so that the Keras
 * loader (which builds one flat graph) builds it. Keras → Keras: the result is a Keras 3
 * Functional config computing the same, with the same layers and weights.
 *
 * - A Sequential becomes a chain: its first layer takes the call's input, each next layer the
 *   one before's output.
 * - Each call c of a nested model gets its own copy of the nested graph's calls: a layer that
 *   the nested graph calls n times is called n·C times in all, calls c·n … c·n + n − 1 being
 *   those of call c. Its InputLayers are replaced by the call's arguments (in input_layers
 *   order) and its outputs by what its output_layers name.
 * - Keras counts a nested model's calls from 0 in node references, but in output_layers it
 *   counts a nested Functional's built-in node first (so its first call is 1 there).
 * - Layer names stay as they are unless the inlined name is already taken, then they become
 *   `<model>_<layer>` (with `_2`, `_3` … if needed); `names` tells where each went.
 *
 * Masks: Keras hands a nested model the masks of the tensors it is called on, and its layers
 * compute their own; inlined, those tensors feed the layers directly and carry the same masks.
 * A call that passes a mask explicitly (`model(x, mask=m)`) cannot be inlined and is refused.
 */
import {isContainer, KerasObject, layerName} from './h5_layout';

type Dict = Record<string, unknown>;
type Ref = [string, number, number];

/** What {@link inlineNestedModels} returns. */
export interface InlinedModel {
  /** The flat Functional config. */
  config: KerasObject;
  /** Each nested layer's name in the flat config, by its nested path ('inner/dense'). */
  names: Map<string, string>;
}

const isRef = (v: unknown): v is Ref =>
    Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'number' &&
    typeof v[2] === 'number';

const isTensor = (v: unknown): v is Dict =>
    v !== null && typeof v === 'object' && (v as Dict)['class_name'] === '__keras_tensor__';

function historyOf(tensor: Dict): Ref {
  const history = (tensor['config'] as Dict|undefined)?.['keras_history'];
  if (!isRef(history)) {
    throw new Error(`a __keras_tensor__ without a keras_history: ${JSON.stringify(tensor)}`);
  }
  return history;
}

function tensor(ref: Ref, like?: Dict): Dict {
  const config = {...((like?.['config'] as Dict|undefined) ?? {}), keras_history: ref};
  return {class_name: '__keras_tensor__', config};
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** True when `model` has a nested Functional or Sequential anywhere. */
export function hasNestedModels(model: KerasObject): boolean {
  const layers = model.config?.['layers'];
  return Array.isArray(layers) &&
      (layers as KerasObject[]).some(l => isContainer(l) || hasNestedModels(l));
}

/**
 * `model` (a Functional or Sequential config) with its nested models inlined, or null when it
 * has none.
 */
export function inlineNestedModels(model: KerasObject): InlinedModel|null {
  if (!hasNestedModels(model)) {
    return null;
  }
  const config = flatten(asFunctional(model), []);
  const names = new Map<string, string>();
  for (const layer of config.config['layers'] as KerasObject[]) {
    names.set(String(layer[PATH]), layerName(layer));
    delete layer[PATH];
  }
  return {config, names};
}

/** Where an inlined layer was in the nested config ('inner/dense'), while inlining. */
const PATH = '__nested_path__';

/** A Sequential as the Functional it means (a chain from its InputLayer); others as they are. */
function asFunctional(model: KerasObject): KerasObject {
  if (model.class_name !== 'Sequential') {
    return model;
  }
  const name = layerName(model);
  const list = copy(model.config['layers'] as KerasObject[]);
  let input: KerasObject;
  if (list[0]?.class_name === 'InputLayer') {
    input = list.shift()!;
  } else {
    const first = list[0]?.config ?? {};
    const shape = first['batch_shape'] ?? first['batch_input_shape'];
    if (!Array.isArray(shape)) {
      throw new Error(`the Sequential ${name} has no InputLayer and no input shape.`);
    }
    input = {module: 'keras.layers', class_name: 'InputLayer', registered_name: null,
             config: {batch_shape: shape, dtype: first['dtype'] ?? 'float32', name: `${name}_input`}};
  }
  input.name = layerName(input);
  input.inbound_nodes = [];
  let previous: Ref = [input.name, 0, 0];
  const layers = [input];
  for (const layer of list) {
    layer.name = layerName(layer);
    layer.inbound_nodes = [{args: [tensor(previous)], kwargs: {}}];
    layers.push(layer);
    previous = [layer.name, 0, 0];
  }
  return {...model, module: 'keras.src.models.functional', class_name: 'Functional',
          config: {name, trainable: model.config['trainable'] ?? true, layers,
                   input_layers: [input.name, 0, 0], output_layers: previous}};
}

/**
 * The flat Functional of `model` (a Functional config), its nested models inlined; `scope` is
 * the path of nested models it sits in, `used` the names already taken in the flat result.
 */
function flatten(model: KerasObject, scope: string[]): KerasObject {
  const entries = model.config['layers'] as KerasObject[];
  const used = new Set<string>();
  // Nested models first (inside out), as flat templates.
  const nested = new Map<string, KerasObject>();
  for (const entry of entries) {
    if (isContainer(entry)) {
      nested.set(layerName(entry), flatten(asFunctional(entry), [...scope, layerName(entry)]));
    }
  }
  // The names this level keeps: its own layers'.
  const rename = new Map<string, string>();
  const take = (wanted: string, prefix: string): string => {
    let name = wanted;
    for (let k = 1; used.has(name); k++) {
      name = k === 1 ? `${prefix}_${wanted}` : `${prefix}_${wanted}_${k}`;
    }
    used.add(name);
    return name;
  };
  for (const entry of entries) {
    if (!isContainer(entry)) {
      rename.set(layerName(entry), take(layerName(entry), scope.join('_') || 'model'));
    }
  }

  const out: KerasObject[] = [];
  /** Flat entry of each nested model's layer, by nested model and inner name. */
  const inner = new Map<string, Map<string, KerasObject>>();
  /** How many calls each inner layer makes per call of its nested model. */
  const perCall = new Map<string, Map<string, number>>();
  for (const [nestedName, template] of nested) {
    const byName = new Map<string, KerasObject>();
    const counts = new Map<string, number>();
    for (const layer of template.config['layers'] as KerasObject[]) {
      if (layer.class_name === 'InputLayer') {
        continue;
      }
      const own = layerName(layer);
      const flat = take(own, nestedName);
      const entry: KerasObject = {...copy(layer), name: flat, inbound_nodes: []};
      entry.config = {...entry.config, name: flat};
      byName.set(own, entry);
      counts.set(own, (layer.inbound_nodes ?? []).length);
    }
    inner.set(nestedName, byName);
    perCall.set(nestedName, counts);
  }

  /** A reference of this level → the flat graph's tensor (as a __keras_tensor__). */
  const resolve = (ref: Ref, like?: Dict): Dict => {
    const [layer, node, index] = ref;
    const template = nested.get(layer);
    if (template === undefined) {
      return tensor([rename.get(layer) ?? layer, node, index], like);
    }
    const outputs = refsOf(template.config['output_layers']);
    const output = outputs[index];
    if (output === undefined) {
      throw new Error(`a layer uses output ${index} of the nested model ${layer}, which has ` +
                      `${outputs.length}.`);
    }
    return resolveInner(layer, node, output, like);
  };
  /** A reference inside nested model `model`'s template during its call `call`. */
  const resolveInner = (model: string, call: number, ref: Ref, like?: Dict): Dict => {
    const template = nested.get(model)!;
    const [layer, node, index] = ref;
    const inputs = refsOf(template.config['input_layers']).map(r => r[0]);
    const position = inputs.indexOf(layer);
    if (position >= 0) {
      return callArguments(model, call)[position]!;
    }
    const count = perCall.get(model)!.get(layer);
    const entry = inner.get(model)!.get(layer);
    if (count === undefined || entry === undefined) {
      throw new Error(`the nested model ${model} refers to a layer ${layer} it does not list.`);
    }
    return tensor([entry.name!, call * count + node, index], like);
  };
  /** The tensors call `call` of nested model `model` passes to its inputs, resolved. */
  const callArguments = (model: string, call: number): Dict[] => {
    const entry = entries.find(e => layerName(e) === model)!;
    const node = (entry.inbound_nodes ?? [])[call] as {args?: unknown[], kwargs?: Dict}|undefined;
    if (node === undefined) {
      throw new Error(`a layer uses call ${call} of the nested model ${model}, which has ` +
                      `${(entry.inbound_nodes ?? []).length}.`);
    }
    const mask = node.kwargs?.['mask'];
    if (mask !== undefined && mask !== null) {
      throw new Error(`the nested model ${model} is called with an explicit mask, which cannot ` +
                      'be inlined.');
    }
    const flat: Dict[] = [];
    const walk = (v: unknown) => {
      if (isTensor(v)) {
        flat.push(resolve(historyOf(v), v));
      } else if (Array.isArray(v)) {
        v.forEach(walk);
      } else if (v !== null && typeof v === 'object') {
        Object.values(v as Dict).forEach(walk);
      }
    };
    walk(node.args ?? []);
    return flat;
  };
  /** A node's args/kwargs with every tensor mapped by `map`. */
  const remap = (value: unknown, map: (t: Dict) => Dict): unknown => {
    if (isTensor(value)) {
      return map(value);
    }
    if (Array.isArray(value)) {
      return value.map(v => remap(v, map));
    }
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Dict).map(([k, v]) => [k, remap(v, map)]));
    }
    return value;
  };

  for (const entry of entries) {
    const name = layerName(entry);
    const template = nested.get(name);
    if (template === undefined) {
      const flat = rename.get(name)!;
      const nodes = (entry.inbound_nodes ?? []).map(n => remap(n, t => resolve(historyOf(t), t)));
      const copyOf: KerasObject = {...copy(entry), name: flat, inbound_nodes: nodes as unknown[],
                                   [PATH]: [...scope, name].join('/')};
      copyOf.config = {...copyOf.config, name: flat};
      out.push(copyOf);
      continue;
    }
    // Each call of the nested model: its layers' calls, in its template's order.
    const calls = (entry.inbound_nodes ?? []).length;
    for (const layer of template.config['layers'] as KerasObject[]) {
      if (layer.class_name === 'InputLayer') {
        continue;
      }
      const flatEntry = inner.get(name)!.get(layerName(layer))!;
      for (let call = 0; call < calls; call++) {
        for (const node of layer.inbound_nodes ?? []) {
          flatEntry.inbound_nodes!.push(remap(node, t => resolveInner(name, call, historyOf(t), t)));
        }
      }
      out.push(flatEntry);
    }
  }

  const outerRefs = (value: unknown, isOutput: boolean): unknown => {
    const map = (ref: Ref): Ref => {
      // output_layers count a nested Functional's built-in node
      const functional = isOutput && nested.has(ref[0]) &&
          entries.find(e => layerName(e) === ref[0])?.class_name === 'Functional';
      return historyOf(resolve(functional ? [ref[0], ref[1] - 1, ref[2]] : ref));
    };
    return isRef(value) ? map(value) : (value as unknown[]).map(v => map(v as Ref));
  };
  return {
    module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
    config: {name: model.config['name'], trainable: model.config['trainable'] ?? true,
             layers: out, input_layers: outerRefs(model.config['input_layers'], false),
             output_layers: outerRefs(model.config['output_layers'], true)},
  };
}

function refsOf(value: unknown): Ref[] {
  if (isRef(value)) {
    return [value];
  }
  if (Array.isArray(value)) {
    return value.filter(isRef);
  }
  throw new Error(`expected [layer, node, tensor] references, got ${JSON.stringify(value)}`);
}
