/** scaledDotProductAttention, the one implementation of steps 3–6, against the reference. */
import * as tf from '@tensorflow/tfjs';

import {scaledDotProductAttention} from '../../src';
import {expectClose, roundToFloat32} from '../helpers/tensors';
import {Matrix, randomMatrix, rng, softmaxRows, matmul, transpose} from '../helpers/reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** softmax(q kᵀ · scale, allowed) v for one [time, d] slice, in float64. */
function reference(q: Matrix, k: Matrix, v: Matrix, scale: number, allowed?: boolean[][]) {
  const scores = matmul(q, transpose(k)).map(r => r.map(s => s * scale));
  const w = softmaxRows(scores, allowed);
  return {output: matmul(w, v), weights: w};
}

describe('scaledDotProductAttention', () => {
  const next = rng(21);
  const make = (n: number, t: number, d: number) =>
      Array.from({length: n}, () => roundToFloat32(randomMatrix(t, d, next)));

  it('rank 3, default scale 1/√dk and a custom scale', () => {
    const [q, k, v] = [make(2, 3, 5), make(2, 4, 5), make(2, 4, 2)];
    for (const scale of [undefined, 0.7]) {
      const {output, weights} = scaledDotProductAttention(
          tf.tensor3d(q), tf.tensor3d(k), tf.tensor3d(v), scale == null ? {} : {scale});
      const ref = q.map((_, b) => reference(q[b]!, k[b]!, v[b]!, scale ?? 1 / Math.sqrt(5)));
      expectClose(output, ref.map(r => r.output), 1e-6);
      expectClose(weights, ref.map(r => r.weights), 1e-6);
    }
  });

  it('rank 4 with a key mask broadcast over heads and queries, and causal', () => {
    const heads = 3;
    const q = make(2 * heads, 4, 2);
    const keyMask = [[true, true, false, true], [true, false, false, false]];
    const toRank4 = (m: Matrix[]) => tf.tensor4d(flatten4(m, heads));
    const {output, weights} = scaledDotProductAttention(
        toRank4(q), toRank4(q), toRank4(q),
        {mask: tf.tensor4d(keyMask.flat(), [2, 1, 1, 4], 'bool'), causal: true});
    const ref = q.map((m, i) => {
      const b = Math.floor(i / heads);
      const allowed = m.map((_, r) => keyMask[b]!.map((ok, c) => ok && c <= r));
      return reference(m, m, m, 1 / Math.sqrt(2), allowed);
    });
    expectClose(output, ref.map(r => r.output), 1e-6);
    expectClose(weights, ref.map(r => r.weights), 1e-6);
    // Rows sum to 1 (every row here has key 0 allowed).
    expectClose(tf.sum(weights, -1), new Array(2 * heads * 4).fill(1), 1e-6);
  });

  it('a numeric mask counts nonzero as "may attend"', () => {
    const x = tf.tensor3d(make(1, 3, 4));
    const asBool = scaledDotProductAttention(x, x, x, {mask: tf.tensor2d([[1, 0, 1]]).cast('bool')});
    const asNumber = scaledDotProductAttention(x, x, x, {mask: tf.tensor2d([[1, 0, 1]])});
    expectClose(asNumber.output, asBool.output.arraySync(), 0);
    expect((asNumber.weights.arraySync() as number[][][])[0]!.map(r => r[1])).toEqual([0, 0, 0]);
  });
});

function flatten4(m: Matrix[], heads: number): number[][][][] {
  const out: number[][][][] = [];
  for (let i = 0; i < m.length; i += heads) out.push(m.slice(i, i + heads));
  return out;
}
