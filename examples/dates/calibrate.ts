/**
 * Calibrating a trained date model on held-out examples (see scope.ts): the temperature from
 * the teacher-forced logits of the right answers, then the flagging threshold from the
 * confidences of the greedy translations that are right. No Node-only import.
 */
import * as tf from '@tensorflow/tfjs';

import {Example} from './data';
import {decode, makeBatch} from './model';
import {Calibration, chooseThreshold, fitTemperature, sequenceConfidences} from './scope';
import {Vocab} from './vocab';

/** What {@link calibrate} measured on the examples. */
export interface CalibrationReport {
  calibration: Calibration;
  examples: number;
  /** Share of greedy translations that are right. */
  accuracy: number;
  /** Share of the right ones whose confidence is below the threshold. */
  falseAlarms: number;
  /** Share of the wrong ones below it. */
  wrongCaught: number;
}

/** Teacher-forced logits `[m, V]` of every output step of `examples`, and the right ids `[m]`. */
function teacherForcedLogits(model: tf.LayersModel, vocab: Vocab, examples: Example[],
                             batchSize = 512): {logits: Float32Array, labels: Int32Array} {
  const V = vocab.size;
  const L = vocab.outputLength;
  const logits = new Float32Array(examples.length * L * V);
  const labels = new Int32Array(examples.length * L);
  for (let start = 0; start < examples.length; start += batchSize) {
    const chunk = examples.slice(start, start + batchSize);
    const batch = makeBatch(vocab, chunk);
    const out = model.predict(batch.inputs) as tf.Tensor;  // [n, L, V]
    logits.set(out.dataSync() as Float32Array, start * L * V);
    labels.set(batch.labels.dataSync() as Int32Array, start * L);
    tf.dispose([out, batch.inputs, batch.labels]);
  }
  return {logits, labels};
}

/**
 * Fits the temperature and the threshold on `examples` (held-out days, never trained on), so
 * that at most `maxFalseAlarms` of the right translations are flagged as unsure.
 */
export function calibrate(model: tf.LayersModel, vocab: Vocab, examples: Example[],
                          fittedOn: string, maxFalseAlarms = 0.005): CalibrationReport {
  const {logits, labels} = teacherForcedLogits(model, vocab, examples);
  const temperature = fitTemperature(logits, labels, vocab.size);
  const decoded = decode(model, vocab, examples.map(e => e.input));
  const confidences = sequenceConfidences(decoded, temperature);
  const right = examples.map((e, i) => decoded.texts[i] === e.target);
  const threshold = chooseThreshold(confidences.filter((_, i) => right[i]), maxFalseAlarms);
  const share = (pick: (i: number) => boolean) => {
    const chosen = examples.map((_, i) => i).filter(pick);
    return chosen.filter(i => confidences[i]! < threshold).length / Math.max(1, chosen.length);
  };
  return {
    calibration: {temperature, threshold, fittedOn},
    examples: examples.length,
    accuracy: right.filter(Boolean).length / Math.max(1, examples.length),
    falseAlarms: share(i => right[i]!),
    wrongCaught: share(i => !right[i]),
  };
}
