/**
 * Checks of a saved model before tfjs builds it, so that a broken file fails with a message that
 * names the file and the problem, and nothing half-built is left behind (tfjs's own loader builds
 * the model first and throws afterwards, keeping the new variables alive).
 */
import * as tf from '@tensorflow/tfjs';

import {isSha256Hex} from './sha256';

type Dict = Record<string, unknown>;

/**
 * A weights manifest group as this package writes it: tfjs's `{paths, weights}` plus `sha256`,
 * the SHA-256 (hex) of each file in `paths`. tfjs and tfjs-node ignore the extra field; files
 * written without it (by tfjs-node, the converter, Keras) have none and load unverified.
 */
export type ManifestGroup = tf.io.WeightsManifestConfig[number] & {
  sha256?: string[];
};

function isDict(x: unknown): x is Dict {
  return x != null && typeof x === 'object' && !Array.isArray(x);
}

/** Parses the text of a model.json and checks the fields a layers model needs. */
export function parseModelJson(text: string, file: string): tf.io.ModelJSON {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); ` +
                    'it is not a saved model or its save was cut short.', {cause: e});
  }
  if (!isDict(json)) {
    throw new Error(`${file} does not hold a JSON object; a saved model's model.json does.`);
  }
  if (!isDict(json['modelTopology'])) {
    throw new Error(`${file} has no "modelTopology" object, so it is not a saved layers model. ` +
                    `Keys found: ${JSON.stringify(Object.keys(json))}`);
  }
  const manifest = json['weightsManifest'];
  if (!Array.isArray(manifest)) {
    throw new Error(`${file} has no "weightsManifest" list, so its weights cannot be found. ` +
                    `Keys found: ${JSON.stringify(Object.keys(json))}`);
  }
  manifest.forEach((group: unknown, g) => {
    const where = `${file}: weightsManifest[${g}]`;
    if (!isDict(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) {
      throw new Error(`${where} must be an object with "paths" and "weights" lists. ` +
                      `Received: ${JSON.stringify(group)?.slice(0, 200)}`);
    }
    group['paths'].forEach((p: unknown, i) => {
      if (typeof p !== 'string' || p.length === 0) {
        throw new Error(`${where}.paths[${i}] must be a file name. Received: ${JSON.stringify(p)}`);
      }
    });
    const hashes = group['sha256'];
    if (hashes !== undefined && (!Array.isArray(hashes) || hashes.length !== group['paths'].length ||
                                 !hashes.every(isSha256Hex))) {
      throw new Error(`${where}.sha256 must list the SHA-256 (64 hex digits) of each of its ` +
                      `${group['paths'].length} path(s). Received: ` +
                      `${JSON.stringify(hashes)?.slice(0, 200)}`);
    }
    group['weights'].forEach((w: unknown, i) => {
      if (!isDict(w) || typeof w['name'] !== 'string' || typeof w['dtype'] !== 'string' ||
          !Array.isArray(w['shape']) ||
          !w['shape'].every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) {
        throw new Error(`${where}.weights[${i}] must have a "name", a "dtype" and a "shape" of ` +
                        `non-negative integers. Received: ${JSON.stringify(w)?.slice(0, 200)}`);
      }
    });
  });
  return json as unknown as tf.io.ModelJSON;
}

const BYTES: Record<string, number> = {float32: 4, int32: 4, bool: 1, complex64: 8,
                                       uint8: 1, uint16: 2, float16: 2};

/**
 * Bytes that `specs` take in the weight data, from their shapes and dtypes alone; null when a
 * weight is a string tensor (its size is only known from the data).
 */
export function fixedByteLength(specs: tf.io.WeightsManifestEntry[], file: string): number|null {
  if (specs.some(s => s.dtype === 'string')) {
    return null;
  }
  return weightsByteLength(specs, new Uint8Array(0), file);
}

/**
 * Bytes that `specs` take in the weight data. String weights have no fixed size: their lengths
 * are read from `data` (each string is a uint32 length, then its bytes).
 */
export function weightsByteLength(specs: tf.io.WeightsManifestEntry[], data: Uint8Array,
                                  file: string): number {
  let offset = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'string') {
      for (let i = 0; i < count; i++) {
        if (offset + 4 > data.byteLength) {
          return Infinity;  // runs past the end: the caller reports the data as too short
        }
        offset += 4 + view.getUint32(offset, true);
      }
      continue;
    }
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = BYTES[dtype];
    if (bytes === undefined) {
      throw new Error(`${file}: weight '${spec.name}' has an unsupported dtype '${dtype}'.`);
    }
    offset += count * bytes;
  }
  return offset;
}

/** The checks of a load that can be turned off (options of fileSystem() and checkedHttp()). */
export interface LoadCheckOptions {
  /**
   * Build the model once while loading to check every weight's name, shape and dtype against
   * the layers' configs (and that the topology asks for no more weights than the file holds),
   * so that a mismatch fails with the file named and nothing half-built left. Costs one extra
   * build of the model. Default true.
   */
  checkWeights?: boolean|undefined;
  /**
   * As tfjs's `LoadOptions.strict`: false lets weights without a layer, and layers without
   * weights, pass the checks (shapes are still checked). Default true.
   */
  strict?: boolean|undefined;
}

/**
 * The artifacts of the model.json `text` (named `file` in errors) with its weights from
 * `readWeights`, after every check: the JSON's fields, the layer classes, and (unless
 * `checkWeights: false`) that the weights fit the model. `afterRead` runs once the weights are
 * read, before the trial build (the file handler checks there that its folder did not change).
 */
export async function checkedArtifacts(
    text: string, file: string,
    readWeights: (manifest: tf.io.WeightsManifestConfig) =>
        Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]>,
    options: LoadCheckOptions & {afterRead?: () => Promise<void>} = {}):
    Promise<tf.io.ModelArtifacts> {
  const modelJson = parseModelJson(text, file);
  // Graph models (converted from TensorFlow) have no layers to check.
  const layers = modelJson.format !== 'graph-model' &&
      ('class_name' in modelJson.modelTopology || 'model_config' in modelJson.modelTopology);
  if (layers) {
    checkLayerClasses(modelJson.modelTopology, file);
  }
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, readWeights);
  await options.afterRead?.();
  if (layers && (options.checkWeights ?? true)) {
    await checkWeightsFitModel(modelJson.modelTopology, artifacts.weightSpecs ?? [], file,
                               options.strict ?? true);
  }
  return artifacts;
}

/**
 * Reads the weights of every group of `manifest` through `read` (which returns the bytes of the
 * group's files, in order, after checking that they hold `expected` bytes together, and their
 * SHA-256 when the group records one), and returns them as tfjs's loaders do. `expected` is null
 * for a group with string weights, whose size is only known from the data: it is checked here
 * once read. `file` names the model.json in errors.
 */
export async function readWeightsManifest(
    manifest: tf.io.WeightsManifestConfig, file: string,
    read: (group: ManifestGroup, expected: number|null, sizeSource: string) => Promise<Uint8Array[]>):
    Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of manifest as ManifestGroup[]) {
    const expected = fixedByteLength(group.weights, file);
    const sizeSource = `its weightsManifest describes (${group.weights.length} weights). The ` +
        'weights do not belong to this model.json or were cut short';
    const data = concat(await read(group, expected, sizeSource));
    if (expected === null) {
      const length = weightsByteLength(group.weights, data, file);
      if (length !== data.byteLength) {
        const where = group.paths.map(p => JSON.stringify(p)).join(', ');
        throw new Error(`Cannot load ${file}: ${where} ${group.paths.length > 1 ? 'have' : 'has'} ` +
                        `${data.byteLength} bytes, ${data.byteLength < length ? 'shorter' : 'longer'} ` +
                        `than the ${Number.isFinite(length) ? length : 'more'} bytes ${sizeSource}.`);
      }
    }
    specs.push(...group.weights);
    chunks.push(data);
  }
  const all = concat(chunks);
  return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
}

/** `parts` as one array (the part itself when there is one). */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) {
    return parts[0]!;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Throws when a layer class in `topology` is not registered (`tf.serialization.registerClass`),
 * naming the class, the layer and the file, before tfjs tries to build anything.
 */
export function checkLayerClasses(topology: unknown, file: string): void {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const unknown: string[] = [];
  const visit = (layer: unknown) => {
    if (!isDict(layer) || typeof layer['class_name'] !== 'string') {
      return;
    }
    const className = layer['class_name'];
    const config = layer['config'];
    if (!(className in known)) {
      const name = isDict(config) && typeof config['name'] === 'string' ?
          ` (layer '${config['name']}')` : '';
      unknown.push(`'${className}'${name}`);
    }
    if (Array.isArray(config)) {  // old Sequential format: the config is the list of layers
      config.forEach(visit);
    } else if (isDict(config)) {
      for (const key of ['layers', 'cells']) {
        if (Array.isArray(config[key])) {
          (config[key] as unknown[]).forEach(visit);
        }
      }
      for (const key of ['layer', 'forward_layer', 'backward_layer', 'cell']) {
        visit(config[key]);
      }
    }
  };
  const root = isDict(topology) && topology['model_config'] != null ?
      topology['model_config'] : topology;
  visit(root);
  if (unknown.length > 0) {
    throw new Error(
        `${file}: unknown layer class${unknown.length > 1 ? 'es' : ''} ${unknown.join(', ')}. ` +
        'Import the package that defines and registers it before loading (for SelfAttention, ' +
        `PositionalEmbedding and TokenEmbedding: import 'tfjs-self-attention'), or register your ` +
        'own class with tf.serialization.registerClass.');
  }
}

/**
 * Bytes a trial build may create beyond the model weights that the manifest holds. Strict
 * loads need every weight in the manifest, so only a little room for rounding; `strict: false`
 * lets layers keep weights the manifest lacks (initialized, not loaded), so more.
 */
export const TRIAL_BUILD_SLACK_BYTES = {strict: 16 * 2 ** 20, lenient: 2 ** 30};

/** The error of a trial build refused before it allocated a weight (see checkWeightsFitModel). */
class WeightBudgetError extends Error {}

function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} bytes`;
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Runs `build` (which creates layers) while every `Layer.addWeight` is first checked against a
 * budget of `manifestBytes + slack` bytes in all, so that a topology asking for absurd weights (a kernel of
 * 40,000 × 40,000) fails with an error naming the layer instead of allocating them. Only the
 * synchronous part of `build` is watched.
 */
function withWeightBudget<T>(manifestBytes: number, slack: number, file: string,
                             build: () => T): T {
  type AddWeight = (this: tf.layers.Layer, name: string, shape: number[], dtype?: tf.DataType,
                    ...rest: unknown[]) => tf.LayerVariable;
  const prototype = tf.layers.Layer.prototype as unknown as {addWeight: AddWeight};
  const original = prototype.addWeight;
  let used = 0;
  prototype.addWeight = function(name, shape, dtype, ...rest) {
    const bytes = shape.reduce((a, b) => a * b, 1) * (BYTES[dtype ?? 'float32'] ?? 4);
    used += bytes;
    if (!(used <= manifestBytes + slack)) {
      throw new WeightBudgetError(
          `${file}: layer '${this.name}' (${this.getClassName()}) as configured would create ` +
          `weight '${name}' of shape [${shape}] (${formatBytes(bytes)}), which brings the ` +
          `model's weights to ${formatBytes(used)}, more than the ${formatBytes(manifestBytes)} ` +
          `its weightsManifest holds (with ${formatBytes(slack)} of room). The topology does ` +
          'not fit its weights; nothing was allocated for it.');
    }
    return original.call(this, name, shape, dtype, ...rest);
  };
  try {
    return build();
  } finally {
    prototype.addWeight = original;
  }
}

/**
 * Builds the model of `topology` once, compares its weights with the model weights in `specs`
 * (names as tfjs's loading matches them, unless not `strict`, shapes and dtypes), and disposes
 * it. Throws, naming `file`, on the first mismatch. The build may create at most the bytes the
 * model weights in `specs` take (plus {@link TRIAL_BUILD_SLACK_BYTES}): a weight beyond that
 * fails before it is allocated. Leaves no tensors or variables behind either way.
 */
export async function checkWeightsFitModel(topology: tf.io.ModelJSON['modelTopology'],
                                           specs: tf.io.WeightsManifestEntry[],
                                           file: string, strict = true): Promise<void> {
  const modelSpecs = specs.filter(s => s.group !== 'optimizer');
  const manifestBytes = modelSpecs.reduce(
      (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (BYTES[s.dtype] ?? 4), 0);
  const slack = strict ? TRIAL_BUILD_SLACK_BYTES.strict : TRIAL_BUILD_SLACK_BYTES.lenient;
  // modelFromJSON builds synchronously before its promise settles: the variables that appear
  // during the call are exactly the trial model's, even with other loads in flight.
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  const building = withWeightBudget(manifestBytes, slack, file, () => tf.models.modelFromJSON(
      {modelTopology: topology} as unknown as tf.io.ModelJSON));
  const created = Object.keys(tf.engine().registeredVariables).filter(n => !before.has(n));
  let model: tf.LayersModel;
  try {
    model = await building;
  } catch (e) {
    disposeVariables(created);
    if (e instanceof WeightBudgetError) {
      throw new Error(e.message, {cause: e});
    }
    throw new Error(`${file}: the model it describes cannot be built: ${(e as Error).message}`,
                    {cause: e});
  }
  try {
    if (modelSpecs.length > 0 && !Number.isNaN(parseInt(modelSpecs[0]!.name.split('/').pop()!, 10))) {
      return;  // Keras 3 weight names ("dense/0"): tfjs maps them its own way
    }
    const byName = new Map<string, {shape: number[], dtype: tf.DataType, layer: tf.layers.Layer}>();
    for (const layer of model.layers) {
      for (const weight of layer.weights) {
        byName.set(weight.originalName, {shape: weight.shape as number[], dtype: weight.dtype, layer});
      }
    }
    for (const spec of modelSpecs) {
      let name = spec.name;
      if (!byName.has(name)) {  // tfjs also accepts "layer/cell/weight" for "layer/weight"
        const parts = name.split('/');
        name = parts.slice(0, -2).concat([parts[parts.length - 1]!]).join('/');
      }
      const target = byName.get(name);
      if (target === undefined && !strict) {
        continue;
      }
      if (target === undefined) {
        throw new Error(`${file}: the weightsManifest has weight '${spec.name}', which no layer ` +
                        'of the model it describes has.');
      }
      const layer = `layer '${target.layer.name}' (${target.layer.getClassName()}) as configured`;
      if (!tf.util.arraysEqual(target.shape, spec.shape)) {
        throw new Error(`${file}: weight '${spec.name}' has shape [${spec.shape}] in the ` +
                        `weightsManifest, but ${layer} expects [${target.shape}].`);
      }
      if (target.dtype !== spec.dtype) {
        throw new Error(`${file}: weight '${spec.name}' has dtype ${spec.dtype} in the ` +
                        `weightsManifest, but ${layer} holds ${target.dtype}.`);
      }
      byName.delete(name);
    }
    if (byName.size > 0 && strict) {
      throw new Error(`${file}: the weightsManifest lacks ${byName.size} weight(s) the model ` +
                      `needs: ${[...byName.keys()].join(', ')}.`);
    }
  } finally {
    model.dispose();
    disposeVariables(created);
  }
}

function disposeVariables(names: string[]): void {
  const variables = tf.engine().registeredVariables;
  for (const name of names) {
    variables[name]?.dispose();
  }
}
