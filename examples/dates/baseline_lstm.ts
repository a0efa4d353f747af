/**
 * The baseline: the classic tfjs date-conversion model (tfjs-examples,
 * date-conversion-attention), an LSTM encoder–decoder with dot-product (Luong) attention and
 * no learned queries, keys or values, built here as published:
 *
 *   encoder: Embedding(64, maskZero) → LSTM(64), every step, and the last step's output
 *   decoder: Embedding(64, maskZero) → LSTM(64), both states started from that last output
 *   attention: dot(decoder, encoder) → softmax → dot(·, encoder) = context
 *   output: concat(context, decoder) → Dense(64, tanh) → Dense(vocab)
 *
 * Inputs are padded at the end with id 0; `maskZero` makes the encoder LSTM carry its state
 * over the padding, so its last step is its state after the last character (as in the classic
 * model, padded attention positions are not masked). The embeddings are this package's
 * TokenEmbedding with `maskZero`, the same function as `tf.layers.embedding` (whose gradient
 * has no kernel on tfjs 4.22's wasm backend). The final softmax is folded into the loss
 * (softmax cross-entropy on logits, the same as the classic categorical cross-entropy on
 * probabilities), as in the Transformer. Trained with the classic setup: Adam at tfjs's
 * defaults (learning rate 1e-3), batch 128.
 */
import * as tf from '@tensorflow/tfjs';

import {tokenEmbedding} from '../../src';

/** `[batch, time, features]` → the last time step `[batch, features]`; drops the mask. */
export class LastTimestep extends tf.layers.Layer {
  static className = 'LastTimestep';

  constructor(args: ConstructorParameters<typeof tf.layers.Layer>[0] = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape|tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, shape[2]!];
  }

  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor;  // tfjs reads null as "no mask"
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
  /** Number of token ids (id 0 = padding). Required. */
  vocabSize: number;
  /** Length of every output. Required. */
  outputLength: number;
  /** LSTM and embedding size. Default 64, as published. */
  units?: number;
}

/** Inputs: encoder ids `[batch, time]` (padded at the end with 0), decoder ids `[batch, L]`. */
export function buildLstmBaseline(args: LstmBaselineArgs): tf.LayersModel {
  const units = args.units ?? 64;
  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: 'encoder_ids'});
  const decoderIds = tf.input({shape: [args.outputLength], dtype: 'int32', name: 'decoder_ids'});

  const encoderEmbedded = tokenEmbedding({vocabSize: args.vocabSize, outputDim: units,
                                          maskZero: true})
                              .apply(encoderIds) as tf.SymbolicTensor;
  const encoder = tf.layers.lstm({units, returnSequences: true})
                      .apply(encoderEmbedded) as tf.SymbolicTensor;  // [b, T, units]
  const last = new LastTimestep({name: 'encoder_last'}).apply(encoder) as tf.SymbolicTensor;
  const decoderEmbedded = tokenEmbedding({vocabSize: args.vocabSize, outputDim: units,
                                          maskZero: true})
                              .apply(decoderIds) as tf.SymbolicTensor;
  // As in the classic model, the encoder's last output starts both decoder states. It goes in
  // as extra inputs (what `{initialState}` becomes inside tfjs): passed as a call argument it
  // ends up in the arguments that tfjs 4.22's executor shares between layers, and
  // `model.apply` then fails ("When inputs is an array, neither initialState or constants
  // should be provided").
  const decoder = tf.layers.lstm({units, returnSequences: true})
                      .apply([decoderEmbedded, last, last]) as tf.SymbolicTensor;

  let attention = tf.layers.dot({axes: [2, 2]}).apply([decoder, encoder]) as tf.SymbolicTensor;
  attention = tf.layers.activation({activation: 'softmax', name: 'attention'})
                  .apply(attention) as tf.SymbolicTensor;  // [b, L, T]
  const context = tf.layers.dot({axes: [2, 1], name: 'context'}).apply([attention, encoder]) as
      tf.SymbolicTensor;  // [b, L, units]
  const combined = tf.layers.concatenate().apply([context, decoder]) as tf.SymbolicTensor;
  let output = tf.layers.timeDistributed({layer: tf.layers.dense({units, activation: 'tanh'})})
                   .apply(combined) as tf.SymbolicTensor;
  output = tf.layers.timeDistributed({layer: tf.layers.dense({units: args.vocabSize})})
               .apply(output) as tf.SymbolicTensor;  // [b, L, vocab] logits
  return tf.model({inputs: [encoderIds, decoderIds], outputs: output, name: 'lstm_baseline'});
}
