/**
 * matMul2d against tf.matMul (plus a bias): values and gradients on cpu and wasm, for a product
 * below and above the size where wasm switches to the flag-free backward pass, with and without
 * a gradient being recorded, with a bias (also one that is a reshape, which wasm's fused kernel
 * rejects), and shape errors.
 */
import * as tf from '@tensorflow/tfjs';

import {matMul2d} from '../../src';
import {SMALL_PRODUCT} from '../../src/ops/matmul';
import {useBackend} from '../helpers/backends';
import {near, randomTensor} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('matMul2d', () => {
  it('matches tf.matMul in value and gradients', () => {
    const before = tf.memory().numTensors;
    const a = randomTensor([7, 5], 1);
    const b = randomTensor([5, 3], 2);
    const loss = (mm: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) =>
        (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.sin(mm(x, y)));
    const ours = tf.grads(loss(matMul2d))([a, b]);
    const theirs = tf.grads(loss((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)))([a, b]);
    near(matMul2d(a, b), tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), 1e-6);
    near(ours[0]!, theirs[0]!, 1e-5);
    near(ours[1]!, theirs[1]!, 1e-5);
    tf.dispose([a, b, ...ours, ...theirs]);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2);
  });

  it('rejects shapes that do not fit', () => {
    expect(() => matMul2d(tf.zeros([2, 3]), tf.zeros([4, 5])))
        .toThrow(/a \[m, k\] and b \[k, n\].*\[2,3\].*\[4,5\]/);
    expect(() => matMul2d(tf.zeros([2, 3, 1]), tf.zeros([3, 5]))).toThrow(/\[2,3,1\]/);
    expect(() => matMul2d(tf.zeros([2, 3]), tf.zeros([3, 5]), tf.zeros([4])))
        .toThrow(/bias \[n\] = \[5\].*\[4\]/);
    expect(() => matMul2d(tf.zeros([2, 3]), tf.zeros([3, 5]), tf.zeros([1, 5])))
        .toThrow(/bias \[n\] = \[5\].*\[1,5\]/);
  });
});

describe.each(['cpu', 'wasm'])('matMul2d with a bias, on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  // m·k·n = 7·5·3 (tfjs's own gradient on wasm) and 40·40·50 (the flag-free one).
  it.each([[7, 5, 3], [40, 40, 50]])('m=%i k=%i n=%i: values and gradients', (m, k, n) => {
    const before = tf.memory().numTensors;
    const a = randomTensor([m, k], 3);
    const b = randomTensor([k, n], 4);
    // A reshape: wasm's fused kernel refuses it.
    const bias = tf.tidy(() => randomTensor([1, n], 5).reshape([n]));
    const loss = (mm: (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.Tensor) =>
        (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.sin(mm(x, y, z)));
    const reference = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        tf.add(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), z);
    // valueAndGrads, not grads: tf.grads keeps the loss it computed (a tensor each call).
    const {value: ourLoss, grads: ours} = tf.valueAndGrads(loss(matMul2d))([a, b, bias]);
    const {value: theirLoss, grads: theirs} = tf.valueAndGrads(loss(reference))([a, b, bias]);
    near(ourLoss, theirLoss, 1e-4);
    const y = matMul2d(a, b, bias);
    const expected = tf.tidy(() => reference(a, b, bias));
    near(y, expected, 1e-5);
    ours.forEach((g, i) => near(g, theirs[i]!, 1e-4));
    expect(m * k * n > SMALL_PRODUCT).toBe(m === 40);
    tf.dispose([a, b, bias, y, expected, ourLoss, theirLoss, ...ours, ...theirs]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same value with and without a gradient being recorded', () => {
    const a = randomTensor([40, 40], 6);
    const b = randomTensor([40, 50], 7);
    const plain = matMul2d(a, b);  // no tape: plain tf.matMul
    const [recorded] = tf.grads((x: tf.Tensor) => {
      near(matMul2d(x, b), plain, 1e-6);  // under a tape: the flag-free product on wasm
      return tf.sum(matMul2d(x, b));
    })([a]);
    const expected = tf.matMul(tf.ones([40, 50]), b.transpose());  // d/da sum(a·b) = 1·bᵀ
    near(recorded!, expected, 1e-4);
    tf.dispose([a, b, plain, recorded!, expected]);
  });
});
