/**
 * Loads a model saved with `model.save(...)` as `model.json` + weight files from disk, without
 * tfjs-node: the files are read here and handed to `tf.io.fromMemory`.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';

import '../../src';  // registers SelfAttention and the other classes for deserialization
import {SelfAttention} from '../../src';

/** Reads `model.json` and the weight files its manifest names (next to it) into a LayersModel. */
export async function loadModelFile(modelJson: string): Promise<tf.LayersModel> {
  if (!fs.existsSync(modelJson)) {
    throw new Error(`model file not found. Received: ${JSON.stringify(modelJson)}`);
  }
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8')) as tf.io.ModelJSON;
  if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${modelJson} is not a tfjs layers model (model.json with modelTopology and ` +
                    `weightsManifest).`);
  }
  const dir = path.dirname(modelJson);
  const weightSpecs = json.weightsManifest.flatMap(group => group.weights);
  const buffers = json.weightsManifest.flatMap(group => group.paths.map(p => fs.readFileSync(path.join(dir, p))));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs, weightData}));
}

/**
 * The SelfAttention layer named `name`, or the first one whose query and context have the same
 * feature size (a self-attention layer).
 */
export function findAttentionLayer(model: tf.LayersModel, name?: string): SelfAttention {
  const layers = model.layers.filter((l): l is SelfAttention => l instanceof SelfAttention);
  if (name != null) {
    const layer = layers.find(l => l.name === name);
    if (layer == null) {
      throw new Error(`no SelfAttention layer named ${JSON.stringify(name)}. Received: layer=${
          name}; the model has: ${layers.map(l => l.name).join(', ') || 'none'}`);
    }
    return layer;
  }
  const layer = layers.find(l => {
    const [wq, wk] = l.getWeights();
    return wq!.shape[0] === wk!.shape[0];
  });
  if (layer == null) {
    throw new Error(`the model has no self-attention SelfAttention layer. Received: layers ${
        model.layers.map(l => `${l.name} (${l.getClassName()})`).join(', ')}`);
  }
  return layer;
}
