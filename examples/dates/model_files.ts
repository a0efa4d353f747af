/**
 * Saving and loading the date models (Node): `model.json` + `weights.bin` (the package's
 * `fileSystem` handler), `vocab.json` and `calibration.json` beside them, in one folder (see
 * ../shared/model_files.ts). The browser page fetches the same files over http.
 */
import * as tf from '@tensorflow/tfjs';

import '../../src';  // registers the package's layers for loading
import {loadModelFolder, saveModelFolder} from '../shared/model_files';
import {Calibration, UNCALIBRATED} from './scope';
import {Vocab, VocabJson} from './vocab';

export const VOCAB_FILE = 'vocab.json';
export const CALIBRATION_FILE = 'calibration.json';

/** A loaded date model with what it needs to translate. */
export interface DateModelFolder {
  model: tf.LayersModel;
  vocab: Vocab;
  /** The model's calibration; {@link UNCALIBRATED} when the folder has none. */
  calibration: Calibration;
}

/** Writes model.json, weights.bin, vocab.json (and calibration.json) into `dir`. */
export async function saveModel(model: tf.LayersModel, vocab: Vocab, dir: string,
                                calibration?: Calibration): Promise<void> {
  await saveModelFolder(model, dir, {
    [VOCAB_FILE]: vocab.toJSON(), ...(calibration != null ? {[CALIBRATION_FILE]: calibration} : {}),
  });
}

/** Reads what {@link saveModel} wrote. */
export async function loadModel(dir: string): Promise<DateModelFolder> {
  const {model, files} = await loadModelFolder(dir, [VOCAB_FILE], [CALIBRATION_FILE]);
  return {model, vocab: new Vocab(files[VOCAB_FILE] as VocabJson),
          calibration: checkCalibration(files[CALIBRATION_FILE] ?? UNCALIBRATED, dir)};
}

/** `value` as a Calibration, or an error naming the file and the bad field. */
export function checkCalibration(value: unknown, where: string): Calibration {
  const c = value as Partial<Calibration>|null;
  if (c == null || !(typeof c.temperature === 'number' && c.temperature > 0) ||
      !(typeof c.threshold === 'number' && c.threshold >= 0 && c.threshold <= 1)) {
    throw new Error(`${where}/${CALIBRATION_FILE} must hold a positive temperature and a ` +
                    `threshold in [0, 1]. Received: ${JSON.stringify(value)}`);
  }
  return {temperature: c.temperature, threshold: c.threshold, fittedOn: String(c.fittedOn ?? '')};
}
