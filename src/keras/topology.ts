/**
 * A Keras model config (Keras 2 or 3) → the tfjs model that computes what Keras computes.
 *
 * API (for every loader of Keras files: the converter's model.json here, `.keras` archives and
 * HDF5 weights in src/keras/archive*.ts / h5*.ts):
 *
 *   planKerasModel(modelConfig, {source?, kerasVersion?}) → KerasModelPlan
 *       Pure: reads the `model_config` JSON (`{class_name, config}`; Functional or Sequential,
 *       any of Keras's three forms, see config.ts), checks everything, and returns the tfjs
 *       layers and calls to make. Throws one KerasUnsupportedError listing every unsupported
 *       class, function or argument with the layers using it, or a KerasConfigError for a
 *       malformed config; creates no tensor or variable.
 *   buildKerasModel(plan) → {model: tf.LayersModel, weights: KerasWeight[]}
 *       Creates the model (build.ts). `weights` lists every weight of the Keras model in
 *       Keras's order (layers in config order, each layer's weights as `layer.weights` orders
 *       them), each with its converter name(s) and the tfjs variable it is; a loader matches its
 *       file's weights to these and writes them (weights.ts does it for converter names).
 *       On failure it disposes what it created.
 *
 * What the plan does that tfjs's own `modelFromJSON` cannot:
 * - reads Keras 3's topology (`batch_shape`, `{args, kwargs}` nodes, keyword tensors,
 *   `DTypePolicy`, `module`/`registered_name` objects, op layers with inlined constants) and
 *   tf.keras 2's node kwargs (`{"value": ["x", 0, 0]}`);
 * - computes masks as Keras does and makes them explicit tensors of the graph (below);
 * - runs each Keras call whose arguments tfjs's executor cannot pass (a tensor listed twice,
 *   keyword tensors, constant call arguments, masks) through a KerasCall layer (see
 *   layers/keras_call.ts for the tfjs 4.22 executor problems this avoids).
 *
 * Masks. Keras attaches a mask to tensors at run time and every layer call reads and sets them
 * (keras/src/layers/layer.py `__call__`); trained weights learned under those masks, so this
 * module replays that bookkeeping on the graph, in the order Keras runs the nodes (its
 * `map_graph` depth order, ported below), and wires each mask a layer would see into that layer:
 * - a layer whose `call` takes `mask` (pooling, recurrent layers) gets the node's `mask`
 *   argument when the file has one (Keras 3 writes it, computed by the `NotEqual`/`LogicalOr` op
 *   layers in the file), else the mask its input carries;
 * - Keras 3's MultiHeadAttention reads its query's, value's and key's masks, then *clears* them
 *   on those tensors (so in `mha(h, h)` + `Add([h, mha])` the residual has no mask any more, and
 *   a second block runs unmasked), and its output carries the query's mask; tf.keras 2's leaves
 *   them;
 * - Keras 3's merge layers OR their inputs' masks and give none when one input has none;
 *   tf.keras 2's AND the masks there are;
 * - Embedding(mask_zero) gives `input != 0`; Dense, LayerNormalization, Dropout, Activation,
 *   BatchNormalization and recurrent layers with return_sequences pass their input's mask on;
 *   Dropout (and its kind) return their input tensor itself at inference, so clearing one's mask
 *   clears the other's; layers that do not support masking drop it.
 * No mask travels through tfjs's own mask mechanism: every layer's mask is an input.
 */
import * as tf from '@tensorflow/tfjs';

import {isDict, KerasConfigError, KerasGraph, KerasLayer, KerasNode, KerasValue,
        readKerasConfig, refKey, TensorRef, tensorsOf} from './config';
import {CallArg} from './layers/keras_call';
import {OpArg} from './layers/keras_op';
import {inputDtype} from './objects';
import {Problems} from './problems';
import {RuleContext, Translation, translateLayer} from './rules';

type ConfigDict = tf.serialization.ConfigDict;
type Shape = Array<number|null>;

/** A tfjs layer the plan creates. */
export interface PlanLayer {
  /** Its name in the tfjs model (the Keras layer's name; `<name>_mask`... for added ones). */
  name: string;
  /** The tfjs class to create (a tfjs layer, or one of the package's Keras-compatible ones). */
  className: string;
  /** Its config, in tfjs's form, as `fromConfig` takes it. */
  config: ConfigDict;
  /** The Keras layer it runs, when it runs one. */
  kerasLayer?: string;
}

/** One application of a plan layer to tensors of the graph. */
export interface PlanNode {
  /** The {@link PlanLayer.name} of the layer applied. */
  layer: string;
  /** Ids of the tensors it takes, in order. */
  inputs: string[];
  /** Ids of the tensors it makes. */
  outputs: string[];
}

/** One weight of the Keras model. */
export interface PlanWeight {
  /** The Keras layer it belongs to. */
  kerasLayer: string;
  /** Its names as a converter writes them (the first is the one Keras 3 writes). */
  names: string[];
  /** Its position among the Keras layer's weights. */
  index: number;
  /** The plan layer holding it. */
  layer: string;
  /** Its position in that layer's `weights`. */
  layerIndex: number;
}

/** What {@link buildKerasModel} makes: the tfjs layers, their calls, inputs and outputs. */
export interface KerasModelPlan {
  /** The Keras model's name. */
  name: string;
  /** Which Keras wrote the config: 2 (tf.keras) or 3. */
  kerasVersion: 2|3;
  /** The model's inputs, in Keras's order. */
  inputs: Array<{
    /** The Keras input layer's name. */
    name: string,
    /** The tensor's id in the plan's graph (what {@link PlanNode.inputs} name). */
    id: string,
    /** `[batch, ...]`, null for a size not fixed. */
    batchShape: Shape,
    /** The input's dtype. */
    dtype: tf.DataType,
  }>;
  /** The tfjs layers to create, each once. */
  layers: PlanLayer[];
  /** The calls of those layers, in an order where every input exists before it is used. */
  nodes: PlanNode[];
  /** Ids of the tensors that are the model's outputs, in Keras's order. */
  outputs: string[];
  /** Every weight of the Keras model, in Keras's order, with the plan layer that holds it. */
  weights: PlanWeight[];
  /** The Keras layers that have weights, in config order, with how many. */
  weightedLayers: Array<{
    /** The Keras layer's name. */
    name: string,
    /** Its Keras class. */
    className: string,
    /** How many weights it has. */
    count: number,
  }>;
}

/** Options of {@link planKerasModel}. */
export interface PlanOptions {
  /** What the config came from, for messages (a file path or URL). Default 'the Keras model'. */
  source?: string|undefined;
  /** The file's `keras_version` ('3.15.1', '2.15.0'), when the config does not show it. */
  kerasVersion?: string|undefined;
}

/** A mask as Keras would hold it: a tensor of the graph, or arithmetic on such tensors. */
type Mask =
    {kind: 'tensor', id: string}|
    {kind: 'notZero', of: string}|
    {kind: 'or', a: Mask, b: Mask}|
    {kind: 'and', a: Mask, b: Mask}|
    {kind: 'concat', parts: Array<{x: string, m: Mask|null}>, axis: number, any: boolean};

/** A tensor at run time: its id in the tfjs graph, and the Python object it is in Keras. */
interface Value {
  id: string;
  object: number;
}

/**
 * Reads and checks a Keras model config and plans the tfjs model (see the module comment).
 *
 * ```js
 * const plan = planKerasModel(modelJson.modelTopology.model_config, {source: 'model.json'});
 * const {model, weights} = await buildKerasModel(plan);
 * ```
 */
export function planKerasModel(modelConfig: unknown, options: PlanOptions = {}): KerasModelPlan {
  const source = options.source ?? 'the Keras model';
  let graph: KerasGraph;
  try {
    graph = readKerasConfig(modelConfig, options.kerasVersion);
  } catch (e) {
    if (e instanceof KerasConfigError) {
      throw new KerasConfigError(`${source}: ${e.message}`);
    }
    throw e;
  }
  return new Planner(graph, source).plan();
}

/** The order in which Keras 3 runs the nodes (keras/src/ops/function.py `map_graph`). */
export function executionOrder(graph: KerasGraph): Array<{layer: KerasLayer, index: number}> {
  const byName = new Map(graph.layers.map(l => [l.name, l]));
  const key = (layer: string, index: number) => `${layer}#${index}`;
  const isInput = (layer: string) => byName.get(layer)!.className === 'InputLayer';
  const parents = (layer: string, index: number): string[] =>
      isInput(layer) ? [] : tensorsOf(byName.get(layer)!.nodes[index]!).map(r => key(r.layer, r.node));
  // _build_map: depth-first from each output, nodes listed inputs first
  const finished = new Set<string>();
  const inProgress = new Set<string>();
  const ordered: string[] = [];
  const visit = (layer: string, index: number) => {
    const k = key(layer, index);
    if (finished.has(k)) {
      return;
    }
    if (inProgress.has(k)) {
      throw new KerasConfigError(`layer '${layer}' is part of a cycle`);
    }
    inProgress.add(k);
    if (!isInput(layer)) {
      for (const ref of tensorsOf(byName.get(layer)!.nodes[index]!)) {
        visit(ref.layer, ref.node);
      }
    }
    finished.add(k);
    inProgress.delete(k);
    ordered.push(k);
  };
  for (const out of graph.outputs) {
    visit(out.layer, out.node);
  }
  // depths: outputs 0, parents deeper; a layer's nodes share its greatest depth so far
  const inGraph = new Set(ordered);
  const nodeDepth = new Map<string, number>();
  const layerDepth = new Map<string, number>();
  for (const k of [...ordered].reverse()) {
    const [layer, index] = splitKey(k);
    if (!nodeDepth.has(k)) {
      nodeDepth.set(k, 0);
    }
    const depth = Math.max(nodeDepth.get(k)!, layerDepth.get(layer) ?? 0);
    layerDepth.set(layer, depth);
    nodeDepth.set(k, depth);
    for (const dep of parents(layer, index)) {
      if (inGraph.has(dep)) {
        nodeDepth.set(dep, Math.max(depth + 1, nodeDepth.get(dep) ?? 0));
      }
    }
  }
  const byDepth = new Map<number, string[]>();
  for (const [k, depth] of nodeDepth) {
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), k]);
  }
  const order: Array<{layer: KerasLayer, index: number}> = [];
  for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
    for (const k of byDepth.get(depth)!) {
      const [layer, index] = splitKey(k);
      order.push({layer: byName.get(layer)!, index});
    }
  }
  return order;
}

function splitKey(k: string): [string, number] {
  const at = k.lastIndexOf('#');
  return [k.slice(0, at), parseInt(k.slice(at + 1), 10)];
}

class Planner {
  private readonly version: 2|3;
  private readonly problems = new Problems();
  private readonly layers: PlanLayer[] = [];
  private readonly nodes: PlanNode[] = [];
  private readonly weights: PlanWeight[] = [];
  private readonly inputs: KerasModelPlan['inputs'] = [];
  /** Keras tensor (refKey) → its value. */
  private readonly values = new Map<string, Value>();
  /** Run-time masks, by Python object. */
  private readonly masks = new Map<number, Mask|null>();
  private readonly translations = new Map<string, Translation|null>();
  /** Keras layer → the plan layer running it and the shape of its calls (for shared layers). */
  private readonly calls = new Map<string, {layer: string, signature: string}>();
  private readonly materialized = new Map<Mask, string>();
  private readonly names: Set<string>;
  private nextTensor = 0;
  private nextObject = 0;
  private current = '';

  constructor(private readonly graph: KerasGraph, private readonly source: string) {
    this.version = graph.kerasVersion;
    this.names = new Set(graph.layers.map(l => l.name));
  }

  private report(what: string, layer = this.current): void {
    this.problems.add(what, layer);
  }

  private context(layer: KerasLayer): RuleContext {
    return {version: this.version, report: what => this.report(what, layer.name)};
  }

  private translation(layer: KerasLayer): Translation|null {
    if (!this.translations.has(layer.name)) {
      this.translations.set(layer.name, translateLayer(layer, this.context(layer)));
    }
    return this.translations.get(layer.name)!;
  }

  plan(): KerasModelPlan {
    // Every layer's config is checked, used or not, so that one error lists everything.
    for (const layer of this.graph.layers) {
      this.current = layer.name;
      this.translation(layer);
      if (layer.className !== 'InputLayer' && layer.nodes.length === 0) {
        this.report(`a layer that is not called (it has no inbound nodes)`);
      }
    }
    for (const layer of this.graph.layers.filter(l => l.className === 'InputLayer')) {
      this.addInput(layer);
    }
    for (const {layer, index} of executionOrder(this.graph)) {
      if (layer.className === 'InputLayer') {
        continue;
      }
      this.current = layer.name;
      this.runNode(layer, index, layer.nodes[index]!);
    }
    this.problems.throwIfAny(this.source);
    const outputs = this.graph.outputs.map(ref => this.value(ref).id);
    return {
      name: this.graph.name,
      kerasVersion: this.version,
      inputs: this.graph.inputs.map(r => this.inputs.find(i => i.name === r.layer)!),
      layers: this.layers,
      nodes: this.nodes,
      outputs,
      weights: this.weights,
      weightedLayers: this.graph.layers
          .filter(l => (this.translations.get(l.name)?.weights.length ?? 0) > 0)
          .map(l => ({name: l.name, className: l.className,
                      count: this.translations.get(l.name)!.weights.length})),
    };
  }

  private addInput(layer: KerasLayer): void {
    this.current = layer.name;
    const c = layer.config;
    let shape = c['batch_shape'] ?? c['batch_input_shape'];
    if (shape === undefined && Array.isArray(c['shape'])) {
      shape = [null, ...(c['shape'] as unknown[])];
    }
    if (!Array.isArray(shape) || !shape.every(d => d === null || Number.isInteger(d))) {
      this.report(`InputLayer without a batch_shape (or batch_input_shape)`);
      shape = [null];
    }
    const dtype = inputDtype(c['dtype'], what => this.report(what));
    const id = this.newTensor();
    this.inputs.push({name: layer.name, id, batchShape: shape as Shape, dtype});
    this.values.set(refKey({layer: layer.name, node: 0, index: 0}), {id, object: this.nextObject++});
  }

  private newTensor(): string {
    return `t${this.nextTensor++}`;
  }

  private value(ref: TensorRef): Value {
    const v = this.values.get(refKey(ref));
    if (v === undefined) {
      // an output index the layer does not have, or the layer failed to translate
      const id = this.newTensor();
      const made = {id, object: this.nextObject++};
      this.values.set(refKey(ref), made);
      return made;
    }
    return v;
  }

  private maskOf(v: Value): Mask|null {
    return this.masks.get(v.object) ?? null;
  }

  /** A unique name for an added layer (masks, zeroing). */
  private addedName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) {
      name = `${base}_${i}`;
    }
    this.names.add(name);
    return name;
  }

  /** The tensor id of a mask, adding the op layers that compute it once. */
  private materialize(mask: Mask, owner: string): string {
    if (mask.kind === 'tensor') {
      return mask.id;
    }
    const done = this.materialized.get(mask);
    if (done !== undefined) {
      return done;
    }
    let id: string;
    if (mask.kind === 'notZero') {
      id = this.op(`${owner}_mask`, {op: 'notEqual', args: [{input: 0}, {value: 0}]}, [mask.of]);
    } else if (mask.kind === 'or' || mask.kind === 'and') {
      const a = this.materialize(mask.a, owner);
      const b = this.materialize(mask.b, owner);
      id = a === b ? a :
          this.op(`${owner}_mask`, {op: mask.kind === 'or' ? 'logicalOr' : 'logicalAnd'}, [a, b]);
    } else {
      const inputs: string[] = [];
      const args: OpArg[] = [];
      for (const part of mask.parts) {
        inputs.push(part.x);
        args.push({input: inputs.length - 1});
        if (part.m === null) {
          args.push({value: null});
        } else {
          inputs.push(this.materialize(part.m, owner));
          args.push({input: inputs.length - 1});
        }
      }
      id = this.op(`${owner}_mask`, {op: mask.any ? 'concatMaskAny' : 'concatMaskAll', args,
                                     axis: mask.axis}, inputs);
    }
    this.materialized.set(mask, id);
    return id;
  }

  /** Adds a KerasOp layer applied to `inputs` (deduplicated); returns its output. */
  private op(name: string, config: ConfigDict, inputs: string[]): string {
    const unique = [...new Set(inputs)];
    const remap = (a: OpArg): OpArg => ('input' in a ? {input: unique.indexOf(inputs[a.input]!)} :
                                        'list' in a ? {list: a.list.map(remap)} : a);
    const args = ((config['args'] as OpArg[]|undefined) ?? inputs.map((_, i) => ({input: i})))
        .map(remap);
    const layerName = this.addedName(name);
    this.layers.push({name: layerName, className: 'KerasOp',
                      config: {...config, name: layerName, args: args as unknown as ConfigDict[]}});
    const out = this.newTensor();
    this.nodes.push({layer: layerName, inputs: unique, outputs: [out]});
    return out;
  }

  private runNode(layer: KerasLayer, index: number, node: KerasNode): void {
    const t = this.translation(layer);
    if (t === null) {
      return;  // reported; downstream references get placeholder values
    }
    switch (t.call) {
      case 'op':
        return this.runOp(layer, index, node, t);
      case 'attention':
        return this.runAttention(layer, index, node, t);
      default:
        return this.runLayer(layer, index, node, t);
    }
  }

  /** The tensors of a positional/keyword argument, or null when it holds something else. */
  private tensors(v: KerasValue|undefined): Value[]|null {
    if (v === undefined) {
      return null;
    }
    if (v.kind === 'tensor') {
      return [this.value(v.ref)];
    }
    if (v.kind === 'list' && v.items.every(i => i.kind === 'tensor')) {
      return v.items.map(i => this.value((i as {ref: TensorRef}).ref));
    }
    return null;
  }

  private isNull(v: KerasValue|undefined): boolean {
    return v === undefined || (v.kind === 'literal' && v.value === null);
  }

  private runLayer(layer: KerasLayer, index: number, node: KerasNode, t: Translation): void {
    const [firstArg, ...rest] = node.args;
    const first = this.tensors(firstArg);
    if (first === null) {
      this.report(`a call whose first argument is not a tensor`);
      return;
    }
    if (t.call === 'single' && first.length !== 1) {
      this.report(`a call with a list of ${first.length} tensors`);
      return;
    }
    if (rest.length > 0) {
      this.report(`${layer.className} called with ${rest.length + 1} positional arguments`);
    }
    let explicitMask: Mask|null = null;
    for (const [key, value] of Object.entries(node.kwargs)) {
      if (key === 'training') {
        continue;  // predict/fit set training for every layer, over what the node recorded
      }
      if (key === 'mask' && t.consumesMask) {
        if (!this.isNull(value)) {
          const m = this.tensors(value);
          if (m === null || m.length !== 1) {
            this.report(`${layer.className} mask argument that is not one tensor`);
          } else {
            explicitMask = {kind: 'tensor', id: m[0]!.id};
          }
        }
        continue;
      }
      if (key === 'mask' && this.isNull(value)) {
        continue;
      }
      if ((key === 'initial_state' || key === 'constants') && this.isNull(value)) {
        continue;
      }
      this.report(`${layer.className} call argument '${key}'`);
    }
    // The mask the layer sees and the one its output inherits ("previous_mask").
    const inputMasks = first.map(v => this.maskOf(v));
    const mask = explicitMask ?? (first.length === 1 ? inputMasks[0]! : null);
    if (t.consumesMask && mask !== null && t.className === 'BatchNormalization') {
      this.report(`BatchNormalization receiving a mask (tfjs's cannot mask its statistics)`);
    }
    const kwargs: Record<string, string> = {};
    if (t.consumesMask && mask !== null) {
      kwargs['mask'] = this.materialize(mask, layer.name);
    }
    let inputIds = first.map(v => v.id);
    if (t.padStepsBefore) {
      inputIds = [this.op(`${layer.name}_causal_padding`,
                          {op: 'pad', paddings: [[0, 0], [t.padStepsBefore, 0], [0, 0]]}, inputIds)];
    }
    const outputs = this.call(layer, t, inputIds, t.call === 'list', kwargs);
    // zero_output_for_mask: masked steps of the sequence output are 0
    if (t.zeroMaskedSteps && kwargs['mask'] !== undefined) {
      outputs[0] = this.op(`${layer.name}_zero_masked`, {op: 'zeroMasked'},
                           [outputs[0]!, kwargs['mask']]);
    }
    const values = outputs.map((id, i) => {
      const alias = t.alias && i === 0 && first.length === 1;
      return {id, object: alias ? first[0]!.object : this.nextObject++};
    });
    values.forEach((v, i) => this.values.set(refKey({layer: layer.name, node: index, index: i}), v));
    // The output's mask.
    const out = values[0]!;
    if (this.masks.get(out.object) != null) {
      return;  // Keras keeps a mask the output already has (an alias of its input)
    }
    let outMask: Mask|null = null;
    switch (t.outputMask) {
      case 'pass':
        outMask = mask;
        break;
      case 'embedding':
        outMask = {kind: 'notZero', of: first[0]!.id};
        break;
      case 'merge':
        outMask = this.mergeMasks(explicitMask === null ? inputMasks : [explicitMask]);
        break;
      case 'concat':
        outMask = inputMasks.every(m => m === null) ? null :
            {kind: 'concat', parts: first.map((v, i) => ({x: v.id, m: inputMasks[i]!})),
             axis: (t.config['axis'] as number|undefined) ?? -1, any: this.version === 3};
        break;
      default:
        break;
    }
    if (outMask !== null) {
      this.masks.set(out.object, outMask);
    }
  }

  private mergeMasks(masks: Array<Mask|null>): Mask|null {
    if (this.version === 3) {
      if (masks.some(m => m === null)) {
        return null;
      }
      return masks.slice(1).reduce<Mask>((a, b) => ({kind: 'or', a, b: b!}), masks[0]!);
    }
    const present = masks.filter((m): m is Mask => m !== null);
    return present.length === 0 ? null :
        present.slice(1).reduce<Mask>((a, b) => ({kind: 'and', a, b}), present[0]!);
  }

  private runAttention(layer: KerasLayer, index: number, node: KerasNode, t: Translation): void {
    // call(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    //      attention_mask=None, return_attention_scores=False, training=None,
    //      use_causal_mask=False)
    const names = ['query', 'value', 'key', 'query_mask', 'value_mask', 'key_mask',
                   'attention_mask', 'return_attention_scores', 'training', 'use_causal_mask'];
    const args: Record<string, KerasValue> = {};
    node.args.forEach((a, i) => {
      if (i < names.length) {
        args[names[i]!] = a;
      } else {
        this.report(`MultiHeadAttention called with ${node.args.length} positional arguments`);
      }
    });
    // tf.keras 2 writes the first argument as the node's tensor and the rest as kwargs
    for (const [key, value] of Object.entries(node.kwargs)) {
      if (key in args) {
        this.report(`MultiHeadAttention argument '${key}' given twice`);
      }
      if (!names.includes(key)) {
        this.report(`MultiHeadAttention call argument '${key}'`);
        continue;
      }
      args[key] = value;
    }
    const one = (key: string): Value|null => {
      if (this.isNull(args[key])) {
        return null;
      }
      const v = this.tensors(args[key]);
      if (v === null || v.length !== 1) {
        this.report(`MultiHeadAttention ${key} that is not a tensor`);
        return null;
      }
      return v[0]!;
    };
    const flag = (key: string): boolean => {
      const v = args[key];
      if (v === undefined || (v.kind === 'literal' && (v.value === null || v.value === false))) {
        return false;
      }
      if (v.kind === 'literal' && v.value === true) {
        return true;
      }
      this.report(`MultiHeadAttention ${key} that is not a constant boolean`);
      return false;
    };
    const query = one('query');
    const value = one('value');
    const key = one('key');
    if (query === null || value === null) {
      this.report('MultiHeadAttention call without a query and a value');
      return;
    }
    const attentionMask = one('attention_mask');
    const causal = flag('use_causal_mask');
    const scores = flag('return_attention_scores');
    let queryMask: Mask|null;
    let valueMask: Mask|null;
    let keyMask: Mask|null;
    if (this.version === 3) {
      // the query's own mask (an explicit query_mask is overwritten by it in Keras 3)
      queryMask = this.maskOf(query);
      const vm = one('value_mask');
      const km = one('key_mask');
      valueMask = vm !== null ? {kind: 'tensor', id: vm.id} : this.maskOf(value);
      keyMask = key === null ? null : km !== null ? {kind: 'tensor', id: km.id} : this.maskOf(key);
      // ...and then Keras 3 clears them on the tensors themselves
      for (const v of [query, value, key ?? value]) {
        this.masks.set(v.object, null);
      }
    } else {
      queryMask = this.maskOf(query);
      valueMask = this.maskOf(value);
      keyMask = key === null ? null : this.maskOf(key);
    }
    const kwargs: Record<string, string> = {};
    const maskIds = [queryMask, valueMask, ...(key === null ? [] : [keyMask])]
        .map(m => (m === null ? null : this.materialize(m, layer.name)));
    if (attentionMask !== null) {
      kwargs['attentionMask'] = attentionMask.id;
    }
    // The call's constants are the layer's settings (tfjs passes no call arguments in a model).
    const config = {...t.config, useCausalMask: causal, returnAttentionScores: scores};
    const inputs = [query.id, value.id, ...(key === null ? [] : [key.id])];
    const outputs = this.call(layer, {...t, config, outputs: scores ? 2 : 1}, inputs, true, kwargs,
                              maskIds.some(m => m !== null) ? maskIds : undefined);
    outputs.forEach((id, i) => {
      this.values.set(refKey({layer: layer.name, node: index, index: i}),
                      {id, object: this.nextObject++});
    });
    if (queryMask !== null) {
      this.masks.set(this.values.get(refKey({layer: layer.name, node: index, index: 0}))!.object,
                     queryMask);
    }
  }

  private runOp(layer: KerasLayer, index: number, node: KerasNode, t: Translation): void {
    if (Object.keys(node.kwargs).length > 0) {
      this.report(`${layer.className} with keyword arguments (${Object.keys(node.kwargs).join(', ')})`);
      return;
    }
    const inputs: string[] = [];
    const arg = (v: KerasValue): OpArg|null => {
      switch (v.kind) {
        case 'tensor':
          inputs.push(this.value(v.ref).id);
          return {input: inputs.length - 1};
        case 'literal':
          if (typeof v.value === 'string') {
            return null;
          }
          return {value: v.value};
        case 'array': {
          const flat = flatNumbers(v.value);
          if (flat === null) {
            return null;
          }
          return {array: {dtype: v.dtype, shape: shapeOf(v.value), values: flat}};
        }
        case 'list': {
          const items = v.items.map(arg);
          return items.every(i => i !== null) ? {list: items as OpArg[]} : null;
        }
        default:
          return null;
      }
    };
    const args = node.args.map(arg);
    if (args.some(a => a === null)) {
      this.report(`${layer.className} with an argument that is not a tensor, number or array`);
      return;
    }
    const unique = [...new Set(inputs)];
    const remap = (a: OpArg): OpArg => ('input' in a ? {input: unique.indexOf(inputs[a.input]!)} :
                                        'list' in a ? {list: a.list.map(remap)} : a);
    const config = {...t.config, args: (args as OpArg[]).map(remap) as unknown as ConfigDict[]};
    const outputs = this.call(layer, {...t, config}, unique, false, {}, undefined, {}, true);
    this.values.set(refKey({layer: layer.name, node: index, index: 0}),
                    {id: outputs[0]!, object: this.nextObject++});
  }

  /**
   * Applies the tfjs layer of a Keras layer to `inputs` (a list argument when `list`), with the
   * tensor `kwargs`, per-input `masks` and `constants`; wraps it in a KerasCall when tfjs cannot
   * run the call as it is. Returns the output tensor ids.
   */
  private call(layer: KerasLayer, t: Translation, inputs: string[], list: boolean,
               kwargs: Record<string, string>, masks?: Array<string|null>,
               constants: Record<string, boolean> = {}, direct = false): string[] {
    const unique = [...new Set([...inputs, ...Object.values(kwargs),
                                ...(masks ?? []).filter((m): m is string => m !== null)])];
    const at = (id: string): CallArg => ({input: unique.indexOf(id)});
    const wrapped = !direct && (t.wrap === true || unique.length !== inputs.length ||
                                Object.keys(kwargs).length > 0 || masks !== undefined ||
                                Object.keys(constants).length > 0);
    let planLayer: PlanLayer;
    let callInputs = unique;
    if (wrapped) {
      const callKwargs: Record<string, CallArg> = {};
      for (const [k, id] of Object.entries(kwargs)) {
        callKwargs[k] = at(id);
      }
      if (masks !== undefined) {
        callKwargs['mask'] = {list: masks.map(m => (m === null ? {value: null} : at(m)))};
      }
      for (const [k, v] of Object.entries(constants)) {
        callKwargs[k] = {value: v};
      }
      planLayer = {
        name: layer.name, className: 'KerasCall', kerasLayer: layer.name,
        config: {name: layer.name, trainable: t.config['trainable'] ?? true,
                 layer: {className: t.className, config: t.config},
                 inputs: (list ? {list: inputs.map(at)} : at(inputs[0]!)) as unknown as ConfigDict,
                 kwargs: callKwargs as unknown as ConfigDict},
      };
    } else {
      callInputs = inputs;
      planLayer = {name: layer.name, className: t.className, config: t.config,
                   kerasLayer: layer.name};
    }
    const signature = JSON.stringify({c: planLayer.className, config: planLayer.config,
                                      n: callInputs.length});
    const previous = this.calls.get(layer.name);
    if (previous === undefined) {
      this.calls.set(layer.name, {layer: planLayer.name, signature});
      this.layers.push(planLayer);
      t.weights.forEach((names, i) => this.weights.push(
          {kerasLayer: layer.name, names, index: i, layer: planLayer.name, layerIndex: i}));
    } else if (previous.signature !== signature) {
      this.report(`a shared layer called with different arguments or masks at its nodes`);
    }
    const count = t.outputs ?? 1;
    const outputs = Array.from({length: count}, () => this.newTensor());
    this.nodes.push({layer: planLayer.name, inputs: callInputs, outputs});
    return [...outputs];
  }
}

function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function flatNumbers(value: unknown): number[]|null {
  if (typeof value === 'number') {
    return [value];
  }
  if (typeof value === 'boolean') {
    return [value ? 1 : 0];
  }
  if (!Array.isArray(value)) {
    return null;
  }
  const out: number[] = [];
  for (const item of value) {
    const flat = flatNumbers(item);
    if (flat === null) {
      return null;
    }
    out.push(...flat);
  }
  return out;
}

/** The `model_config` of a converter model.json's `modelTopology` (or the topology itself). */
export function modelConfigOf(topology: unknown):
    {modelConfig: unknown, kerasVersion?: string|undefined} {
  const version = isDict(topology) ? topology['keras_version'] : undefined;
  const kerasVersion = typeof version === 'string' ? version : undefined;
  if (isDict(topology) && 'model_config' in topology) {
    return {modelConfig: topology['model_config'], kerasVersion};
  }
  return {modelConfig: topology, kerasVersion};
}
