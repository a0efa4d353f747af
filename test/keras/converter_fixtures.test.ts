/**
 * Every converter-format fixture (test/fixtures/keras: Keras 3 with TensorFlow and JAX, and the
 * tf.keras 2 form) loads with loadKerasModel, strictly, and predicts Keras's own outputs to
 * ≤ 1e-5 (max |diff| ÷ max(1, |Keras|)) on cpu and wasm; a load and a predict leave no tensor
 * or variable behind once the model is disposed.
 */
import * as path from 'path';

import {loadKerasModel, useBestBackend} from '../../src';
import {census, FIXTURES, fixtureNames, predictErrors, readReference} from '../helpers/keras_models';

const TOLERANCE = 1e-5;
const names = fixtureNames();

test('the fixture folder holds the models the script makes', () => {
  expect(names).toEqual(expect.arrayContaining([
    'activations_mlp', 'conv_stack', 'gru_models', 'keras2_conv_stack', 'keras2_gru_models',
    'keras2_mask_merge', 'keras2_masked_rnn', 'keras2_text_encoder', 'mask_merge', 'masked_rnn', 'mha_kwargs', 'norms', 'ops_constants',
    'parallel_mha_alias', 'parallel_mha_alias_jax', 'sequential_mlp', 'text_encoder',
    'text_encoder_compiled', 'text_encoder_jax']));
});

describe.each(['cpu', 'wasm'])('converter fixtures on %s', backend => {
  beforeAll(async () => {
    expect((await useBestBackend({order: [backend]})).backend).toBe(backend);
  });

  test.each(names)('%s predicts what Keras predicts', async name => {
    const folder = path.join(FIXTURES, name);
    const before = census();
    const model = await loadKerasModel(folder);
    const errors = predictErrors(model, readReference(folder));
    for (const e of errors) {
      expect(e).toBeLessThanOrEqual(TOLERANCE);
    }
    model.dispose();
    expect(census()).toEqual(before);
  });

  test('a model.json path and a file:// URL load the same model as its folder', async () => {
    const folder = path.join(FIXTURES, 'text_encoder');
    const ref = readReference(folder);
    for (const source of [path.join(folder, 'model.json'), `file://${folder}`]) {
      const model = await loadKerasModel(source);
      expect(Math.max(...predictErrors(model, ref))).toBeLessThanOrEqual(TOLERANCE);
      model.dispose();
    }
  });

  test.each([['keras2_text_encoder', 'text_encoder'], ['keras2_mask_merge', 'mask_merge']])(
      '%s gets tf.keras 2\'s masks, not the Keras 3 ones of %s', async (keras2, keras3) => {
        // same weights, same layers: only the mask rules differ between the two versions
        const model = await loadKerasModel(path.join(FIXTURES, keras2));
        const own = predictErrors(model, readReference(path.join(FIXTURES, keras2)));
        const other = predictErrors(model, readReference(path.join(FIXTURES, keras3)));
        model.dispose();
        expect(Math.max(...own)).toBeLessThanOrEqual(TOLERANCE);
        expect(Math.max(...other)).toBeGreaterThan(1e-3);
      });
});
