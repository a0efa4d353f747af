/**
 * A loaded Keras model is a tfjs model like any other: `fit` lowers its loss and changes its
 * attention weights; saved with `model.save('file://…')` it loads back with `tf.loadLayersModel`
 * (the package imported) and predicts the same, and trains on from there.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {KerasCall, loadKerasModel, MultiHeadAttention, useBestBackend} from '../../src';
import {census, FIXTURES, inputTensors, predictErrors, readReference} from '../helpers/keras_models';

/** The MultiHeadAttention layers of a loaded model (run directly or through a KerasCall). */
function attentionLayers(model: tf.LayersModel): MultiHeadAttention[] {
  return model.layers.map(l => (l instanceof KerasCall ? l.layer : l))
      .filter((l): l is MultiHeadAttention => l instanceof MultiHeadAttention);
}

/** The layers' weight values (getWeights hands out the variables themselves: not disposed). */
function snapshot(layers: tf.layers.Layer[]): Float32Array[] {
  return layers.flatMap(l => l.getWeights()).map(t => (t.dataSync() as Float32Array).slice());
}

let dir: string;
beforeAll(async () => {
  expect((await useBestBackend({order: ['cpu']})).backend).toBe('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-fine-tune-'));
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

describe.each([
  // masks through two encoder blocks, classification
  ['text_encoder', 'sparseCategoricalCrossentropy'],
  // keyword tensors, an attention mask input, causal scores as a second output
  ['mha_kwargs', 'meanSquaredError'],
])('%s', (name, loss) => {
  const folder = path.join(FIXTURES, name);
  const ref = readReference(folder);

  test('fit lowers the loss and changes the attention weights; save and load predict the same',
       async () => {
         const before = census();
         const model = await loadKerasModel(folder);
         const attention = attentionLayers(model);
         expect(attention.length).toBeGreaterThan(0);
         const x = inputTensors(ref);
         const targets = model.outputs.map((o, i) => {
           const shape = [x[0]!.shape[0]!, ...o.shape.slice(1)] as number[];
           return i === 0 && loss === 'sparseCategoricalCrossentropy' ?
               tf.tensor1d([0, 2, 1].slice(0, shape[0]), 'float32') :
               tf.randomNormal(shape, 0, 1, 'float32', 7 + i);
         });
         model.compile({optimizer: tf.train.adam(0.01),
                        loss: model.outputs.map((_, i) => (i === 0 ? loss : 'meanSquaredError'))});
         const start = snapshot(attention);
         const history = await model.fit(x.length === 1 ? x[0]! : x, targets, {
           epochs: 8, batchSize: x[0]!.shape[0], verbose: 0, shuffle: false});
         const losses = history.history['loss'] as number[];
         expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.9);
         const end = snapshot(attention);
         const changed = end.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - start[i]![j]!))));
         expect(Math.min(...changed)).toBeGreaterThan(1e-4);  // every attention weight moved

         const predicted = model.predict(x.length === 1 ? x[0]! : x);
         const saved = path.join(dir, name);
         await model.save(`file://${saved}`);
         const loaded = await tf.loadLayersModel(`file://${saved}/model.json`);
         const again = loaded.predict(x.length === 1 ? x[0]! : x);
         const a = Array.isArray(predicted) ? predicted : [predicted];
         const b = Array.isArray(again) ? again : [again];
         a.forEach((t, i) => {
           const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!);
           expect(diff).toBeLessThanOrEqual(1e-6);
         });
         // the reloaded model has the same layers and trains on
         expect(loaded.layers.map(l => l.getClassName())).toEqual(model.layers.map(l => l.getClassName()));
         loaded.compile({optimizer: tf.train.adam(0.01),
                         loss: model.outputs.map((_, i) => (i === 0 ? loss : 'meanSquaredError'))});
         const more = await loaded.fit(x.length === 1 ? x[0]! : x, targets,
                                       {epochs: 2, batchSize: x[0]!.shape[0], verbose: 0});
         expect(Number.isFinite((more.history['loss'] as number[])[1]!)).toBe(true);
         tf.dispose([a, b, x, targets]);
         for (const m of [model, loaded]) {
           m.optimizer.dispose();
           m.dispose();
         }
         expect(census()).toEqual(before);
       });

  test('a fresh load still predicts Keras\'s outputs (fit trained its own copy)', async () => {
    const model = await loadKerasModel(folder);
    expect(Math.max(...predictErrors(model, ref))).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });
});
