/**
 * Keras → `.keras` → tfjs → `.keras` → Keras, with the six files Keras 3.15.1 saved in
 * ../shared/keras/keras3 (each with Keras's own outputs in reference.json):
 * - loadKerasModel reads each archive directly and predicts Keras's outputs to 1e-5
 *   (max |diff| / max(1, max |Keras|)), on cpu and wasm;
 * - saveKerasModel writes the loaded model again; the config.json and weights it writes are the
 *   ones Keras loaded for the committed record (test/fixtures/keras/keras_file/from_keras/,
 *   made by scripts/keras/save_fixtures.ts + `keras_files.py check`); Keras 3.15.1 predicts on
 *   it what it predicted on the original, and what tfjs predicts; Keras 3.9.2 (TensorFlow
 *   backend) does on it what it does on the original once the keys it does not know are left
 *   out, as the saver does: the same predictions, or the same failure;
 * - loadKerasModel reads the saved file back with exactly the same weights and predictions.
 */
import {createHash} from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {unzipSync} from 'fflate';

import {loadKerasModel, saveKerasModel} from '../../src';
import {sharedPath} from '../helpers/shared';
import {relativeDiff} from '../helpers/tensors';

interface Tensor {
  name?: string;
  dtype?: string;
  shape: number[];
  data: number[];
}
interface Reference {
  inputs: Tensor[];
  outputs: Tensor[];
}
interface KerasRecord {
  members_sha256: Record<string, string>;
  keras: string;
  outputs: Tensor[];
  older_keras: {keras: string, outputs?: Tensor[], error?: string,
                original: {outputs?: Tensor[], error?: string}};
}

const SHARED = sharedPath('keras/keras3');
const RECORDS = path.join(__dirname, '..', 'fixtures', 'keras', 'keras_file', 'from_keras');
const NAMES = fs.readdirSync(SHARED).filter(n => fs.existsSync(path.join(SHARED, n, 'model.keras'))).sort();

function reference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(SHARED, name, 'reference.json'), 'utf8')) as Reference;
}

function predict(model: tf.LayersModel, inputs: Tensor[]): Array<{shape: number[], data: Float32Array}> {
  return tf.tidy(() => {
    const xs = inputs.map(i => tf.tensor(i.data, i.shape, i.dtype as tf.DataType));
    const ys = model.predict(xs.length === 1 ? xs[0]! : xs);
    return (Array.isArray(ys) ? ys : [ys]).map(y => ({shape: y.shape, data: y.dataSync() as Float32Array}));
  });
}

function expectOutputs(got: Array<{shape: number[], data: ArrayLike<number>}>, expected: Tensor[]): void {
  expect(got.map(g => g.shape)).toEqual(expected.map(e => e.shape));
  got.forEach((g, i) => expect(relativeDiff(g.data, expected[i]!.data)).toBeLessThan(1e-5));
}

async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') {
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  }
  expect(await tf.setBackend(name)).toBe(true);
}

it('reads all six Keras files of ../shared/keras/keras3', () => {
  expect(NAMES).toEqual(['causal_scores', 'cross_attention', 'jax_self_attention',
                         'self_attention_block', 'sequential_mlp', 'text_classifier']);
});

describe.each(['cpu', 'wasm'])('on %s', backend => {
  beforeAll(() => useBackend(backend));

  it.each(NAMES)("%s: loadKerasModel predicts Keras's outputs", async name => {
    const before = tf.memory().numTensors;
    const model = await loadKerasModel(path.join(SHARED, name, 'model.keras'));
    expectOutputs(predict(model, reference(name).inputs), reference(name).outputs);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(NAMES)('%s saved again from tfjs', name => {
  let loaded: tf.LayersModel;
  let bytes: Uint8Array = new Uint8Array(0);
  const record = JSON.parse(fs.readFileSync(path.join(RECORDS, `${name}.record.json`), 'utf8')) as KerasRecord;

  beforeAll(async () => {
    await useBackend('cpu');
    loaded = await loadKerasModel(path.join(SHARED, name, 'model.keras'));
    await saveKerasModel(loaded, {write: b => { bytes = b; }});
  });
  afterAll(() => loaded.dispose());

  it('is the file Keras loaded for the record (config.json and weights)', () => {
    const members = unzipSync(bytes);
    for (const member of ['config.json', 'model.weights.h5']) {
      expect([member, createHash('sha256').update(members[member]!).digest('hex')])
          .toEqual([member, record.members_sha256[member]]);
    }
  });

  it("makes Keras 3.15.1 predict what it predicted from its own file, and what tfjs predicts", () => {
    expect(record.keras).toBe('3.15.1');
    expectOutputs(record.outputs, reference(name).outputs);
    expectOutputs(predict(loaded, reference(name).inputs), record.outputs);
  });

  it('means to Keras 3.9.2 what its own file (without the keys 3.9 lacks) means to it', () => {
    const older = record.older_keras;
    expect(older.keras).toBe('3.9.2');
    if (older.original.error !== undefined) {
      // Keras 3.9 cannot rebuild this graph from Keras 3.15's own file either (text_classifier:
      // its mask ops clash with the names 3.9 gives the masks it makes itself)
      expect(older.error).toBe(older.original.error);
      return;
    }
    expect(older.error).toBeUndefined();
    expectOutputs(older.outputs!, older.original.outputs!);
    expectOutputs(predict(loaded, reference(name).inputs), older.outputs!);
  });

  it('loads back into tfjs with the same weights and predictions', async () => {
    const again = await loadKerasModel(bytes);
    const a = loaded.getWeights();
    const b = again.getWeights();
    expect(b.map(w => w.shape)).toEqual(a.map(w => w.shape));
    b.forEach((w, i) => expect(Buffer.from(w.dataSync().buffer).equals(Buffer.from(a[i]!.dataSync().buffer))).toBe(true));
    expectOutputs(predict(again, reference(name).inputs), reference(name).outputs);
    again.dispose();
  });
});
