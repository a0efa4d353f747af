/**
 * Saving and loading the date models on disk, in the standard tfjs layout: `model.json`
 * (topology + weights manifest), `weights.bin`, and `vocab.json` beside them. The one place
 * that touches files, so a `file://` handler can replace it.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';

import '../../src';  // registers the package's layers for loading
import {Vocab, VocabJson} from './vocab';

/** Writes model.json, weights.bin and vocab.json into `dir` (created if needed). */
export async function saveModel(model: tf.LayersModel, vocab: Vocab, dir: string): Promise<void> {
  fs.mkdirSync(dir, {recursive: true});
  await model.save(tf.io.withSaveHandler(async artifacts => {
    const data = artifacts.weightData;
    const buffers = data == null ? [] : Array.isArray(data) ? data : [data];
    const weights = Buffer.concat(buffers.map(b => Buffer.from(b)));
    const json = {
      modelTopology: artifacts.modelTopology,
      format: 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: null,
      weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
    };
    // Write to temporary names, then rename, so a crash never leaves a half-written model.
    const write = (name: string, content: string|Buffer) => {
      fs.writeFileSync(path.join(dir, `${name}.tmp`), content);
    };
    write('weights.bin', weights);
    write('model.json', JSON.stringify(json));
    write('vocab.json', JSON.stringify(vocab.toJSON(), null, 2) + '\n');
    for (const name of ['weights.bin', 'model.json', 'vocab.json']) {
      fs.renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
    }
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON',
                                 weightDataBytes: weights.length}};
  }));
}

/** Reads what {@link saveModel} wrote. */
export async function loadModel(dir: string): Promise<{model: tf.LayersModel, vocab: Vocab}> {
  const read = (name: string) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      throw new Error(`loadModel: ${file} does not exist (expected model.json, weights.bin ` +
                      `and vocab.json in ${dir})`);
    }
    return fs.readFileSync(file);
  };
  const json = JSON.parse(read('model.json').toString('utf8'));
  const bin = read('weights.bin');
  const weightSpecs = json.weightsManifest.flatMap((g: {weights: unknown[]}) => g.weights);
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const model = await tf.loadLayersModel(
      tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs, weightData}));
  const vocab = new Vocab(JSON.parse(read('vocab.json').toString('utf8')) as VocabJson);
  return {model, vocab};
}
