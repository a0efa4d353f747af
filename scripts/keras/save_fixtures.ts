/**
 * Writes the `.keras` files that Keras checks (run by hand, then `python
 * scripts/keras/keras_files.py check`):
 *
 *   npx ts-node --transpile-only scripts/keras/save_fixtures.ts
 *
 * Into test/fixtures/keras/keras_file/saved/: `<name>.keras` saved by saveKerasModel from each
 * model of test/helpers/keras_file_models.ts, and `<name>.inputs.json` beside it with the
 * inputs and tfjs's predictions (cpu backend). npm test rebuilds each model, checks that
 * saveKerasModel still writes the same config.json and weights, and compares tfjs's predictions
 * with the ones Keras recorded.
 *
 * Also `made_<name>.keras` there: each Keras-made file of test/fixtures/keras/keras_file/made
 * (nested models) loaded by loadKerasModel and saved again.
 *
 * With ../shared beside the checkout, also into .tmp/keras_file/from_keras/ (not committed: the
 * files carry ../shared's weights): each Keras 3 file of ../shared/keras/keras3 loaded by
 * loadKerasModel and saved again by saveKerasModel, with its inputs (reference.json's) and
 * tfjs's predictions. npm test (keras_file_roundtrip.shared.test.ts) makes them again.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {loadKerasModel, saveKerasModel} from '../../src';
import {TEST_MODELS} from '../../test/helpers/keras_file_models';

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'test', 'fixtures', 'keras', 'keras_file', 'saved');
const FROM_KERAS = path.join(ROOT, '.tmp', 'keras_file', 'from_keras');
const MADE = path.join(ROOT, 'test', 'fixtures', 'keras', 'keras_file', 'made');
const SHARED = path.join(ROOT, '..', 'shared', 'keras', 'keras3');

interface Spec {
  name: string;
  dtype: string;
  shape: number[];
  data: number[];
}

function outputsOf(model: tf.LayersModel, inputs: tf.Tensor[]) {
  const predicted = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  return (Array.isArray(predicted) ? predicted : [predicted]).map(y => ({
    shape: y.shape, data: Array.from(y.dataSync()),
  }));
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  fs.mkdirSync(OUT, {recursive: true});
  for (const [name, build] of Object.entries(TEST_MODELS)) {
    const {model, inputs} = build();
    await saveKerasModel(model, path.join(OUT, `${name}.keras`));
    const spec = {
      name,
      inputs: inputs.map((x, i) => ({name: model.inputs[i]!.name, dtype: x.dtype, shape: x.shape,
                                     data: Array.from(x.dataSync())})),
      tfjs_outputs: outputsOf(model, inputs),
      generated_by: 'scripts/keras/save_fixtures.ts',
    };
    fs.writeFileSync(path.join(OUT, `${name}.inputs.json`), JSON.stringify(spec) + '\n');
    console.log(`saved ${name}.keras`);
  }
  // The Keras-made files of test/fixtures/keras/keras_file/made (nested models), loaded and saved again.
  for (const name of fs.readdirSync(MADE)) {
    const file = path.join(MADE, name, 'model.keras');
    const reference = JSON.parse(fs.readFileSync(path.join(MADE, name, 'reference.json'), 'utf8')) as
        {inputs: Spec[]};
    const model = await loadKerasModel(file);
    await saveKerasModel(model, path.join(OUT, `made_${name}.keras`));
    const inputs = reference.inputs.map(i => tf.tensor(i.data, i.shape, i.dtype as tf.DataType));
    fs.writeFileSync(path.join(OUT, `made_${name}.inputs.json`), JSON.stringify({
      name: `made_${name}`, inputs: reference.inputs, tfjs_outputs: outputsOf(model, inputs),
      source: path.relative(ROOT, file), generated_by: 'scripts/keras/save_fixtures.ts',
    }) + '\n');
    console.log(`saved again made/${name}`);
  }
  if (!fs.existsSync(SHARED)) {
    console.log(`no ${SHARED}: the files made from Keras's own were not written`);
    return;
  }
  fs.mkdirSync(FROM_KERAS, {recursive: true});
  for (const name of fs.readdirSync(SHARED).filter(n => fs.existsSync(path.join(SHARED, n, 'model.keras')))) {
    const reference = JSON.parse(fs.readFileSync(path.join(SHARED, name, 'reference.json'), 'utf8')) as
        {inputs: Spec[]};
    const model = await loadKerasModel(path.join(SHARED, name, 'model.keras'));
    await saveKerasModel(model, path.join(FROM_KERAS, `${name}.keras`));
    const inputs = reference.inputs.map(i => tf.tensor(i.data, i.shape, i.dtype as tf.DataType));
    fs.writeFileSync(path.join(FROM_KERAS, `${name}.inputs.json`), JSON.stringify({
      name, inputs: reference.inputs, tfjs_outputs: outputsOf(model, inputs),
      source: path.relative(ROOT, path.join(SHARED, name, 'model.keras')),
      generated_by: 'scripts/keras/save_fixtures.ts',
    }) + '\n');
    console.log(`saved again ${name} (from ../shared/keras/keras3)`);
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
