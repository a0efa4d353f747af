/**
 * Runs in the test page: `.keras` files in the browser, through the package's browser build.
 * Loading a Keras file over http, saving a tfjs model as `.keras` and loading it back, saving
 * with downloads://, and reading Keras weights into a model.
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';

import {loadKerasModel, loadKerasWeights, saveKerasModel, saveKerasWeights} from '../../../../src';
import {TEST_MODELS} from '../../keras_file_models';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

interface Tensor {
  dtype?: string;
  shape: number[];
  data: number[];
}

export async function useBackend(name: string): Promise<string> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`backend ${name} did not start`);
  }
  return tf.getBackend();
}

/** The URLs of scripts the page has fetched so far (to see the lazy chunk arrive). */
export function scriptsLoaded(): string[] {
  return performance.getEntriesByType('resource').map(e => e.name)
      .filter(name => name.endsWith('.mjs') || name.endsWith('.js'));
}

async function predict(model: tf.LayersModel, inputs: Tensor[]): Promise<Tensor[]> {
  const xs = inputs.map(i => tf.tensor(i.data, i.shape, (i.dtype ?? 'float32') as tf.DataType));
  const ys = model.predict(xs.length === 1 ? xs[0]! : xs);
  const list = Array.isArray(ys) ? ys : [ys];
  const out = await Promise.all(list.map(async y => ({shape: y.shape, data: Array.from(await y.data())})));
  tf.dispose([...xs, ...list]);
  return out;
}

/** Loads the `.keras` file at `url` and predicts `inputs`. */
export async function loadAndPredict(url: string, inputs: Tensor[]) {
  const model = await loadKerasModel(url);
  const outputs = await predict(model, inputs);
  model.dispose();
  return {backend: tf.getBackend(), outputs};
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/**
 * Builds the test model `name`, saves it as `.keras` (bytes), loads those bytes back with
 * loadKerasModel, and returns both models' predictions, both weights files and the archive.
 */
export async function roundTrip(name: string) {
  const {model, inputs} = TEST_MODELS[name]!();
  const specs = await Promise.all(inputs.map(async x => ({dtype: x.dtype, shape: x.shape,
                                                          data: Array.from(await x.data())})));
  let archive: Uint8Array = new Uint8Array(0);
  await saveKerasModel(model, {write: b => { archive = b; }});
  const loaded = await loadKerasModel(archive);
  const weightsOf = async (m: tf.LayersModel) => {
    let bytes: Uint8Array = new Uint8Array(0);
    await saveKerasWeights(m, {write: b => { bytes = b; }});
    return toBase64(bytes);
  };
  const result = {
    inputs: specs,
    original: await predict(model, specs),
    loaded: await predict(loaded, specs),
    originalWeights: await weightsOf(model),
    loadedWeights: await weightsOf(loaded),
    archive: toBase64(archive),
  };
  tf.dispose(inputs);
  model.dispose();
  loaded.dispose();
  return result;
}

/** Saves the test model `name` with downloads://<name>.keras; returns its predictions. */
export async function saveToDownloads(name: string) {
  const {model, inputs} = TEST_MODELS[name]!();
  const specs = await Promise.all(inputs.map(async x => ({dtype: x.dtype, shape: x.shape,
                                                          data: Array.from(await x.data())})));
  const result = await saveKerasModel(model, `downloads://${name}.keras`);
  const outputs = await predict(model, specs);
  tf.dispose(inputs);
  model.dispose();
  return {result, inputs: specs, outputs};
}

/**
 * Reads the Keras weights file at `url` into a fresh test model `name` (other weights) and
 * returns its predictions; the error's message when it refuses.
 */
export async function loadWeightsAndPredict(name: string, url: string, inputs: Tensor[]) {
  const {model, inputs: own} = TEST_MODELS[name]!();
  tf.dispose(own);
  try {
    await loadKerasWeights(model, url);
    return {outputs: await predict(model, inputs)};
  } catch (e) {
    return {error: (e as Error).message};
  } finally {
    model.dispose();
  }
}
