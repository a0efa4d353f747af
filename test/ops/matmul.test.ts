/** matMul2d against tf.matMul: values, gradients (its flag-free backward pass) and shape errors. */
import * as tf from '@tensorflow/tfjs';

import {matMul2d} from '../../src';
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
  });
});
