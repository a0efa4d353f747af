/**
 * Runs in the test page: loading a model saved by Node over http (with tfjs's loader and with
 * the package's checkedHttp), and saving models to the browser's own stores (indexeddb://,
 * localstorage://, downloads://).
 */
import * as tf from '@tensorflow/tfjs';

import {checkedHttp, selfAttention} from '../../../../src';

/** Shape of the models these tests use: [batch, 5, 8] → [batch, 3]. */
export const INPUT_SHAPE = [2, 5, 8];

/** The same small model the Node side builds: SelfAttention (2 heads, biases, causal) → dense. */
export function buildModel(): tf.LayersModel {
  const model = tf.sequential({layers: [
    selfAttention({inputShape: [5, 8], numHeads: 2, useBias: true, causal: true,
                   kernelInitializer: tf.initializers.glorotUniform({seed: 11}),
                   biasInitializer: tf.initializers.randomNormal({seed: 12})}),
    tf.layers.flatten(),
    tf.layers.dense({units: 3, kernelInitializer: tf.initializers.glorotUniform({seed: 13})}),
  ]});
  return model;
}

async function predict(model: tf.LayersModel, input: number[]): Promise<number[]> {
  const x = tf.tensor(input, INPUT_SHAPE);
  const y = model.predict(x) as tf.Tensor;
  const values = Array.from(await y.data());
  tf.dispose([x, y]);
  return values;
}

export async function loadAndPredict(modelUrl: string, input: number[]) {
  const model = await tf.loadLayersModel(modelUrl);
  return {backend: tf.getBackend(), layers: model.layers.map(l => l.getClassName()),
          prediction: await predict(model, input)};
}

/** Saves a fresh model to indexeddb:// and localstorage://, loads both back, predicts. */
export async function roundTripBrowserStores(input: number[]) {
  const model = buildModel();
  const original = await predict(model, input);
  const saved: Record<string, unknown> = {};
  const loaded: Record<string, number[]> = {};
  for (const url of ['indexeddb://sa-test-model', 'localstorage://sa-test-model']) {
    const result = await model.save(url);
    saved[url] = {weightDataBytes: result.modelArtifactsInfo.weightDataBytes};
    loaded[url] = await predict(await tf.loadLayersModel(url), input);
  }
  const listed = Object.keys(await tf.io.listModels());
  return {original, saved, loaded, listed};
}

/** Saves a fresh model with downloads:// (two files: name.json, name.weights.bin). */
export async function saveToDownloads(input: number[], name: string) {
  const model = buildModel();
  const prediction = await predict(model, input);
  await model.save(`downloads://${name}`);
  return {prediction};
}

/**
 * Loads `modelUrl` with the package's checkedHttp and predicts; an error comes back as its
 * message. `withoutSubtleCrypto` hides `crypto.subtle` first, as on a page without a secure
 * context, so that the package's own SHA-256 does the checking.
 */
export async function loadChecked(modelUrl: string, input: number[], withoutSubtleCrypto: boolean) {
  const subtle = Object.getOwnPropertyDescriptor(globalThis.crypto, 'subtle');
  if (withoutSubtleCrypto) {
    Object.defineProperty(globalThis.crypto, 'subtle', {value: undefined, configurable: true});
  }
  const hidden = globalThis.crypto.subtle === undefined;
  const before = tf.memory().numTensors;
  try {
    const model = await tf.loadLayersModel(checkedHttp(modelUrl));
    const prediction = await predict(model, input);
    model.dispose();
    return {prediction, hidden, error: null, leaked: tf.memory().numTensors - before};
  } catch (e) {
    return {prediction: null, hidden, error: (e as Error).message,
            leaked: tf.memory().numTensors - before};
  } finally {
    if (withoutSubtleCrypto) {
      if (subtle === undefined) {
        delete (globalThis.crypto as {subtle?: unknown}).subtle;
      } else {
        Object.defineProperty(globalThis.crypto, 'subtle', subtle);
      }
    }
  }
}
