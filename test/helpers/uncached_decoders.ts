/**
 * The examples' greedy decoders as they were before cached decoding: the encoder once per
 * batch, then the decoder re-run on the whole output so far for every new token. They are the
 * reference the cached decoders are tested against (same ids, logits to 1e-5) and the baseline
 * `npm run bench:examples` times them against; nothing else uses them.
 */
import * as tf from '@tensorflow/tfjs';

import {DateDecoder, Decoded} from '../../examples/dates/model';
import {START, Vocab as DateVocab} from '../../examples/dates/vocab';
import {chooseNext, maskOf, padBatch, PointerDecoded, startHeadlines} from '../../examples/headlines/summarizer';
import {Vocab as HeadlineVocab} from '../../examples/headlines/vocab';
import {EncoderDecoder} from '../../examples/shared/encoder_decoder';

/** `decode` of examples/dates/model.ts, the decoder re-run on the whole prefix per character. */
export function decodeDatesUncached(parts: DateDecoder, vocab: DateVocab, texts: string[],
                                    batchSize = 256): Decoded {
  const L = vocab.outputLength;
  const V = vocab.size;
  const allIds = new Int32Array(texts.length * L);
  const allLogits = new Float32Array(texts.length * L * V);
  for (let start = 0; start < texts.length; start += batchSize) {
    const chunk = texts.slice(start, start + batchSize);
    const n = chunk.length;
    const enc = vocab.encodeInputs(chunk);
    const decoded = new Int32Array(n * L);  // [n, L]: START, then the choices so far
    for (let i = 0; i < n; i++) {
      decoded[i * L] = START;
    }
    const [encoded, mask] = tf.tidy(() => parts.encoder.predict([
      tf.tensor2d(enc.ids, [n, enc.length], 'int32'), tf.tensor2d(enc.mask, [n, enc.length]),
      tf.tensor2d(enc.fromEnd, [n, enc.length], 'int32'),
    ]) as tf.Tensor[]) as [tf.Tensor, tf.Tensor];
    for (let t = 0; t < L; t++) {
      const rows = tf.tidy(() => {
        const prefix = tf.tensor2d(decoded, [n, L], 'int32').slice([0, 0], [n, t + 1]);
        const logits = parts.decoder.predict([prefix, encoded, mask]) as tf.Tensor;  // [n, t+1, V]
        return logits.slice([0, t, 0], [n, 1, V]).dataSync() as Float32Array;
      });
      for (let i = 0; i < n; i++) {
        const row = rows.subarray(i * V, (i + 1) * V);
        const best = row.indexOf(Math.max(...row));
        allIds[(start + i) * L + t] = best;
        allLogits.set(row, ((start + i) * L + t) * V);
        if (t + 1 < L) {
          decoded[i * L + t + 1] = best;
        }
      }
    }
    tf.dispose([encoded, mask]);
  }
  const textsOut = texts.map((_, i) => vocab.decode(allIds.subarray(i * L, (i + 1) * L)));
  return {texts: textsOut, logits: allLogits, ids: allIds, vocabSize: V};
}

/**
 * `decodeHeadlines` of examples/headlines/summarizer.ts, the decoder re-run on all the words
 * so far per step.
 */
export function decodeHeadlinesUncached(parts: EncoderDecoder, vocab: HeadlineVocab,
                                        rows: number[][]): PointerDecoded {
  const {inputs, decoded} = startHeadlines(vocab, rows);
  const [encoded, mask] = tf.tidy(() => {
    const ids = padBatch(inputs);
    return parts.encoder.predict([ids, maskOf(ids)]) as tf.Tensor[];
  }) as [tf.Tensor, tf.Tensor];
  for (let step = 1; step < vocab.maxOutputLength; step++) {
    const probabilities = tf.tidy(() => {
      // [batch, 1, step, timeIn]: where each next word is, for every step so far.
      const pointer = parts.decoder.predict([padBatch(decoded.ids), padBatch(decoded.positions),
                                             encoded, mask]) as tf.Tensor;
      return pointer.slice([0, 0, step - 1, 0], [-1, 1, 1, -1]).dataSync() as Float32Array;
    });
    if (chooseNext(vocab, inputs, decoded, probabilities)) {
      break;
    }
  }
  tf.dispose([encoded, mask]);
  return decoded;
}
