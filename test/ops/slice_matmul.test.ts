/**
 * sliceMatMul against a float64 reference on cpu and wasm: values, gradients of
 * sum(sin(a·b)), empty shapes, no leaked tensors, shape errors.
 */
import * as tf from '@tensorflow/tfjs';

import {sliceMatMul} from '../../src/ops/slice_matmul';
import {useBackend} from '../helpers/backends';

/** Deterministic values in [-1, 1). */
function values(size: number, seed: number): Float64Array {
  const out = new Float64Array(size);
  let x = seed * 7919 + 17;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = x / 1073741824 - 1;
  }
  return out;
}

/** [s, m, k] · [s, k, n] in float64. */
function product(a: Float64Array, b: Float64Array, s: number, m: number, k: number, n: number):
    Float64Array {
  const out = new Float64Array(s * m * n);
  for (let z = 0; z < s; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let t = 0; t < k; t++) {
          sum += a[(z * m + i) * k + t]! * b[(z * k + t) * n + j]!;
        }
        out[(z * m + i) * n + j] = sum;
      }
    }
  }
  return out;
}

/** The transpose of every slice: [s, r, c] → [s, c, r]. */
function transposed(x: Float64Array, s: number, r: number, c: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let z = 0; z < s; z++) {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        out[(z * c + j) * r + i] = x[(z * r + i) * c + j]!;
      }
    }
  }
  return out;
}

function expectNear(actual: tf.Tensor, expected: Float64Array, tolerance: number): void {
  const got = actual.dataSync();
  expect(got.length).toBe(expected.length);
  let worst = 0;
  expected.forEach((e, i) => {
    worst = Math.max(worst, Math.abs(got[i]! - e) / (1 + Math.abs(e)));
  });
  expect(worst).toBeLessThan(tolerance);
}

describe.each(['cpu', 'wasm'])('sliceMatMul on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([[3, 5, 4, 6], [1, 1, 1, 1], [8, 17, 3, 9], [2, 4, 33, 2]])(
      'matches the float64 product and its gradients: s=%i, m=%i, k=%i, n=%i', (s, m, k, n) => {
        const a64 = values(s * m * k, 1);
        const b64 = values(s * k * n, 2);
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const a = tf.tensor3d(Float32Array.from(a64), [s, m, k]);
          const b = tf.tensor3d(Float32Array.from(b64), [s, k, n]);
          const ab = product(a64, b64, s, m, k, n);
          expectNear(sliceMatMul(a, b), ab, 1e-5);
          // d sum(sin(a·b)) / da = cos(a·b) · bᵀ, / db = aᵀ · cos(a·b)
          const cos = ab.map(Math.cos);
          const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
                                        tf.sum(tf.sin(sliceMatMul(x, y))))([a, b]);
          expectNear(da!, product(cos, transposed(b64, s, k, n), s, m, n, k), 1e-5);
          expectNear(db!, product(transposed(a64, s, m, k), cos, s, k, m, n), 1e-5);
        });
        expect(tf.memory().numTensors).toBe(before);
      });

  it('gives zeros for an empty inner dimension and empty results for empty slices', () => {
    tf.tidy(() => {
      const zeros = sliceMatMul(tf.zeros([2, 3, 0]), tf.zeros([2, 0, 4]));
      expect(zeros.shape).toEqual([2, 3, 4]);
      expect(Array.from(zeros.dataSync())).toEqual(new Array(24).fill(0));
      expect(sliceMatMul(tf.zeros([0, 3, 2]), tf.zeros([0, 2, 4])).shape).toEqual([0, 3, 4]);
      expect(sliceMatMul(tf.zeros([2, 0, 2]), tf.zeros([2, 2, 4])).shape).toEqual([2, 0, 4]);
    });
  });

  it('leaves no tensor or data buffer behind after many calls', () => {
    const a = tf.randomNormal([16, 8, 4]);
    const b = tf.randomNormal([16, 4, 8]);
    tf.dispose(sliceMatMul(a, b));  // first use registers the kernel
    const before = tf.memory();
    for (let i = 0; i < 20; i++) {
      tf.dispose(sliceMatMul(a, b));
    }
    const after = tf.memory() as tf.MemoryInfo & {numBytesInWASM?: number};
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
    tf.dispose([a, b]);
  });

  it('rejects shapes that do not fit, naming both', () => {
    expect(() => sliceMatMul(tf.zeros([2, 3, 4]), tf.zeros([3, 4, 5])))
        .toThrow(/a \[s, m, k\] and b \[s, k, n\].*\[2,3,4\].*\[3,4,5\]/);
    expect(() => sliceMatMul(tf.zeros([3, 4]), tf.zeros([4, 5]))).toThrow(/\[3,4\]/);
    expect(() => sliceMatMul(tf.zeros([2, 3, 4]), tf.zeros([2, 5, 5]))).toThrow(/\[2,5,5\]/);
  });
});
