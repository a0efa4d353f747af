/**
 * `npm run bench`: SelfAttention (a) against naive attention (b) and the backend's own 2-D
 * matMul (c), on cpu and wasm in Node; plus the memory of the memory-efficient path at a long
 * sequence. Writes bench/results/results.{json,md} and bench/results/chart.svg.
 *
 * Flags: --quick (n 64, 256; fewer runs), --backends cpu,wasm, --n 64,256,1024,4096,
 * --heads 1,8, --model 64,256 (or --pairs 1x64,8x512: heads×model), --runs 3, --max-seconds 45 (skip a variant whose estimated
 * run time is above it), --memory-n 8192 (0 skips the memory section), --out bench/results.
 * Times are medians of the runs after one warm-up run; (a), (b), (c) are interleaved so their
 * ratios share the machine's state.
 */
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {choosePath, selfAttention} from '../src';
import {useBackend} from '../examples/backend';
import {Case, forwardFlops, layerVariant, matMulVariant, naiveVariant, Variant} from './cases';
import {Machine, MemoryResult, Options, Row, Timing, writeResults} from './report';


function parseArgs(argv: string[]): Options {
  if (argv.includes('--browser')) {
    throw new Error('--browser is not implemented yet: it needs the headless-Chromium harness ' +
                    '(test/browser). Received: --browser');
  }
  const quick = argv.includes('--quick');
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && argv[at + 1] != null ? argv[at + 1]! : fallback;
  };
  const list = (name: string, fallback: string) => get(name, fallback).split(',').map(s => s.trim());
  const nums = (name: string, fallback: string) => list(name, fallback).map(s => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) {
      throw new Error(`--${name} takes numbers. Received: --${name} ${get(name, fallback)}`);
    }
    return n;
  });
  const pairs = get('pairs', '') === '' ? null : list('pairs', '').map(p => {
    const [h, m] = p.split('x').map(Number);
    if (!(Number.isInteger(h) && Number.isInteger(m))) {
      throw new Error(`--pairs takes HEADSxMODEL items, e.g. 1x64,8x512. Received: ${p}`);
    }
    return [h, m] as [number, number];
  });
  return {
    pairs,
    backends: list('backends', 'cpu,wasm'),
    ns: nums('n', quick ? '64,256' : '64,256,1024,4096'),
    heads: nums('heads', quick ? '8' : '1,8'),
    models: nums('model', quick ? '512' : '64,256'),
    runs: nums('runs', quick ? '2' : '3')[0]!,
    maxSeconds: nums('max-seconds', quick ? '10' : '45')[0]!,
    memoryN: nums('memory-n', quick ? '2048' : '8192')[0]!,
    out: get('out', path.join(__dirname, 'results')),
  };
}

/** Speeds assumed before anything is measured, to skip runs that would take minutes. */
const ASSUMED_GFLOPS: Record<string, Record<'a'|'b'|'c', number>> = {
  cpu: {a: 0.8, b: 0.5, c: 1},
  wasm: {a: 8, b: 2, c: 20},
};



const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function timeOnce(f: () => tf.Tensor|tf.Tensor[]): number {
  const start = performance.now();
  tf.tidy(() => {
    const out = f();
    (Array.isArray(out) ? out : [out]).forEach(t => t.dataSync());
  });
  return performance.now() - start;
}

async function peakBytes(f: () => tf.Tensor|tf.Tensor[]): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    tf.tidy(() => {
      const out = f();
      (Array.isArray(out) ? out : [out]).forEach(t => t.dataSync());
    });
  });
  return info.peakBytes - before;  // tf.profile returns one mutable object: read at once
}

async function runCase(backend: string, c: Case, o: Options): Promise<Row> {
  const x = tf.randomNormal([c.batch, c.time, c.model], 0, 1, 'float32', 1) as tf.Tensor3D;
  const flops = forwardFlops(c);
  const mm = matMulVariant(c);
  const variants: Record<'a'|'b'|'c', Variant> = {
    a: layerVariant(c, x), b: naiveVariant(c, x), c: mm.variant};
  const flopsOf = {a: flops, b: flops, c: mm.flops};
  const timings = {} as Record<'a'|'b'|'c', Timing>;
  const keys = ['a', 'b', 'c'] as const;
  for (const k of keys) {
    const estimate = 3 * flopsOf[k] / (ASSUMED_GFLOPS[backend]?.[k] ?? 1) / 1e9;
    timings[k] = {forwardMs: null, bothMs: null, forwardPeakBytes: null, bothPeakBytes: null};
    if (estimate > o.maxSeconds) {
      timings[k].skipped = `estimated ${estimate.toFixed(0)} s per fwd+bwd run`;
    }
  }
  const active = keys.filter(k => timings[k].skipped == null);
  // Warm-up, then runs interleaved a, b, c so that the machine's state is shared.
  for (const k of active) {
    timeOnce(variants[k].forward);
    timeOnce(variants[k].both);
  }
  const samples = Object.fromEntries(keys.map(k => [k, {f: [] as number[], b: [] as number[]}]));
  for (let run = 0; run < o.runs; run++) {
    for (const k of active) {
      samples[k]!.f.push(timeOnce(variants[k].forward));
      samples[k]!.b.push(timeOnce(variants[k].both));
    }
  }
  for (const k of active) {
    timings[k].forwardMs = median(samples[k]!.f);
    timings[k].bothMs = median(samples[k]!.b);
    if (k !== 'c') {
      timings[k].forwardPeakBytes = await peakBytes(variants[k].forward);
      timings[k].bothPeakBytes = await peakBytes(variants[k].both);
    }
  }
  keys.forEach(k => variants[k].dispose());
  x.dispose();
  return {backend, ...c, flops, a: timings.a, b: timings.b, c: withFlops(timings.c, mm.flops, flops)};
}

/** (c) rescaled to the case's FLOPs, so its ms compare with (a) and (b) directly. */
function withFlops(t: Timing, measuredFlops: number, caseFlops: number): Timing {
  const k = caseFlops / measuredFlops;
  return {...t, forwardMs: t.forwardMs == null ? null : t.forwardMs * k,
          bothMs: t.bothMs == null ? null : t.bothMs * k};
}


/**
 * The layer with default settings vs the same layer forced onto the standard path, batch 1,
 * one head of 64, forward + backward: peak tensor bytes and the largest relative difference of
 * the output and every gradient.
 */
async function memoryCase(backend: string, n: number): Promise<MemoryResult> {
  const model = 64;
  const x = tf.randomNormal([1, n, model], 0, 1, 'float32', 2) as tf.Tensor3D;
  const run = (attentionPath: 'auto'|'standard') => {
    const layer = selfAttention({attentionPath, kernelInitializer: 'glorotUniform', name: `mem_${attentionPath}`});
    layer.apply(tf.zeros([1, 1, model]));
    return layer;
  };
  const auto = run('auto');
  const standard = run('standard');
  standard.setWeights(auto.getWeights());
  const both = (layer: ReturnType<typeof run>) => () => {
    const vars = layer.trainableWeights.map(w => w.read() as tf.Variable);
    const {value, grads} = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    return [value, ...vars.map(v => grads[v.name]!)];
  };
  const q = tf.zeros([1, 1, n, model]);
  const defaultPath = choosePath(q, q, {needWeights: false});
  q.dispose();
  const defaultPeakBytes = await peakBytes(both(auto));
  const standardPeakBytes = await peakBytes(both(standard));
  const t0 = performance.now();
  const a = tf.tidy(() => both(auto)().map(t => t.dataSync().slice()));
  const t1 = performance.now();
  const s = tf.tidy(() => both(standard)().map(t => t.dataSync().slice()));
  const t2 = performance.now();
  // The outputs too (outside the timed runs).
  a.push(tf.tidy(() => (auto.apply(x) as tf.Tensor).dataSync().slice()));
  s.push(tf.tidy(() => (standard.apply(x) as tf.Tensor).dataSync().slice()));
  let maxRelativeDifference = 0;
  a.forEach((values, i) => {
    const ref = s[i]!;
    let scale = 0;
    let diff = 0;
    for (let j = 0; j < ref.length; j++) {
      scale = Math.max(scale, Math.abs(ref[j]!));
      diff = Math.max(diff, Math.abs(values[j]! - ref[j]!));
    }
    maxRelativeDifference = Math.max(maxRelativeDifference, diff / (scale || 1));
  });
  auto.dispose();
  standard.dispose();
  x.dispose();
  return {backend, time: n, model, defaultPath, standardPeakBytes, defaultPeakBytes,
          standardMs: t2 - t1, defaultMs: t1 - t0, maxRelativeDifference};
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, tfjs: tf.version.tfjs, platform: `${os.platform()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map(l => Number(l.toFixed(2))),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const info = machine();
  const rows: Row[] = [];
  const memory: MemoryResult[] = [];
  for (const backend of o.backends) {
    await useBackend(backend);
    for (const time of o.ns) {
      const pairs = o.pairs ?? o.heads.flatMap(h => o.models.map(m => [h, m] as [number, number]));
      for (const [heads, model] of pairs) {
        if (model % heads !== 0) continue;
        const c: Case = {batch: time >= 4096 ? 1 : 8, time, heads, model};
        const row = await runCase(backend, c, o);
        rows.push(row);
        console.log(JSON.stringify({backend, ...c, a: row.a, b: row.b, c: row.c}));
        writeResults(o.out, info, o, rows, memory);  // after every case: a long run keeps its rows
      }
    }
  }
  if (o.memoryN > 0) {
    // wasm first (faster); its 4 GiB heap may not hold the standard path's tensors at long n,
    // then cpu (JavaScript memory).
    for (const backend of ['wasm', 'cpu'].filter(b => o.backends.includes(b))) {
      await useBackend(backend);
      try {
        const m = await memoryCase(backend, o.memoryN);
        memory.push(m);
        console.log(JSON.stringify(m));
        break;
      } catch (e) {
        console.error(`memory case at n=${o.memoryN} on ${backend} failed: ${String(e)}`);
        tf.disposeVariables();
      }
    }
  }
  const md = writeResults(o.out, info, o, rows, memory);
  console.log('\n' + md);
  console.log(`Wrote ${path.join(o.out, 'results.{json,md}')} and chart.svg`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
