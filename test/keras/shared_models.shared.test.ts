/**
 * The Keras models in ../shared/keras that this project did not make: every converter-made model
 * (`real/`: two tensorflowjs_converter 4.22 outputs found in public repositories; `converted/`:
 * five small Keras 3.15.1 models converted by it) and the hand export in `real/` (raw Keras 3
 * topology, weights named by position), loaded strictly with loadKerasModel, predict Keras's own
 * outputs to ≤ 1e-5 (max |diff| ÷ max(1, |Keras|)) on cpu and wasm, and leave nothing behind.
 * The largest difference per model and backend is printed at the end (the numbers the docs
 * quote). A converter-made model also fine-tunes: `fit` lowers its loss and moves its attention
 * weights.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {KerasCall, loadKerasModel, MultiHeadAttention, useBestBackend} from '../../src';
import {census, inputTensors, predictErrors, readReference} from '../helpers/keras_models';
import {sharedPath} from '../helpers/shared';

const TOLERANCE = 1e-5;

function folders(kind: string): string[] {
  const root = sharedPath(`keras/${kind}`);
  return fs.readdirSync(root).filter(n => fs.existsSync(path.join(root, n, 'model.json')))
      .map(n => `${kind}/${n}`).sort();
}

const models = [...folders('real'), ...folders('converted')];
const largest: string[] = [];

afterAll(() => {
  console.log(`largest difference from Keras (max |diff| / max(1, |Keras|)):\n${largest.join('\n')}`);
});

test('../shared/keras has the models the issue names', () => {
  expect(models).toEqual(expect.arrayContaining([
    'real/editorjakupi__smartfood__lstm', 'real/itzluthfi__IsyaratLive__ml-gloss-classifier',
    'real/itzluthfi__IsyaratLive__gloss-classifier-v7-early-handexport',
    'converted/attention_mask_dropout', 'converted/attention_mask_nodropout',
    'converted/causal_scores', 'converted/cross_key', 'converted/encoder_masked']));
});

describe.each(['cpu', 'wasm'])('Keras files from ../shared on %s', backend => {
  beforeAll(async () => {
    expect((await useBestBackend({order: [backend]})).backend).toBe(backend);
  });

  test.each(models)('%s predicts what Keras predicts', async name => {
    const folder = sharedPath(`keras/${name}`);
    const before = census();
    const model = await loadKerasModel(folder);
    const errors = predictErrors(model, readReference(folder));
    model.dispose();
    expect(census()).toEqual(before);
    largest.push(`  ${backend.padEnd(5)} ${name}: ${errors.map(e => e.toExponential(2)).join(', ')}`);
    for (const e of errors) {
      expect(e).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

test('a converter-made model fine-tunes: the loss falls and the attention weights move', async () => {
  expect((await useBestBackend({order: ['cpu']})).backend).toBe('cpu');
  const folder = sharedPath('keras/converted/encoder_masked');
  const before = census();
  const model = await loadKerasModel(folder);
  const mha = model.layers.map(l => (l instanceof KerasCall ? l.layer : l))
      .find((l): l is MultiHeadAttention => l instanceof MultiHeadAttention)!;
  const start = mha.getWeights().map(w => (w.dataSync() as Float32Array).slice());
  const [x] = inputTensors(readReference(folder));
  const labels = tf.tensor1d([2, 0], 'float32');
  const optimizer = tf.train.adam(1e-2);
  model.compile({optimizer, loss: 'sparseCategoricalCrossentropy'});
  const history = await model.fit(x!, labels, {epochs: 6, batchSize: 2, verbose: 0});
  const losses = history.history['loss'] as number[];
  expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
  const moved = mha.getWeights().map((w, i) => {
    const now = w.dataSync();
    return Math.max(...start[i]!.map((v, j) => Math.abs(v - now[j]!)));
  });
  expect(Math.min(...moved)).toBeGreaterThan(0);
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  expect(census()).toEqual(before);
});
