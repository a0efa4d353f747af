/**
 * Trains the date translator.
 *
 *   npm run train:dates -- --epochs 12 --batchSize 128 --backend wasm --out models/dates
 *
 * Prints a progress bar per epoch, validates after each epoch, stops early when validation stops
 * improving, saves the best model to --out each time it improves (the checkpoint), and ends with
 * per-format accuracy on the held-out test dates (written to --out/report.json too).
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {useBackend} from '../backend';
import {allFormats, FORMATS, splitDays} from './data';
import {buildDateModel} from './model';
import {saveModel} from './model_files';
import {formatReport, percent, reportLines} from './report';
import {trainLoop} from './train_loop';
import {buildVocab} from './vocab';

/** Command-line options of train.ts, with their defaults. */
export const TRAIN_DEFAULTS = {
  epochs: 12,
  batchSize: 128,
  backend: 'wasm',
  out: 'models/dates',
  learningRate: 3e-3,
  patience: 3,
  /** CPU seconds of training after which to stop (0 = no limit). */
  timeBudget: 0,
  /** Also validate every this many CPU seconds of training, for the curve (0 = epochs only). */
  curveEvery: 30,
  modelDim: 64,
  numHeads: 4,
  ffDim: 128,
  encoderLayers: 2,
  decoderLayers: 1,
  seed: 1,
};

type Options = typeof TRAIN_DEFAULTS;

/** Validation days behind the accuracy-versus-time curve (train.ts and compare.ts alike). */
export const CURVE_DAYS = 200;

/** `--name value` pairs → options; unknown names and bad numbers are errors. */
export function parseOptions<T extends Record<string, string|number>>(argv: string[],
                                                                      defaults: T): T {
  const options: Record<string, string|number> = {...defaults};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split('=', 2) as [string, string?];
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in defaults)) {
      throw new Error(`Unknown option ${JSON.stringify(arg)}. Options: ${
          Object.keys(defaults).map(k => '--' + k).join(' ')}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      throw new Error(`Option --${name} needs a value.`);
    }
    if (typeof defaults[name] === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) {
        throw new Error(`Option --${name} must be a non-negative number. Received: ${
            JSON.stringify(value)}`);
      }
      options[name] = n;
    } else {
      options[name] = value;
    }
  }
  return options as T;
}

/** `[=====>    ]`. */
export function bar(done: number, total: number, width = 24): string {
  const filled = Math.round((done / total) * width);
  return '[' + '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') +
         ' '.repeat(width - filled) + ']';
}

async function main() {
  const o: Options = parseOptions(process.argv.slice(2), TRAIN_DEFAULTS);
  const backend = await useBackend(o.backend);
  const vocab = buildVocab();
  const split = splitDays();
  const validation = allFormats(split.validation);
  const model = buildDateModel({
    vocabSize: vocab.size, maxInputLength: vocab.maxInputLength, outputLength: vocab.outputLength,
    modelDim: o.modelDim, numHeads: o.numHeads, ffDim: o.ffDim, encoderLayers: o.encoderLayers,
    decoderLayers: o.decoderLayers,
  });
  tf.util.assert(o.batchSize >= 1, () => `--batchSize must be at least 1`);
  console.log(`Backend ${backend}. ${FORMATS.length} formats; days: ${split.train.length} train, ${
      split.validation.length} validation, ${split.test.length} test (split by date).`);
  console.log(`Model: ${model.countParams()} parameters. Epoch = every training day once, in ` +
              `a random format (${split.train.length} examples).`);
  const tty = process.stdout.isTTY;
  const result = await trainLoop({
    model, vocab, trainDays: split.train, validation, epochs: o.epochs, batchSize: o.batchSize,
    learningRate: o.learningRate, patience: o.patience, seed: o.seed,
    timeBudgetSeconds: o.timeBudget > 0 ? o.timeBudget : undefined,
    curveEverySeconds: o.curveEvery > 0 ? o.curveEvery : undefined,
    curveValidation: allFormats(split.validation.slice(0, CURVE_DAYS)),
    onBatch: info => {
      if (!tty && info.batch !== info.batches && info.batch % 50 !== 0) {
        return;
      }
      const line = `epoch ${info.epoch}/${o.epochs} ${bar(info.batch, info.batches)} ${
          info.batch}/${info.batches} loss ${info.loss.toFixed(4)} acc ${
          percent(info.accuracy)} ${Math.round(info.examplesPerSecond)} ex/s ETA ${
          Math.round(info.etaSeconds)}s`;
      process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    onEpoch: async info => {
      let saved = '';
      if (info.improved) {
        await saveModel(model, vocab, o.out);
        saved = ` → checkpoint saved to ${o.out}`;
      }
      process.stdout.write(`${tty ? '\n' : ''}  validation exact match ${
          percent(info.validationAccuracy)} (${validation.length} examples), trained ${
          info.trainSeconds.toFixed(0)} s${saved}\n`);
    },
  });
  console.log(`Stopped: ${result.stoppedBecause}. Training time ${
      result.cpuSeconds.toFixed(1)} CPU s, ${result.wallSeconds.toFixed(1)} s wall clock ` +
              `(optimizer steps only; load average ${os.loadavg()[0]!.toFixed(1)}). Best validation ${
      percent(result.bestValidationAccuracy)}.`);
  await saveModel(model, vocab, o.out);  // the best weights, restored by trainLoop

  const test = allFormats(split.test);
  const report = formatReport(model, vocab, test);
  console.log(`Held-out test dates (${split.test.length} days × ${FORMATS.length} formats), ` +
              `exact match per format:`);
  console.log(reportLines(report).join('\n'));
  if (report.mistakes.length > 0) {
    console.log(`Some mistakes: ${report.mistakes.slice(0, 5).map(m => JSON.stringify(m.input))
                                      .join(', ')}`);
  }
  const weightsBytes = fs.statSync(path.join(o.out, 'weights.bin')).size;
  fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify({
    backend, options: o, parameters: model.countParams(), weightsBytes,
    trainSeconds: result.trainSeconds, wallSeconds: result.wallSeconds,
    cpuSeconds: result.cpuSeconds, clock: result.clock, loadAverage: os.loadavg(),
    stoppedBecause: result.stoppedBecause, epochs: result.epochs, curve: result.curve,
    examplesSeen: result.curve[result.curve.length - 1]!.examples, test: report,
  }, null, 2) + '\n');
  console.log(`Saved ${o.out}/model.json, weights.bin (${(weightsBytes / 1024).toFixed(0)} KiB), ` +
              `vocab.json, report.json.`);
}

if (require.main === module) {
  main().catch(e => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
