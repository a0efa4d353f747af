/**
 * Benchmark: the Transformer against the LSTM baseline, with the same training-time budget,
 * the same data, batches, optimizer and schedule, in one run.
 *
 *   npm run compare:dates -- --budget 300 --backend wasm
 *
 * Writes examples/dates/results/compare.json (curves, per-format test accuracy, load),
 * compare.md (the table) and compare.svg (validation accuracy against training time).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

import {useBackend} from './backend';
import {buildLstmBaseline} from './baseline_lstm';
import {writeChart} from './chart';
import {allFormats, splitDays} from './data';
import {buildDateModel} from './model';
import {formatReport, FormatReport, percent} from './report';
import {parseOptions, TRAIN_DEFAULTS} from './train';
import {CurvePoint, trainLoop} from './train_loop';
import {buildVocab} from './vocab';

const DEFAULTS = {
  budget: 300,
  backend: 'wasm',
  batchSize: TRAIN_DEFAULTS.batchSize,
  learningRate: TRAIN_DEFAULTS.learningRate,
  curveEvery: 30,
  out: 'examples/dates/results',
};

export interface CompareEntry {
  name: string;
  parameters: number;
  trainSeconds: number;
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
  const validation = allFormats(split.validation.slice(0, 200));
  const test = allFormats(split.test);
  const entries: CompareEntry[] = [];
  const candidates = [
    {name: 'Transformer (SelfAttention)', padding: 'post' as const,
     build: () => buildDateModel({vocabSize: vocab.size, maxInputLength: vocab.maxInputLength,
                                  outputLength: vocab.outputLength})},
    {name: 'LSTM + dot attention (baseline)', padding: 'pre' as const,
     build: () => buildLstmBaseline({vocabSize: vocab.size, outputLength: vocab.outputLength})},
  ];
  for (const c of candidates) {
    const model = c.build();
    console.log(`${c.name}: ${model.countParams()} parameters, training for ${o.budget} s ...`);
    const loadBefore = os.loadavg();
    const result = await trainLoop({
      model, vocab, trainDays: split.train, validation, epochs: 1000, batchSize: o.batchSize,
      learningRate: o.learningRate, timeBudgetSeconds: o.budget, patience: 1000,
      padding: c.padding, curveEverySeconds: o.curveEvery,
      onEpoch: e => console.log(`  epoch ${e.epoch}: validation ${
          percent(e.validationAccuracy)} after ${e.trainSeconds.toFixed(0)} s`),
    });
    const loadAfter = os.loadavg();
    const report = formatReport(model, vocab, test, {padding: c.padding});
    const last = result.curve[result.curve.length - 1]!;
    console.log(`  test exact match ${percent(report.overall)}, worst format ${
        percent(Math.min(...report.formats.map(f => f.accuracy)))}`);
    entries.push({name: c.name, parameters: model.countParams(), trainSeconds: result.trainSeconds,
                  examplesSeen: last.examples, curve: result.curve, test: report, loadBefore,
                  loadAfter});
    model.dispose();
  }
  fs.mkdirSync(o.out, {recursive: true});
  const info = {backend, budgetSeconds: o.budget, cpus: os.cpus().length,
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
    `| training time (s) | ${a.trainSeconds.toFixed(0)} | ${b.trainSeconds.toFixed(0)} |`,
    `| examples seen | ${a.examplesSeen} | ${b.examplesSeen} |`,
    `| load average before → after | ${a.loadBefore[0]!.toFixed(1)} → ${
        a.loadAfter[0]!.toFixed(1)} | ${b.loadBefore[0]!.toFixed(1)} → ${
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
