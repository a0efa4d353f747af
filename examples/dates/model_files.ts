/**
 * Saving and loading the date models: `model.json` + `weights.bin` (the package's `fileSystem`
 * handler) and `vocab.json` beside them, in one folder (see ../model_files.ts).
 */
import * as tf from '@tensorflow/tfjs';

import '../../src';  // registers the package's layers for loading
import {loadModelFolder, saveModelFolder} from '../model_files';
import {Vocab, VocabJson} from './vocab';

/** Writes model.json, weights.bin and vocab.json into `dir` (created if needed). */
export async function saveModel(model: tf.LayersModel, vocab: Vocab, dir: string): Promise<void> {
  await saveModelFolder(model, dir, vocab.toJSON());
}

/** Reads what {@link saveModel} wrote. */
export async function loadModel(dir: string): Promise<{model: tf.LayersModel, vocab: Vocab}> {
  const {model, vocab} = await loadModelFolder(dir);
  return {model, vocab: new Vocab(vocab as VocabJson)};
}
