/**
 * Benchmark: the Transformer against the LSTM baseline, with the same training-time budget,
 * the same data, batches, optimizer and schedule, in one run.
 *
 *   npm run compare:dates -- --budget 300 --backend wasm
 *
 * With `--transformerFrom models/dates/report.json` the Transformer is not trained again: its
 * curve and test report come from that `npm run train:dates` run (same loop, same validation
 * days, same CPU-time clock), and only the baseline is trained here, for the same CPU time.
 *
 * Writes examples/dates/results/compare.json (curves, per-format test accuracy, load),
 * compare.md (the table) and compare.svg (validation accuracy against training time).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

import {useBackend} from '../backend';
import {buildLstmBaseline} from './baseline_lstm';
import {writeChart} from './chart';
import {allFormats, splitDays} from './data';
import {buildDateModel} from './model';
import {saveModel} from './model_files';
import {formatReport, FormatReport, percent} from './report';
import {CURVE_DAYS, parseOptions, TRAIN_DEFAULTS} from './train';
import {CurvePoint, trainLoop} from './train_loop';
import {buildVocab} from './vocab';

const DEFAULTS = {
  budget: 300,
  backend: 'wasm',
  batchSize: TRAIN_DEFAULTS.batchSize,
  learningRate: TRAIN_DEFAULTS.learningRate,
  curveEvery: 30,
  out: 'examples/dates/results',
  /** Also save the Transformer trained here to this folder ('' = do not). */
  saveTransformer: '',
  /** Take the Transformer from this train:dates report.json instead of training it. */
  transformerFrom: '',
};

export interface CompareEntry {
  name: string;
  parameters: number;
  trainSeconds: number;
  wallSeconds: number;
  clock: string;
  examplesSeen: number;
  curve: CurvePoint[];
  test: FormatReport;
  loadBefore: number[];
  loadAfter: number[];
}

async function main() {
  const o = parseOptions(process.argv.slice(2), DEFAULTS);
  const backend = await useBackend(o.backend);
  const vocab = buildVocab();
  const split = splitDays();
  const validation = allFormats(split.validation.slice(0, CURVE_DAYS));
  const test = allFormats(split.test);
  const entries: CompareEntry[] = [];
  const candidates = [
    {name: 'Transformer (SelfAttention)', padding: 'post' as const,
     build: () => buildDateModel({vocabSize: vocab.size, maxInputLength: vocab.maxInputLength,
                                  outputLength: vocab.outputLength})},
    {name: 'LSTM + dot attention (baseline)', padding: 'pre' as const,
     build: () => buildLstmBaseline({vocabSize: vocab.size, outputLength: vocab.outputLength})},
  ];
  const budget = o.budget;
  if (o.transformerFrom !== '') {
    candidates.shift();  // read after the baseline is trained, so both may run at once
  }
  for (const c of candidates) {
    const model = c.build();
    console.log(`${c.name}: ${model.countParams()} parameters, training for ${budget} s ...`);
    const loadBefore = os.loadavg();
    const result = await trainLoop({
      model, vocab, trainDays: split.train, validation, epochs: 1000, batchSize: o.batchSize,
      learningRate: o.learningRate, timeBudgetSeconds: budget, patience: 1000,
      padding: c.padding, curveEverySeconds: o.curveEvery,
      onEpoch: e => console.log(`  epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation ${
          percent(e.validationAccuracy)} after ${e.trainSeconds.toFixed(0)} s`),
    });
    const loadAfter = os.loadavg();
    const report = formatReport(model, vocab, test, {padding: c.padding,
                                                     withMask: c.padding === 'post'});
    if (c.padding === 'post' && o.saveTransformer !== '') {
      await saveModel(model, vocab, o.saveTransformer);
    }
    const last = result.curve[result.curve.length - 1]!;
    console.log(`  test exact match ${percent(report.overall)}, worst format ${
        percent(Math.min(...report.formats.map(f => f.accuracy)))}`);
    entries.push({name: c.name, parameters: model.countParams(), trainSeconds: result.trainSeconds,
                  wallSeconds: result.wallSeconds, clock: result.clock,
                  examplesSeen: last.examples, curve: result.curve, test: report, loadBefore,
                  loadAfter});
    model.dispose();
  }
  if (o.transformerFrom !== '') {
    // The train:dates run may still be going: wait for its report.
    while (!fs.existsSync(o.transformerFrom)) {
      console.log(`waiting for ${o.transformerFrom} ...`);
      await new Promise(resolve => setTimeout(resolve, 15000));
    }
    const r = JSON.parse(fs.readFileSync(o.transformerFrom, 'utf8'));
    if (r.options?.timeBudget !== budget) {
      throw new Error(`${o.transformerFrom} was trained with --timeBudget ${
          r.options?.timeBudget}, not ${budget}`);
    }
    entries.unshift({name: 'Transformer (SelfAttention), from train:dates',
                     parameters: r.parameters, trainSeconds: r.trainSeconds,
                     wallSeconds: r.wallSeconds, clock: r.clock, examplesSeen: r.examplesSeen,
                     curve: r.curve, test: r.test, loadBefore: [], loadAfter: r.loadAverage});
  }
  fs.mkdirSync(o.out, {recursive: true});
  const info = {backend, budgetSeconds: budget, cpus: os.cpus().length,
                date: new Date().toISOString(), entries};
  fs.writeFileSync(path.join(o.out, 'compare.json'), JSON.stringify(info, null, 2) + '\n');
  fs.writeFileSync(path.join(o.out, 'compare.md'), table(info) + '\n');
  writeChart(path.join(o.out, 'compare.json'), path.join(o.out, 'compare.svg'));
  console.log(table(info));
  console.log(`Wrote ${o.out}/compare.json, compare.md, compare.svg`);
  void tf;
}

/** The markdown table: one row per model, then per-format rows. */
export function table(info: {budgetSeconds: number, entries: CompareEntry[]}): string {
  const [a, b] = info.entries as [CompareEntry, CompareEntry];
  const worst = (e: CompareEntry) => {
    const f = e.test.formats.reduce((m, x) => x.accuracy < m.accuracy ? x : m);
    return `${percent(f.accuracy)} (${f.name})`;
  };
  const rows = [
    `| | ${a.name} | ${b.name} |`,
    `| --- | --- | --- |`,
    `| parameters | ${a.parameters} | ${b.parameters} |`,
    `| training time, ${a.clock} (s) | ${a.trainSeconds.toFixed(0)} | ${
        b.trainSeconds.toFixed(0)} |`,
    `| training time, wall clock (s) | ${a.wallSeconds.toFixed(0)} | ${
        b.wallSeconds.toFixed(0)} |`,
    `| examples seen | ${a.examplesSeen} | ${b.examplesSeen} |`,
    `| load average (1 min) at the end | ${a.loadAfter[0]!.toFixed(1)} | ${
        b.loadAfter[0]!.toFixed(1)} |`,
    `| **test exact match, all formats** | **${percent(a.test.overall)}** | **${
        percent(b.test.overall)}** |`,
    `| worst format | ${worst(a)} | ${worst(b)} |`,
  ];
  a.test.formats.forEach((f, i) => {
    rows.push(`| \`${f.example}\` | ${percent(f.accuracy)} | ${
        percent(b.test.formats[i]!.accuracy)} |`);
  });
  return rows.join('\n');
}

if (require.main === module) {
  main().catch(e => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
