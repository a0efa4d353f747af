/**
 * The threads benchmark's results (bench/threads.ts): their types, the markdown table, and
 * results.{json,md}. `npm run docs:bench` renders a `kind: 'threads'` results.json with
 * `threadsMarkdown`, so docs/benchmarks.md shows what the run wrote.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {Machine, machineLine} from './report';

export interface ThreadsOptions {
  /** The thread counts compared; the first is the baseline. */
  threads: number[];
  /** Processes per thread count, run alternately (1, 2, 1, 2, ...). */
  rounds: number;
  /** Timed runs per item in each process, after one warm-up. */
  runs: number;
  out: string;
}

/** One thing timed: a 2-D matMul, or the layer's forward or forward+backward. */
export interface ThreadsItem {
  name: string;
  /** Milliseconds of every timed run, per thread count (`options.threads` order), all rounds. */
  ms: number[][];
  /** Median ms per thread count. */
  medianMs: number[];
  /** Baseline median ÷ each thread count's median. */
  speedup: number[];
  /** Every thread count gave the same bytes (a hash of the float32 results). */
  bitwiseEqual: boolean;
}

export interface ThreadsResults {
  kind: 'threads';
  machine: Machine&{loadAverageAtEnd: number[]};
  options: ThreadsOptions;
  /** The threads each process reported using (from useBestBackend), per thread count. */
  threadsInUse: number[];
  items: ThreadsItem[];
}

/** The results as a markdown paragraph and table. */
export function threadsMarkdown(r: ThreadsResults): string {
  const o = r.options;
  const m = r.machine;
  const lines = [
    machineLine(m),
    `Node wasm started by \`useBestBackend({wasmThreads})\` with ${o.threads.join(' and ')} thread(s) ` +
        `(threads in use: ${r.threadsInUse.join(', ')}), each in processes of its own, alternating, ${
        o.rounds} per count; median of ${o.runs} runs after a warm-up in each, pooled. Batch 8; ` +
        '"8 heads of 64" is a model of 512. `npm run bench:threads`.',
    '',
    `| item | ${o.threads.map(t => `${t} thread${t > 1 ? 's' : ''} (ms)`).join(' | ')} | ${
        o.threads.slice(1).map(t => `speed-up ×${t}`).join(' | ')} | bitwise equal |`,
    `| --- | ${o.threads.map(() => '---').join(' | ')} | ${o.threads.slice(1).map(() => '---').join(' | ')} | --- |`,
  ];
  for (const item of r.items) {
    lines.push(`| ${item.name} | ${item.medianMs.map(ms => ms.toFixed(1)).join(' | ')} | ${
        item.speedup.slice(1).map(s => `${s.toFixed(2)}×`).join(' | ')} | ${item.bitwiseEqual ? 'yes' : 'NO'} |`);
  }
  return lines.join('\n') + '\n';
}

/** Writes results.json and results.md under `results.options.out`; returns the markdown. */
export function writeThreadsResults(results: Omit<ThreadsResults, 'machine'>&{machine: Machine}): string {
  const loadAverageAtEnd = os.loadavg().map(l => Number(l.toFixed(2)));
  const all: ThreadsResults = {...results, machine: {...results.machine, loadAverageAtEnd}};
  fs.mkdirSync(all.options.out, {recursive: true});
  fs.writeFileSync(path.join(all.options.out, 'results.json'), JSON.stringify(all, null, 2) + '\n');
  const md = threadsMarkdown(all);
  fs.writeFileSync(path.join(all.options.out, 'results.md'), md);
  return md;
}
