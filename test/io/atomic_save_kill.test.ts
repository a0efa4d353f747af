/**
 * Atomic saves: a child process saving a model is SIGKILLed at every step of the save, and at
 * random moments many times; after each kill the folder must load, holding exactly the previous
 * model or the new one (weights and metadata of one version, never a mixture).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem} from '../../src';
import {buildKillModel, checksum, setVersion, versionOf} from '../helpers/io/kill_model';
import {bundleChild, startChild as start} from '../helpers/io/save_child';

const RANDOM_KILLS = 50;

let root: string;
let childScript: ReturnType<typeof bundleChild>;
let model: tf.LayersModel;

/** Saves `version` to `folder` from this process, completely. */
async function saveHere(folder: string, version: number): Promise<void> {
  setVersion(model, version);
  await model.save(fileSystem(folder));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-kill-'));
  model = buildKillModel();
  childScript = bundleChild();
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
  childScript.remove();
  model.dispose();
});

const startChild = (folder: string, first: number|'fit', dieAt?: string) =>
    start(childScript.script, folder, first, dieAt);

/** Loads the folder and returns the version it holds (checking every weight). */
async function loadVersion(folder: string): Promise<number> {
  const model = await tf.loadLayersModel(`file://${folder}/model.json`);
  try {
    return versionOf(model);
  } finally {
    model.dispose();
  }
}

function siblings(folder: string): string[] {
  const name = path.basename(folder);
  return fs.readdirSync(path.dirname(folder)).filter(e => e.startsWith(`.${name}.`));
}

const warn = console.warn;
beforeEach(() => {
  console.warn = (...args: unknown[]) => {  // the "loading the previous model" notice is expected
    if (!String(args[0]).includes('was interrupted')) {
      warn(...args);
    }
  };
});
afterEach(() => {
  console.warn = warn;
});

describe('killed at each step of a save', () => {
  // [step, version expected afterwards]: before the new folder is renamed in, the old one.
  const steps: Array<[string, 'old'|'new']> = [
    ['cleaned', 'old'], ['created-tmp', 'old'], ['wrote-file:weights.bin', 'old'],
    ['wrote-file:model.json', 'old'], ['synced-tmp', 'old'], ['moved-old', 'old'],
    ['moved-new', 'new'], ['trashed-old', 'new'],
  ];
  it.each(steps)('over an existing model, at %s: the %s model loads', async (step, expected) => {
    const folder = path.join(root, `step-${step.replace(':', '-')}`);
    await saveHere(folder, 1);
    expect(await loadVersion(folder)).toBe(1);

    const child = startChild(folder, 2, step);
    expect({code: await child.exited, stderr: child.stderr()}).toEqual({code: null, stderr: ''});
    expect(fs.existsSync(folder)).toBe(step !== 'moved-old');  // the one moment it is absent
    expect(await loadVersion(folder)).toBe(expected === 'old' ? 1 : 2);

    // The next save puts things right: the folder is there, nothing is left beside it.
    await saveHere(folder, 3);
    expect(await loadVersion(folder)).toBe(3);
    expect(siblings(folder)).toEqual([]);
  });

  it.each([['wrote-file:model.json'], ['synced-tmp']])(
      'the very first save, at %s: no model appears', async step => {
        const folder = path.join(root, `first-${step.replace(':', '-')}`);
        const child = startChild(folder, 1, step);
        expect(await child.exited).toBeNull();
        expect(fs.existsSync(folder)).toBe(false);
        await expect(loadVersion(folder)).rejects.toThrow(`the folder ${folder} does not exist`);
      });
});

describe('killed at random moments', () => {
  it(`${RANDOM_KILLS} kills while saving in a loop: each leaves the previous or the new model`, async () => {
    const folder = path.join(root, 'random');
    await saveHere(folder, 0);
    let version = 0;  // the version the folder holds
    let sawNew = 0;
    let sawOld = 0;
    let sawRecovered = 0;
    let savesBeforeKill = 0;
    for (let trial = 0; trial < RANDOM_KILLS; trial++) {
      const child = startChild(folder, version + 1);
      await child.ready;
      // Saves take tens of milliseconds here; kill somewhere in the first few.
      await new Promise(resolve => setTimeout(resolve, Math.random() * 150));
      child.process.kill('SIGKILL');
      expect(await child.exited).toBeNull();
      expect(child.stderr()).toBe('');
      const lastSaved = child.saved.length > 0 ? child.saved[child.saved.length - 1]! : version;
      savesBeforeKill += child.saved.length;
      if (!fs.existsSync(folder)) {
        sawRecovered++;
      }
      const loaded = await loadVersion(folder);
      // The last completed save, or the one in progress if it got as far as its rename.
      expect([lastSaved, lastSaved + 1]).toContain(loaded);
      if (loaded === lastSaved) {
        sawOld++;
      } else {
        sawNew++;
      }
      version = loaded;
    }
    // Printed for the record: where the kills landed.
    process.stdout.write(`random kills: ${RANDOM_KILLS}, each loadable; ${savesBeforeKill} saves ` +
                         `completed in between; loaded the last completed save ${sawOld} times, ` +
                         `the interrupted one (already renamed in) ${sawNew} times; target absent ` +
                         `(previous model read from beside it) ${sawRecovered} times\n`);
    expect(sawOld + sawNew).toBe(RANDOM_KILLS);
  });
});

describe('loading while another process saves', () => {
  it('every load gets one complete version, never a mixture', async () => {
    const folder = path.join(root, 'readers');
    await saveHere(folder, 0);
    const child = startChild(folder, 1);
    await child.ready;
    const seen: number[] = [];
    try {
      while (seen.length < 15) {
        seen.push(await loadVersion(folder));  // versionOf checks every weight
      }
    } finally {
      child.process.kill('SIGKILL');
    }
    expect(await child.exited).toBeNull();
    expect(child.stderr()).toBe('');
    // Versions never go backwards, and the loads did overlap with saves.
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(new Set(seen).size).toBeGreaterThan(3);
  });
});

describe('a training process killed while its checkpoint callback saves', () => {
  it('leaves a loadable checkpoint of the last or the current epoch, with its weights', async () => {
    const folder = path.join(root, 'fit');
    let checked = 0;
    for (let trial = 0; trial < 3; trial++) {
      const child = startChild(folder, 'fit');
      await child.ready;
      while (child.epochs.size < 1 + (trial % 3)) {  // let it get a few epochs in
        await new Promise(resolve => setTimeout(resolve, 5));
      }
      await new Promise(resolve => setTimeout(resolve, Math.random() * 100));
      child.process.kill('SIGKILL');
      expect(await child.exited).toBeNull();
      expect(child.stderr()).toBe('');
      const last = Math.max(...child.epochs.keys());
      const model = await tf.loadLayersModel(`file://${folder}/latest/model.json`);
      const epoch = (model.getUserDefinedMetadata() as {checkpoint: {epoch: number}}).checkpoint.epoch;
      expect([last, last + 1]).toContain(epoch);
      if (child.epochs.has(epoch)) {  // reported: its weights are exactly those
        expect(checksum(model)).toBe(child.epochs.get(epoch));
        checked++;
      }
      model.dispose();
      model.optimizer.dispose();
    }
    expect(checked).toBeGreaterThan(0);
  });
});
