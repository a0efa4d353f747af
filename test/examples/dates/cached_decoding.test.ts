/**
 * The date translator's greedy decoding (examples/dates/model.ts `decode`) on the decoder's
 * key/value caches, with the committed model (models/dates), against the decoder re-run on the
 * whole prefix for every character (test/helpers/uncached_decoders.ts): the same ids, logits
 * to 1e-5, on cpu and wasm, and no tensor left behind.
 */
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {allFormats, splitDays} from '../../../examples/dates/data';
import {decode, splitDateModel} from '../../../examples/dates/model';
import {loadModel} from '../../../examples/dates/model_files';
import {useBackend} from '../../helpers/backends';
import {decodeDatesUncached} from '../../helpers/uncached_decoders';

const MODEL_DIR = path.join(__dirname, '..', '..', '..', 'models', 'dates');
const TOLERANCE = 1e-5;

/** The smallest gap between the best and second-best logit over every step of every row. */
function smallestMargin(logits: Float32Array, vocabSize: number): number {
  let margin = Infinity;
  for (let at = 0; at < logits.length; at += vocabSize) {
    const row = Array.from(logits.subarray(at, at + vocabSize)).sort((a, b) => b - a);
    margin = Math.min(margin, row[0]! - row[1]!);
  }
  return margin;
}

describe.each(['cpu', 'wasm'])('date translator: cached greedy decoding on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('equals the decoder re-run on the whole prefix: same ids, logits to 1e-5, no leaks', async () => {
    const {model, vocab} = await loadModel(MODEL_DIR);
    // Every format of a held-out day, and inputs outside the task (where the model is unsure);
    // batches of 16 leave a short last chunk.
    const examples = allFormats(splitDays().test.slice(0, 1));
    const texts = [...examples.map(e => e.input),
                   'hello world', '99/99/9999', 'Jan', '2019'];
    const parts = splitDateModel(model);
    const reference = decodeDatesUncached(parts, vocab, texts, 16);
    decode(model, vocab, texts.slice(0, 2), 16, parts);  // warm up (builds the decoding plan)
    const before = tf.memory().numTensors;
    const cached = decode(model, vocab, texts, 16, parts);
    expect(tf.memory().numTensors).toBe(before);

    expect(cached.vocabSize).toBe(reference.vocabSize);
    expect(cached.logits.length).toBe(texts.length * vocab.outputLength * vocab.size);
    // No near-tie: logits that agree to 1e-5 cannot choose differently.
    expect(smallestMargin(reference.logits, vocab.size)).toBeGreaterThan(100 * TOLERANCE);
    expect(Array.from(cached.ids)).toEqual(Array.from(reference.ids));
    expect(cached.texts).toEqual(reference.texts);
    let worst = 0;
    cached.logits.forEach((v, i) => worst = Math.max(worst, Math.abs(v - reference.logits[i]!)));
    expect(worst).toBeLessThan(TOLERANCE);
    // The held-out dates are translated right (the model is the trained one).
    expect(cached.texts.slice(0, examples.length)).toEqual(examples.map(e => e.target));
    model.dispose();
  });
});
