/**
 * Turns texts into headlines with a trained model: tokenize, run the encoder once per batch,
 * then greedy decoding, one word per step for the whole batch (the input word the pointer
 * rates highest), until every row has pointed at END.
 */
import * as tf from '@tensorflow/tfjs';

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
    const startId = this.vocab.id(START);
    const endId = this.vocab.id(END);
    const inputs = rows.map(row => [...row, endId]);
    const outputs: number[][] = rows.map(() => [startId]);
    const pointers: number[][] = rows.map(() => [this.vocab.maxInputLength]);
    const done = rows.map(() => false);
    const [encoded, mask] = tf.tidy(() => {
      const ids = padBatch(inputs);
      return this.parts.encoder.predict([ids, maskOf(ids)]) as tf.Tensor[];
    }) as [tf.Tensor, tf.Tensor];
    try {
      for (let step = 1; step < this.vocab.maxOutputLength && done.some(d => !d); step++) {
        const next = tf.tidy(() => {
          // [batch, 1, step, timeIn]: where each next word is, for every step so far.
          const pointer =
              this.parts.decoder.predict([padBatch(outputs), padBatch(pointers), encoded, mask]) as
              tf.Tensor;
          return pointer.slice([0, 0, step - 1, 0], [-1, 1, 1, -1]).reshape([rows.length, -1])
              .argMax(-1);  // [batch]
        });
        const positions = next.dataSync();
        next.dispose();
        outputs.forEach((row, i) => {
          const id = done[i] ? endId : inputs[i]![positions[i]!] ?? endId;
          row.push(id);
          pointers[i]!.push(positions[i]!);
          done[i] = done[i] || id === endId;
        });
      }
    } finally {
      encoded.dispose();
      mask.dispose();
    }
    return outputs.map(row => this.vocab.decode(row));
  }
}
