/**
 * What one benchmark case measures, the same in Node (bench/run.ts) and in the browser page
 * (bench/browser_page.ts): the variants of bench/cases.ts, a warm-up (1 s or one run of each),
 * runs interleaved a, b, c, medians, peak tensor bytes (tf.profile) and (c) rescaled to the case's FLOPs. Results are read
 * with `await t.data()` (webgpu's dataSync is bad), so everything here is async.
 *
 * Imports nothing from Node: the page bundles this file.
 */
import * as tf from '@tensorflow/tfjs';

import {Case, forwardFlops, layerVariant, matMulFlops, matMulVariant, naiveVariant, Variant} from './cases';
import type {Row, Timing} from './report';

/** What measureCase needs from the command line. */
export interface MeasureOptions {
  /** Timed runs after the warm-up; the median is reported. */
  runs: number;
  /** A variant whose estimated fwd+bwd run takes longer is skipped. */
  maxSeconds: number;
  /** What (b) is: naive attention (default), or the layer forced onto the standard path. */
  baseline?: 'naive'|'standard';
}

type Key = 'a'|'b'|'c';
const KEYS: Key[] = ['a', 'b', 'c'];

/**
 * Speeds assumed before anything is measured, by row label, to skip runs that would take
 * minutes (an unknown label is assumed to run at 1 GFLOP/s). Taken from measured runs on a 2-core
 * machine, on the slow side: cpu (plain JavaScript) ran at 0.2–1 GFLOP/s; the browser rows are
 * headless Chromium, with webgl and webgpu in software (SwiftShader).
 */
export const ASSUMED_GFLOPS: Record<string, Record<Key, number>> = {
  'cpu': {a: 0.3, b: 0.4, c: 0.8},
  'wasm': {a: 8, b: 2, c: 20},
  'webgl (Chromium)': {a: 0.8, b: 0.8, c: 1.5},
  'webgpu (Chromium)': {a: 0.2, b: 0.2, c: 0.4},
  'wasm (Chromium)': {a: 5, b: 1.5, c: 20},
};

/**
 * Row labels whose tensors live in one wasm heap: capped at 4 GiB, never given back, so a case
 * near the cap breaks every case after it ("memory access out of bounds"). Naive attention at
 * n = 4096 with 8 heads peaked at 3.5 GiB there. A variant estimated above this is skipped.
 */
const HEAP_LIMIT_BYTES: Record<string, number> = {'wasm': 3 * 2 ** 30, 'wasm (Chromium)': 3 * 2 ** 30};

/** Naive attention's fwd+bwd peak: about 8 score-sized float32 tensors (measured 7–8×). */
const naivePeakBytes = (c: Case) => 8 * 4 * c.batch * c.heads * c.time * c.time;

export const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The first line of an error's message, for a table cell. */
export const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 400);

/** A variant's timing before it runs, or, with `skipped`, one that will not run and why. */
export function emptyTiming(skipped?: string): Timing {
  return {forwardMs: null, bothMs: null, forwardPeakBytes: null, bothPeakBytes: null,
          ...(skipped == null ? {} : {skipped})};
}

/** Runs `f`, waits for every output's values, frees them. */
async function runAndRead(f: () => tf.Tensor|tf.Tensor[]): Promise<void> {
  const out = tf.tidy(() => f());
  const list = Array.isArray(out) ? out : [out];
  try {
    await Promise.all(list.map(t => t.data()));
  } finally {
    tf.dispose(list);
  }
}

/**
 * One timed sample: ms per call of `f`, over as many calls as fill {@link SAMPLE_MS} (at least
 * one). A big case is one call per sample; a case of a fraction of a ms is averaged over enough
 * calls that the timer's resolution and one stray pause do not decide it.
 */
export const SAMPLE_MS = 50;

async function timeOnce(f: () => tf.Tensor|tf.Tensor[]): Promise<number> {
  const start = performance.now();
  let calls = 0;
  do {
    await runAndRead(f);
    calls++;
  } while (performance.now() - start < SAMPLE_MS);
  return (performance.now() - start) / calls;
}

/**
 * The warm-up of each variant: it runs until it has run for {@link WARM_UP_MS} (at least once,
 * at most {@link WARM_UP_RUNS} times). A big case warms up in one run; a small one runs until
 * its JavaScript is compiled, as in a training loop that calls it thousands of times. Every
 * variant gets the same warm-up, so a few ms of first-call JavaScript decide no small row.
 */
export const WARM_UP_MS = 1000;
export const WARM_UP_RUNS = 200;

async function warmUp(f: () => tf.Tensor|tf.Tensor[]): Promise<void> {
  const start = performance.now();
  for (let run = 0; run < WARM_UP_RUNS && (run === 0 || performance.now() - start < WARM_UP_MS); run++) {
    await runAndRead(f);
  }
}

/** Peak tensor bytes above what was allocated before `f` ran. */
export async function peakBytes(f: () => tf.Tensor|tf.Tensor[]): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => runAndRead(f));
  return info.peakBytes - before;  // tf.profile returns one mutable object: read at once
}

/**
 * Measures one case on the current backend; `label` names the row ('wasm', 'webgl (Chromium)')
 * and picks the assumed speed. A variant that would take longer than `maxSeconds` per fwd+bwd
 * run is skipped; one that throws (e.g. a WebGL texture-size error) is skipped with the error.
 */
export async function measureCase(label: string, c: Case, o: MeasureOptions): Promise<Row> {
  const flops = forwardFlops(c);
  const flopsOf: Record<Key, number> = {a: flops, b: flops, c: matMulFlops(c)};
  const timings = {} as Record<Key, Timing>;
  for (const k of KEYS) {
    const estimate = 3 * flopsOf[k] / (ASSUMED_GFLOPS[label]?.[k] ?? 1) / 1e9;
    timings[k] = emptyTiming();
    if (estimate > o.maxSeconds) {
      timings[k].skipped = `estimated ${estimate.toFixed(0)} s per fwd+bwd run`;
    }
    const heap = HEAP_LIMIT_BYTES[label];
    if (k === 'b' && heap != null && naivePeakBytes(c) > heap && timings[k].skipped == null) {
      timings[k].skipped = `estimated peak ${(naivePeakBytes(c) / 2 ** 30).toFixed(1)} GiB, ` +
          `above the ${heap / 2 ** 30} GiB allowed on the wasm heap (capped at 4 GiB)`;
    }
  }
  const x = tf.randomNormal([c.batch, c.time, c.model], 0, 1, 'float32', 1) as tf.Tensor3D;
  const variants: Partial<Record<Key, Variant>> = {};
  const build: Record<Key, () => Variant> = {
    a: () => layerVariant(c, x),
    b: () => (o.baseline === 'standard' ? layerVariant(c, x, 'standard') : naiveVariant(c, x)),
    c: () => matMulVariant(c).variant};
  let active = KEYS.filter(k => timings[k].skipped == null);
  /** Runs `step` for every active variant; one that throws leaves with its error recorded. */
  const each = async (step: (k: Key, v: Variant) => Promise<void>) => {
    for (const k of active) {
      try {
        await step(k, variants[k] ?? (variants[k] = build[k]()));
      } catch (e) {
        timings[k] = emptyTiming(`failed: ${firstLine(e)}`);
      }
    }
    active = active.filter(k => timings[k].skipped == null);
  };
  // Warm-up, then runs interleaved a, b, c so that the machine's state is shared.
  await each(async (_, v) => {
    await warmUp(v.forward);
    await warmUp(v.both);
  });
  const samples = {a: {f: [], b: []}, b: {f: [], b: []}, c: {f: [], b: []}} as
      Record<Key, {f: number[], b: number[]}>;
  // At least o.runs rounds; quick cases get up to 3× as many within 3 s, so that their medians
  // rest on enough samples.
  const roundsStart = performance.now();
  for (let run = 0; run < o.runs || (run < 3 * o.runs && performance.now() - roundsStart < 3000); run++) {
    await each(async (k, v) => {
      samples[k].f.push(await timeOnce(v.forward));
      samples[k].b.push(await timeOnce(v.both));
    });
  }
  await each(async (k, v) => {
    timings[k].forwardMs = median(samples[k].f);
    timings[k].bothMs = median(samples[k].b);
    if (k !== 'c') {
      timings[k].forwardPeakBytes = await peakBytes(v.forward);
      timings[k].bothPeakBytes = await peakBytes(v.both);
    }
  });
  for (const v of Object.values(variants)) {
    try {
      v.dispose();
    } catch {
      // A backend that failed (e.g. a lost WebGL context) may not free: the row says why.
    }
  }
  x.dispose();
  return {backend: label, ...c, flops, a: timings.a, b: timings.b,
          c: withFlops(timings.c, flopsOf.c, flops)};
}

/** (c) rescaled to the case's FLOPs, so its ms compare with (a) and (b) directly. */
function withFlops(t: Timing, measuredFlops: number, caseFlops: number): Timing {
  const k = caseFlops / measuredFlops;
  return {...t, forwardMs: t.forwardMs == null ? null : t.forwardMs * k,
          bothMs: t.bothMs == null ? null : t.bothMs * k};
}
