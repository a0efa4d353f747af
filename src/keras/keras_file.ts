/**
 * Keras 3's own files, both ways, without Python: `saveKerasModel` writes a `.keras` archive that
 * `keras.models.load_model` loads (Keras 3.9 and later, no custom objects), `saveKerasWeights` a
 * `.weights.h5` that `model.load_weights` reads, `loadKerasWeights` reads either into a tfjs
 * model, and `kerasArchiveHandler` reads a `.keras` archive for the Keras model loader.
 *
 * This module holds only the public functions and the file handling (paths, URLs, downloads);
 * the formats live in keras_file_codec.ts, imported on first use, so that the package's browser
 * bundle does not grow for users who never touch a Keras file (the zip and HDF5 code sits in a
 * chunk of its own).
 */
import * as tf from '@tensorflow/tfjs';

import {isNode, nodeModules} from '../io/node_fs';

import type {KerasObject, KerasWeightSlot} from './h5_layout';
import {PACKAGE_LAYER_EXPORTERS} from './save_layers';
import {writeFileAtomically} from './save_file';

export type {KerasObject, KerasWeightSlot} from './h5_layout';

/**
 * Receives the bytes of a saved Keras file, e.g. to upload them: `write(bytes, name)` with the
 * file's name ('model.keras', 'model.weights.h5').
 */
export interface KerasFileSink {
  write(bytes: Uint8Array, name: string): unknown;
}

/**
 * Where a Keras file is saved: a path (Node; 'file://' optional), 'downloads://name' (a browser
 * download), or a {@link KerasFileSink}.
 */
export type KerasFileDestination = string|KerasFileSink;

/**
 * Where a Keras file is read from: a path (Node; 'file://' optional), an http(s) URL (or, in a
 * browser, any URL fetch accepts), the file's bytes, or a Blob / File (a browser file input).
 */
export type KerasFileSource = string|Uint8Array|ArrayBuffer|Blob;

/** What a save wrote. */
export interface KerasSaveResult {
  /** The file's name or path ('downloads://…' for a download). */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

/** The Keras version written into metadata.json (what Keras 3.9+ files look like). */
const KERAS_VERSION = '3.15.1';

const codec = () => import('./keras_file_codec');

/**
 * Saves `model` as a Keras 3 `.keras` archive (config.json, metadata.json, model.weights.h5)
 * that `keras.models.load_model(path)` loads with Keras 3.9 or later, no custom objects needed.
 *
 * Layers are written as their Keras equivalents: tfjs's Dense, Embedding, LayerNormalization,
 * BatchNormalization, Dropout, Conv1D/2D, pooling, merge (Add, Concatenate, …) and activation
 * layers; the package's SelfAttention (with its output projection) as MultiHeadAttention,
 * LayerNorm as LayerNormalization, TokenEmbedding as Embedding. A layer with no Keras
 * equivalent is an error naming the layer and its class, thrown before anything is written.
 * Files are replaced atomically (a crash leaves the old file or the new one).
 *
 * @param model A built tfjs model (Functional or Sequential; nested models allowed).
 * @param destination 'file://dir/model.keras' or a plain path in Node, 'downloads://model.keras'
 *     in a browser, or a {@link KerasFileSink}. Paths must end in '.keras', as Keras requires.
 * @returns The path written and its size.
 *
 * ```js
 * await saveKerasModel(model, 'file://models/classifier.keras');
 * // Python: keras.models.load_model('models/classifier.keras')
 * ```
 */
export async function saveKerasModel(model: tf.LayersModel, destination: KerasFileDestination):
    Promise<KerasSaveResult> {
  checkModel(model, 'saveKerasModel');
  const target = parseDestination(destination, '.keras', 'saveKerasModel');
  const {encodeKerasModel} = await codec();
  const bytes = encodeKerasModel(model, PACKAGE_LAYER_EXPORTERS, {
    keras_version: KERAS_VERSION,
    date_saved: kerasDate(new Date()),
  });
  return write(target, bytes);
}

/**
 * Saves `model`'s weights as a Keras 3 `.weights.h5` file (Keras's `model.save_weights` layout:
 * groups named by layer class, see docs/keras-files.md), which Keras's `model.load_weights`
 * reads into the same model built in Keras. Same layers and destinations as
 * {@link saveKerasModel}; paths must end in '.weights.h5'.
 *
 * ```js
 * await saveKerasWeights(model, 'file://models/classifier.weights.h5');
 * ```
 */
export async function saveKerasWeights(model: tf.LayersModel, destination: KerasFileDestination):
    Promise<KerasSaveResult> {
  checkModel(model, 'saveKerasWeights');
  const target = parseDestination(destination, '.weights.h5', 'saveKerasWeights');
  const {encodeKerasWeights} = await codec();
  return write(target, encodeKerasWeights(model, PACKAGE_LAYER_EXPORTERS));
}

/**
 * Reads Keras weights into `model`: a `.weights.h5` file (Keras's `model.save_weights`) or the
 * weights inside a `.keras` archive. The model must be the same as the Keras one (the same
 * layers, in the same order, with the same shapes). Every weight of the model must be in the
 * file and every weight of the file must fit a layer of the model (an optimizer's state is left
 * out); otherwise nothing changes and the error names the file, the layer and the weight.
 *
 * @param source A path or 'file://' URL (Node), an http(s) URL, the bytes, or a Blob.
 *
 * ```js
 * await loadKerasWeights(model, 'file://models/classifier.weights.h5');
 * ```
 */
export async function loadKerasWeights(model: tf.LayersModel, source: KerasFileSource):
    Promise<void> {
  checkModel(model, 'loadKerasWeights');
  const {bytes, name} = await readSource(source, 'loadKerasWeights');
  const {readWeightsInto} = await codec();
  readWeightsInto(model, PACKAGE_LAYER_EXPORTERS, bytes, name);
}

/**
 * An IOHandler that loads a Keras 3 `.keras` archive as the artifacts tensorflowjs_converter
 * would write for the same model: the topology (config.json under `model_config`) and the
 * weights, named `<layer>/<weight>` as the converter names them. The Keras model loader
 * (`loadKerasModel`) builds the model from it. Errors name the file and the layer: not a zip,
 * truncated, a member failing its CRC, config.json or model.weights.h5 missing, a weight missing
 * or left over.
 *
 * @param source A path or 'file://' URL (Node), an http(s) URL, the bytes, or a Blob.
 *
 * ```js
 * const model = await loadKerasModel(kerasArchiveHandler('file://models/classifier.keras'));
 * ```
 */
export function kerasArchiveHandler(source: KerasFileSource): tf.io.IOHandler {
  return {
    async load() {
      const {bytes, name} = await readSource(source, 'kerasArchiveHandler');
      const {decodeKerasArchive} = await codec();
      return decodeKerasArchive(bytes, name).artifacts;
    },
  };
}

/** True when `bytes` are a zip archive (a `.keras` file) rather than, say, a model.json. */
export function isKerasArchive(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 &&
      bytes[3] === 0x04;
}

/**
 * Where Keras keeps each weight in the weights file, for a Keras model config (config.json's
 * content) or a tfjs model (as saveKerasModel would write it): the dataset path
 * ('layers/dense/vars/0'), the weight's name as tensorflowjs_converter writes it ('fc1/kernel'),
 * its layer and the layer's Keras class. For checking a file by hand.
 *
 * ```js
 * for (const w of await kerasWeightLayout(model)) console.log(w.path, w.name);
 * ```
 */
export async function kerasWeightLayout(model: tf.LayersModel|KerasObject):
    Promise<KerasWeightSlot[]> {
  const {layoutOf} = await codec();
  return layoutOf(model, PACKAGE_LAYER_EXPORTERS);
}

/**
 * The Keras config saveKerasModel writes for `model` (config.json's content), without writing
 * anything.
 */
export async function kerasConfig(model: tf.LayersModel): Promise<KerasObject> {
  checkModel(model, 'kerasConfig');
  const {kerasConfigOf} = await codec();
  return kerasConfigOf(model, PACKAGE_LAYER_EXPORTERS);
}

// ---- destinations and sources -------------------------------------------------------------

type Target = {kind: 'file', path: string}|{kind: 'download', name: string}|
    {kind: 'sink', sink: KerasFileSink, name: string};

const FILE = 'file://';
const DOWNLOADS = 'downloads://';

function checkModel(model: unknown, fn: string): void {
  if (!(model instanceof tf.LayersModel)) {
    throw new Error(`${fn}: model must be a tf.LayersModel (tf.model or tf.sequential). ` +
                    `Received: ${describe(model)}`);
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? String(value);
  }
  return `an object of class ${value.constructor?.name ?? 'Object'}`;
}

function parseDestination(destination: KerasFileDestination, suffix: string, fn: string): Target {
  if (destination !== null && typeof destination === 'object' &&
      typeof (destination as KerasFileSink).write === 'function') {
    return {kind: 'sink', sink: destination, name: `model${suffix}`};
  }
  if (typeof destination !== 'string' || destination.length === 0) {
    throw new Error(`${fn}: destination must be a path ending in '${suffix}', ` +
                    `'downloads://name${suffix}', or an object with a write(bytes, name) method. ` +
                    `Received: destination=${describe(destination)}`);
  }
  const endsRight = (name: string) => {
    if (!name.endsWith(suffix) || name.length === suffix.length) {
      throw new Error(`${fn}: the file name must end in '${suffix}' (Keras requires it). ` +
                      `Received: destination=${JSON.stringify(destination)}`);
    }
  };
  if (destination.startsWith(DOWNLOADS)) {
    const name = destination.slice(DOWNLOADS.length);
    endsRight(name);
    if (name.includes('/')) {
      throw new Error(`${fn}: a download is named without folders. Received: destination=${
          JSON.stringify(destination)}`);
    }
    return {kind: 'download', name};
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination) && !destination.startsWith(FILE)) {
    throw new Error(`${fn}: saving to ${destination.split('://')[0]}:// is not supported; ` +
                    `use a path (Node), 'downloads://name${suffix}' (browser), or an object with ` +
                    `a write(bytes, name) method. Received: destination=${JSON.stringify(destination)}`);
  }
  const path = destination.startsWith(FILE) ? destination.slice(FILE.length) : destination;
  endsRight(path);
  return {kind: 'file', path};
}

async function write(target: Target, bytes: Uint8Array): Promise<KerasSaveResult> {
  switch (target.kind) {
    case 'sink':
      await target.sink.write(bytes, target.name);
      return {path: target.name, bytes: bytes.length};
    case 'download':
      download(bytes, target.name);
      return {path: `${DOWNLOADS}${target.name}`, bytes: bytes.length};
    case 'file': {
      if (!isNode()) {
        throw new Error(`Saving to a path needs Node.js. In a browser, save to ` +
                        `'downloads://${target.path.split('/').pop()}' or pass an object with a ` +
                        `write(bytes, name) method. Received: ${target.path}`);
      }
      const node = await nodeModules();
      const path = node.path.resolve(target.path);
      await writeFileAtomically(path, bytes);
      return {path, bytes: bytes.length};
    }
  }
}

function download(bytes: Uint8Array, name: string): void {
  const doc = (globalThis as {document?: Document}).document;
  if (doc === undefined || typeof URL.createObjectURL !== 'function') {
    throw new Error(`downloads://${name} needs a browser page (document and ` +
                    'URL.createObjectURL); in Node, save to a path.');
  }
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], {type: 'application/octet-stream'}));
  const link = doc.createElement('a');
  link.download = name;
  link.href = url;
  link.style.display = 'none';
  doc.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The bytes of `source` and a name for errors. */
export async function readSource(source: KerasFileSource, fn: string):
    Promise<{bytes: Uint8Array, name: string}> {
  if (source instanceof Uint8Array) {
    return {bytes: source, name: 'the given bytes'};
  }
  if (source instanceof ArrayBuffer) {
    return {bytes: new Uint8Array(source), name: 'the given bytes'};
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as {name?: string}).name ?? 'the given Blob';
    return {bytes: new Uint8Array(await source.arrayBuffer()), name};
  }
  if (typeof source !== 'string' || source.length === 0) {
    throw new Error(`${fn}: source must be a path, a URL, bytes (Uint8Array or ArrayBuffer) or a ` +
                    `Blob. Received: source=${describe(source)}`);
  }
  const remote = /^https?:\/\//i.test(source) || (!isNode() && !source.startsWith(FILE));
  if (remote) {
    let response: Response;
    try {
      response = await tf.util.fetch(source);
    } catch (e) {
      throw new Error(`Cannot load ${source}: ${(e as Error).message}`);
    }
    if (!response.ok) {
      throw new Error(`Cannot load ${source}: the server answered ${response.status} ${
          response.statusText}.`);
    }
    return {bytes: new Uint8Array(await response.arrayBuffer()), name: source};
  }
  if (!isNode()) {
    throw new Error(`${fn}: file:// paths need Node.js; in a browser, load over http(s) or pass ` +
                    `the bytes or a File. Received: source=${source}`);
  }
  const node = await nodeModules();
  const path = node.path.resolve(source.startsWith(FILE) ? source.slice(FILE.length) : source);
  let stats;
  try {
    stats = await node.fs.stat(path);
  } catch (e) {
    if ((e as {code?: string}).code === 'ENOENT') {
      throw new Error(`Cannot load ${path}: the file does not exist.`);
    }
    throw e;
  }
  if (!stats.isFile()) {
    throw new Error(`Cannot load ${path}: it is not a regular file.`);
  }
  return {bytes: await node.fs.readFile(path), name: path};
}

/** Keras's metadata date: '2026-12-01@12:52:42' (local time, as Python's datetime.now()). */
function kerasDate(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}@${
      p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}
