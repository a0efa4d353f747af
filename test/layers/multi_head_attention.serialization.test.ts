/**
 * MultiHeadAttention configs: Keras's keys in getConfig, Keras 3 (`buildConfig`) and Keras 2
 * (`queryShape`, ...) configs that build the weights at once, and model save → load round trips
 * (call constants and input layouts included) that predict the same.
 */
import * as tf from '@tensorflow/tfjs';

import {MultiHeadAttention, multiHeadAttention, MultiHeadAttentionArgs} from '../../src';
import {camel, keras2MhaFixtures, KerasMhaCase, kerasMhaFixtures, relativeError, setKerasWeights, toTensor} from '../helpers/keras_mha_fixtures';
import {expectClose} from '../helpers/tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A Keras config with its keys in camelCase, as tfjs reads Keras JSON (nested dicts too). */
function camelKeys(x: unknown): unknown {
  if (Array.isArray(x)) {
    return x.map(camelKeys);
  }
  if (x != null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [camel(k), camelKeys(v)]));
  }
  return x;
}

/**
 * A Keras layer config as the layer receives it once a loader has rewritten what tfjs cannot
 * read (Keras 3's `DTypePolicy` and the `module`/`registered_name` initializer form are a
 * loader's business) and, for Keras 3, moved `build_config` in. Keras 2's config carries its
 * build shapes (`query_shape`, ...) itself.
 */
function kerasConfig(c: KerasMhaCase): tf.serialization.ConfigDict {
  const config = camelKeys(c.config) as Record<string, unknown>;
  if (typeof config['dtype'] !== 'string') {
    delete config['dtype'];
  }
  config['kernelInitializer'] = {className: 'GlorotUniform', config: {}};
  config['biasInitializer'] = {className: 'Zeros', config: {}};
  if (c.build_config != null) {
    config['buildConfig'] = camelKeys(c.build_config);
  }
  return config as tf.serialization.ConfigDict;
}

/** Every Keras 3 and Keras 2 case, labelled. */
const allCases = [
  ...kerasMhaFixtures.cases.map(c => [`Keras 3: ${c.name}`, c] as const),
  ...keras2MhaFixtures.cases.map(c => [`Keras 2: ${c.name}`, c] as const),
];

/** What tfjs does with a layer entry of a model's JSON: the registered class's fromConfig. */
function deserialize(config: tf.serialization.ConfigDict): MultiHeadAttention {
  const [cls, fromConfig] =
      tf.serialization.SerializationMap.getMap().classNameMap['MultiHeadAttention']!;
  return fromConfig(cls, config) as unknown as MultiHeadAttention;
}

/** A config as it is written to model.json (undefined and null both become null). */
function asJson(config: unknown): unknown {
  return JSON.parse(JSON.stringify(config, (_k, v) => (v === undefined ? null : v)));
}

async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts|null = null;
  await model.save(tf.io.withSaveHandler(async a => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  // Through a JSON string, as files on disk would go.
  const json = JSON.parse(JSON.stringify({...artifacts!, weightData: undefined}));
  return tf.loadLayersModel(tf.io.fromMemory({...json, weightData: artifacts!.weightData}));
}

describe("Keras's config keys", () => {
  it.each(allCases)("getConfig holds every key of Keras's get_config: %s", (_name, c) => {
        const layer = deserialize(kerasConfig(c));
        const ours = layer.getConfig();
        const keras = camelKeys(c.config) as Record<string, unknown>;
        // Keras 3's `dtype` is a DTypePolicy object, which a loader turns into tfjs's dtype.
        if (typeof keras['dtype'] !== 'string') {
          delete keras['dtype'];
        }
        for (const [key, value] of Object.entries(keras)) {
          expect(Object.keys(ours)).toContain(key);
          if (!['kernelInitializer', 'biasInitializer'].includes(key)) {
            expect([key, ours[key]]).toEqual([key, value]);
          }
        }
      });
});

describe('configs that build the weights at once', () => {
  it.each(allCases)(
      "a config with its build shapes has Keras's weights before any call, and Keras's numbers: %s",
      async (_name, c) => {
        const layer = deserialize(kerasConfig(c));
        expect(layer.built).toBe(true);
        expect(layer.fullyMaskedRows).toBe(c.keras_path === 'keras2' ? 'average' : 'keras3');
        expect(layer.weights.map(w => [w.originalName, w.shape]))
            .toEqual(c.weights.map(w => [w.path, w.shape]));
        setKerasWeights(layer, c);
        // The call's constants and propagated masks come with the call (tfjs's `mask` list).
        const t = c.inputs;
        const query = toTensor(t.query!);
        const list = [query, c.call.self_attention ? query : toTensor(t.value!),
                      ...(t.key ? [toTensor(t.key)] : [])];
        const bool = (m?: typeof t.query) => (m == null ? null : toTensor(m, 'bool'));
        const attentionMask = bool(t.attention_mask);
        const out = layer.apply(list[0]!, {
          value: list[1]!, ...(t.key ? {key: list[2]!} : {}),
          ...(attentionMask ? {attentionMask} : {}),
          ...(t.query_mask ? {queryMask: bool(t.query_mask)!} : {}),
          ...(t.value_mask && !c.call.self_attention ? {valueMask: bool(t.value_mask)!} : {}),
          ...(t.value_mask && c.call.self_attention ? {valueMask: bool(t.query_mask)!} : {}),
          ...(t.key_mask ? {keyMask: bool(t.key_mask)!} : {}),
          useCausalMask: c.call.use_causal_mask,
          returnAttentionScores: c.call.return_attention_scores,
        }) as tf.Tensor|tf.Tensor[];
        const [output, scores] = Array.isArray(out) ? out : [out];
        expect(await relativeError(output!, c.outputs.output)).toBeLessThanOrEqual(1e-5);
        if (c.outputs.scores) {
          expect(await relativeError(scores!, c.outputs.scores)).toBeLessThanOrEqual(1e-5);
        }
      });

  it("a Keras 2 config (query_shape, value_shape, key_shape) builds too, with Keras 2's rule", () => {
    // What tf.keras 2 writes for MultiHeadAttention(num_heads=2, key_dim=3) called on
    // (query [None, 5, 6], value [None, 4, 7]), keys in camelCase.
    const layer = deserialize({
      name: 'mha2', trainable: true, numHeads: 2, keyDim: 3, valueDim: 3, dropout: 0.0,
      useBias: true, outputShape: null, attentionAxes: [1],
      kernelInitializer: {className: 'GlorotUniform', config: {seed: null}},
      biasInitializer: {className: 'Zeros', config: {}}, kernelRegularizer: null,
      biasRegularizer: null, activityRegularizer: null, kernelConstraint: null,
      biasConstraint: null, queryShape: [null, 5, 6], keyShape: [null, 4, 7],
      valueShape: [null, 4, 7], softmaxRobustMasking: false,
    });
    expect(layer.built).toBe(true);
    expect(layer.fullyMaskedRows).toBe('average');
    expect(layer.weights.map(w => [w.originalName, w.shape])).toEqual([
      ['mha2/query/kernel', [6, 2, 3]], ['mha2/query/bias', [2, 3]],
      ['mha2/key/kernel', [7, 2, 3]], ['mha2/key/bias', [2, 3]],
      ['mha2/value/kernel', [7, 2, 3]], ['mha2/value/bias', [2, 3]],
      ['mha2/attention_output/kernel', [2, 3, 6]], ['mha2/attention_output/bias', [6]],
    ]);
    expect(layer.getConfig()['softmaxRobustMasking']).toBe(false);
  });

  it('a config built for other shapes refuses other inputs, naming them', () => {
    const layer = multiHeadAttention({numHeads: 2, keyDim: 3, queryShape: [null, 5, 6],
                                      valueShape: [null, 4, 7]});
    expect(() => layer.apply([tf.zeros([1, 5, 6]), tf.zeros([1, 4, 8])]))
        .toThrow(/built for value with 7 features\. Received: value with shape \[1,4,8\]/);
  });
});

describe('save → load', () => {
  /** Models that use the layer in each way a Keras node can. */
  const models: Array<[string, () => {model: tf.LayersModel, feed: tf.Tensor[]}]> = [
    ['self-attention (one tensor), causal, scores', () => {
      const x = tf.input({shape: [5, 6]});
      const out = multiHeadAttention({numHeads: 2, keyDim: 3, useGate: true, slidingWindow: 2})
                      .apply(x, {useCausalMask: true, returnAttentionScores: true}) as tf.SymbolicTensor[];
      return {model: tf.model({inputs: x, outputs: out}), feed: [tf.randomNormal([2, 5, 6])]};
    }],
    ['cross with key and an attention mask input, output shape [2, 3]', () => {
      const q = tf.input({shape: [4, 6]});
      const v = tf.input({shape: [3, 5]});
      const k = tf.input({shape: [3, 2]});
      const am = tf.input({shape: [4, 3]});
      const layer = multiHeadAttention({numHeads: 3, keyDim: 2, valueDim: 4, outputShape: [2, 3],
                                        dropout: 0.1, seed: 5, kernelRegularizer: 'l2',
                                        attentionPath: 'memoryEfficient', name: 'xattn'});
      const out = layer.apply(q, {value: v, key: k, attentionMask: am}) as tf.SymbolicTensor;
      expect(layer.inputOrder).toEqual(['query', 'value', 'key', 'attentionMask']);
      return {model: tf.model({inputs: [q, v, k, am], outputs: out}),
              feed: [tf.randomNormal([2, 4, 6]), tf.randomNormal([2, 3, 5]),
                     tf.randomNormal([2, 3, 2]),
                     tf.tensor3d([[[1, 0, 1], [0, 0, 0], [1, 1, 1], [1, 1, 0]],
                                  [[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]]])]};
    }],
    ['masked tokens through Masking, query and value, without biases', () => {
      const q = tf.input({shape: [4, 3]});
      const v = tf.input({shape: [5, 3]});
      const qm = tf.layers.masking({maskValue: 0}).apply(q) as tf.SymbolicTensor;
      const vm = tf.layers.masking({maskValue: 0}).apply(v) as tf.SymbolicTensor;
      const out = multiHeadAttention({numHeads: 1, keyDim: 4, useBias: false})
                      .apply([qm, vm]) as tf.SymbolicTensor;
      const zeroTail = (x: tf.Tensor, n: number) => tf.tidy(() => {
        const keep = tf.tensor2d([[...Array(n).fill(1), ...Array(x.shape[1]! - n).fill(0)],
                                  Array(x.shape[1]!).fill(1)]).expandDims(2);
        return tf.mul(x, keep);
      });
      return {model: tf.model({inputs: [q, v], outputs: out}),
              feed: [zeroTail(tf.randomNormal([2, 4, 3]), 2), zeroTail(tf.randomNormal([2, 5, 3]), 0)]};
    }],
  ];

  it.each(models)('%s predicts the same after tf.loadLayersModel', async (_name, make) => {
    const {model, feed} = make();
    const loaded = await saveAndLoad(model);
    const expected = [model.predict(feed)].flat() as tf.Tensor[];
    const actual = [loaded.predict(feed)].flat() as tf.Tensor[];
    expect(actual.length).toBe(expected.length);
    actual.forEach((a, i) => expectClose(a, expected[i]!.arraySync(), 0, 0));
    const original = model.layers.find(l => l instanceof MultiHeadAttention)!;
    const restored = loaded.layers.find(l => l instanceof MultiHeadAttention)!;
    expect(asJson(restored.getConfig())).toEqual(asJson(original.getConfig()));
    expect(restored.weights.map(w => w.originalName)).toEqual(original.weights.map(w => w.originalName));
  });

  it("the saved config uses Keras's snake_case keys and keeps the layout and constants", async () => {
    const x = tf.input({shape: [5, 6]});
    const am = tf.input({shape: [5, 5]});
    const out = multiHeadAttention({numHeads: 2, keyDim: 3, name: 'mha'})
                    .apply(x, {value: x, attentionMask: am, useCausalMask: true}) as tf.SymbolicTensor;
    let topology: Record<string, unknown>|null = null;
    await tf.model({inputs: [x, am], outputs: out}).save(tf.io.withSaveHandler(async a => {
      topology = a.modelTopology as Record<string, unknown>;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }));
    const layers = (topology!['config'] as {layers: Array<{class_name: string, config: Record<string, unknown>}>}).layers;
    const config = layers.find(l => l.class_name === 'MultiHeadAttention')!.config;
    expect(config).toMatchObject({num_heads: 2, key_dim: 3, value_dim: 3, use_bias: true,
                                  use_gate: false, output_shape: null, attention_axes: [1],
                                  sliding_window: null, use_causal_mask: true,
                                  return_attention_scores: false,
                                  input_order: ['query', 'value', 'attention_mask'],
                                  query_shape: [null, 5, 6], value_shape: [null, 5, 6],
                                  key_shape: [null, 5, 6]});
  });
});

describe('a model records what its symbolic calls pass', () => {
  it('the first call sets the constants and layout; a later call that differs is refused', () => {
    const x = tf.input({shape: [3, 4]});
    const layer = multiHeadAttention({numHeads: 1, keyDim: 2});
    layer.apply(x, {value: x, useCausalMask: true, returnAttentionScores: true});
    expect([layer.useCausalMask, layer.returnAttentionScores]).toEqual([true, true]);
    expect(layer.inputOrder).toEqual(['query', 'value']);
    expect(() => layer.apply(x, {value: x, useCausalMask: false}))
        .toThrow(/in a model every call of a layer uses the layer's useCausalMask.*has useCausalMask=true\. Received: useCausalMask=false/);
    const y = tf.input({shape: [3, 4]});
    expect(() => layer.apply(x, {value: y, key: y}))
        .toThrow(/inputOrder=\["query","value"\]\. Received: inputOrder=\["query","value","key"\]/);
    // The same settings again are fine (a shared layer).
    expect(() => layer.apply(y, {value: x, returnAttentionScores: true})).not.toThrow();
  });

  it('tensors in the keyword arguments become positional inputs of the node', () => {
    const q = tf.input({shape: [3, 4]});
    const v = tf.input({shape: [2, 5]});
    const layer = multiHeadAttention({numHeads: 1, keyDim: 2});
    const out = layer.apply(q, {value: v}) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, 3, 4]);
    expect(layer.inboundNodes[0]!.inputTensors.map(t => t.name)).toEqual([q.name, v.name]);
    expect(layer.inboundNodes[0]!.callArgs).toEqual({});
  });
});

describe('getConfig → fromConfig', () => {
  const variants: MultiHeadAttentionArgs[] = [
    {numHeads: 2, keyDim: 3},
    {numHeads: 3, keyDim: 2, valueDim: 5, outputShape: [4, 2], useBias: false, useGate: true,
     slidingWindow: 3, dropout: 0.25, seed: 7, attentionAxes: -2},
    {numHeads: 1, keyDim: 4, kernelInitializer: 'heNormal', biasInitializer: 'ones',
     kernelRegularizer: 'l1l2', biasRegularizer: 'l2', activityRegularizer: 'l2',
     kernelConstraint: 'nonNeg', biasConstraint: 'maxNorm', fullyMaskedRows: 'zeros',
     useCausalMask: true, returnAttentionScores: true, inputOrder: ['query', 'value', 'valueMask'],
     attentionPath: 'fast', memoryBudgetBytes: 1024, name: 'custom', trainable: false},
  ];
  it.each(variants)('%j', args => {
    const layer = multiHeadAttention(args);
    const config = JSON.parse(JSON.stringify(layer.getConfig()));
    const copy = deserialize(config);
    expect(copy.getConfig()).toEqual(layer.getConfig());
  });
});
