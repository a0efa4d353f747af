/**
 * loadKerasModel: a Keras model converted by `tensorflowjs_converter` (Keras 3 or tf.keras 2)
 * → a trainable tf.LayersModel.
 *
 * Steps, so that a bad file fails early and leaves nothing behind:
 * 1. read model.json only, and plan the model from its Keras config (topology.ts): anything
 *    unsupported is one error listing all of it, before any weight is read;
 * 2. read the weights (Node: through the package's checked file handler, which reads only the
 *    model's folder; http(s): only URLs under model.json's folder, each checked against its
 *    manifest size), match them to the model's by name and check every shape;
 * 3. build the model and write the weights; on any error the model is disposed and every
 *    tensor and variable made on the way is released.
 *
 * An IOHandler source is read in one step (its `load()` returns everything at once), so its
 * weights are read before the topology is checked; nothing is built before that check either.
 */
import * as tf from '@tensorflow/tfjs';

import {FILE_SCHEME, FileSystemHandler, MODEL_JSON} from '../io/file_handler';
import {fetchModelFiles} from '../io/http_handler';
import {readModelFiles, readUserFile} from '../io/model_files';
import {isNode, nodeModules} from '../io/node_fs';
import {fixedByteLength, ManifestGroup, parseModelJson} from '../io/validate';
import {buildKerasModel} from './build';
import {isKerasArchiveSource, KerasFileSource, loadKerasArchiveModel} from './keras_file';
import {rememberKerasOrigin} from './save_origin';
import {Dict, isDict} from './config';
import {modelConfigOf, planKerasModel} from './topology';
import {AssignWeightsOptions, assignConverterWeights} from './weights';

/** Options of {@link loadKerasModel}. */
export interface LoadKerasModelOptions extends AssignWeightsOptions {
  /** http(s) sources: options of each request (headers, credentials). Default none. */
  requestInit?: RequestInit;
  /** http(s) sources: the `fetch` to use. Default tfjs's platform fetch. */
  fetchFunc?: (url: string, init?: RequestInit) => Promise<Response>;
}

/** model.json files above this size are refused before they are read. */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

interface Weights {
  specs: tf.io.WeightsManifestEntry[];
  data: tf.io.WeightData;
}

/** A place model files come from: model.json first, the weights when asked. */
interface KerasFiles {
  /** Names the source in messages. */
  source: string;
  modelJson(): Promise<Dict>;
  weights(modelJson: Dict): Promise<Weights>;
}

function isIOHandler(x: unknown): x is tf.io.IOHandler {
  return x != null && typeof x === 'object' && typeof (x as tf.io.IOHandler).load === 'function';
}

function specsOf(modelJson: Dict): tf.io.WeightsManifestEntry[] {
  return ((modelJson['weightsManifest'] as tf.io.WeightsManifestConfig|undefined) ?? [])
      .flatMap(g => g.weights);
}

function handlerFiles(handler: tf.io.IOHandler): KerasFiles {
  let artifacts: tf.io.ModelArtifacts|undefined;
  const path = (handler as {path?: unknown}).path;
  const source = typeof path === 'string' ? path : 'the IOHandler';
  return {
    source,
    async modelJson() {
      artifacts = await handler.load!();
      if (!isDict(artifacts?.modelTopology)) {
        throw new Error(`${source}: load() returned no modelTopology object (a Keras model's ` +
                        `model.json has one).`);
      }
      return {format: artifacts.format, modelTopology: artifacts.modelTopology,
              weightsManifest: [{paths: [], weights: artifacts.weightSpecs ?? []}]};
    },
    async weights() {
      return {specs: artifacts!.weightSpecs ?? [], data: artifacts!.weightData ?? new ArrayBuffer(0)};
    },
  };
}

async function fileFiles(path: string): Promise<KerasFiles> {
  const node = await nodeModules();
  let file = node.path.resolve(path.startsWith(FILE_SCHEME) ? path.slice(FILE_SCHEME.length) : path);
  try {
    if ((await node.fs.stat(file)).isDirectory()) {
      file = node.path.join(file, MODEL_JSON);
    }
  } catch {
    // reported by the read below, naming the file
  }
  const folder = node.path.dirname(file);
  return {
    source: file,
    async modelJson() {
      const bytes = await readUserFile(file, {maxBytes: MAX_MODEL_JSON_BYTES});
      return parseModelJson(new TextDecoder().decode(bytes), file) as unknown as Dict;
    },
    async weights(modelJson: Dict) {
      // Each group's files, confined to the folder and sized from the manifest before reading.
      const manifest = (modelJson['weightsManifest'] ?? []) as ManifestGroup[];
      const data: ArrayBuffer[] = [];
      for (const group of manifest) {
        const expected = fixedByteLength(group.weights, file);
        const parts = await readModelFiles(folder, group.paths, {
          totalBytes: expected ?? undefined, sha256: group.sha256, listedIn: file,
          sizeSource: `its weightsManifest describes (${group.weights.length} weights)`,
        });
        for (const part of parts) {
          data.push(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength) as
                    ArrayBuffer);
        }
      }
      return {specs: manifest.flatMap(g => g.weights), data};
    },
  };
}

function httpFiles(url: string, options: LoadKerasModelOptions): KerasFiles {
  const fetchFunc = options.fetchFunc ??
      ((u: string, init?: RequestInit) => tf.env().platform.fetch(u, init));
  const base = new URL(url, (globalThis as {location?: {href: string}}).location?.href);
  const get = async (target: URL, what: string): Promise<Response> => {
    let response: Response;
    try {
      response = await fetchFunc(target.href, options.requestInit);
    } catch (e) {
      throw new Error(`Cannot load ${target.href} (${what}): ${(e as Error).message}`, {cause: e});
    }
    if (!response.ok) {
      throw new Error(`Cannot load ${target.href} (${what}): HTTP ${response.status} ${
          response.statusText}`);
    }
    return response;
  };
  return {
    source: base.href,
    async modelJson() {
      const text = await (await get(base, 'the model.json')).text();
      return parseModelJson(text, base.href) as unknown as Dict;
    },
    async weights(modelJson: Dict) {
      // Each group's files, confined to the model.json's folder, held to the manifest's sizes
      // while fetched, SHA-256 verified when recorded.
      const manifest = (modelJson['weightsManifest'] ?? []) as ManifestGroup[];
      const buffers: ArrayBuffer[] = [];
      for (const group of manifest) {
        const parts = await fetchModelFiles(base, group.paths, {
          totalBytes: fixedByteLength(group.weights, base.href) ?? undefined, sha256: group.sha256,
          sizeSource: `its weightsManifest describes (${group.weights.length} weights)`,
          fetchFunc: fetchFunc as typeof fetch, requestInit: options.requestInit,
        });
        for (const part of parts) {
          buffers.push(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength) as
                       ArrayBuffer);
        }
      }
      return {specs: manifest.flatMap(g => g.weights), data: buffers};
    },
  };
}

/** The weight data's total size in bytes. */
function byteLength(data: tf.io.WeightData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
}

/**
 * Loads a Keras model that `tensorflowjs_converter` wrote (model.json + weight shards), from
 * Keras 3 or tf.keras 2, as a trainable tf.LayersModel whose layers compute what Keras's do
 * (masks included).
 *
 * `source`: a `file://` URL or a plain path (Node; the model.json or its folder), an http(s)
 * URL of the model.json, or an IOHandler; or a Keras 3 `.keras` file (read directly, no
 * converter): a path or URL ending in '.keras', a local file that is a zip, its bytes
 * (Uint8Array, ArrayBuffer) or a Blob. Strict by default: every weight in the file is used
 * and every weight of the model set (`{strict: false}` loosens both).
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import {loadKerasModel} from 'tfjs-self-attention';
 * const model = await loadKerasModel('https://example.com/model/model.json');
 * model.predict(tf.tensor2d([[5, 3, 9, 0, 0]], [1, 5], 'int32'));
 * ```
 *
 * Throws a KerasUnsupportedError listing everything unsupported (before any weight is read),
 * and errors naming the file and the layer for anything else that does not fit.
 */
export async function loadKerasModel(source: string|tf.io.IOHandler|KerasFileSource,
                                     options: LoadKerasModelOptions = {}): Promise<tf.LayersModel> {
  if (await isKerasArchiveSource(source)) {  // a Keras 3 .keras file (keras_file.ts)
    return loadKerasArchiveModel(source as KerasFileSource, handler => loadKerasModel(handler, options));
  }
  let files: KerasFiles;
  if (source instanceof FileSystemHandler) {
    files = await fileFiles(source.path);
  } else if (isIOHandler(source)) {
    files = handlerFiles(source);
  } else if (typeof source === 'string' && source.length > 0) {
    if (/^https?:\/\//i.test(source) || (!isNode() && !source.startsWith(FILE_SCHEME))) {
      files = httpFiles(source, options);
    } else {
      files = await fileFiles(source);
    }
  } else {
    throw new Error(`loadKerasModel: source must be a file:// or http(s) URL, a path, or an ` +
                    `IOHandler. Received: ${JSON.stringify(source)}`);
  }
  const modelJson = await files.modelJson();
  const topology = modelJson['modelTopology'];
  if (modelJson['format'] === 'graph-model') {
    throw new Error(`${files.source} is a graph model (converted from a SavedModel), not a Keras ` +
                    `layers model; load it with tf.loadGraphModel.`);
  }
  const {modelConfig, kerasVersion} = modelConfigOf(topology);
  if (typeof kerasVersion === 'string' && kerasVersion.startsWith('tfjs-layers')) {
    throw new Error(`${files.source} was saved by TensorFlow.js (keras_version '${kerasVersion}'); ` +
                    `load it with tf.loadLayersModel after importing this package.`);
  }
  const plan = planKerasModel(modelConfig, {source: files.source, kerasVersion});
  const weights = await files.weights(modelJson);
  const manifestSpecs = specsOf(modelJson);
  const expected = fixedByteLength(weights.specs, files.source);
  if (manifestSpecs.length > 0 && expected !== null && byteLength(weights.data) !== expected) {
    throw new Error(`${files.source}: its weight files have ${byteLength(weights.data)} bytes, not ` +
                    `the ${expected} its weightsManifest describes.`);
  }
  // Strict loads write every weight: no need to run the initializers first.
  let built;
  try {
    built = buildKerasModel(plan, {initializeWeights: !(options.strict ?? true)});
  } catch (e) {
    throw new Error(`${files.source}: ${(e as Error).message}`, {cause: e});
  }
  try {
    assignConverterWeights(built, weights.specs, weights.data, files.source, options);
  } catch (e) {
    built.model.dispose();
    throw e;
  }
  rememberKerasOrigin(built.model, modelConfig as Dict, built.weights);  // for saveKerasModel
  return built.model;
}
