/**
 * The Transformer pieces: matMul2d, LayerNorm and FeedForward against tfjs's own ops and layers
 * (values and gradients), and the encoder/decoder block builders: causal, masked, serialisable.
 */
import * as tf from '@tensorflow/tfjs';

import {decoderBlock, encoderBlock, FeedForward, feedForward, layerNorm, LayerNorm, matMul2d}
    from '../src';
import {expectClose} from './helpers';

/** Element-wise |a - b| <= tol + tol·|b|. */
function near(a: tf.Tensor, b: tf.Tensor, tol: number): void {
  expectClose(a, Array.from(b.dataSync()), tol, tol);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

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

describe('encoderBlock / decoderBlock', () => {
  function buildModel() {
    const src = tf.input({shape: [6, 8]});
    const mask = tf.input({shape: [6]});
    const tgt = tf.input({shape: [4, 8]});
    const enc = encoderBlock(src, mask, {numHeads: 2, ffDim: 16, name: 'enc'});
    const dec = decoderBlock(tgt, enc, mask, {numHeads: 2, ffDim: 16, name: 'dec'});
    return tf.model({inputs: [src, mask, tgt], outputs: dec});
  }

  it('decoder is causal, padded encoder steps are ignored', () => {
    const model = buildModel();
    const src = randomTensor([2, 6, 8], 8);
    const mask = tf.tensor2d([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]);
    const tgt = randomTensor([2, 4, 8], 9);
    const out = model.predict([src, mask, tgt]) as tf.Tensor;
    expect(out.shape).toEqual([2, 4, 8]);
    // Change the last decoder step and the padded encoder steps of example 0.
    const tgt2 = tf.concat([tgt.slice([0, 0, 0], [2, 3, 8]), randomTensor([2, 1, 8], 10)], 1);
    const noise = tf.concat([tf.zeros([1, 4, 8]), randomTensor([1, 2, 8], 11)], 1);
    const src2 = tf.concat([src.slice([0, 0, 0], [1, 6, 8]).add(noise), src.slice([1, 0, 0])], 0);
    const out2 = model.predict([src2, mask, tgt2]) as tf.Tensor;
    near(out2.slice([0, 0, 0], [1, 3, 8]), out.slice([0, 0, 0], [1, 3, 8]), 1e-5);
    near(out2.slice([1, 0, 0], [1, 3, 8]), out.slice([1, 0, 0], [1, 3, 8]), 1e-5);
    const lastChanged = tf.abs(tf.sub(out2.slice([0, 3, 0]), out.slice([0, 3, 0]))).max();
    expect(lastChanged.dataSync()[0]).toBeGreaterThan(1e-3);
  });

  it('a model built from blocks serialises and loads with the same outputs', async () => {
    const model = buildModel();
    const inputs = [randomTensor([2, 6, 8], 12), tf.ones([2, 6]), randomTensor([2, 4, 8], 13)];
    const expected = model.predict(inputs) as tf.Tensor;
    let saved: tf.io.ModelArtifacts|null = null;
    await model.save(tf.io.withSaveHandler(async a => {
      saved = a;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const classes = JSON.stringify((saved as unknown as tf.io.ModelArtifacts).modelTopology);
    for (const name of ['SelfAttention', 'FeedForward', 'LayerNorm']) {
      expect(classes).toContain(`"class_name":"${name}"`);
    }
    near(loaded.predict(inputs) as tf.Tensor, expected, 1e-6);
  });

  it('rejects bad arguments with the value received', () => {
    const x = tf.input({shape: [4, 6]});
    expect(() => encoderBlock(x, null, {numHeads: 4})).toThrow(/keyDim.*6 \/ 4.*1\.5/);
    expect(() => encoderBlock(x, null, {numHeads: 0})).toThrow(/numHeads=0/);
    expect(() => decoderBlock(x, x, null, {numHeads: 2, dropout: 1})).toThrow(/dropout=1/);
    expect(() => encoderBlock(tf.input({shape: [6]}), null)).toThrow(/\[batch, time, modelDim\]/);
  });
});
