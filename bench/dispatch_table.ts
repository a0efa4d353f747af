/**
 * `npm run bench -- --dispatch-table`: measures the attention core's standard and fast paths
 * (forward + backward, and forward alone, of `attention()` with `needWeights: false`, as the layers call it) on a
 * grid of sequence lengths × head sizes, for each Node backend in its own process, and writes
 * src/attention/dispatch_table.ts: per backend and cell, the faster path and the ratio. 'auto'
 * reads that table (src/attention/dispatch.ts, choosePath); nothing in it is guessed.
 *
 * Flags: --backends wasm (cpu too: plain JavaScript, minutes per cell at n = 512), --n 16,32,64,128,256,512, --d 8,16,32,64, --slices 32 (batch×heads
 * of every cell), --runs 5 (at least; up to 40 on quick cells), --out src/attention/dispatch_table.ts.
 * The two paths run interleaved; medians.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {attention, DispatchCell} from '../src/attention/dispatch';
import {useBackend} from '../examples/shared/backend';
import {median} from './measure';

interface TableOptions {
  backends: string[];
  ns: number[];
  dims: number[];
  slices: number;
  runs: number;
  out: string;
}

function parse(argv: string[]): TableOptions {
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && argv[at + 1] != null ? argv[at + 1]! : fallback;
  };
  const nums = (name: string, fallback: string) => get(name, fallback).split(',').map(s => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(`--${name} takes positive integers. Received: --${name} ${get(name, fallback)}`);
    }
    return n;
  });
  return {
    backends: get('backends', 'wasm').split(',').filter(s => s !== ''),
    ns: nums('n', '16,32,64,128,256,512'),
    dims: nums('d', '8,16,32,64'),
    slices: nums('slices', '32')[0]!,
    runs: nums('runs', '5')[0]!,
    out: get('out', path.join(__dirname, '..', 'src', 'attention', 'dispatch_table.ts')),
  };
}

async function timeOnce(f: () => tf.Tensor[]): Promise<number> {
  const start = performance.now();
  const out = tf.tidy(f);
  await Promise.all(out.map(t => t.data()));
  tf.dispose(out);
  return performance.now() - start;
}

/** Measures every cell on `backend` (this process): fwd+bwd of both paths, interleaved. */
async function measureBackend(backend: string, o: TableOptions): Promise<DispatchCell[]> {
  await useBackend(backend);
  const cells: DispatchCell[] = [];
  for (const time of o.ns) {
    for (const dim of o.dims) {
      const shape = [o.slices, time, dim];
      const [q, k, v] = [1, 2, 3].map(seed => tf.randomNormal(shape, 0, 1, 'float32', seed));
      const run = (path: 'standard'|'fast') => () => {
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(attention(a, b, c, {path, needWeights: false}).output);
        return tf.grads(f)([q!, k!, v!]);
      };
      const forward = (path: 'standard'|'fast') => () => [attention(q!, k!, v!, {path, needWeights: false}).output];
      const paths = {standard: run('standard'), fast: run('fast')};
      const forwards = {standard: forward('standard'), fast: forward('fast')};
      const samples = {standard: [] as number[], fast: [] as number[]};
      const forwardSamples = {standard: [] as number[], fast: [] as number[]};
      const warm = {standard: await timeOnce(paths.standard), fast: await timeOnce(paths.fast)};
      // A cell whose warm-up took over 3 s keeps that one run (cpu at long lengths).
      // Quick cells run more often (about 1 s each), so that one garbage collection does not
      // decide them.
      const slowest = Math.max(warm.standard, warm.fast);
      const runs = slowest > 3000 ? 0 : Math.min(40, Math.max(o.runs, Math.round(500 / slowest)));
      if (runs === 0) {
        samples.standard.push(warm.standard);
        samples.fast.push(warm.fast);
      }
      for (let i = 0; i < runs; i++) {
        samples.standard.push(await timeOnce(paths.standard));
        samples.fast.push(await timeOnce(paths.fast));
      }
      // The forward alone (inference), as often, interleaved the same way.
      await timeOnce(forwards.standard);
      await timeOnce(forwards.fast);
      for (let i = 0; i < Math.max(1, runs); i++) {
        forwardSamples.standard.push(await timeOnce(forwards.standard));
        forwardSamples.fast.push(await timeOnce(forwards.fast));
      }
      tf.dispose([q!, k!, v!]);
      const cell = {time, dim, standardMs: round(median(samples.standard)),
                    fastMs: round(median(samples.fast)),
                    standardForwardMs: round(median(forwardSamples.standard)),
                    fastForwardMs: round(median(forwardSamples.fast))};
      console.error(JSON.stringify({backend, ...cell}));
      cells.push(cell);
    }
  }
  return cells;
}

const round = (x: number) => Math.round(x * 100) / 100;

function tableSource(results: Record<string, DispatchCell[]>, o: TableOptions): string {
  const load = os.loadavg().map(l => l.toFixed(2)).join(' / ');
  const body = Object.entries(results).map(([backend, cells]) =>
    `  ${JSON.stringify(backend)}: [\n${cells.map(c => `    ${JSON.stringify(c)},`).join('\n')}\n  ],`)
      .join('\n');
  return `/**
 * Measured, not written by hand: \`npm run bench -- --dispatch-table\` (bench/dispatch_table.ts)
 * wrote this file. Per Node backend, forward + backward (and the forward alone) of
 * \`attention()\` with \`needWeights: false\` on ${o.slices} batch×head slices, timeQ = timeK = time and dk = dv = dim,
 * median ms of interleaved runs of the standard and the fast path after a warm-up (at least
 * ${o.runs}, up to 40 where a run is quick; the warm-up alone where it took over 3 s).
 * Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}, tfjs ${tf.version.tfjs}; load average at the end ${load}.
 * 'auto' takes the path that was faster in the nearest cell (choosePath, ./dispatch.ts): by the
 * forward + backward times while gradients are recorded, by the forward times otherwise.
 */

import type {DispatchCell} from './dispatch';

/** The measured cells, per backend name. A backend not listed keeps the standard path. */
export const DISPATCH_TABLE: Readonly<Record<string, readonly DispatchCell[]>> = {
${body}
};
`;
}

/** The --dispatch-table command (also reached from bench/run.ts). */
export async function writeDispatchTable(): Promise<void> {
  const argv = process.argv.slice(2).filter(a => a !== '--dispatch-table');
  const o = parse(argv);
  const child = argv.indexOf('--child');
  if (child >= 0) {
    // One backend in this process: its cells as JSON on stdout.
    process.stdout.write(JSON.stringify(await measureBackend(argv[child + 1]!, o)));
    return;
  }
  const results: Record<string, DispatchCell[]> = {};
  for (const backend of o.backends) {
    // Each backend in its own process: the wasm heap never shrinks, and cpu tensors stay apart.
    const out = execFileSync(process.execPath, [
      '-r', 'ts-node/register/transpile-only', __filename, ...argv, '--child', backend],
      {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26});
    results[backend] = JSON.parse(out) as DispatchCell[];
  }
  fs.writeFileSync(o.out, tableSource(results, o));
  console.log(`Wrote ${path.relative(process.cwd(), o.out)}`);
}

if (require.main === module) {
  writeDispatchTable().catch(e => {
    console.error(e);
    process.exit(1);
  });
}
