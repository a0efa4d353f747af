/**
 * A Keras 3 model in tfjs and back: `npm run keras:demo` (see `--help`).
 *
 * 1. Loads classifier.keras (trained by Keras: `python examples/keras/train.py`) with
 *    loadKerasModel, straight from the `.keras` file, predicts the demo's reviews and checks the
 *    probabilities against Keras's own (keras_predictions.json, to 1e-5).
 * 2. Fine-tunes it in tfjs on reviews that use a word Keras never saw in training ("superb"),
 *    mixed with reviews like Keras's training data so that the rest is not forgotten; the loss
 *    on held-out reviews of the same kind goes down.
 * 3. Saves it with saveKerasModel as a `.keras` file (trained/keras/fine_tuned.keras unless
 *    `--out` says otherwise; never over the committed classifier.keras), reads that back to
 *    check, and compares its predictions with what Keras predicted from the file a default run
 *    saved (keras_fine_tuned_predictions.json, written by `predict.py --record`).
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {loadKerasModel, saveKerasModel} from '../../src';
import {Command, runCommand, UsageError} from '../shared/cli';
import {random} from '../shared/random';

const HERE = __dirname;
/** The Keras-trained model, committed; the demo never writes it. */
export const CLASSIFIER = path.join(HERE, 'classifier.keras');
/** Largest difference allowed between tfjs's and Keras's probabilities. */
export const TOLERANCE = 1e-5;
const DEFAULT_STEPS = 20;
const BATCH = 32;

export const KERAS_DEMO_COMMAND = {
  name: 'npm run keras:demo --',
  summary: 'Loads examples/keras/classifier.keras (a Keras 3 text classifier) with ' +
           'loadKerasModel, checks its predictions against Keras\'s, fine-tunes it in tfjs on ' +
           'reviews with a word Keras never saw, and saves it back as a .keras file that Keras ' +
           'loads (python examples/keras/predict.py FILE).',
  options: {
    steps: {default: DEFAULT_STEPS, help: `fine-tuning steps of ${BATCH} reviews`, integer: true, min: 1},
    out: {default: 'trained/keras/fine_tuned.keras', help: 'the fine-tuned .keras file'},
  },
  examples: ['npm run keras:demo', 'npm run keras:demo -- --steps 60 --out /tmp/mine.keras'],
} satisfies Command;

interface Vocab {
  length: number;
  classes: string[];
  words: Record<string, number>;
}

/** keras_predictions.json and keras_fine_tuned_predictions.json. */
export interface KerasRecord {
  keras: string;
  reviews: string[];
  probabilities: number[][];
  /** Only in the fine-tuned record: the demo's steps that made the file. */
  steps?: number;
}

/** What {@link runDemo} returns (the test checks it). */
export interface DemoResult {
  /** tfjs's probabilities for the demo's reviews, [review][class], before fine-tuning. */
  before: number[][];
  /** The same after fine-tuning. */
  after: number[][];
  /** The fine-tuned model loaded back from the saved file, same reviews. */
  reloaded: number[][];
  /** Mean cross-entropy on the held-out reviews before and after fine-tuning. */
  lossBefore: number;
  lossAfter: number;
  /** The file written (absolute path). */
  out: string;
}

const SUBJECTS = ['the soup', 'the food', 'the service', 'the room', 'the staff', 'the coffee',
                  'the music', 'the view'];
const POSITIVE = ['good', 'great', 'lovely', 'friendly', 'fresh'];
const NEGATIVE = ['bad', 'slow', 'cold', 'rude', 'noisy'];

/**
 * `count` reviews of one or two clauses, labelled as train.py labels them (0 negative,
 * 1 positive, 2 mixed); `positive` are the words counted as positive.
 */
function reviews(count: number, positive: string[], next: () => number): Array<[string, number]> {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)]!;
  const clause = (): [string, number] => {
    const good = next() < 0.5;
    const negated = next() < 0.3;
    const text = `${pick(SUBJECTS)} was ${negated ? 'not ' : ''}${pick(good ? positive : NEGATIVE)}`;
    return [text, (good ? 1 : -1) * (negated ? -1 : 1)];
  };
  return Array.from({length: count}, (): [string, number] => {
    const [first, p1] = clause();
    if (next() < 0.5) {
      return [first, p1 > 0 ? 1 : 0];
    }
    const [second, p2] = clause();
    return [`${first} ${p1 === p2 ? 'and' : 'but'} ${second}`, p1 === p2 ? (p1 > 0 ? 1 : 0) : 2];
  });
}

/** Half reviews with "superb" as the positive word, half with the old words, alternating. */
function fineTuningReviews(count: number, next: () => number): Array<[string, number]> {
  const fresh = reviews(Math.ceil(count / 2), ['superb'], next);
  const old = reviews(Math.floor(count / 2), POSITIVE, next);
  return fresh.flatMap((r, i) => (i < old.length ? [r, old[i]!] : [r]));
}

/** Token ids, [texts, vocab.length] int32, 0-padded at the end. */
function encode(texts: string[], vocab: Vocab): tf.Tensor2D {
  const ids = texts.map(text => {
    const row = text.split(' ').map(w => {
      const id = vocab.words[w];
      if (id === undefined) {
        throw new Error(`"${w}" is not in the vocabulary (${text})`);
      }
      return id;
    });
    return [...row, ...new Array<number>(vocab.length - row.length).fill(0)];
  });
  return tf.tensor2d(ids, [texts.length, vocab.length], 'int32');
}

async function probabilities(model: tf.LayersModel, texts: string[], vocab: Vocab): Promise<number[][]> {
  const x = encode(texts, vocab);                     // [reviews, length]
  const y = model.predict(x) as tf.Tensor2D;         // [reviews, classes]
  const values = await y.array();
  tf.dispose([x, y]);
  return values;
}

/** Largest |a - b| over two [rows][columns] tables of the same shape. */
export function maxDifference(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
}

function readJson<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(HERE, name), 'utf8')) as T;
}

/** Keras's probabilities for the demo's reviews from classifier.keras (train.py's record). */
export function kerasPredictions(): KerasRecord {
  return readJson<KerasRecord>('keras_predictions.json');
}

/**
 * Keras's probabilities for the demo's reviews from the file a run of `record.steps` steps saved
 * (predict.py --record's record).
 */
export function kerasFineTunedPredictions(): KerasRecord {
  return readJson<KerasRecord>('keras_fine_tuned_predictions.json');
}

/**
 * The demo: load, check against Keras, fine-tune `steps` steps of 32 reviews (default 20), save
 * to `out` (default trained/keras/fine_tuned.keras under the working directory), load back.
 * Throws when tfjs's predictions differ from Keras's by more than {@link TOLERANCE}, and when
 * `out` is the committed classifier.keras or does not end in '.keras'.
 */
export async function runDemo(options: {steps?: number, out?: string, log?: (line: string) => void} = {}):
    Promise<DemoResult> {
  const log = options.log ?? console.log;
  const steps = options.steps ?? DEFAULT_STEPS;
  const out = path.resolve(options.out ?? KERAS_DEMO_COMMAND.options.out.default);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new UsageError(`--steps must be a positive integer. Received: --steps ${steps}`);
  }
  if (!out.endsWith('.keras')) {
    throw new UsageError(`--out must end in .keras (Keras loads no other name). Received: --out ${out}`);
  }
  if (sameFile(out, CLASSIFIER)) {
    throw new UsageError(`--out must not be the committed classifier.keras (the Keras-trained ` +
                         `model). Received: --out ${out}`);
  }
  const vocab = readJson<Vocab>('vocab.json');
  const keras = kerasPredictions();
  const show = (label: string, rows: number[][]) => {
    log(label);
    keras.reviews.forEach((text, i) => {
      const p = rows[i]!;
      const best = p.indexOf(Math.max(...p));
      log(`  ${vocab.classes[best]!.padEnd(8)} [${p.map(v => v.toFixed(3)).join(', ')}]  ${text}`);
    });
  };

  const model = await loadKerasModel(CLASSIFIER);
  const optimizer = tf.train.adam(2e-3);
  try {
    const before = await probabilities(model, keras.reviews, vocab);
    show(`Keras ${keras.keras} on classifier.keras (keras_predictions.json):`, keras.probabilities);
    show('tfjs on the same file (loadKerasModel):', before);
    const fromKeras = maxDifference(before, keras.probabilities);
    log(`largest difference: ${fromKeras.toExponential(2)}`);
    if (!(fromKeras <= TOLERANCE)) {
      throw new Error(`tfjs's predictions differ from Keras's (keras_predictions.json) by ${
          fromKeras} > ${TOLERANCE}`);
    }

    const next = random(13);
    const heldOut = fineTuningReviews(256, next);
    const train = fineTuningReviews(steps * BATCH, next);
    const [x, y, xTest, yTest] = [encode(train.map(r => r[0]), vocab),            // [n, length]
                                  tf.tensor1d(train.map(r => r[1]), 'float32'),   // [n]
                                  encode(heldOut.map(r => r[0]), vocab),
                                  tf.tensor1d(heldOut.map(r => r[1]), 'float32')];
    model.compile({optimizer, loss: 'sparseCategoricalCrossentropy'});
    const loss = () => tf.tidy(() => (model.evaluate(xTest, yTest, {batchSize: 256}) as tf.Scalar).dataSync()[0]!);
    const lossBefore = loss();
    await model.fit(x, y, {batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0});
    const lossAfter = loss();
    tf.dispose([x, y, xTest, yTest]);
    log(`fine-tuned in tfjs: ${steps} steps of ${BATCH} reviews; loss on 256 held-out reviews ` +
        `${lossBefore.toFixed(4)} → ${lossAfter.toFixed(4)}`);
    const after = await probabilities(model, keras.reviews, vocab);
    show('tfjs, fine-tuned:', after);

    fs.mkdirSync(path.dirname(out), {recursive: true});
    const saved = await saveKerasModel(model, out);
    const back = await loadKerasModel(out);
    const reloaded = await probabilities(back, keras.reviews, vocab);
    back.dispose();
    log(`saved ${path.relative(process.cwd(), saved.path) || saved.path} (${
        (saved.bytes / 1024).toFixed(0)} KB); loaded back, largest difference ${
        maxDifference(reloaded, after).toExponential(2)}`);
    const record = fs.existsSync(path.join(HERE, 'keras_fine_tuned_predictions.json')) ?
        kerasFineTunedPredictions() : undefined;
    if (record !== undefined && record.steps === steps) {
      log(`Keras ${record.keras} on the file a run of ${steps} steps saved ` +
          `(keras_fine_tuned_predictions.json): largest difference ${
          maxDifference(after, record.probabilities).toExponential(2)}`);
    }
    log(`in Keras: python examples/keras/predict.py ${path.relative(process.cwd(), out)}`);
    return {before, after, reloaded, lossBefore, lossAfter, out};
  } finally {
    model.dispose();
    optimizer.dispose();   // compile was given the optimizer, so model.dispose() leaves it
  }
}

/** Whether `a` names `b` (the same path, or the same file through a link). */
function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) {
    return true;
  }
  try {
    const [sa, sb] = [fs.statSync(a), fs.statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

if (require.main === module) {
  runCommand(KERAS_DEMO_COMMAND, async ({options}) => {
    await tf.setBackend('cpu');
    await runDemo({steps: options.steps, out: options.out});
  });
}
