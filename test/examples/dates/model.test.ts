/**
 * The date models: the Transformer and the LSTM baseline build, a few training steps lower the
 * loss (on wasm, where tf.layers.embedding could not train), teacher-forced exact match equals
 * greedy decoding, and save → load keeps the predictions.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {useBackend} from '../../../examples/backend';
import {buildLstmBaseline} from '../../../examples/dates/baseline_lstm';
import {allFormats, splitDays} from '../../../examples/dates/data';
import {buildDateModel, evaluate, makeBatch, sequenceLoss, translate}
    from '../../../examples/dates/model';
import {loadModel, saveModel} from '../../../examples/dates/model_files';
import {trainLoop} from '../../../examples/dates/train_loop';
import {buildVocab} from '../../../examples/dates/vocab';

const vocab = buildVocab();
const split = splitDays();

beforeAll(async () => {
  expect(await useBackend('wasm')).toBe('wasm');
});

function smallTransformer() {
  return buildDateModel({vocabSize: vocab.size, maxInputLength: vocab.maxInputLength,
                         outputLength: vocab.outputLength, modelDim: 32, ffDim: 64,
                         encoderLayers: 1, decoderLayers: 1});
}

describe('date models', () => {
  it.each([
    ['Transformer', 'post' as const, smallTransformer],
    ['LSTM baseline', 'pre' as const,
     () => buildLstmBaseline({vocabSize: vocab.size, outputLength: vocab.outputLength, units: 32})],
  ])('%s: a few Adam steps on one batch lower the loss (wasm)', (_name, padding, build) => {
    const model = build();
    const batch = makeBatch(vocab, allFormats(split.train.slice(0, 2)), padding,
                            padding === 'post');
    const optimizer = tf.train.adam(3e-3);
    const lossOf = () => sequenceLoss(model.apply(batch.inputs, {training: true}) as tf.Tensor,
                                      batch.labels);
    const first = tf.tidy(() => lossOf().dataSync()[0]!);
    const before = tf.memory().numTensors;
    // 40 steps: with 15 the LSTM (unseeded initial weights) sometimes had not yet got there.
    for (let i = 0; i < 40; i++) {
      tf.dispose(optimizer.minimize(lossOf, true)!);
    }
    const last = tf.tidy(() => lossOf().dataSync()[0]!);
    console.log(`${_name}: loss ${first.toFixed(3)} -> ${last.toFixed(3)} after 40 Adam steps`);
    expect(last).toBeLessThan(first * 0.7);
    // Adam's moments are created on the first step; after that nothing is left behind.
    tf.dispose(optimizer.minimize(lossOf, true)!);
    const after = tf.memory().numTensors;
    tf.dispose(optimizer.minimize(lossOf, true)!);
    expect(tf.memory().numTensors).toBe(after);
    expect(after).toBeGreaterThanOrEqual(before);
    tf.dispose([batch.inputs, batch.labels]);
    optimizer.dispose();
    model.dispose();
  });

  it('trainLoop trains, validates, keeps the best weights and reports time', async () => {
    const model = smallTransformer();
    const validation = allFormats(split.validation.slice(0, 5));
    const result = await trainLoop({
      model, vocab, trainDays: split.train.slice(0, 256), validation, epochs: 2, batchSize: 64,
      learningRate: 3e-3, warmupSteps: 2,
    });
    expect(result.epochs.length).toBe(2);
    expect(result.epochs[1]!.loss).toBeLessThan(result.epochs[0]!.loss);
    expect(result.cpuSeconds).toBeGreaterThan(0);
    expect(result.wallSeconds).toBeGreaterThan(0);
    const right = evaluate(model, vocab, validation);
    expect(right.filter(Boolean).length / right.length).toBeCloseTo(
        result.bestValidationAccuracy, 10);
    model.dispose();
  });

  it('teacher-forced exact match equals greedy decoding; save → load keeps predictions',
     async () => {
       const model = smallTransformer();
       // Train a little so that some answers are right and some wrong.
       await trainLoop({model, vocab, trainDays: split.train.slice(0, 512), epochs: 2,
                        validation: allFormats(split.validation.slice(0, 2)), batchSize: 64,
                        learningRate: 5e-3, warmupSteps: 2});
       const examples = allFormats(split.test.slice(0, 3));
       const forced = evaluate(model, vocab, examples);
       const greedy = translate(model, vocab, examples.map(e => e.input));
       expect(greedy.map((g, i) => g === examples[i]!.target)).toEqual(forced);
       expect(greedy.every(g => g.length === 10)).toBe(true);

       const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dates-model-'));
       await saveModel(model, vocab, dir);
       expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'vocab.json', 'weights.bin']);
       const loaded = await loadModel(dir);
       expect(loaded.vocab.chars).toBe(vocab.chars);
       expect(translate(loaded.model, loaded.vocab, examples.map(e => e.input))).toEqual(greedy);
       fs.rmSync(dir, {recursive: true});
       await expect(loadModel(dir)).rejects.toThrow(/model\.json does not exist/);
       model.dispose();
       loaded.model.dispose();
     });
});
