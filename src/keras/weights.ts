/**
 * Matching a converter file's weights to the Keras model's weights, and writing them.
 *
 * The converter names each weight by its Keras variable path (`mha/query/kernel`,
 * `ln1/gamma`); the spelling moved between Keras versions, so each weight has several candidate
 * names (see rules.ts), a Sequential model's weights may carry the model's name in front
 * (`sequential/dense/kernel`), and files written by hand often name them by position
 * (`dense/weight_0`, `dense/0`, `dense/vars/0`), which is read in the layer's weight order.
 *
 * Strict (the default): every weight in the file is used and every weight of the model is set;
 * anything else is an error naming the file, the layer and the weights. Every name, shape and
 * dtype is checked before the first weight is written.
 */
import * as tf from '@tensorflow/tfjs';

import {BuiltKerasModel, KerasWeight} from './build';

/** Options of {@link assignConverterWeights}. */
export interface AssignWeightsOptions {
  /**
   * Every weight in the file must be used and every weight of the model set. False lets
   * either be missing (a model weight keeps its initial value). Default true.
   */
  strict?: boolean;
}

const POSITIONAL = /^(.*)\/(?:weight_|vars\/)?(\d+)$/;

/** Which file entry each model weight takes (null: none). Throws on a name/shape/dtype error. */
export function matchConverterWeights(built: BuiltKerasModel, specs: tf.io.WeightsManifestEntry[],
                                      source: string, options: AssignWeightsOptions = {}):
    Array<tf.io.WeightsManifestEntry|null> {
  const strict = options.strict ?? true;
  const modelSpecs = specs.filter(s => s.group !== 'optimizer');
  const byName = new Map<string, tf.io.WeightsManifestEntry>();
  for (const spec of modelSpecs) {
    if (byName.has(spec.name)) {
      throw new Error(`${source}: the weightsManifest lists the weight '${spec.name}' twice.`);
    }
    byName.set(spec.name, spec);
  }
  const prefixes = ['', `${built.model.name}/`];
  // positional names: layer → index → entry
  const positional = new Map<string, Map<number, tf.io.WeightsManifestEntry>>();
  for (const spec of modelSpecs) {
    const m = POSITIONAL.exec(spec.name);
    if (m !== null) {
      const layer = m[1]!.startsWith(prefixes[1]!) ? m[1]!.slice(prefixes[1]!.length) : m[1]!;
      const map = positional.get(layer) ?? new Map<number, tf.io.WeightsManifestEntry>();
      map.set(parseInt(m[2]!, 10), spec);
      positional.set(layer, map);
    }
  }
  const byLayer = new Map<string, KerasWeight[]>();
  for (const w of built.weights) {
    byLayer.set(w.kerasLayer, [...(byLayer.get(w.kerasLayer) ?? []), w]);
  }
  const chosen = new Map<KerasWeight, tf.io.WeightsManifestEntry>();
  const missing: string[] = [];
  for (const [layer, weights] of byLayer) {
    const named = weights.map(w => {
      for (const prefix of prefixes) {
        for (const name of w.names) {
          const spec = byName.get(prefix + name);
          if (spec !== undefined) {
            return spec;
          }
        }
      }
      return undefined;
    });
    const byPosition = positional.get(layer);
    if (named.every(s => s === undefined) && byPosition?.size === weights.length) {
      [...byPosition!.keys()].sort((a, b) => a - b)
          .forEach((k, i) => chosen.set(weights[i]!, byPosition!.get(k)!));
      continue;
    }
    weights.forEach((w, i) => {
      if (named[i] !== undefined) {
        chosen.set(w, named[i]!);
      } else {
        missing.push(`'${w.names[0]}' (layer '${layer}')`);
      }
    });
  }
  const used = new Set(chosen.values());
  const unused = modelSpecs.filter(s => !used.has(s)).map(s => `'${s.name}'`);
  if (strict && (missing.length > 0 || unused.length > 0)) {
    const parts: string[] = [];
    if (missing.length > 0) {
      parts.push(`the model needs ${missing.length} weight(s) the file does not have: ${
          missing.join(', ')}`);
    }
    if (unused.length > 0) {
      parts.push(`the file has ${unused.length} weight(s) no layer of the model takes: ${
          unused.join(', ')}`);
    }
    throw new Error(`${source}: the weights do not fit the model: ${parts.join('; ')}. ` +
                    'Pass {strict: false} to load what matches.');
  }
  for (const [w, spec] of chosen) {
    if (!tf.util.arraysEqual(spec.shape, w.variable.shape as number[])) {
      throw new Error(`${source}: weight '${spec.name}' has shape [${spec.shape}] in the file, ` +
                      `but layer '${w.kerasLayer}' as configured needs [${w.variable.shape}].`);
    }
    const dtype = spec.quantization === undefined ? spec.dtype : 'float32';
    if (dtype !== w.variable.dtype) {
      throw new Error(`${source}: weight '${spec.name}' is ${spec.dtype} in the file, but layer '${
          w.kerasLayer}' needs ${w.variable.dtype}.`);
    }
  }
  return built.weights.map(w => chosen.get(w) ?? null);
}

/**
 * Writes a converter file's weights (`specs` describing `data`) into a built Keras model.
 * Throws, naming `source`, before writing anything when they do not fit (see the module
 * comment); leaves no tensor behind either way.
 */
export function assignConverterWeights(built: BuiltKerasModel, specs: tf.io.WeightsManifestEntry[],
                                       data: tf.io.WeightData, source: string,
                                       options: AssignWeightsOptions = {}): void {
  const matched = matchConverterWeights(built, specs, source, options);
  let decoded: tf.NamedTensorMap;
  try {
    decoded = tf.io.decodeWeights(data, specs);
  } catch (e) {
    throw new Error(`${source}: its weights cannot be read: ${(e as Error).message}`, {cause: e});
  }
  try {
    built.weights.forEach((w, i) => {
      const spec = matched[i];
      if (spec != null) {
        w.variable.write(decoded[spec.name]!);
      }
    });
  } finally {
    tf.dispose(decoded);
  }
}
