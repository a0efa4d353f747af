/**
 * Saving and loading the headline model in the standard tfjs layout: `model.json` (topology and
 * weights manifest), `weights.bin`, and the vocabulary `vocab.json` beside them. The one place
 * that touches model files, so that a `file://` handler can replace it.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';

import './model';  // registers the model's layers for loading
import {Vocab, VocabJson} from './vocab';

/**
 * Writes model.json, weights.bin and vocab.json into `dir` (created if needed). Each file is
 * written under a temporary name and renamed, so an interrupted save leaves the old files.
 */
export async function saveModel(model: tf.LayersModel, vocab: Vocab, dir: string,
                                includeOptimizer = false): Promise<void> {
  fs.mkdirSync(dir, {recursive: true});
  await model.save(tf.io.withSaveHandler(async artifacts => {
    const data = artifacts.weightData;
    const buffers = data == null ? [] : Array.isArray(data) ? data : [data];
    const weights = Buffer.concat(buffers.map(b => Buffer.from(b)));
    const json: Record<string, unknown> = {
      modelTopology: artifacts.modelTopology,
      format: 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: null,
      weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
    };
    if (artifacts.trainingConfig != null) {
      json['trainingConfig'] = artifacts.trainingConfig;
    }
    const files: Array<[string, string|Buffer]> = [
      ['weights.bin', weights],
      ['model.json', JSON.stringify(json)],
      ['vocab.json', JSON.stringify(vocab.toJSON()) + '\n'],
    ];
    for (const [name, content] of files) {
      fs.writeFileSync(path.join(dir, `${name}.tmp`), content);
    }
    for (const [name] of files) {
      fs.renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
    }
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON',
                                 weightDataBytes: weights.length}};
  }), {includeOptimizer});
}

/** Reads what {@link saveModel} wrote; a missing file is an error naming it. */
export async function loadModel(dir: string): Promise<{model: tf.LayersModel, vocab: Vocab}> {
  const read = (name: string) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      throw new Error(`loadModel: ${file} does not exist (expected model.json, weights.bin and ` +
                      `vocab.json in ${dir})`);
    }
    return fs.readFileSync(file);
  };
  const json = JSON.parse(read('model.json').toString('utf8'));
  const bin = read('weights.bin');
  const weightSpecs = json.weightsManifest.flatMap((g: {weights: unknown[]}) => g.weights);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs, weightData,
    trainingConfig: json.trainingConfig,
  }));
  const vocab = new Vocab(JSON.parse(read('vocab.json').toString('utf8')) as VocabJson);
  return {model, vocab};
}
