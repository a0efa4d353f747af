/**
 * `npm run bench:threads`: Node wasm with more than one thread (`useBestBackend({wasmThreads})`,
 * src/wasm_threads.ts) against one thread: 2-D matMuls (where the threads work) and the
 * SelfAttention layer with default settings (where part of the time is in kernels that run on
 * one thread), batch 8. A process starts wasm once, so each thread count runs in processes of
 * its own, alternating (1, 2, 1, 2 for `--rounds 2`); the medians pool the runs of all rounds.
 * Every item's results must be bitwise the same for every thread count (checked: a hash of the
 * float32 bytes). Writes bench/results/threads/results.{json,md} (bench/threads_report.ts).
 *
 * Flags: --threads 1,2 (the first is the baseline) --rounds 2 --runs 5 --out bench/results/threads
 */
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {useBestBackend} from '../src';
import {layerVariant} from './cases';
import {median} from './measure';
import {machine, printChildResult, runBackendChild} from './report';
import {ThreadsItem, ThreadsOptions, writeThreadsResults} from './threads_report';

const FLAGS = ['threads', 'rounds', 'runs', 'out', 'child'];

function parseArgs(argv: string[]): ThreadsOptions&{child: number|null} {
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || !FLAGS.includes(argv[i]!.slice(2)) || argv[i + 1] == null) {
      throw new Error(`unknown or incomplete argument ${JSON.stringify(argv[i])}: the flags are ${
          FLAGS.filter(f => f !== 'child').map(f => `--${f} VALUE`).join(', ')}`);
    }
  }
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1]! : fallback;
  };
  const ints = (name: string, fallback: string) => get(name, fallback).split(',').map(s => {
    const value = Number(s);
    if (!(Number.isInteger(value) && value > 0)) {
      throw new Error(`--${name} takes positive integers. Received: --${name} ${get(name, fallback)}`);
    }
    return value;
  });
  const child = get('child', '');
  return {threads: ints('threads', '1,2'), rounds: ints('rounds', '2')[0]!, runs: ints('runs', '5')[0]!,
          out: get('out', path.join('bench', 'results', 'threads')), child: child === '' ? null : Number(child)};
}

/** What one process measures: each item's run times and a hash of its results' bytes. */
interface ChildResult {
  threadsInUse: number;
  items: Array<{name: string, ms: number[], hash: number}>;
}

/** The items, built on the current backend: each returns the tensors one run computes. */
function items(): Array<{name: string, run: () => tf.Tensor[], dispose: () => void}> {
  const matMul = (rows: number, inner: number, cols: number) => {
    const a = tf.randomNormal([rows, inner], 0, 1, 'float32', 1);
    const b = tf.randomNormal([inner, cols], 0, 1, 'float32', 2);
    return {name: `2-D matMul [${rows}, ${inner}]·[${inner}, ${cols}]`, run: () => [tf.matMul(a, b)],
            dispose: () => tf.dispose([a, b])};
  };
  const layer = (heads: number, model: number, time: number, both: boolean) => {
    const c = {batch: 8, time, heads, model};
    const x = tf.randomNormal([c.batch, time, model], 0, 1, 'float32', 3) as tf.Tensor3D;
    const variant = layerVariant(c, x);
    return {name: `layer ${both ? 'fwd+bwd' : 'forward'}, ${heads} heads of ${model / heads}, n ${time}`,
            run: () => (both ? variant.both() : [variant.forward()]),
            dispose: () => {
              variant.dispose();
              x.dispose();
            }};
  };
  // Single kernels of the sizes in the layer's 8-heads-of-64 case, to show which ones use threads.
  const kernel = (name: string, shape: number[], op: (t: tf.Tensor) => tf.Tensor) => {
    const t = tf.randomNormal(shape, 0, 1, 'float32', 4);
    return {name, run: () => [op(t)], dispose: () => t.dispose()};
  };
  return [matMul(2048, 512, 512), matMul(512, 512, 512), layer(8, 512, 256, false), layer(8, 512, 256, true),
          layer(8, 64, 256, true), layer(4, 64, 64, true),
          kernel('kernel: softmax [16384, 256]', [16384, 256], t => tf.softmax(t)),
          kernel('kernel: batched matMul [64, 256, 64]·[64, 64, 256]', [64, 256, 64],
                 t => tf.matMul(t, t, false, true)),
          kernel('kernel: transpose [8, 256, 8, 64] → [8, 8, 256, 64]', [8, 256, 8, 64],
                 t => tf.transpose(t, [0, 2, 1, 3])),
          kernel('kernel: add [2048, 512] + [512]', [2048, 512], t => tf.add(t, t.slice([0, 0], [1, 512]).reshape([512]))),
          kernel('kernel: exp [16384, 256]', [16384, 256], t => tf.exp(t))];
}

/** FNV-1a over the float32 bytes of `tensors`. */
function hash(tensors: tf.Tensor[]): number {
  let h = 0x811c9dc5;
  for (const t of tensors) {
    const words = new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
    for (const w of words) {
      h = Math.imul(h ^ w, 0x01000193) >>> 0;
    }
  }
  return h;
}

async function runChild(threads: number, runs: number): Promise<ChildResult> {
  const choice = await useBestBackend({order: ['wasm'], wasmThreads: threads});
  if (choice.wasmThreadsNote != null) {
    throw new Error(choice.wasmThreadsNote);
  }
  const result: ChildResult = {threadsInUse: choice.wasmThreads ?? 1, items: []};
  for (const item of items()) {
    tf.dispose(tf.tidy(() => item.run()).map(t => (t.dataSync(), t)));  // warm-up
    const ms: number[] = [];
    let last = 0;
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      const out = tf.tidy(() => item.run());
      out.forEach(t => t.dataSync());
      ms.push(performance.now() - start);
      last = hash(out);
      tf.dispose(out);
    }
    item.dispose();
    result.items.push({name: item.name, ms, hash: last});
  }
  return result;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('npm run bench:threads [-- --threads 1,2 --rounds 2 --runs 5 --out bench/results/threads]: Node wasm ' +
                'on more than one thread (useBestBackend({wasmThreads})) against one; see bench/threads.ts');
    return;
  }
  const o = parseArgs(process.argv.slice(2));
  if (o.child != null) {
    printChildResult(await runChild(o.child, o.runs));
    return;
  }
  const info = machine();
  const perCount: ChildResult[][] = o.threads.map(() => []);
  for (let round = 0; round < o.rounds; round++) {
    for (const [i, threads] of o.threads.entries()) {
      perCount[i]!.push(runBackendChild<ChildResult>(__filename, String(threads), ['--runs', String(o.runs)]));
      console.log(`round ${round + 1}, ${threads} thread(s) done`);
    }
  }
  const names = perCount[0]![0]!.items.map(item => item.name);
  const itemsOut: ThreadsItem[] = names.map((name, k) => {
    const ms = perCount.map(runs => runs.flatMap(r => r.items[k]!.ms));
    const medianMs = ms.map(median);
    const hashes = new Set(perCount.flatMap(runs => runs.map(r => r.items[k]!.hash)));
    return {name, ms, medianMs, speedup: medianMs.map(m => medianMs[0]! / m), bitwiseEqual: hashes.size === 1};
  });
  const {child: _child, ...options} = o;
  void _child;
  const md = writeThreadsResults({kind: 'threads', machine: info, options,
                                  threadsInUse: perCount.map(runs => runs[0]!.threadsInUse), items: itemsOut});
  console.log('\n' + md);
  console.log(`wrote ${path.join(o.out, 'results.{json,md}')}`);
  if (itemsOut.some(item => !item.bitwiseEqual)) {
    throw new Error(`results differ between thread counts: ${itemsOut.filter(i => !i.bitwiseEqual).map(i => i.name)}`);
  }
}

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    process.exit(1);
  });
}
