/** LayerNorm against tfjs's layerNormalization (values, gradients); its config round trip and bad epsilon. */
import * as tf from '@tensorflow/tfjs';

import {LayerNorm, layerNorm} from '../../src';
import {near, randomTensor} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LayerNorm', () => {
  it('matches tf.layers.layerNormalization in value and gradients', () => {
    const x = randomTensor([3, 4, 6], 3);
    const ours = layerNorm({epsilon: 1e-3});
    const theirs = tf.layers.layerNormalization({epsilon: 1e-3});
    ours.build(x.shape);
    theirs.build(x.shape);
    const gamma = randomTensor([6], 4);
    const beta = randomTensor([6], 5);
    ours.setWeights([gamma, beta]);
    theirs.setWeights([gamma, beta]);
    near(ours.apply(x) as tf.Tensor, theirs.apply(x) as tf.Tensor, 1e-5);
    const grad = (layer: tf.layers.Layer) => tf.grad(
        (t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, tf.range(0, 6))))(x);
    near(grad(ours), grad(theirs), 1e-4);
    const before = tf.memory().numTensors;
    tf.dispose(ours.apply(x) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('round-trips its config and rejects a bad epsilon', () => {
    const layer = layerNorm({epsilon: 1e-4, name: 'n'});
    const again = tf.serialization.SerializationMap.getMap().classNameMap['LayerNorm']!;
    expect(again).toBeDefined();
    expect((new LayerNorm(layer.getConfig() as never)).epsilon).toBe(1e-4);
    expect(() => layerNorm({epsilon: -1})).toThrow(/epsilon must be a positive number.*-1/);
  });
});
