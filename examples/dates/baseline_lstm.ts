/**
 * The baseline: the classic tfjs date-conversion model, an LSTM encoder–decoder with
 * dot-product (Luong) attention and no learned Q/K/V, rebuilt here to train on the same data
 * with the same loop as the Transformer.
 *
 *   encoder: Embedding(64) → LSTM(64), all steps, and the last step's output
 *   decoder: Embedding(64) → LSTM(64), both states started from that last output
 *   attention: dot(decoder, encoder) → softmax → dot(·, encoder) = context
 *   output: concat(context, decoder) → Dense(64, tanh) → Dense(vocab)
 *
 * Two changes, both forced by this environment and neutral for the model: the embeddings are
 * this package's TokenEmbedding (tf.layers.embedding cannot train on wasm in tfjs 4.22), and
 * instead of `maskZero` the inputs are padded at the start, so the encoder's last state
 * follows the last character without relying on mask propagation. The final softmax is folded
 * into the loss (softmax cross-entropy on logits), as in the Transformer.
 */
import * as tf from '@tensorflow/tfjs';

import {tokenEmbedding} from '../../src';

/** `[batch, time, features]` → the last time step `[batch, features]`. */
export class LastTimestep extends tf.layers.Layer {
  static className = 'LastTimestep';

  override computeOutputShape(inputShape: tf.Shape|tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, shape[2]!];
  }

  override call(inputs: tf.Tensor|tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = inputs instanceof Array ? inputs[0]! : inputs;  // [batch, time, features]
      const [batch, time, features] = x.shape as [number, number, number];
      return x.slice([0, time - 1, 0], [batch, 1, features]).reshape([batch, features]);
    });
  }
}
tf.serialization.registerClass(LastTimestep);

/** Arguments of {@link buildLstmBaseline}. */
export interface LstmBaselineArgs {
  vocabSize: number;
  outputLength: number;
  /** LSTM and embedding size. Default 64. */
  units?: number;
}

/** Inputs: encoder ids `[batch, time]` (padded at the start), decoder ids `[batch, L]`. */
export function buildLstmBaseline(args: LstmBaselineArgs): tf.LayersModel {
  const units = args.units ?? 64;
  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: 'encoder_ids'});
  const decoderIds = tf.input({shape: [args.outputLength], dtype: 'int32', name: 'decoder_ids'});

  const encoderEmbedded = tokenEmbedding({vocabSize: args.vocabSize, outputDim: units})
                              .apply(encoderIds) as tf.SymbolicTensor;
  const encoder = tf.layers.lstm({units, returnSequences: true})
                      .apply(encoderEmbedded) as tf.SymbolicTensor;  // [b, T, units]
  const last = new LastTimestep({}).apply(encoder) as tf.SymbolicTensor;  // [b, units]
  const decoderEmbedded = tokenEmbedding({vocabSize: args.vocabSize, outputDim: units})
                              .apply(decoderIds) as tf.SymbolicTensor;
  // As in the classic example, the encoder's last output starts both decoder states. It goes
  // in as extra inputs: passed as `{initialState}` (or taken from `returnState`) it ends up in
  // the call arguments that tfjs 4.22's executor shares between layers, and `model.apply`
  // then fails ("When inputs is an array, neither initialState or constants should be
  // provided").
  const decoder = tf.layers.lstm({units, returnSequences: true})
                      .apply([decoderEmbedded, last, last]) as tf.SymbolicTensor;

  let attention = tf.layers.dot({axes: [2, 2]}).apply([decoder, encoder]) as tf.SymbolicTensor;
  attention = tf.layers.activation({activation: 'softmax'}).apply(attention) as
      tf.SymbolicTensor;  // [b, L, T]
  const context = tf.layers.dot({axes: [2, 1]}).apply([attention, encoder]) as
      tf.SymbolicTensor;  // [b, L, units]
  const combined = tf.layers.concatenate().apply([context, decoder]) as tf.SymbolicTensor;
  let output = tf.layers.timeDistributed({layer: tf.layers.dense({units, activation: 'tanh'})})
                   .apply(combined) as tf.SymbolicTensor;
  output = tf.layers.timeDistributed({layer: tf.layers.dense({units: args.vocabSize})})
               .apply(output) as tf.SymbolicTensor;  // [b, L, vocab] logits
  return tf.model({inputs: [encoderIds, decoderIds], outputs: output, name: 'lstm_baseline'});
}
