/**
 * Turns texts into headlines with a trained model: tokenize, run the encoder once per batch,
 * then greedy decoding, one word per step for the whole batch (the input word the pointer
 * rates highest), until every row has pointed at END. Each step runs the decoder on the new
 * word only: its attention layers, the pointer included, keep the keys and values of the words
 * before it and of the encoder (the package's `startDecoding`).
 */
import * as tf from '@tensorflow/tfjs';

import {startDecoding} from '../../src';
import {EncoderDecoder} from '../shared/encoder_decoder';
import {splitForInference} from './model';
import {END, START, Vocab} from './vocab';

/** Pads rows of ids with 0 to the longest row: `[rows, longest]` int32. */
export function padBatch(rows: number[][], length?: number): tf.Tensor2D {
  const longest = length ?? Math.max(1, ...rows.map(r => r.length));
  const data = new Int32Array(rows.length * longest);
  rows.forEach((row, i) => data.set(row.slice(0, longest), i * longest));
  return tf.tensor2d(data, [rows.length, longest], 'int32');
}

/** The encoder mask of padded ids: 1 for a token, 0 for padding (id 0), `[rows, longest]`. */
export function maskOf(ids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D);
}

export class Summarizer {
  private readonly parts: EncoderDecoder;

  constructor(model: tf.LayersModel, readonly vocab: Vocab) {
    this.parts = splitForInference(model);
  }

  /**
   * Headlines (as words) of already tokenized inputs (ids), `batchSize` rows at a time.
   * Leaks no tensors.
   */
  async summarizeIds(inputs: number[][], batchSize = 256): Promise<string[][]> {
    const results: string[][] = [];
    for (let start = 0; start < inputs.length; start += batchSize) {
      results.push(...this.decodeBatch(inputs.slice(start, start + batchSize)));
      await tf.nextFrame();  // lets a progress display update between batches
    }
    return results;
  }

  /** Headline text of each input text; throws on unknown words (naming them). */
  async summarize(texts: string[]): Promise<string[]> {
    const ids = texts.map(text => this.vocab.encodeText(text));
    return (await this.summarizeIds(ids)).map(words => words.join(' '));
  }

  private decodeBatch(rows: number[][]): string[][] {
    return decodeHeadlines(this.parts, this.vocab, rows).ids.map(row => this.vocab.decode(row));
  }
}

/** What greedy decoding of one batch chose ({@link decodeHeadlines}). */
export interface PointerDecoded {
  /** Per row: START, then the chosen words' ids (END, once reached, repeats to the last step). */
  ids: number[][];
  /** Per row: the input position of each id (START's is maxInputLength). */
  positions: number[][];
  /** Per step: the pointer's probabilities `[batch, timeIn]`, row-major. */
  probabilities: Float32Array[];
}

/**
 * The rows' inputs as the model reads them (END appended), and the state decoding starts from:
 * START at position maxInputLength in every row.
 */
export function startHeadlines(vocab: Vocab, rows: number[][]):
    {inputs: number[][], decoded: PointerDecoded} {
  return {
    inputs: rows.map(row => [...row, vocab.id(END)]),
    decoded: {ids: rows.map(() => [vocab.id(START)]),
              positions: rows.map(() => [vocab.maxInputLength]), probabilities: []},
  };
}

/**
 * One greedy step: from the pointer's probabilities `[batch, timeIn]` (row-major), each row's
 * most likely position and the word there, appended to `decoded`. Rows that reached END keep
 * END. Returns whether every row has.
 */
export function chooseNext(vocab: Vocab, inputs: number[][], decoded: PointerDecoded,
                           probabilities: Float32Array): boolean {
  const endId = vocab.id(END);
  const timeIn = probabilities.length / inputs.length;
  decoded.probabilities.push(probabilities);
  let allDone = true;
  decoded.ids.forEach((row, i) => {
    let best = 0;
    for (let j = 1; j < timeIn; j++) {
      if (probabilities[i * timeIn + j]! > probabilities[i * timeIn + best]!) {
        best = j;
      }
    }
    const done = row[row.length - 1] === endId && row.length > 1;
    const id = done ? endId : inputs[i]![best] ?? endId;
    row.push(id);
    decoded.positions[i]!.push(best);
    allDone = allDone && id === endId;
  });
  return allDone;
}

/**
 * Greedy decoding of one batch of tokenized inputs on the split model: the encoder once, then
 * per step the decoder on each row's last word and its position only (one decoding session),
 * until every row has pointed at END or maxOutputLength is reached. Leaks no tensors.
 */
export function decodeHeadlines(parts: EncoderDecoder, vocab: Vocab, rows: number[][]):
    PointerDecoded {
  const {inputs, decoded} = startHeadlines(vocab, rows);
  const batch = rows.length;
  // The decoder's inputs: [decoder ids, decoder pointers (they grow), encoded, mask (fixed)].
  const [idsName, pointersName, encodedName, maskName] =
      parts.decoder.inputNames as [string, string, string, string];
  const [encoded, mask] = tf.tidy(() => {
    const ids = padBatch(inputs);
    return parts.encoder.predict([ids, maskOf(ids)]) as tf.Tensor[];
  }) as [tf.Tensor, tf.Tensor];  // [batch, timeIn, d], [batch, timeIn]
  let session: ReturnType<typeof startDecoding>;
  try {
    session = startDecoding(parts.decoder, {
      maxLength: vocab.maxOutputLength, sequenceInputs: [idsName, pointersName],
      inputs: {[encodedName]: encoded, [maskName]: mask},
    });
  } finally {
    tf.dispose([encoded, mask]);  // the session keeps what it needs
  }
  try {
    for (let step = 1; step < vocab.maxOutputLength; step++) {
      const next = tf.tidy(() => {
        const last = (rows: number[][]) =>
            tf.tensor2d(rows.map(r => r[r.length - 1]!), [batch, 1], 'int32');
        // [batch, 1, 1, timeIn]: where each row's next word is.
        const pointer = session.step([last(decoded.ids), last(decoded.positions)]) as tf.Tensor;
        return pointer.reshape([batch, -1]);
      });
      const probabilities = next.dataSync() as Float32Array;
      next.dispose();
      if (chooseNext(vocab, inputs, decoded, probabilities)) {
        break;
      }
    }
  } finally {
    session.dispose();
  }
  return decoded;
}
