/** The encoder/decoder block builders: causal, padding ignored, serialisable, bad arguments named. */
import * as tf from '@tensorflow/tfjs';

import {decoderBlock, encoderBlock} from '../../src';
import {near, randomTensor} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
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
