/**
 * Splitting an encoder–decoder into its two halves (examples/shared/encoder_decoder.ts): the
 * decoder on the encoder's stored output computes what the whole model does, both halves share
 * the trained layers (no copy: training the whole changes the halves), a model can be split
 * twice, and wrong names are errors that name them.
 */
import * as tf from '@tensorflow/tfjs';

import {splitEncoderDecoder} from '../../../examples/shared/encoder_decoder';
import {withSeededRandom} from '../../../examples/shared/random';

/** ids [b, t] → dense → "encoded"; decoder x [b, s, 3] + mean of encoded → dense. */
function toyModel(): tf.LayersModel {
  return withSeededRandom(5, () => {
    const source = tf.input({shape: [null, 4], name: 'source'});
    const mask = tf.input({shape: [null], name: 'source_mask'});
    const target = tf.input({shape: [null, 3], name: 'target'});
    const encoded = tf.layers.dense({units: 3, name: 'encoded'}).apply(source) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling1d({name: 'pool'}).apply(encoded) as tf.SymbolicTensor;
    const repeated = tf.layers.repeatVector({n: 2, name: 'repeat'}).apply(pooled) as tf.SymbolicTensor;
    const joined = tf.layers.add({name: 'join'}).apply([target, repeated]) as tf.SymbolicTensor;
    const out = tf.layers.dense({units: 2, name: 'out'}).apply(joined) as tf.SymbolicTensor;
    return tf.model({inputs: [source, mask, target], outputs: out, name: 'toy'});
  });
}

describe('splitEncoderDecoder', () => {
  it('the halves compute what the whole model does, with the same layers', () => {
    const model = toyModel();
    const {encoder, decoder} = splitEncoderDecoder(model, {boundary: ['encoded', 'source_mask'],
                                                           decoderInputs: ['target']});
    expect(encoder.inputNames).toEqual(['source', 'source_mask']);
    const source = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 1);
    const mask = tf.ones([2, 5]);
    const target = tf.randomNormal([2, 2, 3], 0, 1, 'float32', 2);
    const whole = model.predict([source, mask, target]) as tf.Tensor;
    const [encoded, maskOut] = encoder.predict([source, mask]) as tf.Tensor[];
    const halves = decoder.predict([target, encoded!, maskOut!]) as tf.Tensor;
    expect(halves.shape).toEqual([2, 2, 2]);
    expect(tf.max(tf.abs(tf.sub(whole, halves))).dataSync()[0]).toBeLessThan(1e-6);
    // Shared layers: changing the model's weights changes the decoder's answer the same way.
    model.getLayer('out').setWeights(model.getLayer('out').getWeights().map(w => tf.mul(w, 2)));
    const whole2 = model.predict([source, mask, target]) as tf.Tensor;
    const halves2 = decoder.predict([target, encoded!, maskOut!]) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(whole2, halves2))).dataSync()[0]).toBeLessThan(1e-6);
    expect(tf.max(tf.abs(tf.sub(whole2, whole))).dataSync()[0]).toBeGreaterThan(1e-3);
    // A second split of the same model works too.
    const again = splitEncoderDecoder(model, {boundary: ['encoded', 'source_mask'],
                                              decoderInputs: ['target']});
    const halves3 = again.decoder.predict([target, encoded!, maskOut!]) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(whole2, halves3))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([source, mask, target, whole, encoded!, maskOut!, halves, whole2, halves2, halves3]);
  });

  it('names what it cannot find', () => {
    const model = toyModel();
    expect(() => splitEncoderDecoder(model, {boundary: ['nope'], decoderInputs: ['target']}))
        .toThrow('splitEncoderDecoder: boundary names a layer that the model toy does not have. Received: "nope"');
    expect(() => splitEncoderDecoder(model, {boundary: ['encoded'], decoderInputs: ['out']}))
        .toThrow(/decoderInputs must name input layers of the model. Received: \["out"\]; inputs are source, source_mask, target/);
    expect(() => splitEncoderDecoder(model, {boundary: ['encoded'], decoderInputs: ['source_mask']}))
        .toThrow(/the model's outputs do not depend on the decoder inputs \["source_mask"\] and the boundary \["encoded"\] alone/);
  });
});
