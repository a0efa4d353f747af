/**
 * saveKerasModel / saveKerasWeights / loadKerasWeights in Node: what the archive holds (Keras's
 * members, metadata and config form, Keras's node numbering for nested models), the weights
 * read back exactly (by jsfive, an HDF5 reader independent of the writer), the destinations
 * (paths replaced atomically, sinks, bad names), and errors: a layer Keras cannot express fails
 * before anything is written, and a weights file that does not fit the model changes nothing,
 * names the file, the layer and the weight, and leaks no tensor.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import {strToU8, unzipSync, zipSync} from 'fflate';

import {kerasConfig, KerasObject, kerasWeightLayout, loadKerasWeights, multiHeadAttention,
        positionalEmbedding, saveKerasModel, saveKerasWeights, selfAttention, tokenEmbedding} from '../../src';
import {seedWeights, TEST_MODELS} from '../helpers/keras_file_models';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-file-'));
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

async function bytesOf(save: (sink: {write(b: Uint8Array, n: string): void}) => Promise<unknown>):
    Promise<{bytes: Uint8Array, name: string}> {
  let out: {bytes: Uint8Array, name: string} = {bytes: new Uint8Array(0), name: ''};
  await save({write: (bytes, name) => { out = {bytes, name}; }});
  return out;
}

function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map(w => w.dataSync() as Float32Array);
}

/** Every key anywhere in a JSON value. */
function allKeys(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    value.forEach(v => allKeys(v, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      allKeys(v, out);
    }
  }
  return out;
}

describe('the .keras archive saveKerasModel writes', () => {
  it("holds Keras's three members, metadata with a Keras version and date, stored", async () => {
    const {model} = TEST_MODELS['conv_text']!();
    const {bytes, name} = await bytesOf(sink => saveKerasModel(model, sink));
    expect(name).toBe('model.keras');
    const members = unzipSync(bytes);
    expect(Object.keys(members)).toEqual(['metadata.json', 'config.json', 'model.weights.h5']);
    const metadata = JSON.parse(new TextDecoder().decode(members['metadata.json']));
    expect(Object.keys(metadata).sort()).toEqual(['date_saved', 'keras_version']);
    expect(metadata.keras_version).toMatch(/^3\.\d+\.\d+$/);
    expect(metadata.date_saved).toMatch(/^\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d$/);
    expect(Array.from(members['model.weights.h5']!.subarray(0, 8)))
        .toEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    // stored (method 0) like Keras's own: the member's bytes appear in the archive as they are
    expect(Buffer.from(bytes).includes(Buffer.from(members['config.json']!))).toBe(true);
  });

  it("writes Keras's config form: modules, snake_case keys, no tfjs-only or newer-Keras keys", async () => {
    const {model} = TEST_MODELS['conv_text']!();
    const config = await kerasConfig(model);
    expect(config).toMatchObject({module: 'keras.src.models.functional', class_name: 'Functional',
                                  registered_name: 'Functional'});
    const layers = config.config['layers'] as KerasObject[];
    expect(layers.map(l => l.class_name).sort()).toEqual([
      'BatchNormalization', 'Concatenate', 'Conv1D', 'Dense', 'Dense', 'Embedding',
      'GlobalAveragePooling1D', 'GlobalMaxPooling1D', 'InputLayer', 'MaxPooling1D']);
    for (const layer of layers) {
      expect(Object.keys(layer).sort()).toEqual(
          ['class_name', 'config', 'inbound_nodes', 'module', 'name', 'registered_name']);
      expect(layer.module).toBe('keras.layers');
    }
    const keys = allKeys(config);
    for (const key of ['batchInputShape', 'inputDType', 'kernelInitializer', 'useBias',
                       'quantization_config', 'optional', 'use_gate', 'sliding_window',
                       'input_axes', 'output_axes', 'build_config']) {
      expect(keys).not.toContain(key);
    }
    const conv = layers.find(l => l.class_name === 'Conv1D')!.config;
    expect(conv).toMatchObject({filters: 5, kernel_size: [3], padding: 'same', activation: 'relu',
                                data_format: 'channels_last', use_bias: true});
    expect(layers[1]!.inbound_nodes).toEqual([{args: [{class_name: '__keras_tensor__', config: {
      shape: [null, 8], dtype: 'int32', keras_history: ['tokens', 0, 0]}}], kwargs: {}}]);
    // a merge layer takes its inputs as one list argument
    const cat = layers.find(l => l.class_name === 'Concatenate')!;
    expect((cat.inbound_nodes![0] as {args: unknown[][]}).args[0]).toHaveLength(2);
  });

  it("numbers a nested model's calls as Keras does (from 0; output_layers from 1 for a Functional)",
     async () => {
       const {model} = TEST_MODELS['nested']!();
       const config = await kerasConfig(model);
       const layers = config.config['layers'] as KerasObject[];
       const history = (name: string) => (layers.find(l => l.name === name)!.inbound_nodes as
           Array<{args: Array<{config: {keras_history: unknown[]}}>}>).map(n => n.args[0]!.config.keras_history);
       // tfjs counts the nested model's own node: these are inner's calls 1 and 2 there
       expect(history('inner')).toEqual([['pre', 0, 0], ['x', 0, 0]]);
       expect(history('seq')).toEqual([['inner', 0, 0]]);
       expect(config.config['output_layers']).toEqual([['seq', 0, 0], ['inner', 2, 0]]);
       const inner = layers.find(l => l.name === 'inner')!;
       expect(inner).toMatchObject({class_name: 'Functional', module: 'keras.src.models.functional'});
       const seq = layers.find(l => l.name === 'seq')!;
       expect(seq).toMatchObject({class_name: 'Sequential', module: 'keras'});
       expect((seq.config['layers'] as KerasObject[]).map(l => l.class_name))
           .toEqual(['InputLayer', 'Dense']);
     });

  it('writes SelfAttention as MultiHeadAttention: 3-D kernels, the call as mha(x, x, …)', async () => {
    const {model} = TEST_MODELS['attention_variants']!();
    const layers = (await kerasConfig(model)).config['layers'] as KerasObject[];
    const causal = layers.find(l => l.name === 'causal')!;
    expect(causal.class_name).toBe('MultiHeadAttention');
    expect(causal.config).toMatchObject({num_heads: 2, key_dim: 3, value_dim: 3, use_bias: false,
                                         output_shape: null});
    const node = causal.inbound_nodes![0] as {args: Array<{config: {keras_history: unknown[]}}>, kwargs: object};
    expect(node.args.map(a => a.config.keras_history)).toEqual([['x', 0, 0], ['x', 0, 0]]);
    expect(node.kwargs).toEqual({use_causal_mask: true, return_attention_scores: true});
    const cross = layers.find(l => l.name === 'cross')!;
    expect(cross.config).toMatchObject({num_heads: 3, key_dim: 4, value_dim: 5, output_shape: 7,
                                        use_bias: true});
    const layout = await kerasWeightLayout(model);
    const shapes = Object.fromEntries(layout.map(s => [s.name, s.path]));
    expect(shapes['cross/query/kernel']).toBe('layers/multi_head_attention_1/query_dense/vars/0');
    expect(shapes['cross/attention_output/bias']).toBe('layers/multi_head_attention_1/output_dense/vars/1');
  });
});

describe('weights saved and read back', () => {
  it.each(Object.keys(TEST_MODELS))('%s: .weights.h5 and .keras hold every weight exactly', async name => {
    const {model} = TEST_MODELS[name]!();
    const expected = weightValues(model);
    const weights = await bytesOf(sink => saveKerasWeights(model, sink));
    expect(weights.name).toBe('model.weights.h5');
    const archive = await bytesOf(sink => saveKerasModel(model, sink));
    for (const file of [weights.bytes, archive.bytes]) {
      const {model: other} = TEST_MODELS[name]!();
      seedWeights(other, 999);
      expect(weightValues(other)[0]).not.toEqual(expected[0]);
      const before = tf.memory().numTensors;
      await loadKerasWeights(other, file);
      expect(tf.memory().numTensors).toBe(before);
      weightValues(other).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(expected[i]!)));
      other.dispose();
    }
  });

  it('a model of 300 layers (groups with more entries than one B-tree node holds)', async () => {
    const layers = Array.from({length: 300}, (_, i) =>
        tf.layers.dense({units: 2, ...(i === 0 && {inputShape: [2]}), name: `d${i}`}));
    const model = tf.sequential({layers});
    const expected = weightValues(model);
    const {bytes} = await bytesOf(sink => saveKerasWeights(model, sink));
    model.setWeights(model.getWeights().map(w => tf.zerosLike(w)));
    await loadKerasWeights(model, bytes);
    weightValues(model).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(expected[i]!)));
    const layout = await kerasWeightLayout(model);
    expect(layout.find(s => s.name === 'd299/bias')!.path).toBe('layers/dense_299/vars/1');
  });
});

describe('destinations', () => {
  it('writes a path (file:// or plain), creating folders, and replaces an existing file', async () => {
    const {model} = TEST_MODELS['sequential_mlp']!();
    const file = path.join(dir, 'a', 'b', 'model.keras');
    const result = await saveKerasModel(model, `file://${file}`);
    expect(result).toEqual({path: file, bytes: fs.statSync(file).size});
    const first = fs.readFileSync(file);
    seedWeights(model, 77);
    await saveKerasModel(model, file);
    expect(fs.readFileSync(file).equals(first)).toBe(false);
    const {model: check} = TEST_MODELS['sequential_mlp']!();
    await loadKerasWeights(check, file);
    weightValues(check).forEach((w, i) => expect(w).toEqual(weightValues(model)[i]));
    expect(fs.readdirSync(path.dirname(file))).toEqual(['model.keras']);  // no temporary files left
  });

  it("removes the temporary file a killed save left (its process gone), not a live one's", async () => {
    const {model} = TEST_MODELS['sequential_mlp']!();
    const folder = fs.mkdtempSync(path.join(dir, 'stale-'));
    const dead = path.join(folder, '.model.keras.tmp-999999999-abc');
    const live = path.join(folder, `.model.keras.tmp-${process.ppid}-def`);
    fs.writeFileSync(dead, 'partial');
    fs.writeFileSync(live, 'in progress');
    await saveKerasModel(model, path.join(folder, 'model.keras'));
    expect(fs.readdirSync(folder).sort()).toEqual([path.basename(live), 'model.keras']);
  });

  it.each([
    ['model.h5', /must end in '\.keras'/],
    ['file://models/.keras', /must end in '\.keras'/],
    ['http://example.com/model.keras', /saving to http:\/\/ is not supported/],
    ['downloads://model.keras', /needs a browser page/],
    ['downloads://a/model.keras', /without folders/],
    ['', /destination must be a path/],
  ])('refuses %j with a clear error', async (destination, message) => {
    const {model} = TEST_MODELS['sequential_mlp']!();
    await expect(saveKerasModel(model, destination)).rejects.toThrow(message);
  });

  it('refuses a folder as the target, a non-model and weights names without .weights.h5', async () => {
    const {model} = TEST_MODELS['sequential_mlp']!();
    fs.mkdirSync(path.join(dir, 'folder.keras'));
    await expect(saveKerasModel(model, path.join(dir, 'folder.keras'))).rejects.toThrow(/is a folder/);
    await expect(saveKerasModel({} as tf.LayersModel, 'x.keras'))
        .rejects.toThrow(/model must be a tf.LayersModel.*Received: an object of class Object/);
    await expect(saveKerasWeights(model, path.join(dir, 'w.h5')))
        .rejects.toThrow(/must end in '\.weights\.h5'/);
  });
});

describe('MultiHeadAttention (the package\'s, Keras\'s layout)', () => {
  it("writes Keras's arguments and call; use_gate and sliding_window only when set", async () => {
    const {model} = TEST_MODELS['keras_attention']!();
    const layers = (await kerasConfig(model)).config['layers'] as KerasObject[];
    const mha = layers.find(l => l.name === 'mha')!;
    expect(mha.config).toMatchObject({num_heads: 2, key_dim: 3, value_dim: 4, output_shape: 5,
                                      use_bias: true, dropout: 0});
    expect(Object.keys(mha.config)).not.toContain('use_gate');
    expect(Object.keys(mha.config)).not.toContain('sliding_window');
    const node = mha.inbound_nodes![0] as {args: Array<{config: {keras_history: unknown[]}}>,
                                           kwargs: Record<string, {config: {keras_history: unknown[]}}>};
    expect(node.args.map(a => a.config.keras_history)).toEqual([['q', 0, 0], ['v', 0, 0]]);
    expect(node.kwargs['key']!.config.keras_history).toEqual(['k', 0, 0]);

    const x = tf.input({shape: [4, 6], name: 'x'});
    const gated = multiHeadAttention({numHeads: 2, keyDim: 3, useGate: true, slidingWindow: 2,
                                      useCausalMask: true, name: 'gated'});
    const m = tf.model({inputs: x, outputs: gated.apply(x) as tf.SymbolicTensor});
    const entry = ((await kerasConfig(m)).config['layers'] as KerasObject[]).find(l => l.name === 'gated')!;
    expect(entry.config).toMatchObject({use_gate: true, sliding_window: 2});
    expect((entry.inbound_nodes![0] as {kwargs: object}).kwargs).toEqual({use_causal_mask: true});
    const layout = await kerasWeightLayout(m);
    expect(layout.filter(s => s.path.includes('_gate_dense')).map(s => s.name))
        .toEqual(['gated/gate/kernel', 'gated/gate/bias']);
  });
});

describe('padding masks', () => {
  it("are refused where Keras would apply them differently, naming the layer and the mask's source",
     async () => {
       const t = tf.input({shape: [6], dtype: 'int32'});
       const e = tokenEmbedding({vocabSize: 20, outputDim: 8, maskZero: true, name: 'embed'}).apply(t) as tf.SymbolicTensor;
       const attended = selfAttention({numHeads: 2, useOutputProjection: true, name: 'att'}).apply(e) as tf.SymbolicTensor;
       await expect(saveKerasModel(tf.model({inputs: t, outputs: attended}), {write: () => undefined}))
           .rejects.toThrow(/layer att \(class SelfAttention\).*padding mask of embed \(TokenEmbedding with maskZero\) reaches it/);
       const u = tf.input({shape: [6], dtype: 'int32'});
       const f = tf.layers.embedding({inputDim: 20, outputDim: 4, maskZero: true, name: 'emb'}).apply(u) as tf.SymbolicTensor;
       const d = tf.layers.dense({units: 4, name: 'ffn'}).apply(f) as tf.SymbolicTensor;
       const pooled = tf.layers.globalAveragePooling1d({name: 'pool'}).apply(d) as tf.SymbolicTensor;
       await expect(saveKerasModel(tf.model({inputs: u, outputs: pooled}), {write: () => undefined}))
           .rejects.toThrow(/layer pool \(class GlobalAveragePooling1D\).*padding mask of emb/);
     });

  it('pass through Dense and normalization into the Keras-compatible pooling (masked_mean)', async () => {
    const {model} = TEST_MODELS['masked_mean']!();
    const layers = (await kerasConfig(model)).config['layers'] as KerasObject[];
    expect(layers.find(l => l.name === 'embed')!.config['mask_zero']).toBe(true);
    expect(layers.find(l => l.name === 'pool')!.class_name).toBe('GlobalAveragePooling1D');
  });
});

describe('layers Keras cannot express', () => {
  it('fail before anything is written, naming the layer and its class', async () => {
    const x = tf.input({shape: [4, 6]});
    const y = positionalEmbedding({maxLength: 4, name: 'positions'}).apply(x) as tf.SymbolicTensor;
    const model = tf.model({inputs: x, outputs: y});
    const file = path.join(dir, 'unsupported.keras');
    fs.writeFileSync(file, 'the previous file');
    await expect(saveKerasModel(model, file)).rejects.toThrow(
        /Cannot save the layer positions \(class PositionalEmbedding\) for Keras: Keras has no equivalent/);
    expect(fs.readFileSync(file, 'utf8')).toBe('the previous file');
    await expect(saveKerasModel(model, path.join(dir, 'never.keras'))).rejects.toThrow(/positions/);
    expect(fs.existsSync(path.join(dir, 'never.keras'))).toBe(false);
  });

  it('SelfAttention without its output projection: the error says why', async () => {
    const x = tf.input({shape: [4, 6]});
    const model = tf.model({inputs: x, outputs: selfAttention({name: 'sa'}).apply(x) as tf.SymbolicTensor});
    await expect(saveKerasModel(model, {write: () => undefined})).rejects.toThrow(
        /layer sa \(class SelfAttention\).*no output projection.*always projects its output/);
  });

  it("a layer whose name holds '/', and an activation Keras lacks", async () => {
    const x = tf.input({shape: [3]});
    const slash = tf.model({inputs: x, outputs: tf.layers.dense({units: 2, name: 'a/b'}).apply(x) as tf.SymbolicTensor});
    await expect(saveKerasModel(slash, {write: () => undefined})).rejects.toThrow(/names cannot hold '\/'/);
    const y = tf.input({shape: [3]});
    const odd = tf.model({inputs: y, outputs: tf.layers.dense({units: 2, activation: 'gelu_new', name: 'g'})
                                                   .apply(y) as tf.SymbolicTensor});
    await expect(saveKerasModel(odd, {write: () => undefined})).rejects.toThrow(/layer g \(class Dense\).*gelu_new/);
  });
});

describe('loadKerasWeights on files that do not fit', () => {
  async function weightsOf(name: string): Promise<Uint8Array> {
    return (await bytesOf(sink => saveKerasWeights(TEST_MODELS[name]!().model, sink))).bytes;
  }

  /** Loads, expects `message`, and checks the model kept its weights and nothing leaked. */
  async function expectRefused(model: tf.LayersModel, source: Uint8Array|string, message: RegExp) {
    const before = weightValues(model);
    const tensors = tf.memory().numTensors;
    await expect(loadKerasWeights(model, source)).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(tensors);
    weightValues(model).forEach((w, i) => expect(w).toEqual(before[i]));
  }

  it('a weight of another shape: names the file, layer, weight and both shapes', async () => {
    const file = path.join(dir, 'mlp.weights.h5');
    fs.writeFileSync(file, await weightsOf('sequential_mlp'));
    const model = tf.sequential({layers: [
      tf.layers.dense({units: 16, activation: 'relu', inputShape: [8], name: 'fc1'}),
      tf.layers.layerNormalization({name: 'norm'}),
      tf.layers.dense({units: 5, name: 'out'}),
    ]});
    await expectRefused(model, file, new RegExp(`${file.replace(/[.]/g, '\\.')}: the weight out/kernel ` +
        'of the layer out \\(Dense\\) at /layers/dense_1/vars/0 has shape \\[16,4\\] in the file, but ' +
        "the model's is \\[16,5\\]"));
  });

  it('a weight missing from the file, and weights no layer has', async () => {
    const mlp = await weightsOf('sequential_mlp');
    const bigger = tf.sequential({layers: [
      tf.layers.dense({units: 16, activation: 'relu', inputShape: [8], name: 'fc1'}),
      tf.layers.layerNormalization({name: 'norm'}),
      tf.layers.dense({units: 4, name: 'out'}),
      tf.layers.dense({units: 4, name: 'extra'}),
    ]});
    await expectRefused(bigger, mlp, /the layer extra \(Dense\) has no weight extra\/kernel in the file: \/layers\/dense_2\/vars\/0 is missing/);
    const smaller = tf.sequential({layers: [
      tf.layers.dense({units: 16, activation: 'relu', inputShape: [8], name: 'fc1'}),
      tf.layers.layerNormalization({name: 'norm'}),
    ]});
    await expectRefused(smaller, mlp, /holds 2 weight\(s\) that no layer of the model has: \/layers\/dense_1\/vars\/0, \/layers\/dense_1\/vars\/1/);
  });

  it('truncated, not HDF5, a corrupt archive member, an archive without weights', async () => {
    const {model} = TEST_MODELS['sequential_mlp']!();
    const h5 = await weightsOf('sequential_mlp');
    await expectRefused(model, h5.slice(0, h5.length - 100), /the given bytes is truncated: its HDF5 superblock says the file has \d+ bytes, but there are \d+/);
    await expectRefused(model, strToU8('{"modelTopology": {}}'), /neither a Keras weights file .* nor a \.keras archive/);
    const archive = (await bytesOf(sink => saveKerasModel(model, sink))).bytes;
    const corrupt = archive.slice();
    const h5At = Buffer.from(corrupt).indexOf(Buffer.from('TREE'));
    corrupt[h5At + 30] = corrupt[h5At + 30]! ^ 0xff;
    await expectRefused(model, corrupt, /the member model\.weights\.h5 fails its CRC-32 check/);
    await expectRefused(model, archive.slice(0, archive.length - 30), /truncated or corrupt: the zip central directory/);
    const noWeights = zipSync({'metadata.json': strToU8('{}'), 'config.json': strToU8('{}')});
    await expectRefused(model, noWeights, /has no model\.weights\.h5: it is not a complete \.keras archive/);
    const extra = zipSync({'config.json': strToU8('{}'), 'model.weights.h5': h5,
                           'assets/vocab.txt': strToU8('a')});
    await expectRefused(model, extra, /holds "assets\/vocab.txt" besides Keras's/);
    await expectRefused(model, path.join(dir, 'missing.weights.h5'), /the file does not exist/);
  });
});
