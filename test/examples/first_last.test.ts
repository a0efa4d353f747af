/**
 * The layer trains: a small model with SelfAttention learns a task that needs attention, and the
 * same model without it cannot.
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import * as path from 'path';

import {SelfAttention} from '../../src';
import {buildModel, makeData, trainAndScore} from '../../examples/first-last/task';

beforeAll(async () => {
  // wasm: the fastest backend that installs here (the layer trains on cpu too, only slower).
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  expect(await tf.setBackend('wasm')).toBe(true);
});

it('learns "last token = first token" to >= 95% held-out accuracy; without attention it cannot',
   async () => {
     const train = makeData(1000, 1);
     const validation = makeData(500, 2);
     const test = makeData(1000, 3);

     const model = buildModel(true);
     const attention = model.layers.find(l => l instanceof SelfAttention) as SelfAttention;
     const initial = attention.getWeights().slice(0, 3).map(w => w.arraySync() as number[][]);
     initial.forEach(w => w.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(i === j ? 1 : 0))));

     // Train in rounds of 5 epochs until the validation split is learned (at most 80 epochs).
     let epochs = 0;
     while (epochs < 80 && (await trainAndScore(model, train, validation, 5)) < 0.98) {
       epochs += 5;
     }
     epochs += 5;
     const withAttention = await trainAndScore(model, train, test, 0);

     const baseline = buildModel(false);
     const withoutAttention = await trainAndScore(baseline, train, test, epochs);
     console.log(`after ${epochs} epochs: held-out accuracy with attention ${withAttention}, ` +
                 `without ${withoutAttention}`);
     expect(withAttention).toBeGreaterThanOrEqual(0.95);
     expect(withoutAttention).toBeLessThan(0.65);

     // W_q, W_k, W_v moved away from the identity.
     attention.getWeights().slice(0, 3).forEach((w, k) => {
       const moved = tf.max(tf.abs(tf.sub(w, tf.tensor2d(initial[k]!)))).dataSync()[0]!;
       expect(moved).toBeGreaterThan(0.05);
     });
   }, 300_000);
