/**
 * The date models: the Transformer and the LSTM baseline build, a few training steps lower the
 * loss (on wasm, where tf.layers.embedding could not train), the LSTM ignores its padding
 * (maskZero), the training loop keeps the best weights, greedy decoding on the split model
 * (encoder once, decoder per character) equals the whole model's and teacher-forced exact
 * match, padding to a multiple changes nothing, and save → load keeps predictions and the
 * calibration.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {buildLstmBaseline} from '../../../examples/dates/baseline_lstm';
import {calibrate} from '../../../examples/dates/calibrate';
import {allFormats, splitDays, variantSet} from '../../../examples/dates/data';
import {buildDateModel, decode, evaluate, makeBatch, ModelInputs, sequenceLoss, splitDateModel,
        translate} from '../../../examples/dates/model';
import {loadModel, saveModel} from '../../../examples/dates/model_files';
import {trainDateModel} from '../../../examples/dates/train_loop';
import {Translator} from '../../../examples/dates/translator';
import {buildVocab, START} from '../../../examples/dates/vocab';
import {useBackend} from '../../../examples/shared/backend';
import {withSeededRandom} from '../../../examples/shared/random';
import {cpuClock} from '../../../examples/shared/training';

const vocab = buildVocab();
const split = splitDays();

beforeAll(async () => {
  expect(await useBackend('wasm')).toBe('wasm');
});

function smallTransformer(seed = 1) {
  return withSeededRandom(seed, () => buildDateModel({
    vocabSize: vocab.size, maxInputLength: vocab.maxInputLength, outputLength: vocab.outputLength,
    modelDim: 32, ffDim: 64, encoderLayers: 1, decoderLayers: 1}));
}

/** A small Transformer trained a little, so that some answers are right and some wrong. */
let trained: tf.LayersModel;
beforeAll(async () => {
  trained = smallTransformer();
  await trainDateModel({model: trained, vocab, trainDays: split.train.slice(0, 768), epochs: 2,
                        batchSize: 64, schedule: {peak: 5e-3, warmupSteps: 2}, clock: cpuClock()});
}, 300_000);
afterAll(() => trained.dispose());

describe('date models', () => {
  it.each([
    ['Transformer', 'transformer' as ModelInputs, () => smallTransformer()],
    ['LSTM baseline', 'ids' as ModelInputs,
     () => buildLstmBaseline({vocabSize: vocab.size, outputLength: vocab.outputLength, units: 32})],
  ])('%s: a few Adam steps on one batch lower the loss (wasm)', (_name, inputs, build) => {
    const model = withSeededRandom(3, build);
    const batch = makeBatch(vocab, variantSet(split.train.slice(0, 1), 1, 1), inputs);
    const optimizer = tf.train.adam(3e-3);
    const lossOf = () => sequenceLoss(model.apply(batch.inputs, {training: true}) as tf.Tensor,
                                      batch.labels);
    const first = tf.tidy(() => lossOf().dataSync()[0]!);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 40; i++) {
      tf.dispose(optimizer.minimize(lossOf, true)!);
    }
    const last = tf.tidy(() => lossOf().dataSync()[0]!);
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

  it('the LSTM baseline ignores padding: its encoder state after the last character (maskZero)', () => {
    const model = withSeededRandom(1, () => buildLstmBaseline({vocabSize: vocab.size,
                                                               outputLength: vocab.outputLength}));
    const last = tf.model({inputs: model.inputs,
                           outputs: model.getLayer('encoder_last').output as tf.SymbolicTensor});
    const short = {input: 'Jan 20 2019', target: '2019-01-20', format: 0, families: []};
    const long = {input: 'Sunday, January 20th, 2019', target: '2019-01-20', format: 0, families: []};
    const alone = tf.tidy(() => (last.predict(makeBatch(vocab, [short], 'ids').inputs) as tf.Tensor).arraySync()) as number[][];
    const padded = tf.tidy(() => (last.predict(makeBatch(vocab, [short, long], 'ids').inputs) as tf.Tensor).arraySync()) as number[][];
    expect(Math.max(...alone[0]!.map((v, j) => Math.abs(v - padded[0]![j]!)))).toBeLessThan(1e-6);
    expect(Math.max(...alone[0]!.map(Math.abs))).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('trainDateModel trains, validates, keeps the best weights and reports time', async () => {
    const model = smallTransformer(2);
    const validation = allFormats(split.validation.slice(0, 5));
    const epochs: number[] = [];
    const result = await trainDateModel({
      model, vocab, trainDays: split.train.slice(0, 256), validation, epochs: 2, batchSize: 64,
      schedule: {peak: 3e-3, warmupSteps: 2}, clock: cpuClock(),
      onEpoch: e => {
        epochs.push(e.epoch);
      },
    });
    expect(epochs).toEqual([1, 2]);
    expect(result.epochInfos[1]!.loss).toBeLessThan(result.epochInfos[0]!.loss);
    expect(result.cpuSeconds!).toBeGreaterThan(0);
    expect(result.wallSeconds).toBeGreaterThan(0);
    const right = evaluate(model, vocab, validation);
    expect(right.filter(Boolean).length / right.length).toBeCloseTo(
        result.bestValidationAccuracy, 10);
    model.dispose();
  });

  it('greedy decoding, encoder once: equals the whole model step by step and teacher forcing', () => {
    const examples = variantSet(split.test.slice(0, 4), 1, 5);
    const texts = examples.map(e => e.input);
    const decoded = decode(trained, vocab, texts, 16);
    // The whole model, re-run on the full decoder input at every step (no split).
    const L = vocab.outputLength;
    const enc = vocab.encodeInputs(texts);
    const n = texts.length;
    const ids = new Int32Array(n * L);
    for (let i = 0; i < n; i++) {
      ids[i * L] = START;
    }
    const whole = tf.tidy(() => {
      const x = [tf.tensor2d(enc.ids, [n, enc.length], 'int32'), tf.tensor2d(enc.mask, [n, enc.length]),
                 tf.tensor2d(enc.fromEnd, [n, enc.length], 'int32')];
      const chosen = new Int32Array(n * L);
      for (let t = 0; t < L; t++) {
        const logits = trained.predict([...x, tf.tensor2d(ids, [n, L], 'int32')]) as tf.Tensor;
        const best = logits.argMax(-1).dataSync();
        for (let i = 0; i < n; i++) {
          chosen[i * L + t] = best[i * L + t]!;
          if (t + 1 < L) {
            ids[i * L + t + 1] = best[i * L + t]!;
          }
        }
      }
      return chosen;
    });
    expect(Array.from(decoded.ids)).toEqual(Array.from(whole));
    expect(decoded.texts.map((g, i) => g === examples[i]!.target))
        .toEqual(evaluate(trained, vocab, examples));
    // No tensor left behind by decoding.
    const parts = splitDateModel(trained);
    const before = tf.memory().numTensors;
    decode(trained, vocab, texts.slice(0, 5), 2, parts);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('greedy decoding gets right exactly what teacher forcing does (the committed model, right and wrong targets)', async () => {
    const {model} = await loadModel(path.join(__dirname, '..', '..', '..', 'models', 'dates'));
    const examples = variantSet(split.test.slice(0, 6), 1, 8);
    // Half the targets a day off: teacher forcing must then find a wrong step, greedy another answer.
    const mixed = examples.map((e, i) => i % 2 === 0 ? e :
        {...e, target: e.target.slice(0, 8) + String((Number(e.target.slice(8)) % 28) + 1).padStart(2, '0')});
    const greedy = translate(model, vocab, mixed.map(e => e.input));
    const right = greedy.map((g, i) => g === mixed[i]!.target);
    expect(right).toEqual(evaluate(model, vocab, mixed));
    expect(right.filter(Boolean).length).toBeGreaterThan(examples.length * 0.45);
    expect(right.filter(r => !r).length).toBeGreaterThan(examples.length * 0.45);
    model.dispose();
  });

  it('padding inputs to a multiple of 16 changes no prediction', () => {
    const examples = variantSet(split.test.slice(0, 3), 1, 6);
    expect(evaluate(trained, vocab, examples, {lengthMultiple: 16})).toEqual(evaluate(trained, vocab, examples));
    const a = makeBatch(vocab, examples.slice(0, 5), 'transformer', 16);
    const b = makeBatch(vocab, examples.slice(0, 5));
    expect(a.inputs[0]!.shape[1]! % 16).toBe(0);
    const [pa, pb] = tf.tidy(() => [trained.predict(a.inputs) as tf.Tensor, trained.predict(b.inputs) as tf.Tensor]
        .map(t => Array.from(t.dataSync())));
    expect(Math.max(...pa!.map((v, i) => Math.abs(v - pb![i]!)))).toBeLessThan(1e-4);
    tf.dispose([a.inputs, a.labels, b.inputs, b.labels]);
  });

  it('calibrates, and save → load keeps predictions and the calibration', async () => {
    const report = calibrate(trained, vocab, variantSet(split.validation.slice(0, 4), 1, 2), 'test');
    expect(report.calibration.temperature).toBeGreaterThan(0.05);
    expect(report.calibration.threshold).toBeGreaterThan(0);
    expect(report.calibration.threshold).toBeLessThanOrEqual(0.5);
    expect(report.falseAlarms).toBeLessThanOrEqual(0.5);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dates-model-'));
    await saveModel(trained, vocab, dir, report.calibration);
    expect(fs.readdirSync(dir).sort()).toEqual(['calibration.json', 'model.json', 'vocab.json',
                                                'weights.bin']);
    const loaded = await loadModel(dir);
    expect(loaded.vocab.chars).toBe(vocab.chars);
    expect(loaded.calibration).toEqual(report.calibration);
    const texts = allFormats(split.test.slice(0, 2)).map(e => e.input);
    expect(translate(loaded.model, loaded.vocab, texts)).toEqual(translate(trained, vocab, texts));
    expect(new Translator(loaded.model, loaded.vocab, loaded.calibration).assess(texts))
        .toEqual(new Translator(trained, vocab, report.calibration).assess(texts));
    fs.writeFileSync(path.join(dir, 'calibration.json'), '{"temperature": -1}');
    await expect(loadModel(dir)).rejects.toThrow(/calibration.json must hold a positive temperature/);
    fs.rmSync(dir, {recursive: true});
    await expect(loadModel(dir)).rejects.toThrow(/model\.json does not exist/);
    loaded.model.dispose();
  });
});
