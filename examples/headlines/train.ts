/**
 * `npm run train:headlines`: trains the headline model from scratch. See `--help`.
 *
 * Every epoch draws fresh training sentences from the grammar (the data is unlimited): a
 * progress bar (stderr), then exact match on held-out subject–verb–object combinations. The
 * model is written to --out each time validation improves; at the end comes the report on a
 * larger held-out test set (also in --out/report.json). The run ends after --epochs, or inside
 * --minutes: the time budget counts steps, validation and saving, and an epoch is cut short
 * when the next step and the end of epoch would not fit (../shared/training.ts).
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {useBackend} from '../shared/backend';
import {Command, Options, runCommand} from '../shared/cli';
import {withSeededRandom} from '../shared/random';
import {clockNamed, progressPrinter, runTraining, ScheduledAdam} from '../shared/training';
import {batchInputs, bucketBatches, makeBatch, taskVocab} from './data';
import {Sample, sampleSplit} from './grammar';
import {buildHeadlineModel} from './model';
import {loadModel, saveModel} from './model_files';
import {formatScore, percent, score} from './report';
import {Summarizer} from './summarizer';

export const TRAIN_COMMAND = {
  name: 'npm run train:headlines --',
  summary: 'Trains the headline model from scratch on fresh grammar sentences, keeps the best ' +
           'by validation exact match, and reports on held-out subject–verb–object ' +
           'combinations. The run ends after --epochs or inside --minutes, whichever is first.',
  examples: ['npm run train:headlines                     # into trained/headlines',
             'npm run train:headlines -- --out models/headlines   # the committed model'],
  options: {
    out: {default: 'trained/headlines',
          help: 'folder to write the model to (the committed one is models/headlines: name it ' +
                'to replace it)'},
    minutes: {default: 10, help: 'time budget: the run ends inside it, steps, validation and ' +
                                 'saving counted (0: no limit)'},
    clock: {default: 'cpu', help: 'what --minutes counts: CPU time of this process, or the wall',
            choices: ['cpu', 'wall']},
    epochs: {default: 20, help: 'epochs (the learning rate decays over them)', integer: true,
             min: 1},
    stepsPerEpoch: {default: 50, help: 'steps per epoch', integer: true, min: 1},
    batchSize: {default: 128, help: 'sentences per step', integer: true, min: 1},
    learningRate: {default: 3e-3, help: 'peak learning rate (Adam, cosine decay)', min: 1e-6},
    warmup: {default: 30, help: 'steps of linear learning-rate warm-up', integer: true},
    modelDim: {default: 64, help: 'width of every token vector', integer: true, min: 1},
    numHeads: {default: 4, help: 'attention heads', integer: true, min: 1},
    ffDim: {default: 128, help: 'feed-forward hidden size', integer: true, min: 1},
    encoderLayers: {default: 2, help: 'encoder blocks', integer: true, min: 1},
    decoderLayers: {default: 1, help: 'decoder blocks', integer: true, min: 1},
    validation: {default: 300, help: 'held-out sentences scored after each epoch', integer: true,
                 min: 1},
    test: {default: 2000, help: 'held-out sentences of the final report', integer: true, min: 1},
    seed: {default: 1, help: 'seed of the weights and the sentences', integer: true},
    backend: {default: 'wasm', help: "tfjs backend ('best': the package's choice)"},
  },
} satisfies Command;

/** Seeds of the fixed held-out sets (the test suite uses its own). */
export const VALIDATION_SEED = 1001;
export const TEST_SEED = 2024;

/** Sparse cross-entropy of pointer probabilities `[b, 1, tOut, tIn]` against positions `[b, 1, tOut, 1]`. */
function pointerLoss(probabilities: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const timeIn = probabilities.shape[3]!;
    const oneHot = tf.oneHot(tf.cast(targets.reshape([-1]), 'int32'), timeIn);
    const p = tf.clipByValue(probabilities.reshape([-1, timeIn]), 1e-7, 1);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(p)), -1))) as tf.Scalar;
  });
}

async function main(o: Options<typeof TRAIN_COMMAND>): Promise<void> {
  const backend = await useBackend(o.backend);
  const clock = clockNamed(o.clock);
  const vocab = taskVocab();
  const validation = sampleSplit('test', o.validation, VALIDATION_SEED);
  const test = sampleSplit('test', o.test, TEST_SEED);
  const model = withSeededRandom(o.seed, () => buildHeadlineModel({
    vocabSize: vocab.size, maxInputLength: vocab.maxInputLength,
    maxOutputLength: vocab.maxOutputLength, modelDim: o.modelDim, numHeads: o.numHeads,
    ffDim: o.ffDim, encoderLayers: o.encoderLayers, decoderLayers: o.decoderLayers,
  }));
  console.log(`Backend ${backend}; ${model.countParams()} parameters; vocabulary ${
      vocab.size} tokens; ${validation.length} validation and ${
      test.length} test sentences, all with held-out subject–verb–object combinations.`);

  const optimizer = new ScheduledAdam(o.learningRate, 0.9, 0.999);
  const variables = model.trainableWeights.map(w => w.read() as tf.Variable);
  let best = -1;
  const loadBefore = os.loadavg();
  const result = await runTraining<Sample[]>({
    clock, epochs: o.epochs, budgetSeconds: o.minutes > 0 ? o.minutes * 60 : undefined,
    schedule: {peak: o.learningRate, warmupSteps: o.warmup, finalFraction: 0.1,
               decayOver: 'steps'},
    epochBatches: epoch => bucketBatches(
        sampleSplit('train', o.stepsPerEpoch * o.batchSize, o.seed * 1_000_003 + epoch),
        o.batchSize, epoch),
    step: async (samples, rate) => {
      optimizer.setLearningRate(rate);
      const batch = makeBatch(samples, vocab);
      const loss = optimizer.minimize(
          () => pointerLoss(model.apply(batchInputs(batch), {training: true}) as tf.Tensor,
                            batch.targets), true, variables)!;
      const value = (await loss.data())[0]!;
      tf.dispose([loss, ...batchInputs(batch), batch.targets]);
      return {loss: value, examples: samples.length};
    },
    onBatch: progressPrinter(o.epochs, 10),
    endEpoch: async e => {
      const predicted = await new Summarizer(model, vocab)
                            .summarizeIds(validation.map(s => vocab.encodeWords(s.input)));
      const r = score(validation, predicted).overall;
      // Best by exact match, ties broken by ROUGE-1 (both in [0, 1]).
      const improved = r.exactMatch + r.rouge1 / 1000 > best;
      if (improved) {
        best = r.exactMatch + r.rouge1 / 1000;
        await saveModel(model, vocab, o.out);
      }
      if (e.epoch > 0) {
        console.log(`epoch ${e.epoch}${e.partial ? ' (cut short)' : ''}: loss ${
            e.loss.toFixed(4)}, validation exact match ${percent(r.exactMatch)}, ROUGE-1 F1 ${
            r.rouge1.toFixed(4)}${improved ? ` (best: saved to ${o.out})` : ''}; ${
            e.elapsed.toFixed(0)} s ${clock.name}, ${e.wallSeconds.toFixed(0)} s wall`);
      }
    },
  });
  optimizer.dispose();
  const loadAfter = os.loadavg();

  const {model: bestModel} = await loadModel(o.out);
  const predicted = await new Summarizer(bestModel, vocab)
                        .summarizeIds(test.map(s => vocab.encodeWords(s.input)));
  const scores = score(test, predicted);
  const report = {
    command: `npm run train:headlines -- ${process.argv.slice(2).join(' ')}`.trim(), backend,
    parameters: model.countParams(), epochs: result.epochs, steps: result.steps,
    sentencesSeen: result.examples, budget: o.minutes > 0 ? `${o.minutes} min ${o.clock}` : 'none',
    trainSeconds: Math.round(result.elapsed), cpuSeconds: Math.round(result.cpuSeconds ?? 0),
    wallSeconds: Math.round(result.wallSeconds), stoppedBecause: result.stoppedBecause,
    loadBefore, loadAfter, batchSize: o.batchSize, testSeed: TEST_SEED, ...scores,
  };
  fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`\nStopped: ${result.stoppedBecause}. ${result.epochs} epochs (${result.steps} ` +
              `steps, ${result.examples} sentences) on ${backend}: ${report.cpuSeconds} s of CPU ` +
              `time, ${report.wallSeconds} s wall clock (load average ${
                  loadAfter.map(x => x.toFixed(1)).join(' ')}).`);
  console.log(`Held-out test (${test.length} sentences, subject–verb–object combinations ` +
              `never seen in training):\n`);
  console.log(formatScore(scores));
  console.log(`\nSaved the best model to ${o.out} (report.json beside it).`);
}

if (require.main === module) {
  runCommand(TRAIN_COMMAND, ({options}) => main(options));
}
