/** FeedForward equals dense(relu) → dense with the same weights; gelu, config round trip, bad arguments. */
import * as tf from '@tensorflow/tfjs';

import {FeedForward, feedForward} from '../../src';
import {near, randomTensor} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('FeedForward', () => {
  it('equals dense(relu) → dense with the same weights', () => {
    const x = randomTensor([2, 5, 4], 6);
    const layer = feedForward({hiddenDim: 8, outputDim: 3});
    const out = layer.apply(x) as tf.Tensor;
    expect(out.shape).toEqual([2, 5, 3]);
    const [w1, b1, w2, b2] = layer.getWeights() as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const flat = x.reshape([10, 4]);
    const expected = tf.relu(flat.matMul(w1 as tf.Tensor2D).add(b1))
                         .matMul(w2 as tf.Tensor2D).add(b2).reshape([2, 5, 3]);
    near(out, expected, 1e-5);
  });

  it('gelu, config round trip and bad arguments', () => {
    const layer = feedForward({hiddenDim: 4, activation: 'gelu'});
    const x = randomTensor([1, 2, 3], 7);
    const y = layer.apply(x) as tf.Tensor;
    const copy = new FeedForward(layer.getConfig() as never);
    copy.build(x.shape);
    copy.setWeights(layer.getWeights());
    near(copy.apply(x) as tf.Tensor, y, 1e-6);
    expect(() => feedForward({hiddenDim: 0})).toThrow(/hiddenDim must be a positive integer.*0/);
    expect(() => feedForward({hiddenDim: 2, activation: 'tanh' as never}))
        .toThrow(/activation must be 'relu' or 'gelu'.*"tanh"/);
  });
});
