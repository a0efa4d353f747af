/**
 * loadKerasModel on `.keras` archives in Node, without ../shared:
 * - tfjs model → saveKerasModel → loadKerasModel: the same weights (Keras's layout) and the same
 *   predictions, on cpu and wasm, for every model of test/helpers/keras_file_models.ts whose
 *   layers the Keras loader builds;
 * - a file Keras made (test/fixtures/keras/keras_file/made/branches: three inputs, one unused,
 *   layers whose config order is not their creation order) predicts Keras's outputs;
 * - the sources it takes: a path, a file:// URL, a zip under another name, bytes, an
 *   ArrayBuffer, a Blob;
 * - bad files: truncated, a member failing its CRC, no model.weights.h5, config.json that is not
 *   JSON, a weight of another shape, a layer class tfjs cannot build, a file that is not a zip:
 *   each an error naming the file (and the layer), with no tensor or variable left behind.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {strToU8, unzipSync, zipSync} from 'fflate';

import {loadKerasModel, loadKerasWeights, saveKerasModel} from '../../src';
import {seedWeights, TEST_MODELS} from '../helpers/keras_file_models';

const MADE = path.join(__dirname, '..', 'fixtures', 'keras', 'keras_file', 'made');
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-load-'));
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

async function archiveOf(model: tf.LayersModel): Promise<Uint8Array> {
  let bytes: Uint8Array = new Uint8Array(0);
  await saveKerasModel(model, {write: b => { bytes = b; }});
  return bytes;
}

function outputs(model: tf.LayersModel, inputs: tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => {
    const y = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
    return (Array.isArray(y) ? y : [y]).map(t => t.dataSync() as Float32Array);
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const ROUND_TRIP = Object.keys(TEST_MODELS);

describe.each(['cpu', 'wasm'])('tfjs → .keras → tfjs on %s', backend => {
  beforeAll(async () => {
    if (backend === 'wasm') {
      setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
    }
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it.each(ROUND_TRIP)('%s: the same weights and predictions', async name => {
    const {model, inputs} = TEST_MODELS[name]!();
    const first = unzipSync(await archiveOf(model));
    const loaded = await loadKerasModel(await archiveOf(model));
    // the same weights in the same places: saved again, the weights file is the same bytes
    const again = unzipSync(await archiveOf(loaded));
    expect(Buffer.from(again['model.weights.h5']!).equals(Buffer.from(first['model.weights.h5']!))).toBe(true);
    const expected = outputs(model, inputs);
    outputs(loaded, inputs).forEach((o, i) => expect(maxDiff(o, expected[i]!)).toBeLessThan(1e-5));
    loaded.dispose();
    model.dispose();
    tf.dispose(inputs);
  });
});

describe('files Keras made', () => {
  it.each([
    ['branches', 'three inputs (one unused), layers whose config order is not their creation order'],
    ['nested', 'a Functional called twice and a Sequential, inside a Functional'],
    ['nested_output', "a nested Functional's output is the model's"],
  ])("%s (%s): Keras's outputs", async name => {
    const reference = JSON.parse(fs.readFileSync(path.join(MADE, name, 'reference.json'), 'utf8')) as
        {inputs: Array<{shape: number[], data: number[]}>, outputs: Array<{data: number[]}>};
    const model = await loadKerasModel(path.join(MADE, name, 'model.keras'));
    const inputs = reference.inputs.map(i => tf.tensor(i.data, i.shape));
    outputs(model, inputs).forEach((o, i) => expect(maxDiff(o, reference.outputs[i]!.data)).toBeLessThan(1e-5));
    tf.dispose(inputs);
    model.dispose();
  });

  it('nested: saved again, the nested models are Keras\'s again, and the weights the same', async () => {
    const file = path.join(MADE, 'nested', 'model.keras');
    const model = await loadKerasModel(file);
    const saved = unzipSync(await archiveOf(model));
    const original = unzipSync(fs.readFileSync(file));
    const layers = (c: Uint8Array) => (JSON.parse(new TextDecoder().decode(c)) as
        {config: {layers: Array<{class_name: string, name: string}>}}).config.layers
        .map(l => `${l.class_name}:${l.name}`);
    expect(layers(saved['config.json']!)).toEqual(layers(original['config.json']!));
    expect(layers(saved['config.json']!)).toContain('Functional:inner');
    // every weight where Keras keeps it: the saved file's weights and Keras's own file's,
    // read into the same model, are the same numbers
    const fromOriginal = await loadKerasModel(file);
    const fromSaved = await loadKerasModel(file);
    seedWeights(fromSaved, 5);
    await loadKerasWeights(fromSaved, await archiveOf(model));
    fromSaved.getWeights().forEach((w, i) => expect(w.dataSync()).toEqual(fromOriginal.getWeights()[i]!.dataSync()));
    fromOriginal.dispose();
    fromSaved.dispose();
    model.dispose();
  });
});

describe('sources', () => {
  it('a path, a file:// URL, a zip named otherwise, bytes, an ArrayBuffer and a Blob', async () => {
    const {model, inputs} = TEST_MODELS['sequential_mlp']!();
    const bytes = await archiveOf(model);
    const file = path.join(dir, 'mlp.keras');
    const other = path.join(dir, 'mlp.bin');
    fs.writeFileSync(file, bytes);
    fs.writeFileSync(other, bytes);
    const expected = outputs(model, inputs)[0]!;
    for (const source of [file, `file://${file}`, other, bytes,
                          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
                          new Blob([bytes as BlobPart])]) {
      const loaded = await loadKerasModel(source as string);
      expect(maxDiff(outputs(loaded, inputs)[0]!, expected)).toBeLessThan(1e-6);
      loaded.dispose();
    }
  });
});

describe('bad .keras files', () => {
  let good: Uint8Array;
  let members: Record<string, Uint8Array>;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    good = await archiveOf(TEST_MODELS['conv_text']!().model);
    members = unzipSync(good);
  });

  const config = () => JSON.parse(new TextDecoder().decode(members['config.json'])) as
      {config: {layers: Array<{name: string, class_name: string, config: Record<string, unknown>}>}};
  const rezip = (replace: Record<string, Uint8Array|null>) => {
    const out: Record<string, Uint8Array> = {};
    for (const [name, data] of Object.entries({...members, ...replace})) {
      if (data !== null) out[name] = data;
    }
    return zipSync(out, {level: 0});
  };

  /** Loads `bytes` saved as `name`, expects `message`, and checks nothing was left behind. */
  async function expectRefused(bytes: Uint8Array, message: RegExp, name = 'bad.keras') {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const tensors = tf.memory().numTensors;
    const variables = Object.keys(tf.engine().registeredVariables).length;
    await expect(loadKerasModel(file)).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variables);
    return file;
  }

  it('truncated', async () => {
    await expectRefused(good.slice(0, Math.floor(good.length / 2)), /bad\.keras is truncated or corrupt/);
  });

  it('a member failing its CRC', async () => {
    const corrupt = good.slice();
    const at = Buffer.from(corrupt).indexOf(Buffer.from('"units"'));
    corrupt[at + 2] = 'X'.charCodeAt(0);
    await expectRefused(corrupt, /bad\.keras: the member config\.json fails its CRC-32 check/);
  });

  it('no model.weights.h5, and config.json that is not JSON', async () => {
    await expectRefused(rezip({'model.weights.h5': null}), /bad\.keras has no model\.weights\.h5/);
    await expectRefused(rezip({'config.json': strToU8('{"class_name": ')}), /bad\.keras: config\.json is not valid JSON/);
  });

  it('a weight of another shape: names the file and the layer', async () => {
    const c = config();
    c.config.layers.find(l => l.name === 'classes')!.config['units'] = 4;
    await expectRefused(rezip({'config.json': strToU8(JSON.stringify(c))}), /bad\.keras.*classes/s);
  });

  it('a layer class tfjs cannot build: names the file, the class and the layer', async () => {
    const c = config();
    c.config.layers.find(l => l.name === 'maxpool')!.class_name = 'AdaptiveMaxPooling1D';
    await expectRefused(rezip({'config.json': strToU8(JSON.stringify(c))}),
                        /bad\.keras uses something this package cannot load.*'AdaptiveMaxPooling1D': layer 'maxpool'/s);
    // a class whose weights are not where Keras would put them: the file and the layer
    const d = config();
    d.config.layers.find(l => l.name === 'conv')!.class_name = 'Conv1DTranspose';
    await expectRefused(rezip({'config.json': strToU8(JSON.stringify(d))}),
                        /bad\.keras \(model\.weights\.h5\): the layer conv \(Conv1DTranspose\) has no weight conv\/kernel/);
  });

  it('not a zip although named .keras, and a missing file', async () => {
    await expectRefused(strToU8('{"modelTopology": {}}'), /not a \.keras archive: it does not start with a zip header/);
    await expect(loadKerasModel(path.join(dir, 'missing.keras'))).rejects.toThrow(/missing\.keras: the file does not exist/);
  });
});
