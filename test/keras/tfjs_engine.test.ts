/**
 * The tfjs 4.22 executor problems the Keras loader works around (src/keras/layers/keras_call.ts),
 * each first shown on a minimal tfjs model, then on a Keras graph with the same shape loaded by
 * loadKerasModel:
 * 1. a node that lists one tensor twice, followed by another user of it, has that tensor freed
 *    too early in `predict` ("Tensor is disposed");
 * 2. per-node call arguments never reach `call` in `predict`;
 * 3. once one layer had a mask, every later layer gets a mask in `predict`, masked input or not.
 * If a tfjs release fixes one, its first test fails: the workaround can then go.
 */
import * as tf from '@tensorflow/tfjs';

import {loadKerasModel} from '../../src';

/** Adds its two inputs; records the kwargs of its calls. */
class Pair extends tf.layers.Layer {
  static className = 'TestPair';
  readonly seen: Array<Record<string, unknown>> = [];
  override computeOutputShape(s: Array<Array<number|null>>) {
    return s[0]!;
  }
  override call(inputs: tf.Tensor[], kwargs: Record<string, unknown>) {
    this.seen.push({...kwargs});
    return tf.tidy(() => tf.add(inputs[0]!, inputs[1]!));
  }
}
tf.serialization.registerClass(Pair);

/** Identity; records whether each call got a mask. */
class Probe extends tf.layers.Layer {
  static className = 'TestProbe';
  readonly masks: boolean[] = [];
  override call(inputs: tf.Tensor|tf.Tensor[], kwargs: Record<string, unknown>) {
    this.masks.push(kwargs['mask'] != null);
    return tf.tidy(() => tf.clone(Array.isArray(inputs) ? inputs[0]! : inputs));
  }
}
tf.serialization.registerClass(Probe);

/** A Keras 3 functional config from [class, name, config, args, kwargs] rows. */
function keras3(layers: Array<[string, string, object, unknown[], object?]>, inputs: string[],
                outputs: string[]) {
  const t = (name: string) => ({class_name: '__keras_tensor__',
                                config: {shape: null, dtype: 'float32', keras_history: [name, 0, 0]}});
  const wrap = (v: unknown): unknown => (typeof v === 'string' ? t(v) :
                                         Array.isArray(v) ? v.map(wrap) : v);
  return {
    modelTopology: {keras_version: '3.15.1', model_config: {class_name: 'Functional', config: {
      name: 'm', trainable: true, input_layers: inputs.map(n => [n, 0, 0]),
      output_layers: outputs.map(n => [n, 0, 0]),
      layers: layers.map(([cls, name, config, args, kwargs]) => ({
        class_name: cls, name, config: {name, trainable: true, ...config},
        inbound_nodes: cls === 'InputLayer' ? [] :
            [{args: args.map(wrap), kwargs: Object.fromEntries(
                Object.entries(kwargs ?? {}).map(([k, v]) => [k, wrap(v)]))}]})),
    }}},
  };
}

function memoryHandler(json: {modelTopology: object}, specs: tf.io.WeightsManifestEntry[] = [],
                       data = new ArrayBuffer(0)): tf.io.IOHandler {
  return tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs: specs, weightData: data});
}

describe('1: a node that lists one tensor twice', () => {
  test('tfjs: predict frees the tensor before its next user reads it', () => {
    const x = tf.input({shape: [3]});
    const h = tf.layers.dense({units: 3}).apply(x) as tf.SymbolicTensor;
    const p = new Pair({}).apply([h, h]) as tf.SymbolicTensor;
    const model = tf.model({inputs: x, outputs: tf.layers.add().apply([h, p]) as tf.SymbolicTensor});
    const input = tf.ones([2, 3]);
    expect(() => model.predict(input)).toThrow(/disposed/);
    input.dispose();
    model.dispose();
  });

  test('loaded from Keras: mha(h, h) + Add([h, mha]) predicts, twice', async () => {
    const json = keras3([
      ['InputLayer', 'x', {batch_shape: [null, 4, 6], dtype: 'float32'}, []],
      ['Dense', 'h', {units: 6}, ['x']],
      ['MultiHeadAttention', 'mha', {num_heads: 2, key_dim: 3}, ['h', 'h']],
      ['Add', 'res', {}, [['h', 'mha']]],
    ], ['x'], ['res']);
    const model = await loadKerasModel(memoryHandler(json), {strict: false});
    const input = tf.randomNormal([2, 4, 6]);
    for (let i = 0; i < 2; i++) {
      const out = model.predict(input) as tf.Tensor;
      expect(out.shape).toEqual([2, 4, 6]);
      expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
      out.dispose();
    }
    input.dispose();
    model.dispose();
  });
});

describe('2: per-node call arguments', () => {
  test('tfjs: an argument given at the symbolic call never reaches call() in predict', () => {
    const x = tf.input({shape: [3]});
    const pair = new Pair({});
    const model = tf.model({inputs: x, outputs: pair.apply([x, x], {flag: true}) as tf.SymbolicTensor});
    const input = tf.ones([1, 3]);
    tf.dispose(model.predict(input));
    expect(pair.seen.at(-1)!['flag']).toBeUndefined();
    input.dispose();
    model.dispose();
  });

  test('loaded from Keras: use_causal_mask=True holds in predict', async () => {
    const config = (causal: boolean) => keras3([
      ['InputLayer', 'x', {batch_shape: [null, 5, 4], dtype: 'float32'}, []],
      ['MultiHeadAttention', 'mha', {num_heads: 1, key_dim: 4}, ['x', 'x'],
       {use_causal_mask: causal, return_attention_scores: true}],
    ], ['x'], ['mha']);
    const json = config(true);
    (json.modelTopology.model_config.config.output_layers as unknown[]).push(['mha', 0, 1]);
    const model = await loadKerasModel(memoryHandler(json), {strict: false});
    const input = tf.randomNormal([1, 5, 4]);
    const [, scores] = model.predict(input) as tf.Tensor[];
    const s = scores!.arraySync() as number[][][][];
    for (let i = 0; i < 5; i++) {
      for (let j = i + 1; j < 5; j++) {
        expect(s[0]![0]![i]![j]).toBe(0);  // no query attends a later key
      }
    }
    tf.dispose([scores, input]);
    model.dispose();
  });
});

describe('3: masks in predict', () => {
  test('tfjs: a layer after one that drops the mask still gets a mask', () => {
    const t = tf.input({shape: [4], dtype: 'int32'});
    const e = tf.layers.embedding({inputDim: 5, outputDim: 2, maskZero: true}).apply(t) as tf.SymbolicTensor;
    const f = tf.layers.flatten().apply(e) as tf.SymbolicTensor;  // drops the mask
    const r = tf.layers.reshape({targetShape: [4, 2]}).apply(f) as tf.SymbolicTensor;
    const probe = new Probe({});
    const model = tf.model({inputs: t, outputs: probe.apply(r) as tf.SymbolicTensor});
    const input = tf.tensor2d([[1, 2, 0, 0]], [1, 4], 'int32');
    tf.dispose(model.predict(input));
    expect(probe.masks.at(-1)).toBe(true);
    input.dispose();
    model.dispose();
  });

  test('loaded from Keras: the same graph averages over every step (the mask is gone)', async () => {
    const json = keras3([
      ['InputLayer', 't', {batch_shape: [null, 4], dtype: 'int32'}, []],
      ['Embedding', 'e', {input_dim: 5, output_dim: 2, mask_zero: true}, ['t']],
      ['Flatten', 'f', {}, ['e']],
      ['Reshape', 'r', {target_shape: [4, 2]}, ['f']],
      ['GlobalAveragePooling1D', 'pool', {}, ['r']],
    ], ['t'], ['pool']);
    const table = new Float32Array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    const model = await loadKerasModel(memoryHandler(
        json, [{name: 'e/embeddings', shape: [5, 2], dtype: 'float32'}], table.buffer));
    const input = tf.tensor2d([[1, 2, 0, 0]], [1, 4], 'int32');
    const out = model.predict(input) as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual([0.75, 0.75]);  // (1 + 2 + 0 + 0) / 4
    tf.dispose([out, input]);
    model.dispose();
  });
});
