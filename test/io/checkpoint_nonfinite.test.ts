/**
 * Checkpoints that keep the last good model: when the monitored value or any weight is not
 * finite after an epoch, `checkpoint` saves neither `latest` nor `best` (it warns), and with
 * `terminateOnNaN` it stops training, as Keras's TerminateOnNaN does. The NaNs are put in by a
 * callback that runs before the checkpoint, at a known epoch; a run that really diverges is
 * checked too. On cpu and wasm.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {checkpoint, CheckpointInfo} from '../../src';
import {BACKENDS, smallModel, useBackend} from '../helpers/io/model_folders';

let root: string;
let warnings: string[];
const warn = console.warn;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-nan-'));
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
});

beforeEach(() => {
  warnings = [];
  console.warn = (...args: unknown[]) => {
    const message = args.map(String).join(' ');
    if (message.startsWith('tfjs-self-attention:')) {  // not tfjs's "install tfjs-node" banner
      warnings.push(message);
    }
  };
});

afterEach(() => {
  console.warn = warn;
});

const FIT = {batchSize: 4, shuffle: false, verbose: 0} as const;

function data() {
  return {x: tf.randomUniform([8, 5, 6], -1, 1, 'float32', 1),
          y: tf.randomUniform([8, 5, 3], -1, 1, 'float32', 2)};
}

function compiled(): tf.LayersModel {
  const model = smallModel(4);
  model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});
  return model;
}

/** Weights after each epoch, and a callback that breaks the model at `epoch` (1-based). */
function breaker(model: tf.LayersModel, epoch: number, how: 'weight'|'loss') {
  const snapshots: tf.Tensor[][] = [];
  const callback = new tf.CustomCallback({onEpochEnd: async (e, logs) => {
    if (e + 1 >= epoch) {
      if (how === 'weight') {
        const w = model.weights[0]!;
        w.write(tf.tidy(() => tf.fill(w.shape as number[], NaN)));
      } else {
        logs!['loss'] = Infinity;
      }
    }
    snapshots.push(model.getWeights().map(t => t.clone()));
  }});
  return {callback, snapshots};
}

async function loadCheckpoint(folder: string): Promise<{model: tf.LayersModel, info: CheckpointInfo}> {
  const model = await tf.loadLayersModel(`file://${folder}/model.json`);
  return {model, info: (model.getUserDefinedMetadata() as {checkpoint: CheckpointInfo}).checkpoint};
}

function sameWeights(a: tf.Tensor[], b: tf.Tensor[]): boolean {
  return a.length === b.length && a.every((t, i) => tf.tidy(() => tf.equal(t, b[i]!).all().dataSync()[0] === 1));
}

describe.each(BACKENDS)('on %s', backend => {
  beforeAll(() => useBackend(backend));

  it.each([['a weight', 'weight'], ['the monitored loss', 'loss']] as const)(
      '%s not finite from epoch 3: latest and best keep epoch 2, a warning says so, training goes on', async (_, how) => {
        const model = compiled();
        const {x, y} = data();
        const folder = path.join(root, `${backend}-${how}`);
        const {callback, snapshots} = breaker(model, 3, how);
        const history = await model.fit(x, y, {...FIT, epochs: 5, callbacks: [
          callback, checkpoint({path: folder, keepBest: true, monitor: 'loss'})]});
        expect(history.epoch).toEqual([0, 1, 2, 3, 4]);  // not stopped without terminateOnNaN

        const latest = await loadCheckpoint(path.join(folder, 'latest'));
        expect(latest.info.epoch).toBe(2);
        expect(sameWeights(latest.model.getWeights(), snapshots[1]!)).toBe(true);
        const best = await loadCheckpoint(path.join(folder, 'best'));
        expect(best.info.epoch).toBeLessThanOrEqual(2);
        expect(Number.isFinite(best.info.value)).toBe(true);

        expect(warnings).toHaveLength(3);  // epochs 3, 4, 5
        const problem = how === 'weight' ? /weight '[^']+' has \d+ non-finite value\(s\)/ :
                                           /the monitored 'loss' is Infinity/;
        expect(warnings[0]).toMatch(/checkpoint: after epoch 3 /);
        expect(warnings[0]).toMatch(problem);
        expect(warnings[0]).toMatch(`latest and best in ${folder} were not overwritten ` +
                                    `(last saved latest: epoch 2, best: epoch ${best.info.epoch})`);
        expect(warnings[0]).toMatch('Pass terminateOnNaN: true');
        latest.model.dispose();
        best.model.dispose();
        snapshots.flat().forEach(t => t.dispose());
        model.dispose();
      });

  it('terminateOnNaN stops training at the first such epoch', async () => {
    const model = compiled();
    const {x, y} = data();
    const folder = path.join(root, `${backend}-stop`);
    const {callback, snapshots} = breaker(model, 2, 'weight');
    const history = await model.fit(x, y, {...FIT, epochs: 6, callbacks: [
      callback, checkpoint({path: folder, terminateOnNaN: true})]});
    expect(history.epoch).toEqual([0, 1]);
    const latest = await loadCheckpoint(path.join(folder, 'latest'));
    expect(latest.info.epoch).toBe(1);
    expect(sameWeights(latest.model.getWeights(), snapshots[0]!)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch('latest in');
    expect(warnings[0]).toMatch('was not overwritten (last saved latest: epoch 1). Training stops (terminateOnNaN).');
    latest.model.dispose();
    snapshots.flat().forEach(t => t.dispose());
    model.dispose();
  });

  it('a run that really diverges leaves only finite checkpoints', async () => {
    const model = smallModel(5);
    // Measured here (both backends): losses 0.69, 3.95, 1.6e10, then NaN.
    model.compile({optimizer: tf.train.sgd(1), loss: 'meanSquaredError'});
    const {x, y} = data();
    const folder = path.join(root, `${backend}-diverge`);
    const history = await model.fit(x, y, {...FIT, epochs: 8, callbacks: [
      checkpoint({path: folder, keepBest: true, monitor: 'loss', terminateOnNaN: true})]});
    const epochs = history.epoch.length;
    expect(epochs).toBeLessThan(8);  // it did diverge, and stopped there
    expect(epochs).toBeGreaterThan(1);  // after at least one good epoch, saved
    expect(warnings).toHaveLength(1);
    for (const kind of ['latest', 'best']) {
      const saved = await loadCheckpoint(path.join(folder, kind));
      expect(saved.info.epoch).toBeLessThan(epochs);
      expect(Number.isFinite(saved.info.value)).toBe(true);
      const finite = saved.model.getWeights().every(w => tf.tidy(() => tf.all(tf.isFinite(w)).dataSync()[0] === 1));
      expect(finite).toBe(true);
      saved.model.dispose();
    }
    model.dispose();
  });
});
