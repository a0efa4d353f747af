/**
 * Trains the headline model.
 *
 *   npm run train:headlines -- --minutes 10 --batchSize 128 --out models/headlines
 *
 * Every epoch draws fresh training sentences from the grammar (the data is unlimited), shows a
 * progress bar, then scores exact match on held-out subject–verb–object combinations. After
 * each epoch it writes a checkpoint (model + optimizer state, resumable with --resume) and, when
 * validation improved, the model to --out. It stops after --minutes of training or --epochs,
 * and ends with the report on a larger held-out test set (also written to --out/report.json).
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';

import {useBackend} from '../backend';
import {batchInputs, bucketBatches, makeBatch, taskVocab} from './data';
import {sampleSplit} from './grammar';
import {buildHeadlineModel} from './model';
import {loadModel, saveModel} from './model_files';
import {formatScore, percent, score} from './report';
import {Summarizer} from './summarizer';

/** Command-line options, with their defaults. */
export const TRAIN_DEFAULTS = {
  /**
   * Start no new epoch after this many minutes of training (validation and saving included);
   * the epoch under way when the budget runs out still finishes.
   */
  minutes: 10,
  /**
   * What --minutes counts: 'cpu' = this process's CPU time (what training costs on one free
   * core, whatever else shares the machine), or 'wall' = clock time.
   */
  clock: 'cpu',
  /** Upper bound on epochs. */
  epochs: 1000,
  stepsPerEpoch: 50,
  batchSize: 128,
  learningRate: 3e-3,
  /** Steps of linear learning-rate warm-up; afterwards it decays with the time budget. */
  warmup: 30,
  modelDim: 64,
  numHeads: 4,
  ffDim: 128,
  encoderLayers: 2,
  decoderLayers: 1,
  /** Held-out examples scored after each epoch, and in the final report. */
  validation: 300,
  test: 2000,
  out: 'models/headlines',
  checkpoint: '.checkpoints/headlines',
  /** 1 = continue from the checkpoint. */
  resume: 0,
  backend: 'wasm',
  seed: 1,
};
type Options = typeof TRAIN_DEFAULTS;

/** Seeds of the fixed held-out sets (the test suite uses its own). */
export const VALIDATION_SEED = 1001;
export const TEST_SEED = 2024;

/** `--name value` or `--name=value` → options; unknown names and bad numbers are errors. */
export function parseOptions<T extends Record<string, string|number>>(argv: string[],
                                                                      defaults: T): T {
  const options: Record<string, string|number> = {...defaults};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in defaults)) {
      throw new Error(`Unknown option ${JSON.stringify(arg)}. Options: ${
          Object.keys(defaults).map(k => `--${k}`).join(' ')}`);
    }
    const raw = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (raw == null) {
      throw new Error(`Option --${name} needs a value.`);
    }
    if (typeof defaults[name] === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(`Option --${name} must be a non-negative number. Received: ${
            JSON.stringify(raw)}`);
      }
      options[name] = value;
    } else {
      options[name] = raw;
    }
  }
  return options as T;
}

/** A one-line progress bar on a terminal, a line every 10% otherwise. */
function progress(epoch: number, step: number, steps: number, loss: number, started: number) {
  const fraction = step / steps;
  const width = 30;
  const filled = Math.round(fraction * width);
  const seconds = (Date.now() - started) / 1000;
  const line = `epoch ${String(epoch).padStart(3)} [${'#'.repeat(filled)}${
      '.'.repeat(width - filled)}] ${String(step).padStart(4)}/${steps} loss ${
      loss.toFixed(4)} ${seconds.toFixed(0)}s`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${line}${step === steps ? '\n' : ''}`);
  } else if (step === steps || step % Math.max(1, Math.round(steps / 10)) === 0) {
    process.stderr.write(`${line}\n`);
  }
}

interface State {
  epoch: number;
  step: number;
  /** Seconds of training so far by --clock (over all runs, when resumed). */
  elapsed: number;
  /** Wall-clock and CPU seconds so far. */
  wallSeconds: number;
  cpuSeconds: number;
  /** Best validation exact match + ROUGE-1 / 1000 so far. */
  best: number;
}

async function main(options: Options) {
  const backend = await useBackend(options.backend);
  const vocab = taskVocab();
  const validation = sampleSplit('test', options.validation, VALIDATION_SEED);
  const test = sampleSplit('test', options.test, TEST_SEED);
  const statePath = path.join(options.checkpoint, 'state.json');

  let model: tf.LayersModel;
  let state: State = {epoch: 0, step: 0, elapsed: 0, wallSeconds: 0, cpuSeconds: 0, best: -1};
  if (options.resume && fs.existsSync(statePath)) {
    model = (await loadModel(options.checkpoint)).model;
    state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as State;
    console.log(`Resumed from ${options.checkpoint}: epoch ${state.epoch}, ${
        state.cpuSeconds.toFixed(0)} s CPU, ${state.wallSeconds.toFixed(0)} s wall so far.`);
  } else {
    model = buildHeadlineModel({
      vocabSize: vocab.size, maxInputLength: vocab.maxInputLength,
      maxOutputLength: vocab.maxOutputLength, modelDim: options.modelDim,
      numHeads: options.numHeads, ffDim: options.ffDim, encoderLayers: options.encoderLayers,
      decoderLayers: options.decoderLayers,
    });
    model.compile({optimizer: tf.train.adam(options.learningRate),
                   loss: 'sparseCategoricalCrossentropy'});
  }
  const optimizer = model.optimizer as tf.AdamOptimizer;
  console.log(`Backend ${backend}; ${model.countParams()} parameters; vocabulary ${
      vocab.size} tokens; ${validation.length} validation and ${
      test.length} test sentences, all with held-out subject–verb–object combinations.`);

  if (options.clock !== 'cpu' && options.clock !== 'wall') {
    throw new Error(`--clock must be 'cpu' or 'wall'. Received: ${JSON.stringify(options.clock)}`);
  }
  const budget = options.minutes * 60;
  const wallStart = Date.now() - state.wallSeconds * 1000;
  const cpuStart = process.cpuUsage();
  const cpuBefore = state.cpuSeconds;
  const wall = () => (Date.now() - wallStart) / 1000;
  const cpu = () => {
    const used = process.cpuUsage(cpuStart);
    return cpuBefore + (used.user + used.system) / 1e6;
  };
  const elapsed = () => (options.clock === 'cpu' ? cpu() : wall());
  while (state.epoch < options.epochs && elapsed() < budget) {
    const epoch = state.epoch + 1;
    const samples = sampleSplit('train', options.stepsPerEpoch * options.batchSize,
                                options.seed * 1_000_003 + epoch);
    const batches = bucketBatches(samples, options.batchSize, epoch);
    const epochStart = Date.now();
    let lossSum = 0;
    for (let i = 0; i < batches.length; i++) {
      // Warm-up, then a cosine decay over the time budget to a tenth of the rate.
      const decay = 0.1 + 0.45 * (1 + Math.cos(Math.PI * Math.min(1, elapsed() / budget)));
      (optimizer as unknown as {learningRate: number}).learningRate =
          options.learningRate * Math.min(1, (state.step + 1) / options.warmup) * decay;
      const batch = makeBatch(batches[i]!, vocab);
      const loss = await model.trainOnBatch(batchInputs(batch), batch.targets) as number;
      tf.dispose([...batchInputs(batch), batch.targets]);
      state.step++;
      lossSum += loss;
      progress(epoch, i + 1, batches.length, lossSum / (i + 1), epochStart);
    }
    const predicted = await new Summarizer(model, vocab)
                          .summarizeIds(validation.map(s => vocab.encodeWords(s.input)));
    const result = score(validation, predicted).overall;
    state.epoch = epoch;
    state.elapsed = elapsed();
    state.wallSeconds = wall();
    state.cpuSeconds = cpu();
    // Best by exact match, ties broken by ROUGE-1 (both in [0, 1]).
    const improved = result.exactMatch + result.rouge1 / 1000 > state.best;
    if (improved) {
      state.best = result.exactMatch + result.rouge1 / 1000;
      await saveModel(model, vocab, options.out);
    }
    await saveModel(model, vocab, options.checkpoint, true);
    fs.writeFileSync(statePath, JSON.stringify(state) + '\n');
    console.log(`epoch ${epoch}: loss ${(lossSum / batches.length).toFixed(4)}, validation ` +
                `exact match ${percent(result.exactMatch)}, ROUGE-1 F1 ${
                    result.rouge1.toFixed(4)}${improved ? ` (best: saved to ${options.out})` : ''
                }; ${state.cpuSeconds.toFixed(0)} s CPU, ${state.wallSeconds.toFixed(0)} s wall`);
  }

  const {model: best} = await loadModel(options.out);
  const predicted =
      await new Summarizer(best, vocab).summarizeIds(test.map(s => vocab.encodeWords(s.input)));
  const result = score(test, predicted);
  const report = {
    backend, parameters: model.countParams(), epochs: state.epoch, steps: state.step,
    cpuSeconds: Math.round(state.cpuSeconds), wallSeconds: Math.round(state.wallSeconds),
    budget: `${options.minutes} min ${options.clock}`, batchSize: options.batchSize,
    sentencesSeen: state.step * options.batchSize, testSeed: TEST_SEED, ...result,
  };
  fs.writeFileSync(path.join(options.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`\nTrained ${state.epoch} epochs (${state.step} steps, ${
      report.sentencesSeen} sentences) on ${backend}: ${report.cpuSeconds} s of CPU time, ${
      report.wallSeconds} s wall clock (more when other work shares the CPU).`);
  console.log(`Held-out test (${test.length} sentences, subject–verb–object combinations ` +
              `never seen in training):\n`);
  console.log(formatScore(result));
  console.log(`\nSaved the best model to ${options.out} (report.json beside it).`);
}

if (require.main === module) {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2), TRAIN_DEFAULTS);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  main(options).catch(err => {
    console.error(err);
    process.exit(1);
  });
}
