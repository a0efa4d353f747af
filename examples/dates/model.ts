/**
 * The date translator: a small encoder–decoder Transformer made of this package's pieces
 * (TokenEmbedding, PositionalEmbedding, encoderBlock, decoderBlock → SelfAttention), plus
 * batched greedy decoding.
 *
 * Inputs: encoder ids `[batch, time]` (any time up to maxInputLength, padded with 0 at the end),
 * the encoder mask `[batch, time]` (1 = character, 0 = padding), each character's place counted
 * from the end `[batch, time]` (1 = last, 0 = padding), and the decoder ids
 * `[batch, outputLength]` (START, then the output so far).
 *
 * Why positions from the end too: many formats end with the year, at a place fixed from the end
 * but not from the start ("Sunday, January 20, 2019" vs "1/20/2019"); with both, attention can
 * find "the last four characters" without first working out the input's length. Output: logits
 * `[batch, outputLength, vocabSize]`. The mask is an explicit input, handed to every attention
 * over the encoder as its third input, so nothing depends on tfjs's mask propagation.
 */
import * as tf from '@tensorflow/tfjs';

import {decoderBlock, encoderBlock, layerNorm, positionalEmbedding, tokenEmbedding} from '../../src';
import {Example} from './data';
import {START, Vocab} from './vocab';

/** Arguments of {@link buildDateModel}. */
export interface DateModelArgs {
  /** Number of token ids. Required. */
  vocabSize: number;
  /** Longest input. Required. */
  maxInputLength: number;
  /** Length of every output. Required. */
  outputLength: number;
  /** Width of every token vector. Default 64. */
  modelDim?: number;
  /** Attention heads. Default 4. */
  numHeads?: number;
  /** Feed-forward hidden size. Default 128. */
  ffDim?: number;
  /** Encoder blocks. Default 2. */
  encoderLayers?: number;
  /** Decoder blocks. Default 1. */
  decoderLayers?: number;
}

export function buildDateModel(args: DateModelArgs): tf.LayersModel {
  const d = args.modelDim ?? 64;
  const block = {numHeads: args.numHeads ?? 4, ffDim: args.ffDim ?? 128};
  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: 'encoder_ids'});
  const encoderMask = tf.input({shape: [null], name: 'encoder_mask'});
  const fromEnd = tf.input({shape: [null], dtype: 'int32', name: 'encoder_from_end'});
  const decoderIds = tf.input({shape: [args.outputLength], dtype: 'int32', name: 'decoder_ids'});

  let x = tokenEmbedding({vocabSize: args.vocabSize, outputDim: d, name: 'encoder_embedding'})
              .apply(encoderIds) as tf.SymbolicTensor;  // [batch, time, d]
  x = positionalEmbedding({maxLength: args.maxInputLength, name: 'encoder_positions'})
          .apply(x) as tf.SymbolicTensor;
  const endPositions = tokenEmbedding({vocabSize: args.maxInputLength + 1, outputDim: d,
                                       name: 'encoder_positions_from_end'})
                           .apply(fromEnd) as tf.SymbolicTensor;
  x = tf.layers.add({name: 'encoder_add_positions_from_end'}).apply([x, endPositions]) as
      tf.SymbolicTensor;
  for (let i = 0; i < (args.encoderLayers ?? 2); i++) {
    x = encoderBlock(x, encoderMask, {...block, name: `encoder_${i}`});
  }
  const encoded = layerNorm({ name: 'encoder_norm'})
                      .apply(x) as tf.SymbolicTensor;

  let y = tokenEmbedding({vocabSize: args.vocabSize, outputDim: d, name: 'decoder_embedding'})
              .apply(decoderIds) as tf.SymbolicTensor;  // [batch, outputLength, d]
  y = positionalEmbedding({maxLength: args.outputLength, name: 'decoder_positions'})
          .apply(y) as tf.SymbolicTensor;
  for (let i = 0; i < (args.decoderLayers ?? 1); i++) {
    y = decoderBlock(y, encoded, encoderMask, {...block, name: `decoder_${i}`});
  }
  y = layerNorm({ name: 'decoder_norm'})
          .apply(y) as tf.SymbolicTensor;
  const logits = tf.layers.dense({units: args.vocabSize, name: 'logits'})
                     .apply(y) as tf.SymbolicTensor;  // [batch, outputLength, vocabSize]
  return tf.model({inputs: [encoderIds, encoderMask, fromEnd, decoderIds], outputs: logits,
                   name: 'date_translator'});
}

/** Tensors of one batch: [encoder ids, mask, positions from end, decoder ids] (or [ids, decoder ids]). */
export interface Batch {
  inputs: tf.Tensor[];
  /** `[batch, outputLength]` target ids. */
  labels: tf.Tensor2D;
}

/**
 * Encodes examples for teacher forcing. `padding` 'post' (Transformer) or 'pre' (LSTM baseline).
 * Models that take no mask get [ids, decoder ids].
 */
export function makeBatch(vocab: Vocab, examples: Example[], padding: 'post'|'pre' = 'post',
                          withMask = true): Batch {
  const enc = vocab.encodeInputs(examples.map(e => e.input), padding);
  const dec = vocab.encodeTargets(examples.map(e => e.target));
  const L = vocab.outputLength;
  const ids = tf.tensor2d(enc.ids, [enc.n, enc.length], 'int32');
  const decoderIds = tf.tensor2d(dec.decoderIds, [dec.n, L], 'int32');
  const inputs = withMask ? [ids, tf.tensor2d(enc.mask, [enc.n, enc.length]),
                             tf.tensor2d(enc.fromEnd, [enc.n, enc.length], 'int32'), decoderIds] :
                            [ids, decoderIds];
  return {inputs, labels: tf.tensor2d(dec.labels, [dec.n, L], 'int32')};
}

/** Mean cross-entropy of logits `[batch, L, vocab]` against labels `[batch, L]`. */
export function sequenceLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const vocabSize = logits.shape[2]!;
    const oneHot = tf.oneHot(labels.reshape([-1]), vocabSize);
    return tf.losses.softmaxCrossEntropy(oneHot, logits.reshape([-1, vocabSize]));
  });
}

/**
 * Per example: is every output character right under teacher forcing? For a causal decoder
 * this equals "greedy decoding returns the target exactly": if every step's argmax is the
 * target, greedy decoding feeds itself the target, step by step; and if greedy decoding returns
 * the target, its inputs were the teacher's. So one forward pass measures exact match.
 */
export function exactMatches(logits: tf.Tensor, labels: tf.Tensor): boolean[] {
  return tf.tidy(() => {
    const right = tf.equal(tf.argMax(logits, -1).cast('int32'), labels.cast('int32'));  // [b, L]
    return Array.from(right.cast('int32').min(1).dataSync()).map(v => v === 1);
  });
}

/** Arguments of {@link evaluate}. */
export interface EvaluateArgs {
  /** Examples per forward pass. Default 512. */
  batchSize?: number;
  /** 'post' (Transformer, default) or 'pre' (LSTM baseline). */
  padding?: 'post'|'pre';
  /** Whether the model takes the mask inputs. Default: padding === 'post'. */
  withMask?: boolean;
}

/** Exact match of every example (teacher forcing, see {@link exactMatches}), in order. */
export function evaluate(model: tf.LayersModel, vocab: Vocab, examples: Example[],
                         args: EvaluateArgs = {}): boolean[] {
  const batchSize = args.batchSize ?? 512;
  // Sort by length so batches carry little padding, then put results back in order.
  const order = examples.map((_, i) => i).sort((a, b) => examples[a]!.input.length -
                                                         examples[b]!.input.length);
  const right = new Array<boolean>(examples.length);
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    const batch = makeBatch(vocab, idx.map(j => examples[j]!), args.padding,
                            args.withMask ?? (args.padding ?? 'post') === 'post');
    const logits = model.predict(batch.inputs) as tf.Tensor;
    exactMatches(logits, batch.labels).forEach((ok, k) => right[idx[k]!] = ok);
    tf.dispose([logits, batch.inputs, batch.labels]);
  }
  return right;
}

/**
 * Greedy decoding, batched: runs the model outputLength times, each time taking the most
 * likely character at the next position. Texts must be valid (see `Vocab.problem`).
 */
export function translate(model: tf.LayersModel, vocab: Vocab, texts: string[],
                          batchSize = 256): string[] {
  const L = vocab.outputLength;
  const results: string[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const chunk = texts.slice(start, start + batchSize);
    const enc = vocab.encodeInputs(chunk, 'post');
    const n = chunk.length;
    const decoded = new Int32Array(n * L);
    for (let i = 0; i < n; i++) {
      decoded[i * L] = START;
    }
    const out = new Int32Array(n * L);
    const ids = tf.tensor2d(enc.ids, [n, enc.length], 'int32');
    const mask = tf.tensor2d(enc.mask, [n, enc.length]);
    const fromEnd = tf.tensor2d(enc.fromEnd, [n, enc.length], 'int32');
    for (let t = 0; t < L; t++) {
      const next = tf.tidy(() => {
        const logits = model.predict(
            [ids, mask, fromEnd, tf.tensor2d(decoded, [n, L], 'int32')]) as tf.Tensor;  // [n, L, vocab]
        return logits.slice([0, t, 0], [n, 1, -1]).argMax(-1).dataSync();
      });
      for (let i = 0; i < n; i++) {
        out[i * L + t] = next[i]!;
        if (t + 1 < L) {
          decoded[i * L + t + 1] = next[i]!;
        }
      }
    }
    tf.dispose([ids, mask, fromEnd]);
    for (let i = 0; i < n; i++) {
      results.push(vocab.decode(out.subarray(i * L, (i + 1) * L)));
    }
  }
  return results;
}
