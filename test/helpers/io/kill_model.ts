/** The weights a version of the kill-test model has: each version distinct, exact in float32. */
import * as tf from '@tensorflow/tfjs';

import {selfAttention} from '../../../src';

/** SelfAttention and two dense layers, about 0.4 MB of weights. */
export function buildKillModel(): tf.LayersModel {
  const input = tf.input({shape: [16, 64]});
  let x = selfAttention({numHeads: 4, useBias: true}).apply(input) as tf.SymbolicTensor;
  x = tf.layers.dense({units: 256}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: tf.layers.dense({units: 256}).apply(x) as tf.SymbolicTensor});
}

/** Element j of weight i of `version`: an integer below 2^24, so exact in float32. */
export function expectedValue(version: number, i: number, j: number): number {
  return version * 4096 + ((i * 31 + j) % 4093);
}

/** Sets every weight of `model` to `version`'s values and records the version in metadata. */
export function setVersion(model: tf.LayersModel, version: number): void {
  const tensors = model.weights.map((w, i) => {
    const values = new Float32Array(w.shape.reduce((a: number, b) => a * (b as number), 1));
    for (let j = 0; j < values.length; j++) {
      values[j] = expectedValue(version, i, j);
    }
    return tf.tensor(values, w.shape as number[]);
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
  model.setUserDefinedMetadata({version});
}

/** The version `model` holds, after checking that every weight is exactly that version's. */
export function versionOf(model: tf.LayersModel): number {
  const version = (model.getUserDefinedMetadata() as {version?: number}|undefined)?.version;
  if (typeof version !== 'number') {
    throw new Error(`the loaded model has no version in its metadata`);
  }
  model.weights.forEach((w, i) => {
    const values = w.read().dataSync();
    for (let j = 0; j < values.length; j++) {
      if (values[j] !== expectedValue(version, i, j)) {
        throw new Error(`weight ${i} element ${j} is ${values[j]}, not version ${version}'s ` +
                        `${expectedValue(version, i, j)}: a mixture of saves`);
      }
    }
  });
  return version;
}

/** A float64 sum of every weight times its position (order-sensitive), as a string. */
export function checksum(model: tf.LayersModel): string {
  let sum = 0;
  model.weights.forEach((w, i) => {
    const values = w.read().dataSync();
    for (let j = 0; j < values.length; j++) {
      sum += values[j]! * (1 + ((i * 7 + j) % 13));
    }
  });
  return sum.toPrecision(17);
}
