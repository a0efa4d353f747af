/** Small shared helpers for the tests: tensor comparison and layer ↔ reference plumbing. */
import * as tf from '@tensorflow/tfjs';

import {SelfAttention, SelfAttentionArgs} from '../../src';
import {flatten, Matrix, maxAbsDiff, randomMatrix, ReferenceOptions, ReferenceWeights} from './reference';

/** Asserts |actual - expected| <= atol + rtol·|expected| element-wise, with a useful message. */
export function expectClose(actual: tf.Tensor|ArrayLike<number>, expected: unknown,
                            atol = 1e-5, rtol = 1e-5): void {
  const a = actual instanceof tf.Tensor ? Array.from(actual.dataSync()) : Array.from(actual);
  const e = flatten(expected);
  expect(a.length).toBe(e.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= worst)) {  // also catches NaN
      worst = Number.isNaN(excess) ? Infinity : excess;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    throw new Error(`not close at index ${worstAt}: actual ${a[worstAt]}, expected ${
        e[worstAt]} (max abs diff ${maxAbsDiff(a, e)}, atol ${atol}, rtol ${rtol})`);
  }
}

/** The reference's options for a layer's resolved sizes. */
export function referenceOptions(layer: SelfAttention, args: SelfAttentionArgs,
                                 features: number): ReferenceOptions {
  const numHeads = args.numHeads ?? 1;
  const keyDim = args.keyDim ?? features / numHeads;
  return {numHeads, keyDim, valueDim: args.valueDim ?? keyDim, causal: layer.causal};
}

/**
 * Random float64 weights for a built layer, in the layer's weight order, set on the layer too
 * (rounded to float32 there, so both sides use the same numbers).
 */
export function randomizeWeights(layer: SelfAttention, next: () => number, scale = 0.5):
    ReferenceWeights {
  const values = layer.weights.map(w => {
    const shape = w.shape as number[];
    const m = shape.length === 2 ? randomMatrix(shape[0]!, shape[1]!, next, scale) :
                                   randomMatrix(1, shape[0]!, next, scale);
    return roundToFloat32(m);
  });
  layer.setWeights(layer.weights.map((w, i) => {
    const m = values[i]!;
    return w.shape.length === 2 ? tf.tensor2d(m) : tf.tensor1d(m[0]!);
  }));
  return weightsByName(layer, values);
}

/** Maps the layer's weights (as float64 matrices) onto the reference's fields by name. */
export function weightsByName(layer: SelfAttention, values: Matrix[]): ReferenceWeights {
  const byName: Record<string, Matrix> = {};
  layer.weights.forEach((w, i) => {
    byName[w.originalName.split('/').pop()!] = values[i]!;
  });
  const vec = (m?: Matrix) => m?.[0];
  return {
    wq: byName['query_kernel']!, wk: byName['key_kernel']!, wv: byName['value_kernel']!,
    bq: vec(byName['query_bias']), bk: vec(byName['key_bias']), bv: vec(byName['value_bias']),
    wo: byName['output_kernel'], bo: vec(byName['output_bias']),
  };
}

export function roundToFloat32(m: Matrix): Matrix {
  return m.map(row => Array.from(Float32Array.from(row)));
}

/** Element-wise |a - b| <= tol + tol·|b|. */
export function near(a: tf.Tensor, b: tf.Tensor, tol: number): void {
  expectClose(a, Array.from(b.dataSync()), tol, tol);
}

/** A seeded uniform(-1, 1) tensor. */
export function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** max |a − b| ÷ max(1, max |b|): how far `a` is from the reference `b` (asserts equal lengths). */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
