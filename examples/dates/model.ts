/**
 * The date translator: a small encoder–decoder Transformer made of this package's pieces
 * (TokenEmbedding, PositionalEmbedding, encoderBlock, decoderBlock → SelfAttention), plus
 * batched greedy decoding.
 *
 * Inputs: encoder ids `[batch, time]` (any time up to maxInputLength, padded with 0 at the end),
 * the encoder mask `[batch, time]` (1 = character, 0 = padding), each character's place counted
 * from the end `[batch, time]` (1 = last, 0 = padding), and the decoder ids
 * `[batch, t]` (START, then the output so far; t = outputLength in training).
 *
 * Why positions from the end too: many formats end with the year, at a place fixed from the end
 * but not from the start ("Sunday, January 20, 2019" vs "1/20/2019"); with both, attention can
 * find "the last four characters" without first working out the input's length. Output: logits
 * `[batch, outputLength, vocabSize]`. The mask is an explicit input, handed to every attention
 * over the encoder as its third input, so nothing depends on tfjs's mask propagation.
 *
 * Decoding ({@link decode}) runs the encoder once per input and then only the decoder, once
 * per output character, on the stored encoder output ({@link splitDateModel}), and on the new
 * character alone: the decoder's attention layers keep the keys and values of the characters
 * before it (the package's `startDecoding`).
 */
import * as tf from '@tensorflow/tfjs';

import {decoderBlock, DecodingSession, encoderBlock, layerNorm, positionalEmbedding, startDecoding, tokenEmbedding} from '../../src';
import {splitEncoderDecoder} from '../shared/encoder_decoder';
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

/** Names of the layers that {@link splitDateModel} cuts the model at. */
export const ENCODER_OUTPUT = 'encoder_norm';
export const ENCODER_MASK = 'encoder_mask';
export const DECODER_IDS = 'decoder_ids';

/** The Transformer (see the file comment): `[ids, mask, fromEnd, decoderIds]` → logits. */
export function buildDateModel(args: DateModelArgs): tf.LayersModel {
  const d = args.modelDim ?? 64;
  const block = {numHeads: args.numHeads ?? 4, ffDim: args.ffDim ?? 128};
  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: 'encoder_ids'});
  const encoderMask = tf.input({shape: [null], name: ENCODER_MASK});
  const fromEnd = tf.input({shape: [null], dtype: 'int32', name: 'encoder_from_end'});
  const decoderIds = tf.input({shape: [null], dtype: 'int32', name: DECODER_IDS});

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
  const encoded = layerNorm({name: ENCODER_OUTPUT}).apply(x) as tf.SymbolicTensor;

  let y = tokenEmbedding({vocabSize: args.vocabSize, outputDim: d, name: 'decoder_embedding'})
              .apply(decoderIds) as tf.SymbolicTensor;  // [batch, outputLength, d]
  y = positionalEmbedding({maxLength: args.outputLength, name: 'decoder_positions'})
          .apply(y) as tf.SymbolicTensor;
  for (let i = 0; i < (args.decoderLayers ?? 1); i++) {
    y = decoderBlock(y, encoded, encoderMask, {...block, name: `decoder_${i}`});
  }
  y = layerNorm({name: 'decoder_norm'}).apply(y) as tf.SymbolicTensor;
  const logits = tf.layers.dense({units: args.vocabSize, name: 'logits'})
                     .apply(y) as tf.SymbolicTensor;  // [batch, outputLength, vocabSize]
  return tf.model({inputs: [encoderIds, encoderMask, fromEnd, decoderIds], outputs: logits,
                   name: 'date_translator'});
}

/**
 * What a model takes: 'transformer' = `[ids, mask, fromEnd, decoderIds]` ({@link buildDateModel}),
 * 'ids' = `[ids, decoderIds]` (the LSTM baseline, which knows padding by its id).
 */
export type ModelInputs = 'transformer'|'ids';

/** Tensors of one batch. */
export interface Batch {
  /** The model's inputs (see {@link ModelInputs}). */
  inputs: tf.Tensor[];
  /** `[batch, outputLength]` target ids. */
  labels: tf.Tensor2D;
}

/**
 * Encodes examples for teacher forcing, padded to their longest input rounded up to a multiple
 * of `lengthMultiple` (default 1). Padding changes no result; fewer distinct shapes mean fewer
 * programs for a backend that compiles one per shape (webgl).
 */
export function makeBatch(vocab: Vocab, examples: Example[], inputs: ModelInputs = 'transformer',
                          lengthMultiple = 1): Batch {
  const longest = examples.reduce((m, e) => Math.max(m, e.input.length), 1);
  const enc = vocab.encodeInputs(examples.map(e => e.input),
                                 Math.ceil(longest / lengthMultiple) * lengthMultiple);
  const dec = vocab.encodeTargets(examples.map(e => e.target));
  const L = vocab.outputLength;
  const ids = tf.tensor2d(enc.ids, [enc.n, enc.length], 'int32');
  const decoderIds = tf.tensor2d(dec.decoderIds, [dec.n, L], 'int32');
  return {
    inputs: inputs === 'transformer' ?
        [ids, tf.tensor2d(enc.mask, [enc.n, enc.length]),
         tf.tensor2d(enc.fromEnd, [enc.n, enc.length], 'int32'), decoderIds] :
        [ids, decoderIds],
    labels: tf.tensor2d(dec.labels, [dec.n, L], 'int32'),
  };
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
  batchSize?: number|undefined;
  /** What the model takes. Default 'transformer'. */
  inputs?: ModelInputs|undefined;
  /** Inputs are padded to a multiple of this (see {@link makeBatch}). Default 1. */
  lengthMultiple?: number|undefined;
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
    const batch = makeBatch(vocab, idx.map(j => examples[j]!), args.inputs, args.lengthMultiple);
    const logits = model.predict(batch.inputs) as tf.Tensor;
    exactMatches(logits, batch.labels).forEach((ok, k) => right[idx[k]!] = ok);
    tf.dispose([logits, batch.inputs, batch.labels]);
  }
  return right;
}

/** The date model split for decoding: encoder once per input, decoder once per character. */
export interface DateDecoder {
  /** `[ids, mask, fromEnd]` → `[encoded [batch, time, d], mask]`. */
  encoder: tf.LayersModel;
  /** `[decoderIds [batch, t], encoded, mask]` → logits `[batch, t, vocab]`. */
  decoder: tf.LayersModel;
}

/** Splits a model built by {@link buildDateModel} (fresh or loaded); no weight is copied. */
export function splitDateModel(model: tf.LayersModel): DateDecoder {
  return splitEncoderDecoder(model, {boundary: [ENCODER_OUTPUT, ENCODER_MASK],
                                     decoderInputs: [DECODER_IDS]});
}

/** What {@link decode} returns for `n` texts. */
export interface Decoded {
  /** The outputs, as text. */
  texts: string[];
  /** `[n, outputLength, vocabSize]` logits of every step's choice, row-major. */
  logits: Float32Array;
  /** `[n, outputLength]` ids chosen at each step. */
  ids: Int32Array;
  vocabSize: number;
}

/**
 * Greedy decoding, batched: encodes each chunk of `batchSize` texts once, then runs the decoder
 * outputLength times, each time on the character chosen last only (its attention layers cache
 * the earlier characters' keys and values, and the encoder's), taking the most likely next one.
 * Texts must be valid (see `Vocab.problem`). Pass `parts` to reuse a split model.
 */
export function decode(model: tf.LayersModel, vocab: Vocab, texts: string[], batchSize = 256,
                       parts: DateDecoder = splitDateModel(model)): Decoded {
  const L = vocab.outputLength;
  const V = vocab.size;
  const allIds = new Int32Array(texts.length * L);
  const allLogits = new Float32Array(texts.length * L * V);
  // The decoder's inputs: [decoder ids (they grow), encoded, mask (fixed per chunk)].
  const [, encodedName, maskName] = parts.decoder.inputNames as [string, string, string];
  for (let start = 0; start < texts.length; start += batchSize) {
    const chunk = texts.slice(start, start + batchSize);
    const n = chunk.length;
    const enc = vocab.encodeInputs(chunk);
    const [encoded, mask] = tf.tidy(() => parts.encoder.predict([
      tf.tensor2d(enc.ids, [n, enc.length], 'int32'), tf.tensor2d(enc.mask, [n, enc.length]),
      tf.tensor2d(enc.fromEnd, [n, enc.length], 'int32'),
    ]) as tf.Tensor[]) as [tf.Tensor, tf.Tensor];  // [n, time, d], [n, time]
    let session: DecodingSession;
    try {
      session = startDecoding(parts.decoder, {maxLength: L,
                                              inputs: {[encodedName]: encoded, [maskName]: mask}});
    } finally {
      tf.dispose([encoded, mask]);  // the session keeps what it needs
    }
    try {
      const last = new Int32Array(n).fill(START);  // [n]: the character chosen last
      for (let t = 0; t < L; t++) {
        const step = tf.tidy(() => {
          const logits = session.step(tf.tensor2d(last, [n, 1], 'int32')) as tf.Tensor;  // [n, 1, V]
          return logits.reshape([n, V]);
        });
        const rows = step.dataSync() as Float32Array;
        step.dispose();
        for (let i = 0; i < n; i++) {
          const row = rows.subarray(i * V, (i + 1) * V);
          let best = 0;
          for (let v = 1; v < V; v++) {
            if (row[v]! > row[best]!) {
              best = v;
            }
          }
          allIds[(start + i) * L + t] = best;
          allLogits.set(row, ((start + i) * L + t) * V);
          last[i] = best;
        }
      }
    } finally {
      session.dispose();
    }
  }
  const textsOut = texts.map((_, i) => vocab.decode(allIds.subarray(i * L, (i + 1) * L)));
  return {texts: textsOut, logits: allLogits, ids: allIds, vocabSize: V};
}

/** Greedy translations of `texts` (see {@link decode}). */
export function translate(model: tf.LayersModel, vocab: Vocab, texts: string[],
                          batchSize = 256): string[] {
  return decode(model, vocab, texts, batchSize).texts;
}
