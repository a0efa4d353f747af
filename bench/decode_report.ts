/**
 * The decoding benchmark's results (bench/decode.ts): their types, the markdown table, and
 * results.{json,md}. `npm run docs:bench` renders a `kind: 'decode'` results.json with
 * `decodeMarkdown`, so docs/benchmarks.md shows what the run wrote.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {Machine, machineLine} from './report';

export interface DecodeOptions {
  backends: string[];
  /** Tokens generated per run. */
  tokens: number;
  /** Decoder blocks. */
  layers: number;
  /** Model width (features). */
  width: number;
  heads: number;
  vocab: number;
  /** Timed runs of each cached variant (the full re-run runs once). */
  runs: number;
  out: string;
}

export interface Variant {
  name: string;
  /** Seconds of each timed run. */
  seconds: number[];
  /** Tokens per second at the median run. */
  tokensPerSecond: number;
}

export interface DecodeBackendResult {
  backend: string;
  /** cached (growing), cached (preallocated), full re-run, in that order. */
  variants: Variant[];
  /** Full re-run time / cached (growing) median time. */
  speedup: number;
  /** Full re-run time / cached (preallocated) median time. */
  speedupPreallocated: number;
  /** Every run of every variant produced the same tokens. */
  sameTokens: boolean;
  /** Tensors left after all runs (0 when nothing leaks). */
  tensorsLeft: number;
}

export interface DecodeResults {
  kind: 'decode';
  machine: Machine&{loadAverageAtEnd: number[]};
  options: DecodeOptions;
  results: DecodeBackendResult[];
}

/** The results as a markdown paragraph and table. */
export function decodeMarkdown(r: DecodeResults): string {
  const o = r.options;
  const m = r.machine;
  const lines = [
    machineLine(m),
    `Generating ${o.tokens} tokens (greedy, batch 1, one-token prompt) with a decoder-only model of ${
        o.layers} decoder blocks, width ${o.width}, ${o.heads} heads, feed-forward ${
        4 * o.width}, vocabulary ${o.vocab}: \`generate\` on the attention caches (keys appended ` +
        'with a concat, or written into a preallocated buffer) against re-running the model on the ' +
        `whole sequence for every token (\`useCache: false\`). Median of ${o.runs} interleaved runs of each cached ` +
        'variant, one full re-run in the middle round; `npm run bench:decode`.',
    '',
    '| backend | cached, growing (tokens/s) | cached, preallocated (tokens/s) | full re-run (tokens/s) | ' +
        'speed-up (growing) | speed-up (preallocated) | same tokens |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const b of r.results) {
    const [g, p, f] = b.variants.map(v => v.tokensPerSecond.toFixed(1));
    lines.push(`| ${b.backend} | ${g} | ${p} | ${f} | ${b.speedup.toFixed(1)}× | ${
        b.speedupPreallocated.toFixed(1)}× | ${b.sameTokens ? 'yes' : 'NO'} |`);
  }
  return lines.join('\n') + '\n';
}

/** Writes results.json and results.md under `results.options.out`; returns the markdown. */
export function writeDecodeResults(machine: Machine, options: DecodeOptions,
                                   results: DecodeBackendResult[]): string {
  const loadAverageAtEnd = os.loadavg().map(l => Number(l.toFixed(2)));
  const all: DecodeResults = {kind: 'decode', machine: {...machine, loadAverageAtEnd}, options, results};
  fs.mkdirSync(options.out, {recursive: true});
  fs.writeFileSync(path.join(options.out, 'results.json'), JSON.stringify(all, null, 2) + '\n');
  const md = decodeMarkdown(all);
  fs.writeFileSync(path.join(options.out, 'results.md'), md);
  return md;
}
