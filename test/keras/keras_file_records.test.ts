/**
 * tfjs → `.keras` → Keras, checked with Keras's own records: each model of
 * test/helpers/keras_file_models.ts, and each Keras-made file of
 * test/fixtures/keras/keras_file/made (nested models) loaded by loadKerasModel (`made_<name>`),
 * was saved by saveKerasModel into test/fixtures/keras/keras_file/saved/
 * (scripts/keras/save_fixtures.ts) and loaded there by `keras.models.load_model`
 * (scripts/keras/keras_files.py check, Keras 3.15.1 and 3.9.2), which recorded the file's
 * sha256 and its predictions. Here:
 * - the committed file is the one Keras loaded (sha256);
 * - saveKerasModel still writes that file for that model (same config.json and weights bytes),
 *   so the record speaks for the code as it is;
 * - tfjs's predictions, on cpu and wasm, are Keras's to 1e-5 (max |diff| / max(1, max |Keras|)),
 *   for both Keras versions.
 */
import {createHash} from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {unzipSync} from 'fflate';

import {loadKerasModel, saveKerasModel} from '../../src';
import {TEST_MODELS, TestModel} from '../helpers/keras_file_models';
import {relativeDiff} from '../helpers/tensors';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'keras', 'keras_file');
const SAVED = path.join(FIXTURES, 'saved');
const MADE = fs.readdirSync(path.join(FIXTURES, 'made')).sort();

/** The model a record was made from: a test model, or a Keras-made file loaded. */
async function build(name: string): Promise<TestModel> {
  if (!name.startsWith('made_')) {
    return TEST_MODELS[name]!();
  }
  const folder = path.join(FIXTURES, 'made', name.slice('made_'.length));
  const reference = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as
      {inputs: Array<{shape: number[], data: number[]}>};
  return {model: await loadKerasModel(path.join(folder, 'model.keras')),
          inputs: reference.inputs.map(i => tf.tensor(i.data, i.shape))};
}

interface Outputs {
  shape: number[];
  data: number[];
}
interface KerasRecord {
  name: string;
  sha256: string;
  keras: string;
  outputs: Outputs[];
  older_keras?: {keras: string, outputs: Outputs[]};
}

const records = fs.readdirSync(SAVED).filter(f => f.endsWith('.record.json'))
    .map(f => JSON.parse(fs.readFileSync(path.join(SAVED, f), 'utf8')) as KerasRecord);

async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') {
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  }
  expect(await tf.setBackend(name)).toBe(true);
}

async function saveToBytes(model: tf.LayersModel): Promise<Uint8Array> {
  let bytes: Uint8Array = new Uint8Array(0);
  await saveKerasModel(model, {write: b => { bytes = b; }});
  return bytes;
}

describe('tfjs models saved as .keras, loaded by Keras (committed records)', () => {
  it('has a record for every model, from Keras 3.15.1 and an older Keras 3', () => {
    expect(records.map(r => r.name).sort())
        .toEqual([...Object.keys(TEST_MODELS), ...MADE.map(m => `made_${m}`)].sort());
    for (const record of records) {
      expect(record.keras).toBe('3.15.1');
      expect(record.older_keras?.keras).toMatch(/^3\.(9|1[0-4])\./);
    }
  });

  describe.each(records.map(r => [r.name, r] as const))('%s', (name, record) => {
    const file = path.join(SAVED, `${name}.keras`);

    it('is the file Keras loaded (sha256 of the record)', () => {
      expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(record.sha256);
    });

    it('is what saveKerasModel writes for the model today (config.json and weights)', async () => {
      await useBackend('cpu');
      const committed = unzipSync(fs.readFileSync(file));
      const saved = unzipSync(await saveToBytes((await build(name)).model));
      expect(Object.keys(saved)).toEqual(['metadata.json', 'config.json', 'model.weights.h5']);
      expect(new TextDecoder().decode(saved['config.json']))
          .toBe(new TextDecoder().decode(committed['config.json']));
      expect(Buffer.from(saved['model.weights.h5']!).equals(Buffer.from(committed['model.weights.h5']!)))
          .toBe(true);
    });

    it.each(['cpu', 'wasm'])('predicts what Keras predicts on %s (to 1e-5)', async backend => {
      await useBackend(backend);
      const {model, inputs} = await build(name);
      const before = tf.memory().numTensors;
      const predicted = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
      const outputs = Array.isArray(predicted) ? predicted : [predicted];
      const keras = [record.outputs, record.older_keras!.outputs];
      for (const expected of keras) {
        expect(outputs.map(o => o.shape)).toEqual(expected.map(o => o.shape));
        outputs.forEach((o, i) => expect(relativeDiff(o.dataSync(), expected[i]!.data)).toBeLessThan(1e-5));
      }
      tf.dispose(outputs);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(inputs);
      model.dispose();
    });
  });
});
