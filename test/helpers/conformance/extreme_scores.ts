/**
 * Masks that hold whatever the scores: cases whose real scaled scores lie far below the mask
 * fill value (−65504) or far above it (up to ±1e30), run through one attention path on the
 * active backend and compared with the float64 reference. One module for Node (jest imports it)
 * and the browser page (the harness bundles it): it returns plain numbers, the tests assert.
 *
 * Scores are exact in float32 (and, for the float16 cases, in float16): dk = 1, query entries
 * are powers of two, so score[i][j] = q[i] · k[j] is the stored key value times a power of two.
 */
import * as tf from '@tensorflow/tfjs';

import type {PathOptions, PathResult} from '../../../src';

/** One case: per-row query values, per-key values, a `[timeQ, timeK]` mask ('1' = may attend). */
export interface ExtremeCase {
  name: string;
  q: number[];
  k: number[];
  /** One string per query row; omitted = no mask. */
  mask?: string[];
  causal?: boolean;
  /** Whether every score and intermediate is representable in float16 (|x| <= 65504). */
  float16: boolean;
}

export const EXTREME_CASES: ExtremeCase[] = [
  {
    name: 'every allowed score below -65504, masked keys higher (1e6 scale)',
    q: [1, 1, 2, 0.5, 1],
    k: [-1e6, -1e6 - 0.5, 1e4, -1e6 - 1, 5e5, -1e6 - 3],
    mask: ['110101', '110101', '100100', '010001', '000000'],
    float16: false,
  },
  {
    name: 'scores down to -1e30, masked keys at +1e30',
    q: [1, 2, 0.5, 1],
    k: [-1e30, 1e30, -2e29, -1e30, 1e30, -7e29, -3e29],
    mask: ['1011011', '1001001', '0010010', '1111111'],
    float16: false,
  },
  {
    name: 'scores of ±1e30 with no mask, and negated rows',
    q: [1, -1, 0.5, -2],
    k: [1e30, -1e30, 3e29, -5e29, 0, 1],
    float16: false,
  },
  {
    name: 'no mask, every score below -1e20 (where WebGL\'s max reduction starts)',
    q: [1, 0.5, 2],
    k: [-3e20, -5e20, -3e20, -1e30, -4e20],
    float16: false,
  },
  {
    name: 'causal, every score below -65504',
    q: [1, 1, 1, 2, 1, 0.5],
    k: [-3e5, -2e5, -2e5 - 1, -4e5, -1e7, -2e5 - 0.5],
    causal: true,
    float16: false,
  },
  {
    name: 'causal with a mask and fully masked rows, scores ±1e30',
    q: [1, 1, 1, 1, 1],
    k: [-1e30, -1e30, 1e30, -5e29, -1e30],
    mask: ['00111', '11011', '00111', '10101', '11111'],
    causal: true,
    float16: false,
  },
  {
    name: 'float16 range: every allowed score at -65504 (the fill value), masked keys higher',
    q: [1, 1, 1, 1],
    k: [-65504, -65504, -100, -65504, 3, -65472],
    mask: ['110100', '100101', '010100', '001010'],
    float16: true,
  },
];

/** What one case gave. */
export interface ExtremeReport {
  name: string;
  /** max |output − reference|. */
  output: number;
  /** max |weight − reference|. */
  weights: number;
  /** Masked (reference exactly 0) weights that are not exactly 0. */
  notExactZero: number;
  /** max |row sum − (1 if the row has an allowed key else 0)|. */
  rowSums: number;
  /** NaN or ±Infinity entries in the output, the weights or the gradients. */
  nonFinite: number;
  /** tf.memory().numTensors after minus before. */
  leakedTensors: number;
}

type Run = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: PathOptions) => PathResult;

/** The cases this run can represent: all of them, or only the float16 ones. */
export function extremeCases(float16: boolean): ExtremeCase[] {
  return EXTREME_CASES.filter(c => !float16 || c.float16);
}

/** Runs every case through `run` on the active backend. */
export async function runExtremeScores(run: Run, float16 = false): Promise<ExtremeReport[]> {
  const reports: ExtremeReport[] = [];
  for (const c of extremeCases(float16)) {
    reports.push(await runOne(c, run));
  }
  return reports;
}

async function runOne(c: ExtremeCase, run: Run): Promise<ExtremeReport> {
  const timeQ = c.q.length;
  const timeK = c.k.length;
  const dv = 3;
  // Two slices: the second with every query doubled (still exact; float16 cases stay at the
  // edge of float16 instead).
  const factor = c.float16 ? 1 : 2;
  const qValues = [...c.q, ...c.q.map(x => factor * x)];
  const kValues = [...c.k, ...c.k];
  const vValues = Array.from({length: 2 * timeK * dv}, (_, i) => ((i * 7) % 9 - 4) / 4);
  const allowed = (i: number, j: number) =>
      (c.mask == null || c.mask[i]![j] === '1') && (!c.causal || j <= i);
  const expected = [0, 1].map(s => reference(qValues.slice(s * timeQ, (s + 1) * timeQ), c.k,
                                             vValues.slice(s * timeK * dv, (s + 1) * timeK * dv),
                                             dv, allowed));

  const before = tf.memory().numTensors;
  const [output, weights, ...grads] = tf.tidy(() => {
    const q = tf.tensor3d(qValues, [2, timeQ, 1]);
    const k = tf.tensor3d(kValues, [2, timeK, 1]);
    const v = tf.tensor3d(vValues, [2, timeK, dv]);
    const options: PathOptions = {
      mask: c.mask == null ? null : tf.tensor2d(c.mask.map(row => [...row].map(x => x === '1')),
                                                [timeQ, timeK], 'bool'),
      causal: c.causal ?? false,
    };
    const result = run(q, k, v, options);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
        tf.sum(run(a, b, d, {...options, needWeights: false}).output))([q, k, v]);
    return [result.output, result.weights!, ...g];
  });
  const [out, w, ...g] = await Promise.all([output, weights, ...grads].map(t => t!.data()));
  tf.dispose([output!, weights!, ...grads]);
  const leakedTensors = tf.memory().numTensors - before;

  const flatOut = expected.flatMap(e => e.output.flat());
  const flatW = expected.flatMap(e => e.weights.flat());
  let notExactZero = 0;
  let rowSums = 0;
  for (let r = 0; r < 2 * timeQ; r++) {
    const i = r % timeQ;
    let sum = 0;
    for (let j = 0; j < timeK; j++) {
      const x = w![r * timeK + j]!;
      sum += x;
      if (!allowed(i, j) && x !== 0) {
        notExactZero++;
      }
    }
    const any = Array.from({length: timeK}, (_, j) => allowed(i, j)).some(Boolean);
    rowSums = Math.max(rowSums, Math.abs(sum - (any ? 1 : 0)));
  }
  const count = (xs: ArrayLike<number>) => Array.from(xs).filter(x => !Number.isFinite(x)).length;
  return {
    name: c.name,
    output: maxDiff(out!, flatOut),
    weights: maxDiff(w!, flatW),
    notExactZero,
    rowSums,
    nonFinite: count(out!) + count(w!) + g.reduce((n, x) => n + count(x), 0),
    leakedTensors,
  };
}

/** Float64 softmax over the allowed keys (0 for a row with none), then · V. */
function reference(q: number[], k: number[], v: number[], dv: number,
                   allowed: (i: number, j: number) => boolean):
    {output: number[][], weights: number[][]} {
  const weights = q.map((qi, i) => {
    const scores = k.map(kj => qi * kj);
    const ok = scores.map((_, j) => allowed(i, j));
    const max = Math.max(...scores.filter((_, j) => ok[j]));
    const exps = scores.map((s, j) => (ok[j] ? Math.exp(s - max) : 0));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map(e => (sum === 0 ? 0 : e / sum));
  });
  const output = weights.map(row => Array.from({length: dv}, (_, d) =>
      row.reduce((acc, p, j) => acc + p * v[j * dv + d]!, 0)));
  return {output, weights};
}

function maxDiff(actual: ArrayLike<number>, expected: number[]): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    max = Math.max(max, Number.isNaN(d) ? Infinity : d);
  }
  return max;
}
