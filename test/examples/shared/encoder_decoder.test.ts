/**
 * Splitting an encoder–decoder into its two halves (examples/shared/encoder_decoder.ts): the
 * decoder on the encoder's stored output computes what the whole model does, both halves share
 * the trained layers (no copy: training the whole changes the halves), a model can be split
 * twice, and wrong names are errors that name them.
 */
import * as tf from '@tensorflow/tfjs';

import {splitEncoderDecoder} from '../../../examples/shared/encoder_decoder';
import {withSeededRandom} from '../../../examples/shared/random';

/**
 * source [b, t, 4] → dense + bias → "encoded"; the decoder adds target [b, 2, 3], the mean of
 * encoded and the mean of bias: the bias input, like a padding mask, is used by both halves.
 */
function toyModel(): tf.LayersModel {
  return withSeededRandom(5, () => {
    const source = tf.input({shape: [null, 4], name: 'source'});
    const bias = tf.input({shape: [null, 3], name: 'bias'});
    const target = tf.input({shape: [2, 3], name: 'target'});
    const projected = tf.layers.dense({units: 3, name: 'projected'}).apply(source) as tf.SymbolicTensor;
    const encoded = tf.layers.add({name: 'encoded'}).apply([projected, bias]) as tf.SymbolicTensor;
    const mean = (x: tf.SymbolicTensor, name: string) => tf.layers.repeatVector({n: 2, name: `${name}_repeat`})
        .apply(tf.layers.globalAveragePooling1d({name: `${name}_pool`}).apply(x)) as tf.SymbolicTensor;
    const joined = tf.layers.add({name: 'join'}).apply([target, mean(encoded, 'encoded'), mean(bias, 'bias')]) as
        tf.SymbolicTensor;
    const out = tf.layers.dense({units: 2, name: 'out'}).apply(joined) as tf.SymbolicTensor;
    return tf.model({inputs: [source, bias, target], outputs: out, name: 'toy'});
  });
}

describe('splitEncoderDecoder', () => {
  it('the halves compute what the whole model does, with the same layers', () => {
    const model = toyModel();
    const {encoder, decoder} = splitEncoderDecoder(model, {boundary: ['encoded', 'bias'],
                                                           decoderInputs: ['target']});
    expect(encoder.inputNames).toEqual(['source', 'bias']);
    const source = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 1);
    const mask = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 3);
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
    const again = splitEncoderDecoder(model, {boundary: ['encoded', 'bias'],
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
        .toThrow(/decoderInputs must name input layers of the model. Received: \["out"\]; inputs are source, bias, target/);
    expect(() => splitEncoderDecoder(model, {boundary: ['encoded'], decoderInputs: ['bias']}))
        .toThrow(/the boundary \["encoded"\] cannot be computed without the decoder inputs \["bias"\]/);
    expect(() => splitEncoderDecoder(model, {boundary: ['projected'], decoderInputs: ['target']}))
        .toThrow(/the model's outputs do not depend on the decoder inputs \["target"\] and the boundary \["projected"\] alone/);
  });
});
