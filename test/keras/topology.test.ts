/**
 * planKerasModel on Keras configs written by hand in each of Keras's forms: tf.keras 2 nodes with
 * tensor kwargs, Keras 3 `.keras`-style layers (module, registered_name, build_config), a
 * Sequential without an InputLayer, shared layers; planning is pure (no tensor or variable), and
 * what it plans builds and computes the right thing.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {buildKerasModel, KerasConfigError, KerasUnsupportedError, planKerasModel, useBestBackend} from '../../src';
import {census, FIXTURES} from '../helpers/keras_models';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit Keras configs' fields freely
type Json = Record<string, any>;

beforeAll(async () => {
  await useBestBackend({order: ['cpu']});
});

function fixtureConfig(name: string): Json {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'model.json'), 'utf8'))
      .modelTopology.model_config;
}

/** A tf.keras 2 layer entry. */
function k2(cls: string, name: string, config: Json, node?: Array<[string, Json?]>): Json {
  return {class_name: cls, name, config: {name, trainable: true, dtype: 'float32', ...config},
          inbound_nodes: node === undefined ? [] : [node.map(([from, kw]) => [from, 0, 0, kw ?? {}])]};
}

function functional(layers: Json[], inputs: string[], outputs: string[]): Json {
  return {class_name: 'Functional', config: {name: 'm', layers,
                                             input_layers: inputs.map(n => [n, 0, 0]),
                                             output_layers: outputs.map(n => [n, 0, 0])}};
}

test('planning creates no tensor and no variable', () => {
  const before = census();
  const plan = planKerasModel(fixtureConfig('text_encoder'));
  expect(plan.kerasVersion).toBe(3);
  expect(plan.weights.length).toBe(35);  // embedding 1, two blocks of 16, classes 2
  expect(census()).toEqual(before);
});

test('tf.keras 2 kwargs tensors: mha(q, value=v, key=k, attention_mask=m)', () => {
  const config = functional([
    k2('InputLayer', 'q', {batch_input_shape: [null, 3, 4]}),
    k2('InputLayer', 'v', {batch_input_shape: [null, 5, 4]}),
    k2('InputLayer', 'k', {batch_input_shape: [null, 5, 2]}),
    k2('InputLayer', 'm', {batch_input_shape: [null, 3, 5], dtype: 'bool'}),
    k2('MultiHeadAttention', 'mha', {num_heads: 2, key_dim: 3, query_shape: [null, 3, 4]},
       [['q', {value: ['v', 0, 0], key: ['k', 0, 0], attention_mask: ['m', 0, 0]}]]),
  ], ['q', 'v', 'k', 'm'], ['mha']);
  const plan = planKerasModel(config);
  expect(plan.kerasVersion).toBe(2);
  const mha = plan.layers.find(l => l.name === 'mha')!;
  expect(mha.className).toBe('KerasCall');  // the attention mask is a keyword tensor
  const inner = (mha.config['layer'] as Json)['config'];
  expect(inner.fullyMaskedRows).toBe('average');  // tf.keras 2's rule for rows with no key
  const node = plan.nodes.find(n => n.layer === 'mha')!;
  const ids = Object.fromEntries(plan.inputs.map(i => [i.name, i.id]));
  expect(node.inputs).toEqual([ids['q'], ids['v'], ids['k'], ids['m']]);
  expect(mha.config['inputs']).toEqual({list: [{input: 0}, {input: 1}, {input: 2}]});
  expect(mha.config['kwargs']).toEqual({attentionMask: {input: 3}});
});

test('Keras 3 .keras-style entries (module, registered_name, build_config) read the same', () => {
  const plain = planKerasModel(fixtureConfig('ops_constants'));
  const config = fixtureConfig('ops_constants');
  for (const l of config.config.layers) {
    const isOp = !('trainable' in l.config) && l.class_name !== 'InputLayer';
    l.module = isOp ? 'keras.src.ops.numpy' : 'keras.layers';
    l.registered_name = null;
    l.build_config = {input_shape: [null, 4, 3]};
  }
  const rich = planKerasModel(config);
  expect(rich.layers.map(l => [l.name, l.className])).toEqual(plain.layers.map(l => [l.name, l.className]));
  expect(rich.nodes).toEqual(plain.nodes);
});

test('a tf.keras 2 Sequential whose first layer carries batch_input_shape', () => {
  const plan = planKerasModel({class_name: 'Sequential', config: {name: 's', layers: [
    {class_name: 'Dense', config: {name: 'a', units: 3, batch_input_shape: [null, 5],
                                   trainable: true, dtype: 'float32'}},
    {class_name: 'Dense', config: {name: 'b', units: 1, trainable: true, dtype: 'float32'}},
  ]}}, {kerasVersion: '2.15.0'});
  expect(plan.inputs).toEqual([{name: 'a_input', id: 't0', batchShape: [null, 5], dtype: 'float32'}]);
  expect(plan.nodes.map(n => n.layer)).toEqual(['a', 'b']);
});

test('a layer called twice shares its weights', () => {
  const t = (n: string) => ({class_name: '__keras_tensor__', config: {keras_history: [n, 0, 0]}});
  const config = functional([
    {class_name: 'InputLayer', name: 'a', config: {name: 'a', batch_shape: [null, 2]}, inbound_nodes: []},
    {class_name: 'InputLayer', name: 'b', config: {name: 'b', batch_shape: [null, 2]}, inbound_nodes: []},
    {class_name: 'Dense', name: 'd', config: {name: 'd', units: 2, trainable: true},
     inbound_nodes: [{args: [t('a')], kwargs: {}}, {args: [t('b')], kwargs: {}}]},
  ], ['a', 'b'], ['d']);
  config.config.output_layers = [['d', 0, 0], ['d', 1, 0]];
  const plan = planKerasModel(config);
  expect(plan.layers.filter(l => l.name === 'd').length).toBe(1);
  expect(plan.nodes.filter(n => n.layer === 'd').length).toBe(2);
  const {model, weights} = buildKerasModel(plan);
  expect(weights.length).toBe(2);
  const x = tf.tensor2d([[1, 2]]);
  const [ya, yb] = model.predict([x, x]) as tf.Tensor[];
  expect(Array.from(ya!.dataSync())).toEqual(Array.from(yb!.dataSync()));
  tf.dispose([x, ya, yb]);
  model.dispose();
});

test('a shared layer whose calls differ in masks is reported', () => {
  const t = (n: string) => ({class_name: '__keras_tensor__', config: {keras_history: [n, 0, 0]}});
  const layer = (cls: string, name: string, config: Json, args: unknown[]) =>
      ({class_name: cls, name, config: {name, trainable: true, ...config},
        inbound_nodes: [{args, kwargs: {}}]});
  const config = functional([
    {class_name: 'InputLayer', name: 'x', config: {name: 'x', batch_shape: [null, 4], dtype: 'int32'},
     inbound_nodes: []},
    layer('Embedding', 'masked', {input_dim: 5, output_dim: 3, mask_zero: true}, [t('x')]),
    layer('Embedding', 'plain', {input_dim: 5, output_dim: 3}, [t('x')]),
    {class_name: 'GlobalAveragePooling1D', name: 'pool', config: {name: 'pool', trainable: true},
     inbound_nodes: [{args: [t('masked')], kwargs: {}}, {args: [t('plain')], kwargs: {}}]},
  ], ['x'], ['pool']);
  config.config.output_layers = [['pool', 0, 0], ['pool', 1, 0]];
  expect(() => planKerasModel(config)).toThrow(KerasUnsupportedError);
  expect(() => planKerasModel(config)).toThrow(/shared layer called with different arguments or masks.*'pool'/s);
});

test('malformed configs name where they are wrong', () => {
  expect(() => planKerasModel({class_name: 'Functional', config: {layers: 3}}, {source: 'x.json'}))
      .toThrow(new KerasConfigError('x.json: model_config.config.layers: must be a list of layers. Received: 3'));
  expect(() => planKerasModel({class_name: 'MyModel', config: {}}))
      .toThrow(/the model is a 'MyModel'; a Keras file holds a 'Functional'/);
  const cyclic = functional([
    {class_name: 'InputLayer', name: 'x', config: {name: 'x', batch_shape: [null, 2]}, inbound_nodes: []},
    k2('Dense', 'a', {units: 2}, [['b']]),
    k2('Dense', 'b', {units: 2}, [['a']]),
  ], ['x'], ['b']);
  expect(() => planKerasModel(cyclic)).toThrow(/cycle/);
});
