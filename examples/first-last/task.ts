/**
 * A small task that needs attention: "is the last token the same as the first?"
 *
 * Sequences of distinct random tokens; in half of them the last token is set to the first.
 * No single position says anything: the model must bring two positions together, which is
 * what attention does (the first position's query learns to look at the last key). Without
 * attention, embedding → per-token dense → pooling → linear output only sees a sum of
 * per-token features; "first == last" is a product of the two tokens' one-hot codes, which no
 * linear function of such a sum expresses, so that model stays near chance.
 */
import * as tf from '@tensorflow/tfjs';

import {positionalEmbedding, selfAttention, tokenEmbedding} from '../../src';
import {random} from '../shared/random';

export interface FirstLastData {
  /** Token ids `[n, length]`, int32. */
  ids: tf.Tensor2D;
  /** 1 when the last token equals the first, else 0: `[n, 1]`. */
  labels: tf.Tensor2D;
}

export const VOCAB = 16;
export const LENGTH = 8;

/** `n` sequences, every second one with last = first. */
export function makeData(n: number, seed: number): FirstLastData {
  const next = random(seed);
  const ids: number[][] = [];
  const labels: number[][] = [];
  for (let i = 0; i < n; i++) {
    const pool = Array.from({length: VOCAB}, (_, t) => t);
    for (let j = pool.length - 1; j > 0; j--) {  // shuffle, then take LENGTH distinct tokens
      const k = Math.floor(next() * (j + 1));
      [pool[j], pool[k]] = [pool[k]!, pool[j]!];
    }
    const seq = pool.slice(0, LENGTH);
    const repeated = i % 2 === 1;
    if (repeated) {
      seq[LENGTH - 1] = seq[0]!;
    }
    ids.push(seq);
    labels.push([repeated ? 1 : 0]);
  }
  return {ids: tf.tensor2d(ids, undefined, 'int32'), labels: tf.tensor2d(labels)};
}

/**
 * embedding (+ learned positions) → [x + SelfAttention(x)] → dense(relu) per token → average
 * pooling → dense(sigmoid). With `attention: false` the attention branch is left out (x goes on
 * alone), nothing else changes.
 */
export function buildModel(attention: boolean, seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({seed: seed * 100 + s});
  const input = tf.input({shape: [LENGTH], dtype: 'int32'});
  let x = tokenEmbedding({vocabSize: VOCAB, outputDim: 32,
                          embeddingsInitializer: tf.initializers.randomNormal({seed})})
              .apply(input) as tf.SymbolicTensor;
  x = positionalEmbedding({maxLength: LENGTH}).apply(x) as tf.SymbolicTensor;
  if (attention) {
    const attended = selfAttention({numHeads: 2}).apply(x) as tf.SymbolicTensor;
    x = tf.layers.add().apply([x, attended]) as tf.SymbolicTensor;  // residual connection
  }
  x = tf.layers.dense({units: 32, activation: 'relu', kernelInitializer: init(1)}).apply(x) as
      tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling1d().apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({units: 1, activation: 'sigmoid', kernelInitializer: init(2)})
                     .apply(x) as tf.SymbolicTensor;
  const model = tf.model({inputs: input, outputs: output});
  model.compile({optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy', metrics: ['accuracy']});
  return model;
}

/** Trains on `train`, returns held-out accuracy on `test`. */
export async function trainAndScore(model: tf.LayersModel, train: FirstLastData,
                                    test: FirstLastData, epochs: number): Promise<number> {
  if (epochs > 0) {
    await model.fit(train.ids, train.labels, {epochs, batchSize: 128, shuffle: true, verbose: 0});
  }
  return tf.tidy(() => {
    const predicted = tf.greater(model.predict(test.ids) as tf.Tensor, 0.5);
    return tf.mean(tf.cast(tf.equal(predicted, tf.cast(test.labels, 'bool')), 'float32'))
        .dataSync()[0]!;
  });
}
