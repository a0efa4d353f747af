/**
 * examples/keras (npm run keras:demo), run for real on the cpu backend: the Keras-trained
 * classifier.keras predicts Keras's probabilities (keras_predictions.json, to 1e-5); fine-tuning
 * in tfjs lowers the held-out loss and teaches the word Keras never saw; the `.keras` file it
 * saves loads back with the fine-tuned predictions, and Keras's predictions from the file a
 * default run saves (keras_fine_tuned_predictions.json, by predict.py --record) are tfjs's to
 * 1e-5. Bad options are refused before anything is loaded, and the committed file is never
 * written.
 *
 * The demo itself runs in a child process (test/helpers/keras_demo_child.ts): inside jest's
 * sandbox tfjs's cpu kernels fine-tune this model about 7 times slower than in plain Node
 * (6 s against 0.8 s a step here). Its numbers come back as JSON and are checked here.
 */
import {execFile} from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {CLASSIFIER, DemoResult, kerasFineTunedPredictions, kerasPredictions, KERAS_DEMO_COMMAND,
        runDemo} from '../../examples/keras/demo';
import {parseCommandLine, UsageError} from '../../examples/shared/cli';
import {loadKerasModel} from '../../src';

const argmax = (p: number[]) => p.indexOf(Math.max(...p));

/** Largest |a - b|, computed here rather than by the demo. */
function largest(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i]!.length);
    row.forEach((v, j) => {
      m = Math.max(m, Math.abs(v - b[i]![j]!));
    });
  });
  return m;
}

const ROOT = path.join(__dirname, '..', '..');

interface ChildReport {
  result: DemoResult;
  lines: string[];
  tensorsBefore: number;
  tensorsAfter: number;
}

/** runDemo({out}) in a child process (see the header). */
function runDemoInChild(out: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath,
             [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--transpile-only',
              path.join(ROOT, 'test', 'helpers', 'keras_demo_child.ts'), out],
             {cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24}, (error, stdout, stderr) => {
               if (error != null) {
                 reject(new Error(`the demo's child failed: ${error.message}\n${stderr}`));
               } else {
                 resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport);
               }
             });
  });
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let dir: string;
let committed: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-demo-'));
  committed = sha256(CLASSIFIER);
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

it('loads the Keras file, fine-tunes, and saves a .keras file whose Keras predictions are tfjs\'s', async () => {
  const keras = kerasPredictions();
  const fineTuned = kerasFineTunedPredictions();
  expect(fineTuned.reviews).toEqual(keras.reviews);
  expect(fineTuned.steps).toBe(KERAS_DEMO_COMMAND.options.steps.default);
  const out = path.join(dir, 'fine_tuned.keras');
  const {result: r, lines, tensorsBefore, tensorsAfter} = await runDemoInChild(out);

  // tfjs and Keras on classifier.keras
  expect(largest(r.before, keras.probabilities)).toBeLessThan(1e-5);
  // the loss on held-out reviews falls
  expect(r.lossAfter).toBeLessThan(r.lossBefore * 0.7);
  // "the view was not superb": positive for Keras's model, negative once fine-tuned in tfjs
  const review = keras.reviews.indexOf('the view was not superb');
  expect(argmax(r.before[review]!)).toBe(1);
  expect(argmax(r.after[review]!)).toBe(0);
  // the reviews of the old words keep their classes
  for (const i of [0, 1, 2, 3]) {
    expect(argmax(r.after[i]!)).toBe(argmax(r.before[i]!));
  }
  // the saved file: tfjs loads it back as it was, and Keras predicted the same from it
  expect(r.out).toBe(out);
  expect(fs.statSync(out).size).toBeGreaterThan(100_000);
  expect(largest(r.reloaded, r.after)).toBeLessThan(1e-6);
  expect(largest(r.after, fineTuned.probabilities)).toBeLessThan(1e-5);
  // the saved file loaded here, in this process, predicts Keras's numbers from it
  const vocab = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'keras', 'vocab.json'), 'utf8')) as
      {length: number, words: Record<string, number>};
  const ids = keras.reviews.map(t => t.split(' ').map(w => vocab.words[w]!));
  const x = tf.tensor2d(ids.map(row => [...row, ...new Array<number>(vocab.length - row.length).fill(0)]),
                        [ids.length, vocab.length], 'int32');
  const here = tf.memory().numTensors;
  const model = await loadKerasModel(out);
  const y = model.predict(x) as tf.Tensor2D;
  expect(largest(await y.array(), fineTuned.probabilities)).toBeLessThan(1e-5);
  tf.dispose([x, y]);
  model.dispose();
  expect(tf.memory().numTensors).toBe(here - 1);
  // and the fine-tuned numbers are not the Keras-trained ones
  expect(largest(r.after, keras.probabilities)).toBeGreaterThan(0.1);

  expect(lines.some(l => /largest difference \d/.test(l))).toBe(true);
  expect(lines.some(l => l.includes('keras_fine_tuned_predictions.json'))).toBe(true);
  expect(tensorsAfter).toBe(tensorsBefore);
  expect(sha256(CLASSIFIER)).toBe(committed);
}, 600_000);

it('refuses the committed file, names without .keras and bad steps, before loading anything', async () => {
  const before = tf.memory().numTensors;
  await expect(runDemo({out: CLASSIFIER, log: () => {}})).rejects.toThrow(
      `--out must not be the committed classifier.keras (the Keras-trained model). Received: --out ${CLASSIFIER}`);
  const link = path.join(dir, 'link.keras');
  fs.symlinkSync(CLASSIFIER, link);
  await expect(runDemo({out: link, log: () => {}})).rejects.toThrow(/must not be the committed classifier\.keras/);
  await expect(runDemo({out: path.join(dir, 'model.h5'), log: () => {}})).rejects.toThrow(
      /--out must end in \.keras .*Received: --out .*model\.h5/);
  await expect(runDemo({steps: 0, log: () => {}})).rejects.toThrow(
      '--steps must be a positive integer. Received: --steps 0');
  expect(() => parseCommandLine(KERAS_DEMO_COMMAND, ['--steps', '1.5'])).toThrow(UsageError);
  expect(() => parseCommandLine(KERAS_DEMO_COMMAND, ['--steps', '0'])).toThrow(
      '--steps must be an integer ≥ 1. Received: --steps "0"');
  expect(parseCommandLine(KERAS_DEMO_COMMAND, ['--out', 'x.keras', '--steps', '3']).options)
      .toEqual({steps: 3, out: 'x.keras'});
  expect(tf.memory().numTensors).toBe(before);
  expect(sha256(CLASSIFIER)).toBe(committed);
});
