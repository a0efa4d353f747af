/**
 * The Keras models in ../shared/keras that this project did not make: every converter-made model
 * (`real/`: two tensorflowjs_converter 4.22 outputs found in public repositories; `converted/`:
 * five small Keras 3.15.1 models converted by it) and the hand export in `real/` (raw Keras 3
 * topology, weights named by position), loaded strictly with loadKerasModel, predict Keras's own
 * outputs to ≤ 1e-5 (max |diff| ÷ max(1, |Keras|)) on cpu and wasm, and leave nothing behind.
 * The largest difference per model and backend is printed at the end (the numbers the docs
 * quote).
 */
import * as fs from 'fs';
import * as path from 'path';

import {loadKerasModel, useBestBackend} from '../../src';
import {census, predictErrors, readReference} from '../helpers/keras_models';
import {sharedPath} from '../helpers/shared';

const TOLERANCE = 1e-5;

function folders(kind: string): string[] {
  const root = sharedPath(`keras/${kind}`);
  return fs.readdirSync(root).filter(n => fs.existsSync(path.join(root, n, 'model.json')))
      .map(n => `${kind}/${n}`).sort();
}

const models = [...folders('real'), ...folders('converted')];
const largest: string[] = [];

afterAll(() => {
  console.log(`largest difference from Keras (max |diff| / max(1, |Keras|)):\n${largest.join('\n')}`);
});

test('../shared/keras has the models the issue names', () => {
  expect(models).toEqual(expect.arrayContaining([
    'real/editorjakupi__smartfood__lstm', 'real/itzluthfi__IsyaratLive__ml-gloss-classifier',
    'real/itzluthfi__IsyaratLive__gloss-classifier-v7-early-handexport',
    'converted/attention_mask_dropout', 'converted/attention_mask_nodropout',
    'converted/causal_scores', 'converted/cross_key', 'converted/encoder_masked']));
});

describe.each(['cpu', 'wasm'])('Keras files from ../shared on %s', backend => {
  beforeAll(async () => {
    expect((await useBestBackend({order: [backend]})).backend).toBe(backend);
  });

  test.each(models)('%s predicts what Keras predicts', async name => {
    const folder = sharedPath(`keras/${name}`);
    const before = census();
    const model = await loadKerasModel(folder);
    const errors = predictErrors(model, readReference(folder));
    model.dispose();
    expect(census()).toEqual(before);
    largest.push(`  ${backend.padEnd(5)} ${name}: ${errors.map(e => e.toExponential(2)).join(', ')}`);
    for (const e of errors) {
      expect(e).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});
