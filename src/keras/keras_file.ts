/**
 * Keras 3's own files, both ways, without Python: `saveKerasModel` writes a `.keras` archive that
 * `keras.models.load_model` loads (Keras 3.9 and later, no custom objects), `saveKerasWeights` a
 * `.weights.h5` that Keras's `model.load_weights` reads, `loadKerasWeights` reads either into a
 * tfjs model, and `kerasArchiveHandler` reads a `.keras` archive for the Keras model loader.
 *
 * Only these entry points are in the package's main bundle. Each loads keras_file_io.ts (and
 * with it the zip and HDF5 code, keras_file_codec.ts) on first use, so that the browser bundle
 * does not grow for users who never touch a Keras file: esbuild keeps that code in a chunk of
 * its own (dist/esm/chunks/), fetched by the first call.
 */
import type * as tf from '@tensorflow/tfjs';

import {isNode, nodeModules} from '../io/node_fs';

import {kerasOriginOf, rememberKerasOrigin} from './save_origin';

import type {KerasObject, KerasWeightSlot} from './h5_layout';

export type {KerasObject, KerasWeightSlot} from './h5_layout';

/**
 * Receives the bytes of a saved Keras file, e.g. to upload them: `write(bytes, name)` with the
 * file's name ('model.keras', 'model.weights.h5').
 */
export interface KerasFileSink {
  /** Receives the whole file and its name (e.g. 'model.keras'); may return a promise. */
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
  /** The file's path ('downloads://…' for a download, its name for a sink). */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

const impl = () => import('./keras_file_io');

/**
 * loadKerasModel's road for a `.keras` file (load.ts calls it with itself as `load`): the archive
 * read, nested models inlined, the flat model built by `load`, and the model's Keras origin set
 * to the file's own config (nesting and all), for saveKerasModel.
 */
export async function loadKerasArchiveModel(
    source: KerasFileSource, load: (handler: tf.io.IOHandler) => Promise<tf.LayersModel>):
    Promise<tf.LayersModel> {
  const decoded = await (await impl()).decodeKerasFile(source);
  const model = await load({path: decoded.name, load: async () => decoded.artifacts} as tf.io.IOHandler);
  const origin = kerasOriginOf(model);
  if (origin !== undefined) {
    rememberKerasOrigin(model, decoded.config, origin.weights, decoded.names);
  }
  return model;
}

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
 *     in a browser, or a {@link KerasFileSink}. Names must end in '.keras', as Keras requires.
 * @returns The path written and its size.
 *
 * ```js
 * await saveKerasModel(model, 'file://models/classifier.keras');
 * // Python: keras.models.load_model('models/classifier.keras')
 * ```
 */
export async function saveKerasModel(model: tf.LayersModel, destination: KerasFileDestination):
    Promise<KerasSaveResult> {
  return (await impl()).saveKerasModel(model, destination);
}

/**
 * Saves `model`'s weights as a Keras 3 `.weights.h5` file (what Keras's `model.save_weights`
 * writes: groups named by layer class, see docs/keras-files.md), which `model.load_weights`
 * reads into the same model built in Keras. Same layers and destinations as
 * {@link saveKerasModel}; names must end in '.weights.h5'.
 *
 * ```js
 * await saveKerasWeights(model, 'file://models/classifier.weights.h5');
 * ```
 */
export async function saveKerasWeights(model: tf.LayersModel, destination: KerasFileDestination):
    Promise<KerasSaveResult> {
  return (await impl()).saveKerasWeights(model, destination);
}

/**
 * Reads Keras weights into `model`: a `.weights.h5` file (Keras's `model.save_weights`) or the
 * weights inside a `.keras` archive. The model must be the Keras model's equal (the same
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
  return (await impl()).loadKerasWeights(model, source);
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
export function kerasArchiveHandler(source: KerasFileSource): tf.io.IOHandler&{
  /** What the loader's messages name: the path, the Blob's name or 'the given bytes'. */
  path: string,
} {
  return {
    // what the loader names in its messages
    path: typeof source === 'string' ? source :
        typeof Blob !== 'undefined' && source instanceof Blob ?
        (source as {name?: string}).name ?? 'the given Blob' : 'the given bytes',
    load: async () => (await impl()).loadKerasArchive(source),
  };
}

/**
 * Whether `source` is a `.keras` archive for the Keras model loader: bytes or a Blob, a name
 * ending in '.keras' (a path or URL, query and fragment aside), or a local file (Node) that
 * starts with a zip header. Anything else (a model.json, an IOHandler) is not.
 */
export async function isKerasArchiveSource(source: unknown): Promise<boolean> {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer ||
      (typeof Blob !== 'undefined' && source instanceof Blob)) {
    return true;
  }
  if (typeof source !== 'string' || source.length === 0) {
    return false;
  }
  if (/\.keras$/i.test(source.replace(/[?#].*$/, ''))) {
    return true;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) {
    return false;
  }
  return startsWithZip(source);
}

/** Whether the local file at `source` is readable and starts with a zip header (Node only). */
async function startsWithZip(source: string): Promise<boolean> {
  if (!isNode()) {
    return false;
  }
  const node = await nodeModules();
  const path = node.path.resolve(source.startsWith('file://') ? source.slice('file://'.length) : source);
  const {O_RDONLY, O_NONBLOCK = 0} = node.constants;
  let handle;
  try {
    handle = await node.fs.open(path, O_RDONLY | O_NONBLOCK);  // a FIFO must not block
  } catch {
    return false;  // the caller's reader says what is wrong with the path
  }
  try {
    if (!(await handle.stat()).isFile()) {
      return false;
    }
    const head = new Uint8Array(4);
    return (await handle.read(head, 0, 4, 0)).bytesRead === 4 && isKerasArchive(head);
  } finally {
    await handle.close();
  }
}

/**
 * True when `bytes` start like a zip archive (a `.keras` file) rather than, say, a model.json.
 *
 * ```js
 * if (isKerasArchive(bytes)) model = await loadKerasModel(kerasArchiveHandler(bytes));
 * ```
 */
export function isKerasArchive(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 &&
      bytes[3] === 0x04;
}

/**
 * Where Keras keeps each weight in its weights file, for a Keras model config (config.json's
 * content) or a tfjs model (as saveKerasModel writes it): the dataset path
 * ('layers/dense/vars/0'), the weight's name as tensorflowjs_converter writes it ('fc1/kernel'),
 * its layer and the layer's Keras class. For checking a file by hand.
 *
 * ```js
 * for (const w of await kerasWeightLayout(model)) console.log(w.path, w.name);
 * ```
 */
export async function kerasWeightLayout(model: tf.LayersModel|KerasObject):
    Promise<KerasWeightSlot[]> {
  return (await impl()).kerasWeightLayout(model);
}

/**
 * The Keras config (config.json's content) that saveKerasModel writes for `model`, without
 * writing anything.
 *
 * ```js
 * console.log(JSON.stringify(await kerasConfig(model), null, 2));
 * ```
 */
export async function kerasConfig(model: tf.LayersModel): Promise<KerasObject> {
  return (await impl()).kerasConfig(model);
}
