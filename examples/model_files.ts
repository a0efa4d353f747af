/**
 * Saving and loading an example's model folder: the package's `fileSystem` handler writes
 * `model.json` + `weights.bin` (replacing the folder atomically, and checking every file and
 * weight when loading), and the vocabulary goes in `vocab.json` beside them.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem} from '../src';

export const VOCAB_JSON = 'vocab.json';

/**
 * Writes the model, then `vocab` as vocab.json, into `dir` (created if needed). The model's
 * files are swapped in atomically (the handler keeps other files of the folder); vocab.json
 * is written under a temporary name and renamed.
 */
export async function saveModelFolder(model: tf.LayersModel, dir: string, vocab: unknown,
                                      includeOptimizer = false): Promise<void> {
  await model.save(fileSystem(dir), {includeOptimizer});
  const file = path.join(dir, VOCAB_JSON);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(vocab) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Reads what {@link saveModelFolder} wrote. The vocabulary is read first, so a missing or bad
 * file fails (naming it) before any model is built.
 */
export async function loadModelFolder(dir: string): Promise<{model: tf.LayersModel, vocab: unknown}> {
  const file = path.join(dir, VOCAB_JSON);
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    throw new Error(`loadModel: ${path.join(dir, 'model.json')} does not exist (expected ` +
                    `model.json, weights.bin and ${VOCAB_JSON} in ${dir})`);
  }
  if (!fs.existsSync(file)) {
    throw new Error(`loadModel: ${file} does not exist (expected model.json, weights.bin and ` +
                    `${VOCAB_JSON} in ${dir})`);
  }
  let vocab: unknown;
  try {
    vocab = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`loadModel: ${file} is not valid JSON: ${(e as Error).message}`, {cause: e});
  }
  return {model: await tf.loadLayersModel(fileSystem(dir)), vocab};
}
