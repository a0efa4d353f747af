/**
 * `npm run train:dates`: trains the date translator from scratch, calibrates it and reports on
 * held-out dates. See `--help` and examples/dates/README.md.
 *
 * Prints a progress bar per epoch (stderr), validation after each epoch, stops early when
 * validation stops improving, saves the best model to --out each time it improves, then fits
 * the confidence calibration on the validation dates, and ends with exact match per format and
 * per variant family on the held-out test dates (also in --out/report.json).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {useBackend} from '../shared/backend';
import {Command, Options, runCommand} from '../shared/cli';
import {withSeededRandom} from '../shared/random';
import {clockNamed, progressPrinter} from '../shared/training';
import {calibrate} from './calibrate';
import {FORMATS, splitDays, TEST_SEED, VALIDATION_SEED, variantSet} from './data';
import {buildDateModel} from './model';
import {saveModel} from './model_files';
import {formatReport, percent, reportLines} from './report';
import {trainDateModel} from './train_loop';
import {buildVocab} from './vocab';

export const TRAIN_COMMAND = {
  name: 'npm run train:dates --',
  summary: 'Trains the date translator (a small Transformer) from scratch on every format and ' +
           'its variants, calibrates its confidence on held-out dates, and reports exact match ' +
           'per format and per variant family on the held-out test dates.',
  examples: ['npm run train:dates                        # into trained/dates',
             'npm run train:dates -- --epochs 6 --timeBudget 600 --out models/dates  # committed',
             'npm run train:dates -- --timeBudget 300 --clock wall'],
  options: {
    out: {default: 'trained/dates',
          help: 'folder to write the model to (the committed one is models/dates: name it to ' +
                'replace it)'},
    epochs: {default: 12, help: 'most epochs (the learning rate decays over them)', integer: true,
             min: 1},
    timeBudget: {default: 0, help: 'seconds of training on --clock after which the run ends, ' +
                                   'inside the budget (0: no limit)'},
    clock: {default: 'cpu', help: 'what --timeBudget counts: CPU time of this process, or the wall',
            choices: ['cpu', 'wall']},
    batchSize: {default: 128, help: 'examples per step', integer: true, min: 1},
    learningRate: {default: 3e-3, help: 'peak learning rate (Adam, cosine decay)', min: 1e-6},
    warmup: {default: 100, help: 'steps of linear learning-rate warm-up', integer: true},
    patience: {default: 3, help: 'epochs without validation improvement before stopping',
               integer: true, min: 1},
    validationDays: {default: 200, help: 'held-out days scored after every epoch; the other ' +
                                        'of the 500 calibrate the confidence', integer: true,
                     min: 1, max: 499},
    testDays: {default: 1000, help: 'held-out test days of the final report (npm run ' +
                                    'evaluate:dates measures all 2500)', integer: true, min: 1,
               max: 2500},
    modelDim: {default: 64, help: 'width of every token vector', integer: true, min: 1},
    numHeads: {default: 4, help: 'attention heads', integer: true, min: 1},
    ffDim: {default: 128, help: 'feed-forward hidden size', integer: true, min: 1},
    encoderLayers: {default: 2, help: 'encoder blocks', integer: true, min: 1},
    decoderLayers: {default: 1, help: 'decoder blocks', integer: true, min: 1},
    seed: {default: 1, help: 'seed of the weights, shuffles, formats and variants', integer: true},
    backend: {default: 'wasm', help: "tfjs backend ('best': the package's choice)"},
  },
} satisfies Command;

async function main(o: Options<typeof TRAIN_COMMAND>): Promise<void> {
  const backend = await useBackend(o.backend);
  const clock = clockNamed(o.clock);
  const vocab = buildVocab();
  const split = splitDays();
  const validation = variantSet(split.validation.slice(0, o.validationDays), 1, VALIDATION_SEED);
  const calibrationDays = split.validation.slice(o.validationDays);
  const calibrationSet = variantSet(calibrationDays, 1, VALIDATION_SEED + 1);
  const model = withSeededRandom(o.seed, () => buildDateModel({
      vocabSize: vocab.size, maxInputLength: vocab.maxInputLength, outputLength: vocab.outputLength,
      modelDim: o.modelDim, numHeads: o.numHeads, ffDim: o.ffDim, encoderLayers: o.encoderLayers,
      decoderLayers: o.decoderLayers,
  }));
  console.log(`Backend ${backend}. ${FORMATS.length} formats and their variants; days: ${
      split.train.length} train, ${split.validation.length} validation, ${
      split.test.length} test (split by date).`);
  console.log(`Model: ${model.countParams()} parameters. Epoch = every training day once, in a ` +
              `random format and variant (${split.train.length} examples).`);
  const loadBefore = os.loadavg();
  const result = await trainDateModel({
    model, vocab, trainDays: split.train, validation, epochs: o.epochs, batchSize: o.batchSize,
    schedule: {peak: o.learningRate, warmupSteps: o.warmup, decayOver: 'steps'},
    patience: o.patience, seed: o.seed, clock,
    budgetSeconds: o.timeBudget > 0 ? o.timeBudget : undefined,
    onBatch: progressPrinter(o.epochs),
    onEpoch: async info => {
      let saved = '';
      if (info.improved) {
        await saveModel(model, vocab, o.out);
        saved = ` → saved to ${o.out}`;
      }
      console.log(`epoch ${info.epoch}${info.partial ? ' (cut short)' : ''}: loss ${
          info.loss.toFixed(4)}, training exact match ${percent(info.accuracy)}, validation ${
          percent(info.validationAccuracy)} (${validation.length} examples); ${
          info.trainSeconds.toFixed(0)} s ${clock.name}, ${info.wallSeconds.toFixed(0)} s wall${
          saved}`);
    },
  });
  const loadAfter = os.loadavg();
  console.log(`Stopped: ${result.stoppedBecause}. ${result.steps} steps, ${
      result.examples} examples; ${result.cpuSeconds?.toFixed(0)} CPU s, ${
      result.wallSeconds.toFixed(0)} s wall (load average ${loadAfter.map(x => x.toFixed(1))
          .join(' ')}). Best validation ${percent(result.bestValidationAccuracy)}.`);

  const calibration = calibrate(model, vocab, calibrationSet,
                                `${calibrationDays.length} held-out validation days × every ` +
                                `format, canonical and one variant (${calibrationSet.length} ` +
                                `examples)`);
  console.log(`Calibration on ${calibration.examples} validation examples: temperature ${
      calibration.calibration.temperature.toFixed(3)}, threshold ${
      calibration.calibration.threshold.toFixed(3)}; greedy exact match ${
      percent(calibration.accuracy)}, right ones flagged as unsure ${
      percent(calibration.falseAlarms)}, wrong ones ${percent(calibration.wrongCaught)}.`);
  await saveModel(model, vocab, o.out, calibration.calibration);  // the best weights

  const test = variantSet(split.test.slice(0, o.testDays), 1, TEST_SEED);
  const report = formatReport(model, vocab, test);
  console.log(`Held-out test dates (${o.testDays} days × ${FORMATS.length} formats, ` +
              `canonical and one variant each), exact match:`);
  console.log(reportLines(report).join('\n'));
  if (report.mistakes.length > 0) {
    console.log(`Some mistakes: ${report.mistakes.slice(0, 8).map(m => JSON.stringify(m.input))
                                      .join(', ')}`);
  }
  const weightsBytes = fs.statSync(path.join(o.out, 'weights.bin')).size;
  fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify({
    command: `npm run train:dates -- ${process.argv.slice(2).join(' ')}`.trim(), backend,
    options: o, parameters: model.countParams(), weightsBytes, steps: result.steps,
    examplesSeen: result.examples, trainSeconds: result.elapsed, clock: result.clock,
    cpuSeconds: result.cpuSeconds, wallSeconds: result.wallSeconds, loadBefore, loadAfter,
    stoppedBecause: result.stoppedBecause, epochs: result.epochInfos, calibration, test: report,
  }, null, 1) + '\n');
  console.log(`Saved ${o.out}/model.json, weights.bin (${(weightsBytes / 1024).toFixed(0)} KiB), ` +
              `vocab.json, calibration.json, report.json.`);
}

if (require.main === module) {
  runCommand(TRAIN_COMMAND, ({options}) => main(options));
}
