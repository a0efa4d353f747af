/**
 * Everything that turns models into `.keras` / `.weights.h5` bytes and back, loaded only when a
 * Keras file is saved or loaded (keras_file.ts imports it dynamically; the ESM bundle keeps it,
 * with fflate and jsfive, in a chunk of its own). It imports nothing of the package at run
 * time, only tfjs, so that no code is shared with the main bundle.
 *
 * - encodeKerasModel / encodeKerasWeights: model → bytes (save_config.ts for the config and
 *   the weights' Keras shapes, h5_layout.ts for where they go, h5_write.ts, archive.ts).
 * - readWeightsInto: a weights file (or the weights inside a `.keras`) into an existing model,
 *   every dataset checked against the model before any variable changes.
 * - decodeKerasArchive: a `.keras` file as the artifacts of a converted model.json (the same
 *   topology, weights named as tensorflowjs_converter names them), for the Keras model loader.
 */
import * as tf from '@tensorflow/tfjs';

import {isZip, readKerasArchive, writeKerasArchive, WEIGHTS_H5} from './archive';
import {isH5, readH5} from './h5_read';
import {H5Dataset, h5Datasets, h5Dataset, h5Get, h5Group, H5Group, h5MakeGroup} from './h5_tree';
import {writeH5} from './h5_write';
import {InlinedModel, inlineNestedModels} from './archive_nested';
import {KerasObject, kerasWeightSlots, KerasWeightSlot, walkLayers, layerName} from './h5_layout';
import {exportKerasModel, KerasExport, LayerExporter, slotKey, WeightBinding} from './save_config';
import type {KerasOrigin} from './save_origin';

export {isZip} from './archive';
export {isH5} from './h5_read';

/** The `.keras` archive of `model`. */
export function encodeKerasModel(model: tf.LayersModel, exporters: Record<string, LayerExporter>,
                                 metadata: Record<string, unknown>, origin?: KerasOrigin): Uint8Array {
  const exported = exportKerasModel(model, exporters, origin);
  const weights = writeH5(weightsTree(exported));
  return writeKerasArchive(exported.config, metadata, weights);
}

/** The `.weights.h5` file of `model` (what Keras's `model.save_weights` writes). */
export function encodeKerasWeights(model: tf.LayersModel, exporters: Record<string, LayerExporter>,
                                   origin?: KerasOrigin): Uint8Array {
  return writeH5(weightsTree(exportKerasModel(model, exporters, origin)));
}

/** The model's Keras config (what config.json of its `.keras` file holds). */
export function kerasConfigOf(model: tf.LayersModel, exporters: Record<string, LayerExporter>,
                              origin?: KerasOrigin): KerasObject {
  return exportKerasModel(model, exporters, origin).config;
}

/** Every weight of a Keras config (or of a tfjs model, as Keras sees it) and its h5 path. */
export function layoutOf(source: tf.LayersModel|KerasObject,
                         exporters: Record<string, LayerExporter>, origin?: KerasOrigin):
    KerasWeightSlot[] {
  return kerasWeightSlots(source instanceof tf.LayersModel ?
                          exportKerasModel(source, exporters, origin).config : source);
}

/** Slots paired with their bindings; throws if the two sides do not match (a bug here). */
function boundSlots(exported: KerasExport): Array<[KerasWeightSlot, WeightBinding]> {
  const slots = kerasWeightSlots(exported.config);
  const pairs = slots.map(slot => {
    const binding = exported.bindings.get(slotKey(slot.scope, slot.name));
    if (binding === undefined) {
      throw new Error(`Internal error: Keras keeps a weight ${slot.name} (${slot.path}) that the ` +
                      `export of the layer ${slot.layer} did not provide.`);
    }
    return [slot, binding] as [KerasWeightSlot, WeightBinding];
  });
  if (pairs.length !== exported.bindings.size) {
    const used = new Set(pairs.map(([, b]) => b.key));
    const unused = [...exported.bindings.keys()].filter(k => !used.has(k));
    throw new Error(`Internal error: the weights ${unused.join(', ')} have no place in Keras's ` +
                    'weights file.');
  }
  return pairs;
}

function weightsTree(exported: KerasExport): H5Group {
  const root = h5Group();
  // Keras makes a `vars` group, named after the layer, for every layer, weights or not.
  h5MakeGroup(root, 'vars').attrs['name'] = String(exported.config.config['name']);
  walkLayers(exported.config, (layer, path) => {
    h5MakeGroup(root, `${path}/vars`).attrs['name'] = layerName(layer);
  });
  for (const [slot, binding] of boundSlots(exported)) {
    const values = binding.read();
    const parent = h5MakeGroup(root, slot.path.slice(0, slot.path.lastIndexOf('/')));
    parent.children.set(slot.path.slice(slot.path.lastIndexOf('/') + 1),
                        h5Dataset(binding.kerasShape, values));
  }
  return root;
}

/** The weights tree of a `.weights.h5` file or of the weights inside a `.keras` archive. */
function weightsFileTree(bytes: Uint8Array, fileName: string): {tree: H5Group, name: string} {
  if (isZip(bytes)) {
    const archive = readKerasArchive(bytes, fileName);
    const name = `${fileName} (${WEIGHTS_H5})`;
    return {tree: readH5(archive.weights, name), name};
  }
  if (!isH5(bytes)) {
    throw new Error(`${fileName} is neither a Keras weights file (.weights.h5, HDF5) nor a ` +
                    `.keras archive (zip): it starts with bytes ${hex(bytes.subarray(0, 8))}.`);
  }
  return {tree: readH5(bytes, fileName), name: fileName};
}

/**
 * Reads Keras weights (`.weights.h5`, or a `.keras` archive's) into `model`. Every weight of
 * the model must be in the file with Keras's shape, and every dataset of the file must be one of
 * them (an optimizer's state, under `optimizer/`, is left out); otherwise nothing is changed
 * and the error names the file, the layer and the weight.
 */
export function readWeightsInto(model: tf.LayersModel, exporters: Record<string, LayerExporter>,
                                bytes: Uint8Array, fileName: string, origin?: KerasOrigin): void {
  const exported = exportKerasModel(model, exporters, origin);
  const {tree, name} = weightsFileTree(bytes, fileName);
  const pairs = boundSlots(exported);
  const values = pairs.map(([slot, binding]) => {
    const dataset = datasetAt(tree, slot, name);
    if (!sameShape(dataset.shape, binding.kerasShape)) {
      throw new Error(`${name}: the weight ${slot.name} of the layer ${slot.layer} (${
          slot.className}) at /${slot.path} has shape [${dataset.shape}] in the file, but the ` +
                      `model's is [${binding.kerasShape}].`);
    }
    return dataset;
  });
  checkNoneLeft(tree, pairs.map(([slot]) => slot.path), name);
  const data = values.map(d => floats(d));  // reads every value before anything is written
  tf.tidy(() => pairs.forEach(([, binding], i) => binding.write(data[i]!)));
}

/** The artifacts of a converted Keras model for the same `.keras` file. */
export interface DecodedArchive {
  /** config.json. */
  config: KerasObject;
  /** metadata.json ({} when absent). */
  metadata: Record<string, unknown>;
  /** Where each layer of a nested model went in the flat graph ('inner/dense' → 'dense'). */
  names: Map<string, string>;
  /** The file's name, for messages. */
  name: string;
  /**
   * What tensorflowjs_converter writes for this model: the topology (`model_config` is the
   * config.json, nested models inlined) and the weights, named as the converter names them,
   * float32.
   */
  artifacts: tf.io.ModelArtifacts;
}

/**
 * Reads a `.keras` archive into converter-style artifacts. Every weight the config's layers
 * have must be in the weights file, and every dataset of the file must belong to a layer of the
 * config (those of layers whose weights h5_layout.ts does not place are passed on by position,
 * for the loader to accept or refuse); errors name the file and the layer.
 */
export function decodeKerasArchive(bytes: Uint8Array, fileName: string): DecodedArchive {
  const archive = readKerasArchive(bytes, fileName);
  const config = archive.config as unknown as KerasObject;
  if (typeof config.class_name !== 'string' || config.config == null) {
    throw new Error(`${fileName}: config.json is not a Keras model config (no class_name and ` +
                    'config).');
  }
  const h5Name = `${fileName} (${WEIGHTS_H5})`;
  const tree = readH5(archive.weights, h5Name);
  let slots: KerasWeightSlot[];
  let inlined: InlinedModel|null;
  const layerGroups: Array<{path: string, name: string, extra: number}> = [];
  try {
    // The loader builds one flat graph: nested models are inlined (archive_nested.ts), and
    // their layers' weights named after the layers they became.
    inlined = inlineNestedModels(config);
    const flatName = (scope: string[], layer: string) =>
        inlined?.names.get(slotKey(scope, layer)) ?? layer;
    slots = kerasWeightSlots(config).map(slot => {
      const flat = flatName(slot.scope, slot.layer);
      return flat === slot.layer || !slot.name.startsWith(`${slot.layer}/`) ? slot :
          {...slot, name: flat + slot.name.slice(slot.layer.length)};
    });
    walkLayers(config, (layer, path, scope) => layerGroups.push(
        {path, name: flatName(scope, layerName(layer)), extra: 0}));
  } catch (e) {
    throw new Error(`${fileName}: config.json: ${(e as Error).message}`, {cause: e});
  }
  const seen = new Map<string, KerasWeightSlot>();
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Float32Array[] = [];
  const add = (name: string, dataset: H5Dataset) => {
    specs.push({name, shape: dataset.shape, dtype: 'float32'});
    parts.push(floats(dataset));
  };
  for (const slot of slots) {
    const other = seen.get(slot.name);
    if (other !== undefined) {
      throw new Error(`${fileName}: the layers ${describeLayer(other)} and ${describeLayer(slot)} ` +
                      `both have a weight named ${slot.name}; tfjs names weights by layer name, ` +
                      'so one of them must be renamed.');
    }
    seen.set(slot.name, slot);
    add(slot.name, datasetAt(tree, slot, h5Name));
  }
  // Datasets of a layer whose weights the table does not place go to the loader by position
  // (`<layer>/vars/<i>`, in file order): it says whether it knows the layer.
  const used = new Set(slots.map(s => s.path));
  const left: string[] = [];
  for (const [path, dataset] of h5Datasets(tree)) {
    if (used.has(path) || path.startsWith('optimizer/')) {
      continue;
    }
    const owner = layerGroups.find(g => path.startsWith(`${g.path}/`));
    if (owner === undefined) {
      left.push(path);
      continue;
    }
    add(`${owner.name}/vars/${owner.extra++}`, dataset);
  }
  if (left.length > 0) {
    throw new Error(`${h5Name} holds ${left.length} weight(s) that no layer of config.json has: ${
        left.slice(0, 8).map(p => '/' + p).join(', ')}${left.length > 8 ? ', …' : ''}.`);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const weightData = new Float32Array(total);
  let offset = 0;
  for (const part of parts) {
    weightData.set(part, offset);
    offset += part.length;
  }
  const version = archive.metadata['keras_version'];
  return {
    config, metadata: archive.metadata, names: inlined?.names ?? new Map(), name: fileName,
    artifacts: {
      modelTopology: {keras_version: typeof version === 'string' ? version : '3', backend: 'tensorflow',
                      model_config: inlined?.config ?? config},
      format: 'layers-model',
      generatedBy: typeof version === 'string' ? `keras v${version}` : 'keras',
      convertedBy: null,
      weightSpecs: specs,
      weightData: weightData.buffer,
    },
  };
}

function describeLayer(slot: KerasWeightSlot): string {
  return [...slot.scope, slot.layer].join('/') + ` (${slot.className})`;
}

function datasetAt(tree: H5Group, slot: KerasWeightSlot, fileName: string): H5Dataset {
  const node = h5Get(tree, slot.path);
  if (node === undefined || node.kind !== 'dataset') {
    const layerGroup = slot.path.split('/vars/')[0]!;
    const present = h5Get(tree, layerGroup);
    throw new Error(`${fileName}: the layer ${describeLayer(slot)} has no weight ${slot.name} ` +
                    `in the file: /${slot.path} is ${node === undefined ? 'missing' : 'a group'}${
                        present === undefined ? ` (there is no /${layerGroup})` : ''}.`);
  }
  return node;
}

/** Every dataset outside `optimizer/` must have been used. */
function checkNoneLeft(tree: H5Group, used: string[], fileName: string): void {
  const taken = new Set(used);
  const left = h5Datasets(tree).map(([path]) => path)
                   .filter(path => !taken.has(path) && !path.startsWith('optimizer/'));
  if (left.length > 0) {
    throw new Error(`${fileName} holds ${left.length} weight(s) that no layer of the model has: ${
        left.slice(0, 8).map(p => '/' + p).join(', ')}${left.length > 8 ? ', …' : ''}. The file ` +
                    'is for another model (or a layer class whose weights this package does not ' +
                    'place).');
  }
}

function floats(dataset: H5Dataset): Float32Array {
  const data = dataset.data;
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join(' ') || '(none)';
}
