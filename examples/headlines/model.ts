/**
 * The headline model: a small Transformer encoder–decoder built from the package's layers,
 * with a pointer output.
 *
 *   encoder_ids [batch, timeIn] (input + END), encoder_mask [batch, timeIn] (1 = token,
 *       0 = padding) → tokenEmbedding + positionalEmbedding → encoder blocks → LN
 *   decoder_ids [batch, timeOut] (START + headline), + their input positions → tokenEmbedding
 *       + tokenEmbedding of the positions + positionalEmbedding →
 *       decoder blocks (causal self-attention, cross-attention on the encoder) → LN →
 *       pointer: the attention weights of a last cross-attention, over the input positions
 *
 * Why a pointer: a headline only ever copies input words, so the model chooses positions
 * rather than one of 270 words. It then needs no word-by-word output table, learns in a few
 * minutes, and a subject–verb–object combination it never saw is no harder than a seen one.
 *
 * Why encoder–decoder rather than decoder-only: the input (up to 45 tokens) is much longer than
 * the headline (at most 10), and which clause is the main one depends on words on both sides
 * of it ("..., while the dog slept"), which a bidirectional encoder sees at once. Decoding then
 * runs the encoder once and only the small decoder per output word ({@link splitForInference}),
 * instead of a causal model re-reading input and headline at every step.
 *
 * Everything is the package's layers (encoderBlock / decoderBlock, layerNorm, selfAttention,
 * tokenEmbedding, positionalEmbedding) and tfjs's own: the mask is an explicit input, handed to
 * every attention over the encoder, so nothing depends on tfjs's mask propagation and the saved
 * model loads with the package alone.
 */
import * as tf from '@tensorflow/tfjs';

import {decoderBlock, encoderBlock, layerNorm, positionalEmbedding, selfAttention, tokenEmbedding} from '../../src';
import {EncoderDecoder, splitEncoderDecoder} from '../shared/encoder_decoder';

/** Sizes of the model. */
export interface HeadlineModelArgs {
  /** Number of tokens, PAD/START/END included. Required. */
  vocabSize: number;
  /** Longest input in tokens. Required. */
  maxInputLength: number;
  /** Longest decoder sequence. Required. */
  maxOutputLength: number;
  /** Width of every token vector. Default 64. */
  modelDim?: number;
  /** Attention heads per attention layer. Default 4. */
  numHeads?: number;
  /** Hidden size of the feed-forward sub-blocks. Default 2 · modelDim. */
  ffDim?: number;
  /** Encoder blocks. Default 2. */
  encoderLayers?: number;
  /** Decoder blocks. Default 1. */
  decoderLayers?: number;
}

/** Layer names that {@link splitForInference} looks up. */
export const ENCODER_IDS = 'encoder_ids';
export const ENCODER_MASK = 'encoder_mask';
export const DECODER_IDS = 'decoder_ids';
export const DECODER_POINTERS = 'decoder_pointers';
export const ENCODER_OUTPUT = 'encoder_output';
export const POINTER = 'pointer';

/**
 * The training model: `[encoder_ids, encoder_mask, decoder_ids, decoder_pointers]` →
 * `[batch, 1, timeOut, timeIn]`, for each output step the probability that the next headline
 * word is the input word at each position. `encoder_ids` end with END, which the model points
 * at to stop; `decoder_pointers` are the input positions of the decoder's words (START's is
 * `maxInputLength`).
 */
export function buildHeadlineModel(args: HeadlineModelArgs): tf.LayersModel {
  for (const name of ['vocabSize', 'maxInputLength', 'maxOutputLength', 'modelDim', 'numHeads',
                      'ffDim', 'encoderLayers', 'decoderLayers'] as const) {
    const value = args[name];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new Error(`buildHeadlineModel: ${name} must be a positive integer. Received: ${
          name}=${JSON.stringify(value)}`);
    }
  }
  const d = args.modelDim ?? 64;
  const block = {numHeads: args.numHeads ?? 4, ffDim: args.ffDim ?? 2 * d};
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor|tf.SymbolicTensor[]) =>
      layer.apply(x) as tf.SymbolicTensor;

  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: ENCODER_IDS});
  const mask = tf.input({shape: [null], name: ENCODER_MASK});  // [batch, timeIn]
  const decoderIds = tf.input({shape: [null], dtype: 'int32', name: DECODER_IDS});
  const decoderPointers = tf.input({shape: [null], dtype: 'int32', name: DECODER_POINTERS});

  let x = apply(tokenEmbedding({vocabSize: args.vocabSize, outputDim: d,
                                name: 'encoder_embedding'}), encoderIds);
  x = apply(positionalEmbedding({maxLength: args.maxInputLength, name: 'encoder_positions'}), x);
  for (let i = 0; i < (args.encoderLayers ?? 2); i++) {
    x = encoderBlock(x, mask, {...block, name: `encoder_${i}`});
  }
  const encoded = apply(layerNorm({name: ENCODER_OUTPUT}), x);

  // Each decoder step sees the previous word and where in the input it was (a repeated word
  // is then not copied from the wrong place twice).
  const words = apply(tokenEmbedding({vocabSize: args.vocabSize, outputDim: d,
                                      name: 'decoder_embedding'}), decoderIds);
  const places = apply(tokenEmbedding({vocabSize: args.maxInputLength + 1, outputDim: d,
                                       name: 'decoder_pointer_embedding'}), decoderPointers);
  let y = apply(tf.layers.add({name: 'decoder_inputs'}), [words, places]);
  y = apply(positionalEmbedding({maxLength: args.maxOutputLength, name: 'decoder_positions'}),
            y);
  for (let i = 0; i < (args.decoderLayers ?? 1); i++) {
    y = decoderBlock(y, encoded, mask, {...block, name: `decoder_${i}`});
  }
  y = apply(layerNorm({name: 'decoder_output'}), y);
  // The pointer: one more cross-attention whose attention weights over the input are the
  // output. Its weighted sum is not used, so its values are 1 wide.
  const pointer = selfAttention({numHeads: 1, keyDim: d, valueDim: 1, useBias: true,
                                 useOutputProjection: false, returnAttentionWeights: true,
                                 kernelInitializer: 'glorotUniform', name: POINTER});
  const [, weights] = pointer.apply([y, encoded, mask]) as tf.SymbolicTensor[];
  return tf.model({inputs: [encoderIds, mask, decoderIds, decoderPointers], outputs: weights!,
                   name: 'headlines'});
}

/**
 * The trained model split in two for decoding ({@link buildHeadlineModel}, fresh or loaded):
 * the encoder `[encoder_ids, encoder_mask]` → `[encoded, mask]`, and the decoder
 * `[decoder_ids, decoder_pointers, encoded, mask]` → pointer probabilities
 * `[batch, 1, timeOut, timeIn]`. Both share the model's layers and weights.
 */
export function splitForInference(model: tf.LayersModel): EncoderDecoder {
  return splitEncoderDecoder(model, {boundary: [ENCODER_OUTPUT, ENCODER_MASK],
                                     decoderInputs: [DECODER_IDS, DECODER_POINTERS]});
}
