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
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {saveKerasModel} from '../../src';
import {TEST_MODELS} from '../../test/helpers/keras_file_models';

const OUT = path.join(__dirname, '..', '..', 'test', 'fixtures', 'keras', 'keras_file', 'saved');

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  fs.mkdirSync(OUT, {recursive: true});
  for (const [name, build] of Object.entries(TEST_MODELS)) {
    const {model, inputs} = build();
    await saveKerasModel(model, path.join(OUT, `${name}.keras`));
    const predicted = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
    const outputs = (Array.isArray(predicted) ? predicted : [predicted]).map(y => ({
      shape: y.shape, data: Array.from(y.dataSync()),
    }));
    const spec = {
      name,
      inputs: inputs.map((x, i) => ({name: model.inputs[i]!.name, dtype: x.dtype, shape: x.shape,
                                     data: Array.from(x.dataSync())})),
      tfjs_outputs: outputs,
      generated_by: 'scripts/keras/save_fixtures.ts',
    };
    fs.writeFileSync(path.join(OUT, `${name}.inputs.json`), JSON.stringify(spec) + '\n');
    console.log(`saved ${name}.keras`);
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
