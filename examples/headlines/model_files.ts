/**
 * Saving and loading the headline model: `model.json` + `weights.bin` (the package's
 * `fileSystem` handler) and `vocab.json` beside them, in one folder (see ../model_files.ts).
 */
import * as tf from '@tensorflow/tfjs';

import './model';  // registers the model's layers for loading
import {loadModelFolder, saveModelFolder} from '../model_files';
import {Vocab, VocabJson} from './vocab';

/** Writes model.json, weights.bin (and the optimizer's state if asked) and vocab.json into `dir`. */
export async function saveModel(model: tf.LayersModel, vocab: Vocab, dir: string,
                                includeOptimizer = false): Promise<void> {
  await saveModelFolder(model, dir, vocab.toJSON(), includeOptimizer);
}

/** Reads what {@link saveModel} wrote; a missing file is an error naming it. */
export async function loadModel(dir: string): Promise<{model: tf.LayersModel, vocab: Vocab}> {
  const {model, vocab} = await loadModelFolder(dir);
  return {model, vocab: new Vocab(vocab as VocabJson)};
}
