/**
 * getConfig round trips and model save → load (in memory) with identical predictions, for every
 * option combination of SelfAttention, and for the package's other layers.
 */
import * as tf from '@tensorflow/tfjs';

import {identity, PositionalEmbedding, positionalEmbedding, SelfAttention, selfAttention, SelfAttentionArgs, TokenEmbedding, tokenEmbedding} from '../../src';
import {expectClose} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Every boolean option on and off, with and without explicit sizes and initializers. */
function optionCombinations(): SelfAttentionArgs[] {
  const combos: SelfAttentionArgs[] = [];
  for (const numHeads of [1, 2]) {
    for (const useBias of [false, true]) {
      for (const causal of [false, true]) {
        for (const returnAttentionWeights of [false, true]) {
          combos.push({numHeads, useBias, causal, returnAttentionWeights});
        }
      }
    }
  }
  combos.push(
      {numHeads: 2, keyDim: 3, valueDim: 5, outputDim: 7, dropout: 0.25},
      {useOutputProjection: true, outputDim: 2, biasInitializer: 'ones', useBias: true},
      {numHeads: 4, useOutputProjection: false, keyDim: 2},
      // Constraints apply when weights are written (load), not at initialisation: start inside them.
      {kernelInitializer: 'ones', kernelRegularizer: 'l2', kernelConstraint: 'nonNeg',
       biasRegularizer: 'l1l2', biasConstraint: 'nonNeg', useBias: true},
      {kernelInitializer: identity({gain: 0.5}), name: 'named_attention', trainable: false},
  );
  return combos;
}

/** A config as it is written to model.json (undefined and null both become null). */
function asJson(config: unknown): unknown {
  return JSON.parse(JSON.stringify(config, (_k, v) => (v === undefined ? null : v)));
}

async function saveAndLoad(model: tf.LayersModel, includeOptimizer = false): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts|null = null;
  await model.save(tf.io.withSaveHandler(async a => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }), {includeOptimizer});
  // Through a JSON string, as files on disk would go.
  const json = JSON.parse(JSON.stringify({...artifacts!, weightData: undefined}));
  return tf.loadLayersModel(tf.io.fromMemory({...json, weightData: artifacts!.weightData}));
}

describe('SelfAttention serialization', () => {
  it.each(optionCombinations())('self-attention %j survives save → load', async args => {
    const input = tf.input({shape: [5, 8]});
    const out = selfAttention({...args, kernelInitializer: args.kernelInitializer ?? 'glorotUniform'})
                    .apply(input) as tf.SymbolicTensor|tf.SymbolicTensor[];
    const model = tf.model({inputs: input, outputs: out});
    const loaded = await saveAndLoad(model);
    const x = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 5);
    const expected = [model.predict(x)].flat() as tf.Tensor[];
    const actual = [loaded.predict(x)].flat() as tf.Tensor[];
    expect(actual.length).toBe(expected.length);
    actual.forEach((a, i) => expectClose(a, expected[i]!.arraySync(), 0, 0));

    const original = model.layers[1] as SelfAttention;
    const restored = loaded.layers[1] as SelfAttention;
    expect(restored).toBeInstanceOf(SelfAttention);
    expect(asJson(restored.getConfig())).toEqual(asJson(original.getConfig()));
    expect(restored.weights.map(w => w.originalName.split('/').pop()))
        .toEqual(original.weights.map(w => w.originalName.split('/').pop()));
  });

  it('a maxNorm constraint survives save → load (re-applied when weights are written)', async () => {
    const input = tf.input({shape: [5, 8]});
    const layer = selfAttention({kernelInitializer: 'glorotUniform', kernelConstraint: 'maxNorm'});
    const model = tf.model({inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor});
    const loaded = await saveAndLoad(model);
    const x = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 5);
    // tfjs passes weights through the constraint when they are set; maxNorm divides by
    // (1e-7 + norm), which moves a weight by about one float32 ulp, so not bit-identical.
    expectClose(loaded.predict(x) as tf.Tensor, (model.predict(x) as tf.Tensor).arraySync(), 1e-6, 1e-6);
    expect(asJson((loaded.layers[1] as SelfAttention).getConfig()['kernelConstraint']))
        .toEqual({className: 'MaxNorm', config: {maxValue: 2, axis: 0}});
  });

  it('cross-attention with an explicit context mask survives save → load', async () => {
    const query = tf.input({shape: [3, 4]});
    const context = tf.input({shape: [6, 5]});
    const contextMask = tf.input({shape: [6]});
    const out = selfAttention({numHeads: 2, keyDim: 3, useBias: true,
                               kernelInitializer: 'glorotNormal'})
                    .apply([query, context, contextMask]) as tf.SymbolicTensor;
    const model = tf.model({inputs: [query, context, contextMask], outputs: out});
    const loaded = await saveAndLoad(model);
    const feeds = [tf.randomNormal([2, 3, 4]), tf.randomNormal([2, 6, 5]),
                   tf.tensor2d([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]])];
    expectClose(loaded.predict(feeds) as tf.Tensor, (model.predict(feeds) as tf.Tensor).arraySync(), 0, 0);
  });

  it('getConfig → fromConfig → getConfig is the identity for every combination', () => {
    for (const args of optionCombinations()) {
      const layer = selfAttention(args);
      const config = layer.getConfig();
      const copy = tf.serialization.SerializationMap.getMap().classNameMap['SelfAttention']![1](
          SelfAttention, config) as SelfAttention;
      expect(copy.getConfig()).toEqual(config);
    }
  });

  it('getConfig returns every argument', () => {
    const config = selfAttention({numHeads: 2, keyDim: 3, valueDim: 4, outputDim: 5,
                                  useOutputProjection: true, useBias: true, causal: true,
                                  dropout: 0.1, returnAttentionWeights: true}).getConfig();
    expect(config).toMatchObject({numHeads: 2, keyDim: 3, valueDim: 4, outputDim: 5,
                                  useOutputProjection: true, useBias: true, causal: true,
                                  dropout: 0.1, returnAttentionWeights: true});
    expect(config['kernelInitializer']).toEqual({className: 'SelfAttentionIdentity',
                                                 config: {gain: 1}});
    for (const key of ['biasInitializer', 'kernelRegularizer', 'biasRegularizer',
                       'kernelConstraint', 'biasConstraint']) {
      expect(config).toHaveProperty(key);
    }
  });

  it('the optimizer state survives save → load with includeOptimizer', async () => {
    const build = () => {
      const input = tf.input({shape: [4, 6]});
      const x = selfAttention({numHeads: 2, kernelInitializer: 'glorotUniform'}).apply(input);
      const out = tf.layers.dense({units: 1}).apply(tf.layers.flatten().apply(x));
      const model = tf.model({inputs: input, outputs: out as tf.SymbolicTensor});
      model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});
      return model;
    };
    const model = build();
    const x = tf.randomNormal([16, 4, 6], 0, 1, 'float32', 1);
    const y = tf.randomNormal([16, 1], 0, 1, 'float32', 2);
    await model.fit(x, y, {epochs: 2, batchSize: 16, shuffle: false, verbose: 0});
    const loaded = await saveAndLoad(model, true);
    loaded.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});
    // (includeOptimizer restores the optimizer's weights into the loaded model's optimizer.)
    expect(loaded.optimizer).not.toBeNull();
    const losses = await Promise.all([model, loaded].map(async m =>
        (await m.fit(x, y, {epochs: 1, batchSize: 16, shuffle: false, verbose: 0})).history['loss']![0]));
    expect(losses[1]).toBeCloseTo(losses[0] as number, 5);
  });
});

describe('other layers serialize too', () => {
  it('TokenEmbedding and PositionalEmbedding survive save → load', async () => {
    const ids = tf.input({shape: [6], dtype: 'int32'});
    let x = tokenEmbedding({vocabSize: 12, outputDim: 8, maskZero: true}).apply(ids);
    x = positionalEmbedding({maxLength: 10}).apply(x);
    x = positionalEmbedding({maxLength: 10, kind: 'sinusoidal'}).apply(x);
    const out = selfAttention({numHeads: 2}).apply(x) as tf.SymbolicTensor;
    const model = tf.model({inputs: ids, outputs: out});
    const loaded = await saveAndLoad(model);
    const feed = tf.tensor2d([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 11]], undefined, 'int32');
    expectClose(loaded.predict(feed) as tf.Tensor, (model.predict(feed) as tf.Tensor).arraySync(), 0, 0);
    expect(loaded.layers[1]).toBeInstanceOf(TokenEmbedding);
    expect(loaded.layers[2]).toBeInstanceOf(PositionalEmbedding);
    expect(asJson((loaded.layers[1] as TokenEmbedding).getConfig())).toEqual(
        asJson((model.layers[1] as TokenEmbedding).getConfig()));
  });
});
