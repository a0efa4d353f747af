/**
 * MultiHeadAttention against files tensorflowjs_converter 4.22 wrote from Keras 3 models
 * (../shared/keras/converted/, ../shared/keras/real/): the layer built from each file's own
 * Keras config has exactly the weight names, shapes and order of the file's manifest, so weights
 * load by name; where a model is one MultiHeadAttention on its inputs, the file's weights give
 * Keras's outputs (≤ 1e-5 of max(1, |Keras|)) on cpu and wasm.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {MultiHeadAttention, MultiHeadAttentionArgs, useBestBackend} from '../../src';
import {camel, relativeError} from '../helpers/keras_mha_fixtures';
import {sharedPath} from '../helpers/shared';

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
}

interface KerasTensorRef {
  class_name: '__keras_tensor__';
  config: {shape: Array<number|null>, dtype: string, keras_history: [string, number, number]};
}

interface LayerEntry {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<{args: KerasTensorRef[], kwargs: Record<string, unknown>}>;
}

/** A converter folder: its MultiHeadAttention layers, manifest and weights by name. */
function readModel(folder: string) {
  const dir = sharedPath(folder);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const topology = json.modelTopology.model_config ?? json.modelTopology;
  const layers = topology.config.layers as LayerEntry[];
  const manifest = (json.weightsManifest as Array<{paths: string[], weights: ManifestWeight[]}>);
  const weights = new Map<string, Float32Array>();
  let offset = 0;
  for (const group of manifest) {
    const data = Buffer.concat(group.paths.map(p => fs.readFileSync(path.join(dir, p))));
    for (const w of group.weights) {
      expect(w.dtype).toBe('float32');
      const size = w.shape.reduce((a, b) => a * b, 1);
      weights.set(w.name, new Float32Array(data.buffer.slice(data.byteOffset + offset,
                                                              data.byteOffset + offset + 4 * size)));
      offset += 4 * size;
    }
    offset = 0;
  }
  return {dir, json, layers, manifest: manifest.flatMap(g => g.weights), weights};
}

/** The query, value and key refs of a Keras 3 node (positional or keyword). */
function nodeInputs(entry: LayerEntry) {
  const node = entry.inbound_nodes[0]!;
  const kw = node.kwargs as Record<string, KerasTensorRef|undefined>;
  const query = node.args[0] ?? kw['query']!;
  const value = node.args[1] ?? kw['value']!;
  return {query, value, key: kw['key'] ?? null, attentionMask: kw['attention_mask'] ?? null,
          kwargs: node.kwargs};
}

/**
 * The layer from the file's Keras config: keys in camelCase, Keras 3's DTypePolicy and
 * `module`/`registered_name` initializer forms in tfjs's, built for the node's input shapes.
 */
function layerFrom(entry: LayerEntry): MultiHeadAttention {
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry.config)) {
    if (k === 'dtype') {
      continue;
    }
    const value = v as {class_name?: string, config?: unknown}|null;
    args[camel(k)] = value != null && typeof value === 'object' && 'class_name' in value ?
        {className: value.class_name, config: {}} : v;
  }
  const {query, value, key} = nodeInputs(entry);
  args['queryShape'] = query.config.shape;
  args['valueShape'] = value.config.shape;
  args['keyShape'] = (key ?? value).config.shape;
  args['fullyMaskedRows'] = 'keras3';
  return new MultiHeadAttention(args as unknown as MultiHeadAttentionArgs);
}

const CONVERTED = ['encoder_masked', 'cross_key', 'causal_scores', 'attention_mask_dropout',
                   'attention_mask_nodropout'].map(n => `keras/converted/${n}`);
const REAL = ['editorjakupi__smartfood__lstm', 'itzluthfi__IsyaratLive__ml-gloss-classifier']
                 .map(n => `keras/real/${n}`);

describe("weight names, shapes and order are the converter's", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([...CONVERTED, ...REAL])('%s', folder => {
    const {layers, manifest} = readModel(folder);
    const entries = layers.filter(l => l.class_name === 'MultiHeadAttention');
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      const layer = layerFrom(entry);
      const expected = manifest.filter(w => w.name.startsWith(`${entry.name}/`))
                           .map(w => [w.name, w.shape]);
      expect(layer.weights.map(w => [w.originalName, w.shape])).toEqual(expected);
      layer.dispose();
    }
  });

  it("the hand export's weights (get_weights() order) are in the layer's order", () => {
    const {layers, manifest} = readModel(
        'keras/real/itzluthfi__IsyaratLive__gloss-classifier-v7-early-handexport');
    const entry = layers.find(l => l.class_name === 'MultiHeadAttention')!;
    const layer = layerFrom(entry);
    const exported = manifest.filter(w => w.name.startsWith(`${entry.name}/weight_`));
    expect(layer.weights.map(w => w.shape)).toEqual(exported.map(w => w.shape));
    layer.dispose();
  });
});

describe.each(['cpu', 'wasm'])("converted single-layer models give Keras's outputs on %s", backend => {
  beforeAll(async () => {
    expect((await useBestBackend({order: [backend]})).backend).toBe(backend);
  });

  it.each(['cross_key', 'causal_scores', 'attention_mask_dropout', 'attention_mask_nodropout'])(
      '%s', async name => {
        const before = tf.memory().numTensors;
        const {dir, json, layers, weights} = readModel(`keras/converted/${name}`);
        const reference = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as
            {inputs: unknown[], input_dtypes: string[], outputs: Array<{shape: number[], values: number[]}|unknown>};
        const entry = layers.find(l => l.class_name === 'MultiHeadAttention')!;
        const layer = layerFrom(entry);
        tf.tidy(() => layer.setWeights(layer.weights.map(w =>
            tf.tensor(weights.get(w.originalName)!, w.shape as number[]))));
        const inputs = reference.inputs.map((x, i) => reference.input_dtypes[i] === 'bool' ?
            tf.tensor(x as number[], undefined, 'bool') : tf.tensor(x as number[]));
        // The model's inputs by name, in the order of its input layers.
        const config = (json.modelTopology.model_config ?? json.modelTopology).config;
        const inputLayers = (typeof config.input_layers[0] === 'string' ? [config.input_layers] :
                             config.input_layers) as Array<[string, number, number]>;
        const byName = new Map(inputLayers.map(([n], i) => [n, inputs[i]!]));
        const tensorOf = (ref: KerasTensorRef|null) =>
            ref == null ? null : byName.get(ref.config.keras_history[0])!;
        const node = nodeInputs(entry);
        const key = tensorOf(node.key);
        const attentionMask = tensorOf(node.attentionMask);
        const out = layer.apply(tensorOf(node.query)!, {
          value: tensorOf(node.value)!, ...(key ? {key} : {}),
          ...(attentionMask ? {attentionMask} : {}),
          useCausalMask: node.kwargs['use_causal_mask'] === true,
          returnAttentionScores: node.kwargs['return_attention_scores'] === true,
        }) as tf.Tensor|tf.Tensor[];
        const outputs = Array.isArray(out) ? out : [out];
        const expected = reference.outputs as unknown[];
        expect(outputs.length).toBe(expected.length);
        for (let i = 0; i < outputs.length; i++) {
          const e = expected[i] as number[];
          const values = flat(e);
          const error = await relativeError(outputs[i]!, {shape: outputs[i]!.shape, values});
          expect(error).toBeLessThanOrEqual(1e-5);
        }
        tf.dispose([...outputs, ...inputs]);
        layer.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
});

function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}
