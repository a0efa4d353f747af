/**
 * A tfjs model as Keras 3 sees it: its `config.json` (Keras class names, modules and
 * snake_case keys, Keras's node format) and, for every weight, the tfjs variable that holds it
 * and the shape Keras gives it. saveKerasModel writes both; loadKerasWeights reads a weights file
 * into the variables through the same bindings.
 *
 * The config is written for Keras 3.9 and later: only the keys those versions know, each layer
 * in Keras's form, so that `keras.models.load_model` needs no custom objects. A layer class with
 * no Keras equivalent is an error naming the layer and the class, raised before anything is
 * written. What is lost on the way: initializers Keras cannot apply to the weight's shape (the
 * package's rectangular identity on MultiHeadAttention's 3-D kernels) are written as Keras's
 * default for that layer; the weights in the file replace them on load either way.
 *
 * Nodes: tfjs counts a nested model's own node as its node 0, Keras does not (its calls count
 * from 0), and Keras counts only the nodes of the model being saved; output_layers refer to a
 * nested Functional's calls from 1 (Keras's "built-in node"). Layers are listed in Keras's
 * `model.layers` order (h5_layout.ts), which decides where their weights go in the file.
 */
import * as tf from '@tensorflow/tfjs';

import {KerasObject, kerasLayerOrder, kerasWeightSlots} from './h5_layout';
import type {KerasOrigin} from './save_origin';

type Dict = Record<string, unknown>;

/** One weight as Keras has it, bound to where tfjs keeps it. */
export interface WeightBinding {
  /** The Keras layer's name ('/'-joined with its nested models' names) and the weight's. */
  key: string;
  /** Keras's shape (the same values, row-major, as tfjs's variable). */
  kerasShape: number[];
  /** The values in Keras's layout. */
  read(): Float32Array;
  /** Values in Keras's layout → the tfjs variable(s) (a tensor tfjs disposes, or the caller). */
  write(values: Float32Array): void;
  /** The tfjs layer, for errors. */
  layer: string;
}

/** What {@link exportKerasModel} returns. */
export interface KerasExport {
  /** config.json's content. */
  config: KerasObject;
  /** Every weight, by key ('/'-joined scope and Keras weight name, as {@link slotKey} builds). */
  bindings: Map<string, WeightBinding>;
}

/** What an exporter makes of one tfjs layer. */
export interface ExportedLayer {
  className: string;
  module: string;
  config: Dict;
  /** Its weights, by Keras suffix ('kernel', 'query/kernel'), in any order. */
  weights: Array<Omit<WeightBinding, 'key'|'layer'>&{suffix: string}>;
  /**
   * A call of the layer in Keras's node form, from the tfjs node's input tensors (already in
   * Keras's `__keras_tensor__` form). Default: one input as the only argument, several as one
   * list argument (merge layers), no keyword arguments.
   */
  call?: (inputs: Dict[]) => {args: unknown[], kwargs: Dict};
}

/** Turns one tfjs layer (whose class it is registered for) into its Keras form. */
export type LayerExporter = (layer: tf.layers.Layer, ctx: ExportContext) => ExportedLayer;

/** Helpers for exporters. */
export interface ExportContext {
  /** The layer's tfjs config (getConfig()), checked: keys not listed in `known` are an error. */
  config(known: string[]): Dict;
  /** An error about this layer, naming it and its class. */
  error(why: string): Error;
  /** tfjs weight `tfjsName` of the layer, as a binding with the same shape in Keras. */
  weight(tfjsName: string, suffix: string): ExportedLayer['weights'][number];
  /** A tfjs initializer / regularizer / constraint (serialized) in Keras's form. */
  initializer(value: unknown, what: string, kernelRank?: number): Dict|null;
  regularizer(value: unknown, what: string): Dict|null;
  constraint(value: unknown, what: string): Dict|null;
  activation(value: unknown): string;
}

const BASE_KEYS = ['name', 'trainable', 'dtype', 'batchInputShape', 'inputDType'];

/** A weight's key: the Keras layer's scope and name joined with '/'. */
export function slotKey(scope: string[], name: string): string {
  return [...scope, name].join('/');
}

/**
 * The Keras form of `model`. `exporters` adds or replaces exporters by tfjs class name (the
 * package's own layers register theirs; see save.ts).
 */
export function exportKerasModel(model: tf.LayersModel,
                                 exporters: Record<string, LayerExporter> = {},
                                 origin?: KerasOrigin): KerasExport {
  if (origin !== undefined && typeof origin.config['module'] === 'string') {
    return exportOrigin(origin);
  }
  const table = {...BUILTIN_EXPORTERS, ...exporters};
  checkMasks(model);
  const bindings = new Map<string, WeightBinding>();
  const config = exportContainer(model, [], table, bindings);
  return {config: {module: config.module, class_name: config.class_name, config: config.config,
                   registered_name: config.registered_name}, bindings};
}

type Table = Record<string, LayerExporter>;

function isSequential(model: tf.LayersModel): boolean {
  return model.getClassName() === 'Sequential';
}

/** A Keras layer entry, with how its calls are written (exporters may say). */
type ExportedEntry = KerasObject&{call?: ExportedLayer['call']};

/** `scope`: the names of the nested models this one sits in, itself included (none at the top). */
function exportContainer(model: tf.LayersModel, scope: string[], table: Table,
                         bindings: Map<string, WeightBinding>): KerasObject {
  const name = kerasName(model);
  if (isSequential(model)) {
    const input = model.inputs[0]!;
    const layers: Dict[] = [{
      module: 'keras.layers', class_name: 'InputLayer', registered_name: null,
      config: {batch_shape: input.shape, dtype: input.dtype, name: kerasName(input.sourceLayer)},
    }];
    for (const layer of model.layers) {
      const exported = exportLayer(layer, scope, table, bindings);
      layers.push({module: exported.module, class_name: exported.class_name,
                   config: exported.config, registered_name: null});
    }
    return {module: 'keras', class_name: 'Sequential', registered_name: null,
            config: {name, trainable: model.trainable, dtype: dtypePolicy('float32'), layers,
                     build_input_shape: input.shape}};
  }
  const relevant = (model as unknown as {containerNodes: Set<string>}).containerNodes;
  /** tfjs node index → Keras's (only this model's nodes count). */
  const kerasNode = (layer: tf.layers.Layer, tfjsIndex: number): number => {
    let index = 0;
    for (let i = 0; i < tfjsIndex; i++) {
      if (relevant.has(`${layer.name}_ib-${i}`)) {
        index += 1;
      }
    }
    return index;
  };
  const tensor = (t: tf.SymbolicTensor): Dict => ({
    class_name: '__keras_tensor__',
    config: {shape: t.shape, dtype: t.dtype,
             keras_history: [kerasName(t.sourceLayer), kerasNode(t.sourceLayer, t.nodeIndex),
                             t.tensorIndex]},
  });
  const entries: KerasObject[] = [];
  for (const layer of model.layers) {
    const exported: ExportedEntry = layer.getClassName() === 'InputLayer' ? exportInput(layer) :
        exportLayer(layer, scope, table, bindings);
    const inbound: unknown[] = [];
    layer.inboundNodes.forEach((node, i) => {
      if (!relevant.has(`${layer.name}_ib-${i}`) || node.inboundLayers.length === 0) {
        return;
      }
      const inputs = node.inputTensors.map(tensor);
      inbound.push(exported.call?.(inputs) ??
                   {args: inputs.length === 1 ? [inputs[0]] : [inputs], kwargs: {}});
    });
    entries.push({module: exported.module, class_name: exported.class_name, config: exported.config,
                  registered_name: exported.registered_name, name: kerasName(layer),
                  inbound_nodes: inbound});
  }
  const refs = (layers: tf.layers.Layer[], nodes: number[], tensors: number[]) => {
    const list = layers.map((layer, i) => {
      // Keras's output_layers count a nested Functional's built-in node.
      const functional = layer instanceof tf.LayersModel && !isSequential(layer) ? 1 : 0;
      return [kerasName(layer), kerasNode(layer, nodes[i]!) + functional, tensors[i]!];
    });
    return list.length === 1 ? list[0] : list;
  };
  const m = model as unknown as {inputLayersNodeIndices: number[], inputLayersTensorIndices: number[],
                                 outputLayersNodeIndices: number[], outputLayersTensorIndices: number[]};
  const functional: KerasObject = {
    module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
    config: {name, trainable: model.trainable, layers: entries,
             input_layers: refs(model.inputLayers, m.inputLayersNodeIndices, m.inputLayersTensorIndices),
             output_layers: refs(model.outputLayers, m.outputLayersNodeIndices, m.outputLayersTensorIndices)},
  };
  // Keras's own order of the layers: it decides their groups in the weights file.
  functional.config['layers'] = kerasLayerOrder(functional);
  return functional;
}

/** Layers that compute the same in tfjs and Keras when a padding mask reaches them, and pass it on. */
const MASK_PASSING = new Set(['Dense', 'Dropout', 'Activation', 'LayerNormalization', 'LayerNorm',
                              'KerasLayerNormalization', 'KerasRMSNormalization']);
/** Layers that use a padding mask as Keras does and pass none on. */
const MASK_ENDING = new Set(['KerasGlobalAveragePooling1D']);

/**
 * Padding masks (an Embedding or TokenEmbedding with maskZero, a Masking layer) are not written
 * into a Keras file: Keras recomputes them from its own rules, which differ from tfjs's in many
 * layers (tfjs's GlobalAveragePooling1D ignores the mask, Keras's averages over it; SelfAttention
 * gives padded query rows 0, Keras's MultiHeadAttention the average of the values, and it clears
 * its inputs' masks for later layers; tfjs 4.22 combines masks in merge layers its own way). So a
 * mask may only reach layers that compute the same either way; anything else is refused here,
 * naming the layer, rather than written into a file that predicts differently in Keras.
 */
function checkMasks(model: tf.LayersModel): void {
  model.layers.filter(l => l instanceof tf.LayersModel).forEach(m => checkMasks(m as tf.LayersModel));
  const sources = model.layers.filter(l => l.getConfig()['maskZero'] === true ||
                                           l.getClassName() === 'Masking');
  for (const source of sources) {
    const seen = new Set<tf.layers.Layer>([source]);
    const queue = [source];
    while (queue.length > 0) {
      const layer = queue.shift()!;
      for (const node of layer.outboundNodes) {
        const next = node.outboundLayer;
        if (seen.has(next)) {
          continue;
        }
        seen.add(next);
        const className = next.getClassName();
        if (MASK_ENDING.has(className)) {
          continue;
        }
        if (!MASK_PASSING.has(className)) {
          throw new Error(
              `Cannot save the layer ${next.name} (class ${className}) for Keras: the padding mask ` +
              `of ${source.name} (${source.getClassName()} with maskZero) reaches it, and Keras ` +
              'applies masks there differently from tfjs, so the Keras model would predict ' +
              'something else. Build it without maskZero to save it for Keras. (A model that ' +
              'loadKerasModel loaded keeps the Keras graph it came from, masks included, and is ' +
              'saved with it.)');
        }
        queue.push(next);
      }
    }
  }
}

/**
 * Keys that Keras versions after 3.9 added to configs, with their defaults (from the
 * constructors' signatures, 3.9.2 against 3.15.1). Left out when they hold the default, an
 * older Keras loads the config; with another value, only a Keras that knows the key can.
 */
const NEWER_KEYS_DEFAULTS: Record<string, unknown> = {
  quantization_config: null, lora_alpha: null, gptq_unpacked_column_size: null,
  input_axes: null, output_axes: null,      // variance-scaling initializers (3.14)
  use_gate: false, sliding_window: null,    // MultiHeadAttention (3.14, 3.15)
  renorm: false, renorm_clipping: null,     // BatchNormalization
  output_padding: null,                     // Conv*Transpose
  optional: false,                          // InputLayer
};

function withoutNewerDefaults(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutNewerDefaults);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const dict = value as Dict;
  const out: Dict = {};
  for (const [key, v] of Object.entries(dict)) {
    if (key in NEWER_KEYS_DEFAULTS && JSON.stringify(v) === JSON.stringify(NEWER_KEYS_DEFAULTS[key])) {
      continue;
    }
    if (key === 'renorm_momentum' && dict['renorm'] !== true) {
      continue;  // only read with renorm
    }
    out[key] = withoutNewerDefaults(v);
  }
  return out;
}

/**
 * A model loaded from a Keras 3 config (config.json): that config again, without the newer
 * keys that hold defaults, and a binding for each of its weights to the variable that holds it.
 */
function exportOrigin(origin: KerasOrigin): KerasExport {
  const config = withoutNewerDefaults(origin.config) as KerasObject;
  const bindings = new Map<string, WeightBinding>();
  const byLayer = new Map<string, KerasOrigin['weights']>();
  for (const w of origin.weights) {
    byLayer.set(w.kerasLayer, [...(byLayer.get(w.kerasLayer) ?? []), w]);
  }
  const slots = kerasWeightSlots(config);
  for (const slot of slots) {
    const flat = origin.names?.get(slotKey(slot.scope, slot.layer)) ?? slot.layer;
    const candidates = byLayer.get(flat) ?? [];
    const position = slots.filter(s => s.layer === slot.layer && s.scope.join('/') === slot.scope.join('/'))
                         .indexOf(slot);
    const weight = (flat === slot.layer ? candidates.find(w => w.names.includes(slot.name)) : undefined) ??
        candidates.find(w => w.index === position);
    if (weight === undefined) {
      throw new Error(`Cannot save the layer ${slot.layer} (${slot.className}) for Keras: its ` +
                      `weight ${slot.name} has no variable in the loaded model.`);
    }
    const key = slotKey(slot.scope, slot.name);
    const binding = variableBinding(weight.variable, slot.name, weight.variable.shape as number[]);
    bindings.set(key, {key, kerasShape: binding.kerasShape, read: binding.read, write: binding.write,
                       layer: slot.layer});
  }
  return {config, bindings};
}

function exportInput(layer: tf.layers.Layer): KerasObject {
  const c = layer.getConfig();
  const config: Dict = {batch_shape: c['batchInputShape'], dtype: c['dtype'] ?? 'float32',
                        name: kerasName(layer)};
  if (c['sparse'] === true) {
    config['sparse'] = true;
  }
  return {module: 'keras.layers', class_name: 'InputLayer', config, registered_name: null};
}

/** One layer (or a nested model) in Keras's form; its weights go into `bindings`. */
function exportLayer(layer: tf.layers.Layer, scope: string[], table: Table,
                     bindings: Map<string, WeightBinding>): ExportedEntry {
  if (layer instanceof tf.LayersModel) {
    return exportContainer(layer, [...scope, kerasName(layer)], table, bindings);
  }
  const className = layer.getClassName();
  const name = kerasName(layer);
  const exporter = table[className];
  const fail = (why: string) => new Error(`Cannot save the layer ${layer.name} (class ${
      className}) for Keras: ${why}`);
  if (exporter === undefined) {
    throw fail(`Keras has no equivalent of ${className} that this package knows how to write. ` +
               `Layers that can be written: ${Object.keys(table).sort().join(', ')}.`);
  }
  const exported = exporter(layer, makeContext(layer, fail));
  for (const w of exported.weights) {
    const key = slotKey(scope, `${name}/${w.suffix}`);
    if (bindings.has(key)) {
      throw fail(`two weights would be saved as ${key}.`);
    }
    bindings.set(key, {key, kerasShape: w.kerasShape, read: w.read, write: w.write,
                       layer: layer.name});
  }
  const config: Dict = {name, trainable: layer.trainable, dtype: dtypePolicy(floatDtype(layer)),
                        ...exported.config};
  return {module: exported.module, class_name: exported.className, config, registered_name: null,
          call: exported.call};
}

/** A Keras layer name: tfjs allows any string, Keras no '/'. */
function kerasName(layer: tf.layers.Layer): string {
  if (layer.name.includes('/')) {
    throw new Error(`Cannot save the layer ${layer.name} (class ${layer.getClassName()}) for ` +
                    "Keras: Keras layer names cannot hold '/'. Rename the layer.");
  }
  return layer.name;
}

/** Keras layers compute in a float policy; tfjs gives id-taking layers an int32 dtype. */
function floatDtype(layer: tf.layers.Layer): string {
  const dtype = layer.dtype;
  return dtype === 'float32' || dtype === undefined ? 'float32' :
      dtype === 'int32' ? 'float32' : dtype;
}

function dtypePolicy(name: string): Dict {
  return {module: 'keras', class_name: 'DTypePolicy', config: {name}, registered_name: null};
}

function makeContext(layer: tf.layers.Layer, fail: (why: string) => Error): ExportContext {
  return {
    error: fail,
    config(known) {
      const config = layer.getConfig();
      const unknown = Object.keys(config).filter(k => !known.includes(k) && !BASE_KEYS.includes(k));
      if (unknown.length > 0) {
        throw fail(`its config has ${unknown.map(k => `${k}=${JSON.stringify(config[k])}`)
            .join(', ')}, which this package does not know how to write for Keras.`);
      }
      return config;
    },
    weight(tfjsName, suffix) {
      const variable = layer.weights.find(w => w.originalName.split('/').pop() === tfjsName ||
                                               w.originalName.endsWith(`/${tfjsName}`));
      if (variable === undefined) {
        throw fail(`it has no weight ${tfjsName} (it has ${
            layer.weights.map(w => w.originalName).join(', ') || 'none'}); is it built?`);
      }
      return variableBinding(variable as unknown as tf.LayerVariable, suffix, variable.shape as number[]);
    },
    initializer: (v, what, rank) => initializer(v, what, fail, rank),
    regularizer: (v, what) => regularizer(v, what, fail),
    constraint: (v, what) => constraint(v, what, fail),
    activation: v => activation(v, fail),
  };
}

/**
 * A binding to a tfjs variable; `kerasShape` holds the same values row-major (a reshape).
 */
export function variableBinding(variable: tf.LayerVariable, suffix: string,
                                kerasShape: number[]): ExportedLayer['weights'][number] {
  return {
    suffix, kerasShape: [...kerasShape],
    read: () => tf.tidy(() => variable.read().dataSync() as Float32Array).slice(),
    write: values => variable.write(tf.tensor(values, variable.shape as number[], variable.dtype)),
  };
}

// ---- initializers, regularizers, constraints, activations ---------------------------------

const MODES: Record<string, string> = {fanIn: 'fan_in', fanOut: 'fan_out', fanAvg: 'fan_avg'};
const DISTRIBUTIONS: Record<string, string> = {
  normal: 'truncated_normal', truncatedNormal: 'truncated_normal', uniform: 'uniform',
  untruncatedNormal: 'untruncated_normal',
};

function serialized(value: unknown): {className: string, config: Dict}|null {
  if (value == null) {
    return null;
  }
  const v = value as {className?: unknown, config?: unknown};
  if (typeof v.className !== 'string') {
    throw new Error(`not a serialized object: ${JSON.stringify(value)}`);
  }
  return {className: v.className, config: (v.config ?? {}) as Dict};
}

function kerasObject(module: string, className: string, config: Dict): Dict {
  return {module, class_name: className, config, registered_name: null};
}

/**
 * An initializer in Keras's form; null for one that Keras cannot apply to a kernel of
 * `kernelRank` dimensions (the caller then writes Keras's default).
 */
function initializer(value: unknown, what: string, fail: (why: string) => Error,
                     kernelRank = 2): Dict|null {
  const s = serialized(value);
  if (s === null) {
    return null;
  }
  const c = s.config;
  const seed = c['seed'] ?? null;
  const make = (name: string, config: Dict) => kerasObject('keras.initializers', name, config);
  switch (s.className) {
    case 'Zeros':
    case 'Ones':
      return make(s.className, {});
    case 'Constant':
      return make('Constant', {value: c['value']});
    case 'RandomUniform':
      return make('RandomUniform', {minval: c['minval'], maxval: c['maxval'], seed});
    case 'RandomNormal':
    case 'TruncatedNormal':
      return make(s.className, {mean: c['mean'], stddev: c['stddev'], seed});
    case 'VarianceScaling': {
      const mode = MODES[String(c['mode'])];
      const distribution = DISTRIBUTIONS[String(c['distribution'])];
      if (mode === undefined || distribution === undefined) {
        throw fail(`its ${what} VarianceScaling(mode=${String(c['mode'])}, distribution=${
            String(c['distribution'])}) has no Keras form.`);
      }
      return make('VarianceScaling', {scale: c['scale'], mode, distribution, seed});
    }
    case 'Orthogonal':
      return make('Orthogonal', {gain: c['gain'], seed});
    case 'Identity':
    case 'SelfAttentionIdentity':
      return kernelRank === 2 ? make('Identity', {gain: c['gain'] ?? 1}) : null;
    default:
      throw fail(`its ${what} ${s.className} has no Keras form.`);
  }
}

function regularizer(value: unknown, what: string, fail: (why: string) => Error): Dict|null {
  const s = serialized(value);
  if (s === null) {
    return null;
  }
  if (s.className === 'L1L2') {
    return kerasObject('keras.regularizers', 'L1L2', {l1: s.config['l1'] ?? 0,
                                                      l2: s.config['l2'] ?? 0});
  }
  throw fail(`its ${what} ${s.className} has no Keras form.`);
}

function constraint(value: unknown, what: string, fail: (why: string) => Error): Dict|null {
  const s = serialized(value);
  if (s === null) {
    return null;
  }
  const c = s.config;
  switch (s.className) {
    case 'MaxNorm':
      return kerasObject('keras.constraints', 'MaxNorm', {max_value: c['maxValue'], axis: c['axis']});
    case 'UnitNorm':
      return kerasObject('keras.constraints', 'UnitNorm', {axis: c['axis']});
    case 'NonNeg':
      return kerasObject('keras.constraints', 'NonNeg', {});
    case 'MinMaxNorm':
      return kerasObject('keras.constraints', 'MinMaxNorm', {
        min_value: c['minValue'], max_value: c['maxValue'], rate: c['rate'], axis: c['axis']});
    default:
      throw fail(`its ${what} ${s.className} has no Keras form.`);
  }
}

const ACTIVATIONS: Record<string, string> = {
  linear: 'linear', relu: 'relu', relu6: 'relu6', elu: 'elu', selu: 'selu', sigmoid: 'sigmoid',
  hardSigmoid: 'hard_sigmoid', tanh: 'tanh', softmax: 'softmax', logSoftmax: 'log_softmax',
  softplus: 'softplus', softsign: 'softsign', swish: 'silu', mish: 'mish', gelu: 'gelu',
  gelu_new: 'gelu',
};

function activation(value: unknown, fail: (why: string) => Error): string {
  const name = ACTIVATIONS[String(value)];
  if (name === undefined) {
    throw fail(`its activation ${JSON.stringify(value)} has no Keras form.`);
  }
  if (value === 'gelu_new') {
    throw fail("its activation 'gelu_new' (the tanh approximation) has no exact Keras name.");
  }
  return name;
}

// ---- tfjs's own layers -------------------------------------------------------------------------

const keep = (c: Dict, keys: Record<string, string>): Dict =>
    Object.fromEntries(Object.entries(keys).filter(([tfjs]) => tfjs in c).map(([tfjs, keras]) => [keras, c[tfjs]]));

/** Kernel + bias layers: Dense, Conv*. */
function kernelLayer(ctx: ExportContext, c: Dict, rank: number): Dict {
  return {
    activation: ctx.activation(c['activation'] ?? 'linear'),
    use_bias: c['useBias'] ?? true,
    kernel_initializer: ctx.initializer(c['kernelInitializer'], 'kernelInitializer', rank) ??
        kerasObject('keras.initializers', 'GlorotUniform', {seed: null}),
    bias_initializer: ctx.initializer(c['biasInitializer'], 'biasInitializer', 1) ??
        kerasObject('keras.initializers', 'Zeros', {}),
    kernel_regularizer: ctx.regularizer(c['kernelRegularizer'], 'kernelRegularizer'),
    bias_regularizer: ctx.regularizer(c['biasRegularizer'], 'biasRegularizer'),
    activity_regularizer: ctx.regularizer(c['activityRegularizer'], 'activityRegularizer'),
    kernel_constraint: ctx.constraint(c['kernelConstraint'], 'kernelConstraint'),
    bias_constraint: ctx.constraint(c['biasConstraint'], 'biasConstraint'),
  };
}

const KERNEL_KEYS = ['activation', 'useBias', 'kernelInitializer', 'biasInitializer',
                     'kernelRegularizer', 'biasRegularizer', 'activityRegularizer',
                     'kernelConstraint', 'biasConstraint'];

function kernelWeights(ctx: ExportContext, useBias: unknown) {
  return [ctx.weight('kernel', 'kernel'), ...(useBias === false ? [] : [ctx.weight('bias', 'bias')])];
}

const dataFormat = (v: unknown) => v === 'channelsFirst' ? 'channels_first' : 'channels_last';

function conv(rank: 1|2): LayerExporter {
  return (_layer, ctx) => {
    const c = ctx.config(['filters', 'kernelSize', 'strides', 'padding', 'dataFormat',
                          'dilationRate', ...KERNEL_KEYS]);
    if (c['padding'] === 'causal' && rank !== 1) {
      throw ctx.error("padding 'causal' is for 1-D convolutions only.");
    }
    return {
      className: `Conv${rank}D`, module: 'keras.layers', weights: kernelWeights(ctx, c['useBias']),
      config: {filters: c['filters'], kernel_size: c['kernelSize'], strides: c['strides'],
               padding: c['padding'], data_format: dataFormat(c['dataFormat']),
               dilation_rate: c['dilationRate'], groups: 1, ...kernelLayer(ctx, c, rank + 2)},
    };
  };
}

function pooling(className: string): LayerExporter {
  return (_layer, ctx) => {
    const c = ctx.config(['poolSize', 'strides', 'padding', 'dataFormat']);
    return {className, module: 'keras.layers', weights: [],
            config: {pool_size: c['poolSize'], strides: c['strides'], padding: c['padding'],
                     data_format: dataFormat(c['dataFormat'])}};
  };
}

function globalPooling(className: string): LayerExporter {
  return (_layer, ctx) => {
    const c = ctx.config(['dataFormat']);
    return {className, module: 'keras.layers', weights: [],
            config: {data_format: dataFormat(c['dataFormat']), keepdims: false}};
  };
}

function merge(className: string, keys: Record<string, string> = {}): LayerExporter {
  return (_layer, ctx) => {
    const c = ctx.config(Object.keys(keys));
    return {className, module: 'keras.layers', weights: [], config: keep(c, keys)};
  };
}

function noWeights(className: string, keys: Record<string, string> = {}): LayerExporter {
  return merge(className, keys);
}

const BUILTIN_EXPORTERS: Table = {
  Dense: (_layer, ctx) => {
    const c = ctx.config(['units', ...KERNEL_KEYS]);
    return {className: 'Dense', module: 'keras.layers', weights: kernelWeights(ctx, c['useBias']),
            config: {units: c['units'], ...kernelLayer(ctx, c, 2)}};
  },
  Embedding: (_layer, ctx) => {
    const c = ctx.config(['inputDim', 'outputDim', 'embeddingsInitializer', 'embeddingsRegularizer',
                          'activityRegularizer', 'embeddingsConstraint', 'maskZero', 'inputLength']);
    return {
      className: 'Embedding', module: 'keras.layers', weights: [ctx.weight('embeddings', 'embeddings')],
      config: {
        input_dim: c['inputDim'], output_dim: c['outputDim'],
        embeddings_initializer: ctx.initializer(c['embeddingsInitializer'], 'embeddingsInitializer') ??
            kerasObject('keras.initializers', 'RandomUniform', {minval: -0.05, maxval: 0.05, seed: null}),
        embeddings_regularizer: ctx.regularizer(c['embeddingsRegularizer'], 'embeddingsRegularizer'),
        activity_regularizer: ctx.regularizer(c['activityRegularizer'], 'activityRegularizer'),
        embeddings_constraint: ctx.constraint(c['embeddingsConstraint'], 'embeddingsConstraint'),
        mask_zero: c['maskZero'] ?? false,
      },
    };
  },
  LayerNormalization: (_layer, ctx) => {
    const c = ctx.config(['axis', 'epsilon', 'center', 'scale', 'betaInitializer',
                          'gammaInitializer', 'betaRegularizer', 'gammaRegularizer']);
    const weights = [...(c['scale'] === false ? [] : [ctx.weight('gamma', 'gamma')]),
                     ...(c['center'] === false ? [] : [ctx.weight('beta', 'beta')])];
    return {
      className: 'LayerNormalization', module: 'keras.layers', weights,
      config: {
        axis: c['axis'], epsilon: c['epsilon'], center: c['center'] ?? true, scale: c['scale'] ?? true,
        beta_initializer: ctx.initializer(c['betaInitializer'], 'betaInitializer', 1) ??
            kerasObject('keras.initializers', 'Zeros', {}),
        gamma_initializer: ctx.initializer(c['gammaInitializer'], 'gammaInitializer', 1) ??
            kerasObject('keras.initializers', 'Ones', {}),
        beta_regularizer: ctx.regularizer(c['betaRegularizer'], 'betaRegularizer'),
        gamma_regularizer: ctx.regularizer(c['gammaRegularizer'], 'gammaRegularizer'),
        beta_constraint: null, gamma_constraint: null,
      },
    };
  },
  BatchNormalization: (_layer, ctx) => {
    const c = ctx.config(['axis', 'momentum', 'epsilon', 'center', 'scale', 'betaInitializer',
                          'gammaInitializer', 'movingMeanInitializer', 'movingVarianceInitializer',
                          'betaRegularizer', 'gammaRegularizer', 'betaConstraint', 'gammaConstraint']);
    const weights = [...(c['scale'] === false ? [] : [ctx.weight('gamma', 'gamma')]),
                     ...(c['center'] === false ? [] : [ctx.weight('beta', 'beta')]),
                     ctx.weight('moving_mean', 'moving_mean'),
                     ctx.weight('moving_variance', 'moving_variance')];
    const init = (key: string, fallback: string) =>
        ctx.initializer(c[key], key, 1) ?? kerasObject('keras.initializers', fallback, {});
    return {
      className: 'BatchNormalization', module: 'keras.layers', weights,
      config: {
        axis: c['axis'], momentum: c['momentum'], epsilon: c['epsilon'], center: c['center'] ?? true,
        scale: c['scale'] ?? true, beta_initializer: init('betaInitializer', 'Zeros'),
        gamma_initializer: init('gammaInitializer', 'Ones'),
        moving_mean_initializer: init('movingMeanInitializer', 'Zeros'),
        moving_variance_initializer: init('movingVarianceInitializer', 'Ones'),
        beta_regularizer: ctx.regularizer(c['betaRegularizer'], 'betaRegularizer'),
        gamma_regularizer: ctx.regularizer(c['gammaRegularizer'], 'gammaRegularizer'),
        beta_constraint: ctx.constraint(c['betaConstraint'], 'betaConstraint'),
        gamma_constraint: ctx.constraint(c['gammaConstraint'], 'gammaConstraint'),
      },
    };
  },
  Conv1D: conv(1),
  Conv2D: conv(2),
  Dropout: (_layer, ctx) => {
    const c = ctx.config(['rate', 'noiseShape', 'seed']);
    return {className: 'Dropout', module: 'keras.layers', weights: [],
            config: {rate: c['rate'], noise_shape: c['noiseShape'] ?? null, seed: c['seed'] ?? null}};
  },
  Activation: (_layer, ctx) => {
    const c = ctx.config(['activation']);
    return {className: 'Activation', module: 'keras.layers', weights: [],
            config: {activation: ctx.activation(c['activation'])}};
  },
  Softmax: noWeights('Softmax', {axis: 'axis'}),
  ReLU: (_layer, ctx) => {
    const c = ctx.config(['maxValue']);
    return {className: 'ReLU', module: 'keras.layers', weights: [],
            config: {max_value: c['maxValue'] ?? null, negative_slope: 0, threshold: 0}};
  },
  LeakyReLU: (_layer, ctx) => {
    const c = ctx.config(['alpha']);
    return {className: 'LeakyReLU', module: 'keras.layers', weights: [],
            config: {negative_slope: c['alpha'] ?? 0.3}};
  },
  ELU: noWeights('ELU', {alpha: 'alpha'}),
  Flatten: (_layer, ctx) => {
    const c = ctx.config(['dataFormat']);
    return {className: 'Flatten', module: 'keras.layers', weights: [],
            config: {data_format: dataFormat(c['dataFormat'])}};
  },
  Reshape: noWeights('Reshape', {targetShape: 'target_shape'}),
  Permute: noWeights('Permute', {dims: 'dims'}),
  RepeatVector: noWeights('RepeatVector', {n: 'n'}),
  Add: merge('Add'),
  Multiply: merge('Multiply'),
  Average: merge('Average'),
  Maximum: merge('Maximum'),
  Minimum: merge('Minimum'),
  Concatenate: merge('Concatenate', {axis: 'axis'}),
  GlobalAveragePooling1D: globalPooling('GlobalAveragePooling1D'),
  GlobalMaxPooling1D: globalPooling('GlobalMaxPooling1D'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePooling2D'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPooling2D'),
  MaxPooling1D: pooling('MaxPooling1D'),
  AveragePooling1D: pooling('AveragePooling1D'),
  MaxPooling2D: pooling('MaxPooling2D'),
  AveragePooling2D: pooling('AveragePooling2D'),
};

/** Exporters for tfjs's own layers (the package's own are added in save.ts). */
export const BUILTIN_LAYER_EXPORTERS: Readonly<Table> = BUILTIN_EXPORTERS;

/** For exporters of package layers: Keras object helpers. */
export const keras = {object: kerasObject, dtypePolicy};
