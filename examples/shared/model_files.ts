/**
 * Saving and loading an example's model folder (Node): the package's `fileSystem` handler
 * writes `model.json` + `weights.bin` (replacing them atomically, and checking every file and
 * weight when loading), and the example's own JSON files (its vocabulary, its calibration) go
 * beside them.
 *
 *   await saveModelFolder(model, 'trained/dates', {'vocab.json': vocab.toJSON()});
 *   const {model, files} = await loadModelFolder('models/dates', ['vocab.json']);
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem} from '../../src';

/**
 * Writes the model, then each of `files` (name → value, written as JSON), into `dir` (created
 * if needed). The model's files are swapped in atomically (the handler keeps the folder's
 * other files); each JSON file is written under a temporary name and renamed.
 */
export async function saveModelFolder(model: tf.LayersModel, dir: string,
                                      files: Record<string, unknown>,
                                      includeOptimizer = false): Promise<void> {
  await model.save(fileSystem(dir), {includeOptimizer});
  for (const [name, value] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 1) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  }
}

/**
 * Reads what {@link saveModelFolder} wrote. The `required` JSON files are read first, so that
 * a missing or bad one fails (naming it) before any model is built; an `optional` one that is
 * missing is left out of `files`.
 */
export async function loadModelFolder(dir: string, required: string[], optional: string[] = []):
    Promise<{model: tf.LayersModel, files: Record<string, unknown>}> {
  const expected = ['model.json', 'weights.bin', ...required].join(', ');
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    throw new Error(`loadModel: ${path.join(dir, 'model.json')} does not exist (expected ${
        expected} in ${dir})`);
  }
  const files: Record<string, unknown> = {};
  for (const name of [...required, ...optional]) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      if (required.includes(name)) {
        throw new Error(`loadModel: ${file} does not exist (expected ${expected} in ${dir})`);
      }
      continue;
    }
    try {
      files[name] = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`loadModel: ${file} is not valid JSON: ${(e as Error).message}`, {cause: e});
    }
  }
  return {model: await tf.loadLayersModel(fileSystem(dir)), files};
}
