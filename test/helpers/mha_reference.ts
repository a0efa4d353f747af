/**
 * The float64 reference of Keras's MultiHeadAttention, in plain JavaScript numbers and loops,
 * sharing no code with src/ (it builds on reference.ts). Kernels are the 2-D views of Keras's
 * kernels: `[dim, heads, size]` read row-major is `[dim, heads·size]`, and the output kernel
 * `[heads, valueDim, ...out]` is `[heads·valueDim, Π out]`.
 */
import {Matrix, matmul, softmaxRows, transpose} from './reference';

/** One projection: a 2-D kernel view and its bias (flattened), or no bias. */
export interface RefProjection {
  kernel: Matrix;
  bias?: number[]|undefined;
}

export interface MhaReferenceWeights {
  query: RefProjection;
  key: RefProjection;
  value: RefProjection;
  gate?: RefProjection|undefined;
  output: RefProjection;
}

export interface MhaReferenceOptions {
  numHeads: number;
  keyDim: number;
  valueDim: number;
  causal?: boolean|undefined;
  /** Keys with |i − j| < slidingWindow only. */
  slidingWindow?: number|null|undefined;
  /** Per sequence: queryMask[b][i] (false = padding query). */
  queryMask?: boolean[][]|undefined;
  /** Per sequence: valueMask[b][j] and keyMask[b][j] (false = padding key). */
  valueMask?: boolean[][]|undefined;
  keyMask?: boolean[][]|undefined;
  /** attentionMask[b][h][i][j] (the same for every head if the head axis has size 1). */
  attentionMask?: boolean[][][][]|undefined;
  /** What a row with no allowed key gives: the plain average of the values, or zeros. */
  emptyRows: 'average'|'zeros';
}

function project(x: Matrix, p: RefProjection): Matrix {
  const y = matmul(x, p.kernel);
  return p.bias == null ? y : y.map(row => row.map((v, j) => v + p.bias![j]!));
}

function head(m: Matrix, h: number, size: number): Matrix {
  return m.map(row => row.slice(h * size, (h + 1) * size));
}

/**
 * Keras's MultiHeadAttention on one batch: query[b] `[timeQ][dq]`, value[b] `[timeK][dv]`,
 * key[b] `[timeK][dk]`. Returns the output `[b][timeQ][Π out]` and the scores
 * `[b][heads][timeQ][timeK]`.
 */
export function mhaReference(query: Matrix[], value: Matrix[], key: Matrix[],
                             w: MhaReferenceWeights, o: MhaReferenceOptions):
    {output: Matrix[], scores: Matrix[][]} {
  const scale = 1 / Math.sqrt(o.keyDim);
  const outputs: Matrix[] = [];
  const scores: Matrix[][] = [];
  query.forEach((qb, b) => {
    const q = project(qb, w.query);
    const k = project(key[b]!, w.key);
    const v = project(value[b]!, w.value);
    const timeK = v.length;
    const heads: Matrix[] = [];
    const headScores: Matrix[] = [];
    for (let h = 0; h < o.numHeads; h++) {
      const am = o.attentionMask?.[b]?.[o.attentionMask[b]!.length === 1 ? 0 : h];
      const allowed = qb.map((_, i) => Array.from({length: timeK}, (__, j) =>
          (o.queryMask?.[b]?.[i] ?? true) && (o.valueMask?.[b]?.[j] ?? true) &&
          (o.keyMask?.[b]?.[j] ?? true) && (am?.[i]?.[j] ?? true) && (!o.causal || j <= i) &&
          (o.slidingWindow == null || Math.abs(i - j) < o.slidingWindow)));
      const qh = head(q, h, o.keyDim);
      const kh = head(k, h, o.keyDim);
      const vh = head(v, h, o.valueDim);
      const s = matmul(qh, transpose(kh)).map(row => row.map(x => x * scale));
      let p = softmaxRows(s, allowed);
      if (o.emptyRows === 'average') {
        p = p.map((row, i) => (allowed[i]!.some(a => a) ? row : row.map(() => 1 / timeK)));
      }
      headScores.push(p);
      heads.push(matmul(p, vh));
    }
    let merged: Matrix = qb.map((_, i) => heads.flatMap(hd => hd[i]!));
    if (w.gate != null) {
      const g = project(qb, w.gate).map(row => row.map(x => 1 / (1 + Math.exp(-x))));
      merged = merged.map((row, i) => row.map((x, j) => x * g[i]![j]!));
    }
    outputs.push(project(merged, w.output));
    scores.push(headScores);
  });
  return {output: outputs, scores};
}

/** A weight by its Keras name without the layer ('query/kernel', …), Keras's shape, values. */
export interface NamedWeight {
  name: string;
  shape: number[];
  values: number[];
}

/**
 * Keras's weights as the reference's 2-D views: a kernel `[in, heads, size]` is `[in, heads·size]`,
 * the output kernel `[heads, valueDim, ...out]` is `[heads·valueDim, Π out]`.
 */
export function referenceWeightsFrom(weights: NamedWeight[]): MhaReferenceWeights {
  const byName = new Map(weights.map(w => [w.name, w]));
  const projection = (name: string, inputAxes: number): RefProjection|undefined => {
    const kernel = byName.get(`${name}/kernel`);
    if (kernel == null) {
      return undefined;
    }
    const rows = kernel.shape.slice(0, inputAxes).reduce((a, b) => a * b, 1);
    const cols = kernel.values.length / rows;
    return {kernel: Array.from({length: rows}, (_, r) => kernel.values.slice(r * cols, (r + 1) * cols)),
            bias: byName.get(`${name}/bias`)?.values};
  };
  return {query: projection('query', 1)!, key: projection('key', 1)!, value: projection('value', 1)!,
          gate: projection('gate', 1), output: projection('attention_output', 2)!};
}

/**
 * The flat parameter vector of a gradient check, [query, (value,) (key,) every weight], for
 * finite differences: `x0`, `split` (back into those pieces) and `unpack` (into batches and weights).
 */
export function parameterVector(query: Matrix[], value: Matrix[]|null, key: Matrix[]|null,
                                weights: number[][]) {
  const pieces = [query.flat(2), ...(value ? [value.flat(2)] : []), ...(key ? [key.flat(2)] : []),
                  ...weights];
  const sizes = pieces.map(p => p.length);
  const split = (x: number[]) => {
    let at = 0;
    return sizes.map(n => x.slice(at, at += n));
  };
  const asBatch = (flat: number[], like: Matrix[]) => like.map((m, b) => m.map((row, i) =>
      flat.slice((b * m.length + i) * row.length, (b * m.length + i + 1) * row.length)));
  const unpack = (x: number[]) => {
    const parts = split(x);
    let at = 0;
    const q = asBatch(parts[at++]!, query);
    const v = value ? asBatch(parts[at++]!, value) : q;
    const k = key ? asBatch(parts[at++]!, key) : v;
    return {query: q, value: v, key: k, weights: parts.slice(at)};
  };
  return {x0: pieces.flat(), split, unpack};
}
