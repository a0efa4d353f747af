/**
 * Saving and loading the headline model (Node): `model.json` + `weights.bin` (the package's
 * `fileSystem` handler) and `vocab.json` beside them, in one folder (see
 * ../shared/model_files.ts). The model has only the package's and tfjs's layers.
 */
import * as tf from '@tensorflow/tfjs';

import '../../src';  // registers the package's layers for loading
import {loadModelFolder, saveModelFolder} from '../shared/model_files';
import {Vocab, VocabJson} from './vocab';

export const VOCAB_FILE = 'vocab.json';

/** Writes model.json, weights.bin and vocab.json into `dir`. */
export async function saveModel(model: tf.LayersModel, vocab: Vocab, dir: string): Promise<void> {
  await saveModelFolder(model, dir, {[VOCAB_FILE]: vocab.toJSON()});
}

/** Reads what {@link saveModel} wrote; a missing file is an error naming it. */
export async function loadModel(dir: string): Promise<{model: tf.LayersModel, vocab: Vocab}> {
  const {model, files} = await loadModelFolder(dir, [VOCAB_FILE]);
  return {model, vocab: new Vocab(files[VOCAB_FILE] as VocabJson)};
}
