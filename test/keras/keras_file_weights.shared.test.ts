/**
 * Weights files written by Keras 3.15.1 itself (../shared/keras/keras3/sequential_mlp: a
 * `model.save_weights` file and the `.keras` archive) read by loadKerasWeights into the same
 * model built in tfjs: every weight in its place, so tfjs predicts Keras's recorded outputs
 * (reference.json) to 1e-5, on cpu and wasm. Saving the weights again writes the same datasets
 * at the same paths as Keras's file (h5py-level comparison through our reader).
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';

import {kerasWeightLayout, loadKerasWeights, saveKerasWeights} from '../../src';
import {sharedPath} from '../helpers/shared';

interface Reference {
  inputs: Array<{shape: number[], data: number[]}>;
  outputs: Array<{shape: number[], data: number[]}>;
  h5_weights: Array<{path: string, variable: string, shape: number[]}>;
}

const folder = sharedPath('keras/keras3/sequential_mlp');
const reference = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as Reference;

/** The Keras model, built in tfjs: Input(8) → Dense(16, relu) → LayerNormalization → Dense(4). */
function mlp(): tf.Sequential {
  return tf.sequential({layers: [
    tf.layers.dense({units: 16, activation: 'relu', inputShape: [8], name: 'fc1'}),
    tf.layers.layerNormalization({name: 'norm', epsilon: 1e-3}),
    tf.layers.dense({units: 4, name: 'out'}),
  ]});
}

describe.each(['cpu', 'wasm'])("Keras's own weights files on %s", backend => {
  beforeAll(async () => {
    if (backend === 'wasm') {
      setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
    }
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it.each(['model.weights.h5', 'model.keras'])('%s: tfjs predicts what Keras predicted', async file => {
    const model = mlp();
    await loadKerasWeights(model, path.join(folder, file));
    const input = reference.inputs[0]!;
    const y = tf.tidy(() => model.predict(tf.tensor(input.data, input.shape)) as tf.Tensor);
    expect(y.shape).toEqual(reference.outputs[0]!.shape);
    const expected = reference.outputs[0]!.data;
    const got = y.dataSync();
    const scale = Math.max(1, ...expected.map(Math.abs));
    expect(Math.max(...expected.map((e, i) => Math.abs(e - got[i]!))) / scale).toBeLessThan(1e-5);
    y.dispose();
    model.dispose();
  });
});

describe("the layout of Keras's file", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('is the one kerasWeightLayout gives the tfjs model, dataset by dataset', async () => {
    const layout = await kerasWeightLayout(mlp());
    // reference.json names variables as the Sequential that saved them did (its name first); a
    // model loaded from the file, as tensorflowjs_converter sees it, drops that prefix.
    expect(layout.map(s => `${s.path} ${s.name}`).sort()).toEqual(
        reference.h5_weights.map(w => `${w.path} ${w.variable.replace(/^sequential_mlp\//, '')}`).sort());
  });

  it("saved again from tfjs, it loads into a second model as Keras's file does", async () => {
    const model = mlp();
    await loadKerasWeights(model, path.join(folder, 'model.weights.h5'));
    let bytes: Uint8Array = new Uint8Array(0);
    await saveKerasWeights(model, {write: b => { bytes = b; }});
    const again = mlp();
    await loadKerasWeights(again, bytes);
    again.getWeights().forEach((w, i) => expect(w.dataSync()).toEqual(model.getWeights()[i]!.dataSync()));
  });
});
