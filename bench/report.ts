/** Writes the benchmark's results: JSON, a markdown table and an SVG chart. */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {version} from '@tensorflow/tfjs';

import type {BrowserInfo} from './browser';
import {Case} from './cases';
import {chartSvg} from './chart';

export interface Options {
  /** heads × model pairs; when given, --heads and --model are ignored. */
  pairs: Array<[number, number]>|null;
  /** Node backends. */
  backends: string[];
  /** Backends measured in headless Chromium (--browser); empty without --browser. */
  browserBackends: string[];
  ns: number[];
  heads: number[];
  models: number[];
  runs: number;
  maxSeconds: number;
  memoryN: number;
  out: string;
  /** What (b) is: naive attention, or the layer forced onto the standard path. */
  baseline: 'naive'|'standard';
  /**
   * How runs were sampled (bench/measure.ts), in runs made since it was recorded: the warm-up's
   * length and each sample's (ms). Absent in older results: one warm-up run, one call a sample.
   */
  sampling?: {warmUpMs: number, sampleMs: number};
}

export interface Timing {
  forwardMs: number|null;
  bothMs: number|null;
  forwardPeakBytes: number|null;
  bothPeakBytes: number|null;
  skipped?: string;
}

export interface Row extends Case {
  backend: string;
  /** The attention path 'auto' took for (a), where recorded (Node rows since it was added). */
  path?: string;
  flops: number;
  a: Timing;
  b: Timing;
  c: Timing;
}

export interface MemoryResult {
  backend: string;
  time: number;
  model: number;
  defaultPath: string;
  standardPeakBytes: number;
  defaultPeakBytes: number;
  standardMs: number;
  defaultMs: number;
  maxRelativeDifference: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  tfjs: string;
  platform: string;
  loadAverageAtStart: number[];
  /** With --browser: the browser and what each of its backends runs on. */
  browser?: BrowserInfo;
}

/** This machine, and its load average now (the start of a run). */
export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, tfjs: version.tfjs, platform: `${os.platform()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map(l => Number(l.toFixed(2))),
  };
}

/**
 * The machine sentence of a results table (decoding, threads, targets): the machine, and the load
 * average at the start and at the end of the run.
 */
export function machineLine(m: Machine&{loadAverageAtEnd: number[]}): string {
  return `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, tfjs ${
      m.tfjs}; load average ${m.loadAverageAtStart.join(' / ')} at the start, ${
      m.loadAverageAtEnd.join(' / ')} at the end` +
      (m.cores <= 2 ? ' (a shared machine: absolute times are noisy, the ratios are the result)' : '') + '.';
}

/** Writes results.json, results.md and chart.svg under `out`; returns the markdown. */
export function writeResults(out: string, info: Machine, o: Options, rows: Row[],
                             memory: MemoryResult[]): string {
  const loadAverageAtEnd = os.loadavg().map(l => Number(l.toFixed(2)));
  fs.mkdirSync(out, {recursive: true});
  fs.writeFileSync(path.join(out, 'results.json'),
                   JSON.stringify({machine: {...info, loadAverageAtEnd}, options: o, rows, memory}, null, 2));
  const md = markdown(rows, memory, info, o);
  fs.writeFileSync(path.join(out, 'results.md'), md);
  fs.writeFileSync(path.join(out, 'chart.svg'), chartSvg(rows.map(r => ({
    label: `${r.backend} n=${r.time} h=${r.heads} d=${r.model}`,
    a: gflops(3 * r.flops, r.a.bothMs), b: gflops(3 * r.flops, r.b.bothMs), c: gflops(3 * r.flops, r.c.bothMs),
  }))));
  return md;
}

const gflops = (flops: number, ms: number|null) => (ms == null ? null : flops / ms / 1e6);
const fmt = (x: number|null, digits = 1) => (x == null ? '–' : x.toFixed(digits));
const mib = (bytes: number|null) => (bytes == null ? '–' : (bytes / 2 ** 20).toFixed(1));

export function markdown(rows: Row[], memory: MemoryResult[], info: Machine,
                  o: Options): string {
  const lines = [
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}, Node ${
        info.node}, tfjs ${info.tfjs}; load average at start ${info.loadAverageAtStart.join(' / ')}` +
        (info.cores <= 2 ? ' (a shared machine: absolute times are noisy, ratios within a row are the result)' : '') + '.' +
        (info.browser == null ? '' : ` Browser rows: headless ${info.browser.browser}${
            Object.entries(info.browser.devices).map(([b, d]) => `; ${b} on ${d ?? 'an unnamed device'}`).join('')}.`),
    (o.sampling == null ? `Median of ${o.runs} runs after a warm-up; ` :
        `Median of ${o.runs} to ${3 * o.runs} interleaved rounds (more for quick cases, within 3 s) after a warm-up of ${
            o.sampling.warmUpMs / 1000} s or one run; a sample averages the calls that fill ${o.sampling.sampleMs} ms; `) +
        'fwd+bwd = gradients of every weight. ' +
        `(a) SelfAttention, default settings; (b) ${o.baseline === 'standard' ?
            "the same layer with attentionPath: 'standard'" : 'naive batched-matMul attention'
        }; (c) one square 2-D matMul of the same FLOPs. ` +
        'GFLOP/s count 3× the forward FLOPs for fwd+bwd. Peak = tf.profile peak tensor bytes.',
    '',
    '| backend | n | batch | heads | model | (a) path | (a) fwd ms | (a) fwd+bwd ms | (b) fwd ms | (b) fwd+bwd ms | (a) GFLOP/s fwd+bwd | (b) GFLOP/s fwd+bwd | (c) GFLOP/s | speed-up (a)/(b) fwd | speed-up (a)/(b) fwd+bwd | (a) ÷ (c) fwd+bwd | peak MiB fwd+bwd (a) / (b) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const ga = gflops(3 * r.flops, r.a.bothMs);
    const gb = gflops(3 * r.flops, r.b.bothMs);
    const gc = gflops(3 * r.flops, r.c.bothMs);
    const ratio = (p: number|null, q: number|null) => (p == null || q == null ? null : q / p);
    const skip = (t: Timing) => (t.skipped ? ` (skipped: ${t.skipped})` : '');
    lines.push(`| ${r.backend} | ${r.time} | ${r.batch} | ${r.heads} | ${r.model} | ${r.path ?? '–'} | ${fmt(r.a.forwardMs)}${
        skip(r.a)} | ${fmt(r.a.bothMs)} | ${fmt(r.b.forwardMs)}${skip(r.b)} | ${fmt(r.b.bothMs)} | ${
        fmt(ga)} | ${fmt(gb)} | ${fmt(gc)}${skip(r.c)} | ${fmt(ratio(r.a.forwardMs, r.b.forwardMs))}× | ${
        fmt(ratio(r.a.bothMs, r.b.bothMs))}× | ${fmt(ga != null && gc != null ? ga / gc : null, 2)} | ${
        mib(r.a.bothPeakBytes)} / ${mib(r.b.bothPeakBytes)} |`);
  }
  if (memory.length) {
    lines.push('', 'Memory at long sequences: the layer with default settings vs the same layer forced onto the ' +
                   'standard path, batch 1, one head of 64, forward + backward.', '',
               '| backend | n | default path | peak MiB default | peak MiB standard | ratio | ms default | ms standard | max relative difference |',
               '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const m of memory) {
      lines.push(`| ${m.backend} | ${m.time} | ${m.defaultPath} | ${mib(m.defaultPeakBytes)} | ${
          mib(m.standardPeakBytes)} | 1/${fmt(m.standardPeakBytes / m.defaultPeakBytes)} | ${
          fmt(m.defaultMs, 0)} | ${fmt(m.standardMs, 0)} | ${m.maxRelativeDifference.toExponential(1)} |`);
    }
  }
  return lines.join('\n') + '\n';
}


/**
 * Runs `script` again in a child process for one backend (its flags as given, `--backends`
 * dropped, `--child <backend>` added) and returns what the child printed on its `RESULT <json>`
 * line (see {@link printChildResult}): each backend then gets a fresh process, since the wasm
 * heap never shrinks.
 */
export function runBackendChild<T>(script: string, backend: string, argv: string[]): T {
  const args = [...argv.filter((_, i, a) => a[i - 1] !== '--backends' && a[i] !== '--backends'),
                '--child', backend];
  const out = execFileSync(process.execPath,
                           ['-r', 'ts-node/register/transpile-only', script, ...args],
                           {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']});
  const line = out.split('\n').find(l => l.startsWith('RESULT '));
  if (line == null) {
    throw new Error(`the ${backend} run printed no result:\n${out}`);
  }
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** What a child of {@link runBackendChild} prints for its parent. */
export function printChildResult(result: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
