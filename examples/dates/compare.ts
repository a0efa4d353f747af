/**
 * `npm run compare:dates`: the Transformer against the classic tfjs LSTM + attention date model
 * (baseline_lstm.ts), on the same data, machine and clock, in one run. See `--help`.
 *
 * Three trainings, one after the other, each from scratch:
 *   1. the Transformer with our budget (--budget seconds; the learning rate decays over it);
 *   2. the LSTM with its own budget: the published setup's 2 epochs of batch 128 over its
 *      training set (25% of the days × 20 formats = 182,620 examples), i.e. 365,240 examples
 *      or 2,854 steps, Adam at tfjs's defaults;
 *   3. the LSTM with our budget (the same seconds as 1), same optimizer as 2.
 * All three see the same stream of examples (every training day once per epoch, in a random
 * format and variant), in batches grouped by length, and are scored on the same held-out
 * days: validation exact match every --curveEvery seconds of training (the clock stops while
 * scoring), and at the end exact match on held-out test days per format and per variant
 * family. Writes <out>/compare.json, compare.md and the chart compare.svg.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {useBackend} from '../shared/backend';
import {Command, Options, runCommand} from '../shared/cli';
import {withSeededRandom} from '../shared/random';
import {clockNamed, progressPrinter, ScheduleArgs} from '../shared/training';
import {buildLstmBaseline} from './baseline_lstm';
import {writeChart} from './chart';
import {splitDays, TEST_SEED, VALIDATION_SEED, variantSet} from './data';
import {buildDateModel, ModelInputs} from './model';
import {formatReport, FormatReport, percent} from './report';
import {CurvePoint, trainDateModel} from './train_loop';
import {buildVocab} from './vocab';

/** The classic setup's training: 2 epochs over 25% of 36,525 days × 20 formats, batch 128. */
export const CLASSIC_BATCH_SIZE = 128;
export const CLASSIC_STEPS = 2 * Math.ceil(Math.floor(36525 * 0.25) * 20 / CLASSIC_BATCH_SIZE);

export const COMPARE_COMMAND = {
  name: 'npm run compare:dates --',
  summary: 'Trains the Transformer and the classic tfjs LSTM + dot-attention date model on the ' +
           'same data and machine, in one run: the Transformer and the LSTM for --budget ' +
           `seconds, and the LSTM for its own published budget (${CLASSIC_STEPS} steps of ` +
           `${CLASSIC_BATCH_SIZE}); writes the curves, the table and the chart.`,
  examples: ['npm run compare:dates', 'npm run compare:dates -- --budget 120 --out .tmp/compare'],
  options: {
    budget: {default: 300, help: 'seconds of training of runs 1 and 3, on --clock', min: 1},
    clock: {default: 'cpu', help: 'what the budget and the curves count', choices: ['cpu', 'wall']},
    curveEvery: {default: 30, help: 'seconds of training between two points of the curves',
                 min: 1},
    curveDays: {default: 60, help: 'held-out validation days of the curves (× every format, ' +
                                   'canonical and one variant)', integer: true, min: 1, max: 500},
    testDays: {default: 500, help: 'held-out test days of the final scores', integer: true,
               min: 1, max: 2500},
    classicSteps: {default: CLASSIC_STEPS, help: "steps of the LSTM's own budget (the " +
                                                 'published 2 epochs of batch 128)', integer: true,
                   min: 1},
    out: {default: 'examples/dates/results', help: 'folder of compare.json, compare.md, compare.svg'},
    backend: {default: 'wasm', help: "tfjs backend ('best': the package's choice)"},
    seed: {default: 1, help: 'seed of the weights and the data stream', integer: true},
  },
} satisfies Command;

/** One training of the comparison. */
export interface CompareEntry {
  name: string;
  /** 'ours' (--budget seconds) or 'classic' (the published steps). */
  budget: string;
  parameters: number;
  steps: number;
  examplesSeen: number;
  trainSeconds: number;
  wallSeconds: number;
  clock: string;
  curve: CurvePoint[];
  test: FormatReport;
  loadBefore: number[];
  loadAfter: number[];
}

interface Candidate {
  name: string;
  budget: 'ours'|'classic';
  inputs: ModelInputs;
  build: () => tf.LayersModel;
  schedule: ScheduleArgs;
  beta2: number;
  epsilon: number;
}

async function main(o: Options<typeof COMPARE_COMMAND>): Promise<void> {
  const backend = await useBackend(o.backend);
  const clock = clockNamed(o.clock);
  const vocab = buildVocab();
  const split = splitDays();
  const curveSet = variantSet(split.validation.slice(0, o.curveDays), 1, VALIDATION_SEED);
  const test = variantSet(split.test.slice(0, o.testDays), 1, TEST_SEED);
  const transformer = () => buildDateModel({vocabSize: vocab.size,
                                            maxInputLength: vocab.maxInputLength,
                                            outputLength: vocab.outputLength});
  const lstm = () => buildLstmBaseline({vocabSize: vocab.size, outputLength: vocab.outputLength});
  // The classic model's optimizer: tf.train.adam() — learning rate 1e-3, β₂ 0.999, ε 1e-7.
  const classic = {schedule: {peak: 1e-3, warmupSteps: 1, finalFraction: 1}, beta2: 0.999,
                   epsilon: 1e-7};
  const candidates: Candidate[] = [
    {name: 'Transformer (SelfAttention)', budget: 'ours', inputs: 'transformer', build: transformer,
     schedule: {peak: 3e-3, warmupSteps: 100, decayOver: 'budget'}, beta2: 0.98, epsilon: 1e-8},
    {name: 'LSTM + dot attention, its own budget', budget: 'classic', inputs: 'ids', build: lstm,
     ...classic},
    {name: 'LSTM + dot attention, our budget', budget: 'ours', inputs: 'ids', build: lstm,
     ...classic},
  ];
  const entries: CompareEntry[] = [];
  for (const c of candidates) {
    const model = withSeededRandom(o.seed, c.build);
    const limit = c.budget === 'ours' ? `${o.budget} s (${clock.name})` : `${o.classicSteps} steps`;
    console.log(`${c.name}: ${model.countParams()} parameters, training for ${limit} ...`);
    const loadBefore = os.loadavg();
    const result = await trainDateModel({
      model, vocab, trainDays: split.train, epochs: 1000, batchSize: CLASSIC_BATCH_SIZE,
      schedule: c.schedule, beta2: c.beta2, epsilon: c.epsilon, clock, inputs: c.inputs,
      budgetSeconds: c.budget === 'ours' ? o.budget : undefined,
      maxSteps: c.budget === 'classic' ? o.classicSteps : undefined,
      curveValidation: curveSet, curveEverySeconds: o.curveEvery, seed: o.seed,
      onBatch: progressPrinter(1000, 100),
    });
    const loadAfter = os.loadavg();
    const report = formatReport(model, vocab, test, {inputs: c.inputs});
    const last = result.curve[result.curve.length - 1]!;
    console.log(`  ${result.steps} steps, ${result.examples} examples, ${
        result.elapsed.toFixed(0)} s ${clock.name} (${result.wallSeconds.toFixed(0)} s wall); ` +
                `validation ${percent(last.validationAccuracy)}, test exact match ${
                    percent(report.overall)}`);
    entries.push({name: c.name, budget: c.budget, parameters: model.countParams(),
                  steps: result.steps, examplesSeen: result.examples,
                  trainSeconds: result.elapsed, wallSeconds: result.wallSeconds,
                  clock: clock.name, curve: result.curve, test: report, loadBefore, loadAfter});
    model.dispose();
  }
  fs.mkdirSync(o.out, {recursive: true});
  const info = {
    command: `npm run compare:dates -- ${process.argv.slice(2).join(' ')}`.trim(), backend,
    budgetSeconds: o.budget, clock: clock.name, cpus: os.cpus().length,
    date: new Date().toISOString(), curveExamples: curveSet.length, testExamples: test.length,
    classicSteps: o.classicSteps, classicExamples: o.classicSteps * CLASSIC_BATCH_SIZE, entries,
  };
  fs.writeFileSync(path.join(o.out, 'compare.json'), JSON.stringify(info, null, 1) + '\n');
  fs.writeFileSync(path.join(o.out, 'compare.md'), table(info) + '\n');
  writeChart(path.join(o.out, 'compare.json'), path.join(o.out, 'compare.svg'));
  console.log(table(info));
  console.log(`Wrote ${o.out}/compare.json, compare.md, compare.svg`);
}

/** First training time at which the curve reaches `accuracy`, or null. */
export function timeToReach(curve: CurvePoint[], accuracy: number): number|null {
  return curve.find(p => p.validationAccuracy >= accuracy)?.trainSeconds ?? null;
}

/** Validation accuracy of the curve at training time `t` (the last point at or before it). */
export function accuracyAt(curve: CurvePoint[], t: number): number {
  return curve.filter(p => p.trainSeconds <= t + 1e-9).pop()?.validationAccuracy ?? 0;
}

type CompareInfo = {command: string, budgetSeconds: number, clock: string, curveExamples: number,
                    testExamples: number, entries: CompareEntry[]};

/** The markdown table: the headline figures, then one row per format and per family. */
export function table(info: CompareInfo): string {
  const e = info.entries;
  const [t, own, ours] = e as [CompareEntry, CompareEntry, CompareEntry];
  const s = (x: number|null) => x == null ? 'not reached' : `${x.toFixed(0)} s`;
  const worst = (x: CompareEntry) => {
    const f = x.test.formats.reduce((m, y) => y.accuracy < m.accuracy ? y : m);
    return `${percent(f.accuracy)} (\`${f.example}\`)`;
  };
  const row = (name: string, f: (x: CompareEntry) => string) =>
      `| ${name} | ${e.map(f).join(' | ')} |`;
  const target = own.curve[own.curve.length - 1]!.validationAccuracy;
  const tReach = timeToReach(t.curve, target);
  const lines = [
    `\`${info.command}\` (clock: ${info.clock} seconds of training, scoring excluded)`, '',
    `| | ${e.map(x => x.name).join(' | ')} |`, `| --- | ${e.map(() => '---').join(' | ')} |`,
    row('parameters', x => x.parameters.toLocaleString('en')),
    row('training steps (batch 128)', x => x.steps.toLocaleString('en')),
    row('examples seen', x => x.examplesSeen.toLocaleString('en')),
    row(`training time, ${info.clock} s`, x => x.trainSeconds.toFixed(0)),
    row('training time, wall-clock s', x => x.wallSeconds.toFixed(0)),
    row('load average (1 min) at the end', x => x.loadAfter[0]!.toFixed(1)),
    row(`validation exact match at ${Math.min(60, info.budgetSeconds)} s`,
        x => percent(accuracyAt(x.curve, Math.min(60, info.budgetSeconds)))),
    row(`validation exact match at ${info.budgetSeconds} s`,
        x => percent(accuracyAt(x.curve, info.budgetSeconds))),
    row('time to 90% validation exact match', x => s(timeToReach(x.curve, 0.9))),
    row('time to 99%', x => s(timeToReach(x.curve, 0.99))),
    row(`**test exact match** (${info.testExamples.toLocaleString('en')} examples)`,
        x => `**${percent(x.test.overall)}**`),
    row('worst format', worst),
    '',
    `The LSTM's best, with its own budget: ${percent(target)} validation exact match after ${
        own.trainSeconds.toFixed(0)} s. The Transformer reached it ${
        tReach == null ? 'not within its budget' :
            `after ${tReach.toFixed(0)} s: ${(own.trainSeconds / Math.max(1, tReach)).toFixed(0)}× faster`}` +
        `; with the same ${info.budgetSeconds} s, test exact match ${percent(t.test.overall)} ` +
        `against ${percent(ours.test.overall)}.`,
    '',
    `| test exact match per format | ${e.map(x => x.name).join(' | ')} |`,
    `| --- | ${e.map(() => '---').join(' | ')} |`,
    ...t.test.formats.map((f, i) => `| \`${f.example}\` | ${
        e.map(x => percent(x.test.formats[i]!.accuracy)).join(' | ')} |`),
    ...t.test.families.map((f, i) => `| ${f.name} | ${
        e.map(x => percent(x.test.families[i]!.accuracy)).join(' | ')} |`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  runCommand(COMPARE_COMMAND, ({options}) => main(options));
}
