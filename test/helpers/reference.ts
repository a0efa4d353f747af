/**
 * The float64 reference: self-attention written with plain JavaScript numbers and loops, sharing
 * no code with src/. Tests compare the layer against it, and take finite differences of it.
 */

export type Matrix = number[][];

export interface ReferenceWeights {
  wq: Matrix; wk: Matrix; wv: Matrix;
  bq?: number[]|undefined; bk?: number[]|undefined; bv?: number[]|undefined;
  wo?: Matrix|undefined; bo?: number[]|undefined;
}

export interface ReferenceOptions {
  numHeads: number;
  keyDim: number;
  valueDim: number;
  causal?: boolean|undefined;
  /** allowed[b][i][j] (same for every head), or undefined = all allowed. */
  allowed?: boolean[][][]|undefined;
  /** Overrides 1/√keyDim. */
  scale?: number|undefined;
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  const inner = b.length;
  return a.map(row => {
    if (row.length !== inner) throw new Error('matmul: shapes do not fit');
    return b[0]!.map((_, j) => row.reduce((sum, aik, k) => sum + aik * b[k]![j]!, 0));
  });
}

export function transpose(a: Matrix): Matrix {
  return a[0]!.map((_, j) => a.map(row => row[j]!));
}

function addBias(a: Matrix, bias?: number[]): Matrix {
  return bias == null ? a : a.map(row => row.map((x, j) => x + bias[j]!));
}

function columns(a: Matrix, from: number, count: number): Matrix {
  return a.map(row => row.slice(from, from + count));
}

/**
 * Softmax of each row over the allowed entries; a row with none allowed is all zeros.
 */
export function softmaxRows(scores: Matrix, allowed?: boolean[][]): Matrix {
  return scores.map((row, i) => {
    const ok = row.map((_, j) => allowed == null || allowed[i]![j]!);
    const max = Math.max(...row.filter((_, j) => ok[j]));
    const exps = row.map((s, j) => (ok[j] ? Math.exp(s - max) : 0));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map(e => (sum === 0 ? 0 : e / sum));
  });
}

/** One sequence: the seed's steps 2–6 for every head, then the optional W_o. */
export function attentionOne(query: Matrix, context: Matrix, w: ReferenceWeights,
                             opts: ReferenceOptions, allowed?: boolean[][]):
    {output: Matrix, weights: Matrix[]} {
  const q = addBias(matmul(query, w.wq), w.bq);
  const k = addBias(matmul(context, w.wk), w.bk);
  const v = addBias(matmul(context, w.wv), w.bv);
  const scale = opts.scale ?? 1 / Math.sqrt(opts.keyDim);
  const mask: boolean[][] = query.map((_, i) => context.map((__, j) =>
      (allowed == null || allowed[i]![j]!) && (!opts.causal || j <= i)));
  const heads: Matrix[] = [];
  const weights: Matrix[] = [];
  for (let h = 0; h < opts.numHeads; h++) {
    const qh = columns(q, h * opts.keyDim, opts.keyDim);
    const kh = columns(k, h * opts.keyDim, opts.keyDim);
    const vh = columns(v, h * opts.valueDim, opts.valueDim);
    const scores = matmul(qh, transpose(kh)).map(row => row.map(s => s * scale));
    const p = softmaxRows(scores, mask);
    weights.push(p);
    heads.push(matmul(p, vh));
  }
  const merged = query.map((_, i) => heads.flatMap(head => head[i]!));
  const output = w.wo == null ? merged : addBias(matmul(merged, w.wo), w.bo);
  return {output, weights};
}

/** A batch: `query[b]` `[timeQ][features]`, `context[b]` `[timeK][features]`. */
export function attentionBatch(query: Matrix[], context: Matrix[], w: ReferenceWeights,
                               opts: ReferenceOptions): {output: Matrix[], weights: Matrix[][]} {
  const results = query.map((qb, b) => attentionOne(qb, context[b]!, w, opts, opts.allowed?.[b]));
  return {output: results.map(r => r.output), weights: results.map(r => r.weights)};
}

/**
 * Central finite differences of `f` (a scalar function of a flat parameter vector) at `x`, in
 * float64: (f(x + h e_i) - f(x - h e_i)) / 2h.
 */
export function finiteDifferences(f: (x: number[]) => number, x: number[], h = 1e-5): number[] {
  return x.map((_, i) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[i]! += h;
    minus[i]! -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** A small deterministic generator (mulberry32) so tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomMatrix(rows: number, cols: number, next: () => number, scale = 1): Matrix {
  return Array.from({length: rows}, () => Array.from({length: cols}, () => (next() * 2 - 1) * scale));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

export function flatten(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flatten) : [x as number];
}
