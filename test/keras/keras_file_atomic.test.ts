/**
 * saveKerasModel replaces a `.keras` file atomically: a child process saving versions of a model
 * (about 0.4 MB of weights) to one file is SIGKILLed at random moments, many times; after each
 * kill the file is a complete archive holding exactly one version's weights (a saved one, or the
 * one being saved when the rename had happened), never a torn file; and the next save clears the
 * temporary file a killed save left.
 */
import {ChildProcess, spawn} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as esbuild from 'esbuild';
import * as tf from '@tensorflow/tfjs';

import {loadKerasWeights} from '../../src';
import {buildKillModel, expectedValue} from '../helpers/io/kill_model';

const KILLS = 24;

let root: string;
let childScript: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-kill-'));
  const repo = path.resolve(__dirname, '..', '..');
  childScript = path.join(repo, '.tmp', `keras_file_kill_child_${process.pid}.js`);
  esbuild.buildSync({entryPoints: [path.join(__dirname, '..', 'helpers', 'keras_file_kill_child.ts')],
                     bundle: true, platform: 'node', format: 'cjs', external: ['@tensorflow/*'],
                     outfile: childScript, logLevel: 'warning'});
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
  fs.rmSync(childScript, {force: true});
});

interface Child {
  process: ChildProcess;
  saved: number[];
  ready: Promise<void>;
  exited: Promise<number|null>;
  stderr: () => string;
}

function startChild(file: string, first: number): Child {
  const child = spawn(process.execPath, [childScript, file, String(first)], {stdio: ['ignore', 'pipe', 'pipe']});
  const saved: number[] = [];
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>(resolve => onReady = resolve);
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let newline: number;
    while ((newline = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, newline);
      out = out.slice(newline + 1);
      if (line === 'ready') onReady();
      else if (line.startsWith('saved ')) saved.push(Number(line.slice(6)));
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => err += chunk.toString());
  const exited = new Promise<number|null>(resolve => child.on('exit', (code, signal) => {
    onReady();
    resolve(signal === 'SIGKILL' ? null : code);
  }));
  const stderr = () => err.split('\n').filter(l => l.trim() !== '' && !l.includes('looks like you are running') &&
                                                   !/^=+$/.test(l.trim())).join('\n');
  return {process: child, saved, ready, exited, stderr};
}

/** The version the file holds, after checking every weight is exactly that version's. */
async function versionIn(file: string): Promise<number> {
  const model = buildKillModel();
  try {
    await loadKerasWeights(model, file);
    const first = model.weights[0]!.read().dataSync()[0]!;
    const version = Math.floor(first / 4096);
    model.weights.forEach((w, i) => {
      const values = w.read().dataSync();
      for (let j = 0; j < values.length; j++) {
        if (values[j] !== expectedValue(version, i, j)) {
          throw new Error(`weight ${i} element ${j} is ${values[j]}, not version ${version}'s: a mixture`);
        }
      }
    });
    return version;
  } finally {
    model.dispose();
  }
}

it(`killed ${KILLS} times at random moments, the file is always one whole version`, async () => {
  const file = path.join(root, 'model.keras');
  let next = 1;
  let seen = 0;
  for (let k = 0; k < KILLS; k++) {
    const child = startChild(file, next);
    await child.ready;
    // long enough for a few saves sometimes, short enough to land inside one often
    await new Promise(resolve => setTimeout(resolve, 30 + Math.floor(Math.random() * 400)));
    child.process.kill('SIGKILL');
    expect({code: await child.exited, stderr: child.stderr()}).toEqual({code: null, stderr: ''});
    const last = child.saved[child.saved.length - 1];
    if (!fs.existsSync(file)) {
      expect(seen).toBe(0);  // no save has completed yet
    } else {
      const version = await versionIn(file);
      // the file of before this run, a save this run completed, or the one it was killed in
      // after its rename (before it could say "saved")
      expect([seen, ...child.saved, (last ?? next - 1) + 1]).toContain(version);
      expect(version).toBeGreaterThanOrEqual(seen);
      seen = version;
    }
    next = Math.max(next, ...child.saved, seen) + 1;
  }
  // a last complete save removes what the killed ones left beside the file
  const child = startChild(file, next);
  await child.ready;
  while (child.saved.length === 0) await new Promise(resolve => setTimeout(resolve, 20));
  child.process.kill('SIGKILL');
  await child.exited;
  const leftovers = fs.readdirSync(root).filter(e => e !== 'model.keras');
  for (const e of leftovers) {
    if (e === '.model.keras.lock') {
      // the last child's own lock, killed in its next save (empty if killed before writing it):
      // its completed save took the lock, so every earlier one was gone by then
      const text = fs.readFileSync(path.join(root, e), 'utf8');
      expect(text === '' || (JSON.parse(text) as {pid: number}).pid === child.process.pid).toBe(true);
    } else {
      expect(e).toMatch(new RegExp(`^\\.model\\.keras\\.tmp-${child.process.pid}-`));
    }
  }
  expect(await versionIn(file)).toBeGreaterThanOrEqual(child.saved[0]!);
}, 600_000);
