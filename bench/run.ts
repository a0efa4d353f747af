/**
 * `npm run bench`: SelfAttention (a) against naive attention (b) and the backend's own 2-D
 * matMul (c), on cpu and wasm in Node, and with --browser on webgl, webgpu and wasm in headless
 * Chromium; plus the memory of the memory-efficient path at a long sequence (Node). Writes
 * bench/results/results.{json,md} and bench/results/chart.svg: one table for all backends.
 *
 * Flags: --quick (n 64, 256; fewer runs), --backends cpu,wasm (Node; `none` or '' for none),
 * --browser (also in headless Chromium), --browser-backends webgl,webgpu,wasm,
 * --n 64,256,1024,4096, --heads 1,8, --model 64,256 (or --pairs 1x64,8x512: heads×model),
 * --runs 3, --max-seconds 45 (skip a variant whose estimated run time is above it),
 * --memory-n 8192 (0 skips the memory section), --out bench/results, --baseline naive|standard
 * ((b) is naive attention, or the layer forced onto the standard path).
 * Times are medians of the runs after one warm-up run; (a), (b), (c) are interleaved so their
 * ratios share the machine's state. What a case measures is bench/measure.ts, in both places.
 * In Node every case, and the memory section, runs in a process of its own (this file with
 * --child): the wasm heap never shrinks, so a large case would otherwise shape every case after
 * it. Each row names the attention path 'auto' took for (a) (the dispatcher's choice).
 * `--dispatch-table` writes src/attention/dispatch_table.ts instead (bench/dispatch_table.ts).
 */
import {execFileSync} from 'child_process';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {choosePath, selfAttention} from '../src';
import {useBackend} from '../examples/shared/backend';
import {BROWSER_BACKENDS, checkBrowserPrerequisites, measureInBrowser} from './browser';
import {Case, forwardFlops} from './cases';
import {writeDispatchTable} from './dispatch_table';
import {runTargets} from './targets';
import {emptyTiming, firstLine, measureCase, peakBytes, SAMPLE_MS, WARM_UP_MS} from './measure';
import {machine, MemoryResult, Options, Row, writeResults} from './report';


const USAGE = `npm run bench: the targets run (bench/targets.ts: the dispatcher's cases, cached decoding,
threads, fused programs; one table in bench/results/targets; --skip dispatch,decode,threads,programs).
npm run bench -- --grid [flags]: SelfAttention (a) vs naive attention (b) vs the backend's 2-D matMul (c).
  --quick                     n 64,256, 8 heads of 64, 2 runs
  --backends cpu,wasm         Node backends ('none' for none)
  --browser                   also in headless Chromium (needs chromium and \`npm run build\`)
  --browser-backends webgl,webgpu,wasm
  --n 64,256,1024,4096        sequence lengths (batch 8; batch 1 from 4096)
  --heads 1,8 --model 64,256  every heads × model pair, or --pairs 1x64,8x512
  --runs 3                    timed runs after one warm-up (median)
  --max-seconds 45            skip a variant whose estimated fwd+bwd run is longer
  --memory-n 8192             the memory section's length (0 skips it)
  --baseline naive            (b): naive attention, or 'standard' for the layer on the standard path
  --out bench/results         where results.json, results.md and chart.svg go`;

/** Flags that take a value, and flags that stand alone. */
const VALUE_FLAGS = ['backends', 'browser-backends', 'n', 'heads', 'model', 'pairs', 'runs',
                     'max-seconds', 'memory-n', 'out', 'baseline'];
const SWITCHES = ['quick', 'browser', 'help'];

function parseArgs(argv: string[]): Options {
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '');
    if (VALUE_FLAGS.includes(name) && argv[i]!.startsWith('--')) {
      i++;  // its value
    } else if (!(SWITCHES.includes(name) && argv[i]!.startsWith('--'))) {
      throw new Error(`unknown argument ${JSON.stringify(argv[i])}: the flags are ${
          [...VALUE_FLAGS, ...SWITCHES].map(f => `--${f}`).join(', ')} (see bench/run.ts)`);
    }
  }
  const quick = argv.includes('--quick');
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && argv[at + 1] != null ? argv[at + 1]! : fallback;
  };
  const list = (name: string, fallback: string) =>
    get(name, fallback).split(',').map(s => s.trim()).filter(s => s !== '' && s !== 'none');
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
  const baseline = get('baseline', 'naive');
  if (baseline !== 'naive' && baseline !== 'standard') {
    throw new Error(`--baseline takes naive or standard. Received: --baseline ${baseline}`);
  }
  return {
    baseline,
    pairs,
    backends: list('backends', 'cpu,wasm'),
    browserBackends: argv.includes('--browser') ? list('browser-backends', BROWSER_BACKENDS.join(',')) : [],
    ns: nums('n', quick ? '64,256' : '64,256,1024,4096'),
    heads: nums('heads', quick ? '8' : '1,8'),
    models: nums('model', quick ? '512' : '64,256'),
    runs: nums('runs', quick ? '2' : '3')[0]!,
    maxSeconds: nums('max-seconds', quick ? '10' : '45')[0]!,
    memoryN: nums('memory-n', quick ? '2048' : '8192')[0]!,
    out: get('out', path.join(__dirname, 'results')),
    sampling: {warmUpMs: WARM_UP_MS, sampleMs: SAMPLE_MS},
  };
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

/** The grid: every n × (heads, model) pair; batch 8, batch 1 at n ≥ 4096. */
function cases(o: Options): Case[] {
  const pairs = o.pairs ?? o.heads.flatMap(h => o.models.map(m => [h, m] as [number, number]));
  return o.ns.flatMap(time => pairs.filter(([heads, model]) => model % heads === 0)
                                   .map(([heads, model]) => ({batch: time >= 4096 ? 1 : 8, time, heads, model})));
}

/** What a child process measures: one case, or the memory section on one backend. */
type ChildSpec = {kind: 'case', backend: string, case: Case, runs: number, maxSeconds: number}|
                 {kind: 'memory', backend: string, n: number};

/** The line a child prints its result on (its other output goes to stderr). */
const RESULT = 'BENCH-RESULT ';

/** Runs `spec` in a fresh Node process (this file with --child) and returns its result. */
function inChild(spec: ChildSpec): unknown {
  const out = execFileSync(process.execPath, [
    '-r', 'ts-node/register/transpile-only', __filename, '--child', JSON.stringify(spec)],
    {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26});
  const line = out.split('\n').find(l => l.startsWith(RESULT));
  if (line == null) {
    throw new Error(`the child process printed no result for ${JSON.stringify(spec)}`);
  }
  return JSON.parse(line.slice(RESULT.length));
}

/** One case in its own process; a process that dies leaves a row that says so. */
function caseInChild(backend: string, c: Case, o: Options): Row {
  try {
    return inChild({kind: 'case', backend, case: c, runs: o.runs, maxSeconds: o.maxSeconds}) as Row;
  } catch (e) {
    const failed = emptyTiming(`failed: its process ended without a result (${firstLine(e)})`);
    return {backend, ...c, flops: forwardFlops(c), a: failed, b: failed, c: failed};
  }
}

/**
 * The attention path 'auto' takes for the layer's call in case `c` (it returns no weights):
 * while gradients are recorded (fwd+bwd), and, if it differs, for a forward alone.
 */
function autoPath(c: Case): string {
  return tf.tidy(() => {
    const q = tf.zeros([c.batch, c.heads, c.time, c.model / c.heads]);
    let training = '';
    tf.grad((t: tf.Tensor) => {
      training = choosePath(t, t, {needWeights: false});
      return tf.sum(t);
    })(q);
    const inference = choosePath(q, q, {needWeights: false});
    return inference === training ? training : `${training} (forward alone: ${inference})`;
  });
}

/** The --child side: measures `spec` on its backend, prints the result on one line. */
async function runChild(spec: ChildSpec): Promise<void> {
  await useBackend(spec.backend);
  const result = spec.kind === 'case' ?
      {...await measureCase(spec.backend, spec.case, spec), path: autoPath(spec.case)} :
      await memoryCase(spec.backend, spec.n);
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--child');
  if (child >= 0) {
    await runChild(JSON.parse(process.argv[child + 1]!) as ChildSpec);
    return;
  }
  if (process.argv.includes('--dispatch-table')) {
    await writeDispatchTable();  // its own flags: see bench/dispatch_table.ts
    return;
  }
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv.includes('--targets') || argv.includes('--skip')) {
    await runTargets(argv);  // issue 16's targets in one run: bench/targets.ts
    return;
  }
  const o = parseArgs(argv.filter(a => a !== '--grid'));
  if (o.backends.length === 0 && o.browserBackends.length === 0) {
    throw new Error(`nothing to run: --backends is empty and --browser is not given. Received: ${
        process.argv.slice(2).join(' ')}`);
  }
  // Before anything runs: a missing Chromium should not be found after minutes of Node runs.
  const executable = o.browserBackends.length ? checkBrowserPrerequisites(o.browserBackends) : null;
  const info = machine();
  const rows: Row[] = [];
  const memory: MemoryResult[] = [];
  const add = (row: Row) => {
    rows.push(row);
    const {backend, batch, time, heads, model, a, b, c} = row;
    console.log(JSON.stringify({backend, batch, time, heads, model, a, b, c}));
    writeResults(o.out, info, o, rows, memory);  // after every case: a long run keeps its rows
  };
  for (const backend of o.backends) {
    for (const c of cases(o)) {
      add(caseInChild(backend, c, o));
    }
  }
  if (executable != null) {
    await measureInBrowser(executable, o.browserBackends, cases(o), {runs: o.runs, maxSeconds: o.maxSeconds, baseline: o.baseline}, add, b => {
      info.browser = b;
    });
  }
  if (o.memoryN > 0) {
    // wasm first (faster); its 4 GiB heap may not hold the standard path's tensors at long n,
    // then cpu (JavaScript memory).
    for (const backend of ['wasm', 'cpu'].filter(b => o.backends.includes(b))) {
      try {
        const m = inChild({kind: 'memory', backend, n: o.memoryN}) as MemoryResult;
        memory.push(m);
        console.log(JSON.stringify(m));
        break;
      } catch (e) {
        console.error(`memory case at n=${o.memoryN} on ${backend} failed: ${firstLine(e)}`);
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
