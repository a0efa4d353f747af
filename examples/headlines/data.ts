/**
 * From grammar samples to model tensors: the vocabulary of the task, and batches of
 * (encoder ids, decoder ids = START + headline, targets = headline + END), padded with 0.
 * Batches group inputs of similar length, so little time goes into padding.
 */
import * as tf from '@tensorflow/tfjs';

import {grammarTokens, Random, Sample} from './grammar';
import {maskOf, padBatch} from './summarizer';
import {END, START, Vocab} from './vocab';

/** Longest input: 40 words, up to 3 commas and 2 full stops, END; rounded up. */
export const MAX_INPUT_LENGTH = 48;
/** Longest decoder sequence: START + a headline of up to 9 words ("a and b did not x y z"). */
export const MAX_OUTPUT_LENGTH = 10;

/** The vocabulary of every word the grammar can write. */
export function taskVocab(): Vocab {
  return Vocab.fromWords(grammarTokens(), MAX_INPUT_LENGTH, MAX_OUTPUT_LENGTH);
}

/** One training batch. */
export interface Batch {
  encoderIds: tf.Tensor2D;  // [batch, timeIn]: input + END
  encoderMask: tf.Tensor2D;  // [batch, timeIn]: 1 for a token, 0 for padding
  decoderIds: tf.Tensor2D;  // [batch, timeOut]: START + headline
  decoderPointers: tf.Tensor2D;  // [batch, timeOut]: their input positions (START: timeIn max)
  targets: tf.Tensor4D;     // [batch, 1, timeOut, 1]: positions of headline + END in the input
}

/** The four model inputs of a batch, in order. */
export function batchInputs(batch: Batch): tf.Tensor[] {
  return [batch.encoderIds, batch.encoderMask, batch.decoderIds, batch.decoderPointers];
}

/** Input ids + END: what the encoder reads. */
export function encoderRow(ids: number[], vocab: Vocab): number[] {
  return [...ids, vocab.id(END)];
}

export function makeBatch(samples: Sample[], vocab: Vocab): Batch {
  const encoderRows = samples.map(s => encoderRow(vocab.encodeWords(s.input), vocab));
  const decoderRows = samples.map(s => [vocab.id(START), ...vocab.encodeWords(s.headline)]);
  const timeOut = Math.max(...decoderRows.map(r => r.length));
  if (timeOut > vocab.maxOutputLength) {
    throw new Error(`makeBatch: a headline has ${timeOut - 1} words, more than the ${
        vocab.maxOutputLength - 1} the model allows.`);
  }
  // After the headline, every step points at END (the last position of the row).
  const targetRows = samples.map(s => Array.from(
      {length: timeOut}, (_, i) => s.positions[i] ?? s.input.length));
  const pointerRows = samples.map(s => [vocab.maxInputLength, ...s.positions]);
  return tf.tidy(() => {
    const encoderIds = padBatch(encoderRows);
    return {
      encoderIds, encoderMask: maskOf(encoderIds),
      decoderIds: padBatch(decoderRows, timeOut),
      decoderPointers: padBatch(pointerRows, timeOut),
      targets: padBatch(targetRows, timeOut).toFloat().reshape([samples.length, 1, timeOut, 1]) as
          tf.Tensor4D,
    };
  });
}

/** Splits samples into batches of about `batchSize` with similar input lengths, shuffled. */
export function bucketBatches(samples: Sample[], batchSize: number, seed: number): Sample[][] {
  const sorted = [...samples].sort((a, b) => a.input.length - b.input.length);
  const batches: Sample[][] = [];
  for (let i = 0; i < sorted.length; i += batchSize) {
    batches.push(sorted.slice(i, i + batchSize));
  }
  const r = new Random(seed);
  for (let i = batches.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}
