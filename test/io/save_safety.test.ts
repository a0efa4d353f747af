/**
 * Saves that never get stuck and never take what is not theirs:
 * - a clean-up that fails (what an earlier save left cannot be deleted) never fails this save
 *   or a later one, from this process or another;
 * - a save replaces only model.json and weights.bin, whatever an existing model.json lists;
 * - a second save to a folder, in another process or this one, gets "another save to X is in
 *   progress" (never a raw ENOTEMPTY/ENOENT), and a lock left by a killed save does not stick;
 * - a link to a folder is saved through and stays a link; the working directory and folders
 *   above it are refused;
 * - errors name the target as given, never a temporary folder; a file on the way is "not a
 *   folder".
 * On cpu and wasm (the loads that check what was saved).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem} from '../../src';
import {buildKillModel, setVersion, versionOf} from '../helpers/io/kill_model';
import {BACKENDS, editModelJson, useBackend} from '../helpers/io/model_folders';
import {bundleChild, startChild} from '../helpers/io/save_child';
import {LOCK_DOWN_METHOD, lockDown, RUNNING_AS_ROOT, unlockAll, unwritable} from '../helpers/io/undeletable';

let root: string;
let child: ReturnType<typeof bundleChild>;
let model: tf.LayersModel;
let warnings: string[];
const warn = console.warn;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-safety-'));
  child = bundleChild();
});

afterAll(() => {
  unlockAll(root);
  fs.rmSync(root, {recursive: true, force: true});
  child.remove();
});

beforeEach(() => {
  warnings = [];
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
});

afterEach(() => {
  console.warn = warn;
});

let folders = 0;
function newFolder(name: string): string {
  folders++;
  return path.join(root, `${name}-${folders}`);
}

async function save(target: string, version: number): Promise<void> {
  setVersion(model, version);
  await model.save(fileSystem(target));
}

async function loadVersion(folder: string): Promise<number> {
  const loaded = await tf.loadLayersModel(`file://${folder}`);
  try {
    return versionOf(loaded);
  } finally {
    loaded.dispose();
  }
}

/** Entries beside `folder` that belong to saves of it (temporary, old, trash, lock). */
function besides(folder: string): string[] {
  return fs.readdirSync(path.dirname(folder)).filter(e => e.startsWith(`.${path.basename(folder)}.`));
}

/** Saves `version` from a child process, completely; resolves once it has exited. */
async function saveFromChild(folder: string, version: number): Promise<void> {
  const c = startChild(child.script, folder, version, 'done');
  // 'done' is reached after the save completes: the child kills itself there.
  expect({code: await c.exited, stderr: c.stderr()}).toEqual({code: null, stderr: ''});
  expect(c.saved).toEqual([]);  // killed before it could report, but the save was complete
}

/** The message of the rejection of `promise` (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & {code?: string}> {
  try {
    await promise;
  } catch (e) {
    return e as Error & {code?: string};
  }
  throw new Error('expected a failure, but it succeeded');
}

describe.each(BACKENDS)('on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
    model = buildKillModel();
  });
  afterAll(() => model.dispose());

  describe(`a clean-up that fails never blocks a save (undeletable: ${LOCK_DOWN_METHOD})`, () => {
    it('a folder whose previous version cannot be deleted: this save, and later ones from other processes, succeed', async () => {
      const folder = newFolder('stuck');
      await save(folder, 1);
      const frozen = path.join(folder, 'notes');
      fs.mkdirSync(frozen);
      fs.writeFileSync(path.join(frozen, 'frozen.txt'), 'kept');
      const undo = lockDown(RUNNING_AS_ROOT ? frozen : folder);

      await save(folder, 2);  // the old version (with the undeletable file) stays behind as trash
      expect(await loadVersion(folder)).toBe(2);
      expect(warnings.join('\n')).toMatch(new RegExp(`saved to ${folder}, but could not delete its previous version`));
      expect(besides(folder).some(e => e.includes('.trash-'))).toBe(true);

      await saveFromChild(folder, 3);  // another process: the leftover is not its own
      expect(await loadVersion(folder)).toBe(3);
      await save(folder, 4);
      await save(folder, 5);
      expect(await loadVersion(folder)).toBe(5);
      expect(fs.readFileSync(path.join(folder, 'notes', 'frozen.txt'), 'utf8')).toBe('kept');
      undo();
      unlockAll(root);
      await save(folder, 6);  // once deletable, the leftovers go
      expect(besides(folder)).toEqual([]);
    });

    it("a leftover of a dead process that cannot be deleted (as another user's would be) gives one warning, saves go on", async () => {
      const folder = newFolder('foreign');
      await save(folder, 1);
      const dead = startChild(child.script, folder, 2, 'cleaned');
      expect(await dead.exited).toBeNull();
      const leftover = path.join(path.dirname(folder), `.${path.basename(folder)}.trash-${dead.process.pid}-abc`);
      fs.mkdirSync(leftover);
      fs.writeFileSync(path.join(leftover, 'weights.bin'), 'x');
      lockDown(leftover);
      for (let version = 3; version < 6; version++) {
        await save(folder, version);
        expect(await loadVersion(folder)).toBe(version);
      }
      const about = warnings.filter(w => w.includes(leftover));
      expect(about).toHaveLength(1);
      expect(about[0]).toMatch(`could not delete ${leftover}, left by an earlier save to ${folder}`);
      expect(about[0]).toMatch('Saves to');
      unlockAll(root);
    });
  });

  describe('a save replaces only what a save writes', () => {
    it('an odd model.json listing user files and paths outside deletes none of them', async () => {
      const folder = newFolder('odd');
      await save(folder, 1);
      fs.writeFileSync(path.join(folder, 'vocab.json'), '["mine"]');
      fs.writeFileSync(path.join(folder, 'group1-shard1of1.bin'), 'from another tool');
      const outside = path.join(root, `outside-${folders}.txt`);
      fs.writeFileSync(outside, 'not yours');
      editModelJson(folder, json => json.weightsManifest[0].paths.push(
          'vocab.json', 'group1-shard1of1.bin', path.relative(folder, outside), outside));
      await save(folder, 2);
      expect(fs.readdirSync(folder).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'vocab.json', 'weights.bin']);
      expect(fs.readFileSync(path.join(folder, 'vocab.json'), 'utf8')).toBe('["mine"]');
      expect(fs.readFileSync(outside, 'utf8')).toBe('not yours');
      expect(await loadVersion(folder)).toBe(2);
    });
  });

  describe('one save per folder at a time', () => {
    it('another process mid-save: "another save to X is in progress"; once it is killed, saves take over', async () => {
      const folder = newFolder('busy');
      await save(folder, 1);
      for (const step of ['created-tmp', 'moved-old']) {  // while writing; while the folder is moved aside
        const holder = startChild(child.script, folder, 100, `hold:${step}`);
        await holder.holding;
        const given = path.relative(process.cwd(), folder);
        const error = await failure(save(given, 2));
        expect(error.message).toBe(error.message.split('\n')[0]);
        expect(error.message).toMatch(`Cannot save to ${given}: another save to ${given} is in progress (process ${holder.process.pid}`);
        expect(error.code).toBe('ELOCKED');
        holder.process.kill('SIGKILL');
        expect(await holder.exited).toBeNull();
        expect(await loadVersion(folder)).toBe(1);  // the holder's save never completed
        await save(folder, 3);  // its lock is stale now
        expect(await loadVersion(folder)).toBe(3);
        expect(besides(folder)).toEqual([]);
        await save(folder, 1);
      }
    });

    it('saves started together in one process: one succeeds, the others are told, none fails on its own', async () => {
      const folder = newFolder('together');
      await save(folder, 1);
      const models = [buildKillModel(), buildKillModel(), buildKillModel()];
      models.forEach((m, i) => setVersion(m, 10 + i));
      const results = await Promise.allSettled(models.map(m => m.save(fileSystem(folder))));
      const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
                            .map(r => (r.reason as Error).message);
      expect(results.filter(r => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
      expect(errors.length).toBeGreaterThanOrEqual(1);  // they overlap: not all can go first
      errors.forEach(m => expect(m).toMatch(`another save to ${folder} is in progress`));
      expect([10, 11, 12]).toContain(await loadVersion(folder));
      models.forEach(m => m.dispose());
    });

    it('a lock whose pid now belongs to another process, or an old unreadable one, is stale', async () => {
      const folder = newFolder('stale');
      await save(folder, 1);
      const lock = path.join(path.dirname(folder), `.${path.basename(folder)}.lock`);
      // A live process (our parent), but not the one that took the lock: another start time.
      fs.writeFileSync(lock, JSON.stringify({pid: process.ppid, host: os.hostname(), started: '1',
                                             token: 'x', time: '2000-01-01T00:00:00.000Z'}));
      if (fs.existsSync('/proc/self/stat')) {
        await save(folder, 2);
        expect(await loadVersion(folder)).toBe(2);
      } else {  // no process start times here: a live pid holds the lock
        await expect(save(folder, 2)).rejects.toThrow('is in progress');
        fs.rmSync(lock);
      }
      fs.writeFileSync(lock, '');  // a save that died between creating and writing its lock
      await expect(save(folder, 3)).rejects.toThrow('another save to');  // just made: maybe starting
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, old, old);
      await save(folder, 3);
      expect(await loadVersion(folder)).toBe(3);
      expect(besides(folder)).toEqual([]);
    });
  });

  describe('where a save goes', () => {
    it('through a link to a folder: the folder gets the model, the link stays a link', async () => {
      const real = newFolder('real');
      await save(real, 1);
      fs.writeFileSync(path.join(real, 'vocab.json'), '[]');
      const link = newFolder('link');
      fs.symlinkSync(real, link);
      await save(link, 2);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(link)).toBe(real);
      expect(await loadVersion(real)).toBe(2);
      expect(await loadVersion(link)).toBe(2);
      expect(fs.readdirSync(real).sort()).toEqual(['model.json', 'vocab.json', 'weights.bin']);
      expect(besides(real)).toEqual([]);
      expect(besides(link)).toEqual([]);

      const dangling = newFolder('dangling');
      fs.symlinkSync(path.join(root, 'nowhere'), dangling);
      await expect(save(dangling, 3)).rejects.toThrow(
          `Cannot save to ${dangling}: it is a symbolic link to a folder that does not exist`);
    });

    it('the working directory, or a folder above it, is refused and left as it was', async () => {
      const work = newFolder('cwd');
      fs.mkdirSync(path.join(work, 'inner'), {recursive: true});
      fs.writeFileSync(path.join(work, 'precious.txt'), 'x');
      const cwd = process.cwd();
      const inode = fs.statSync(work).ino;
      try {
        process.chdir(work);
        for (const target of ['.', './', work, `file://${work}`, `${work}/model.json`]) {
          const error = await failure(save(target.replace('file://', ''), 1));
          expect(error.message).toMatch(`Cannot save to ${target.replace('file://', '')}: it is the working directory.`);
        }
        process.chdir(path.join(work, 'inner'));
        for (const target of ['..', path.dirname(work), '/']) {
          await expect(save(target, 1)).rejects.toThrow(`Cannot save to ${target}: it is the working directory or a folder above it`);
        }
        await expect(model.save('file://.')).rejects.toThrow('Cannot save to .: it is the working directory');
      } finally {
        process.chdir(cwd);
      }
      expect(fs.statSync(work).ino).toBe(inode);
      expect(fs.readdirSync(work).sort()).toEqual(['inner', 'precious.txt']);
    });
  });

  describe('errors name the target as given', () => {
    it('a file on the way is "not a folder"; a file as the target "exists and is not a folder"', async () => {
      const file = newFolder('a-file');
      fs.writeFileSync(file, 'x');
      const given = path.relative(process.cwd(), path.join(file, 'sub', 'm'));
      await expect(save(given, 1)).rejects.toThrow(`Cannot save to ${given}: ${file} is not a folder.`);
      await expect(save(file, 1)).rejects.toThrow(`Cannot save to ${file}: it exists and is not a folder.`);
    });

    it(`a folder that cannot be replaced names the target, not a temporary folder (${RUNNING_AS_ROOT ? 'chattr +i on it' : 'chmod 555 on its parent'})`, async () => {
      const parent = newFolder('parent');
      const folder = path.join(parent, 'm');
      await save(folder, 1);
      const undo = unwritable(folder);
      try {
        const given = path.relative(process.cwd(), folder);
        const error = await failure(save(given, 2));
        expect(error.message).toMatch(new RegExp(`^Cannot save to ${given.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: E(ACCES|PERM): `));
        expect(error.message).toMatch(/\(while (creating a temporary folder beside it|taking the lock beside it|moving the previous folder aside)\)/);
        expect(error.message).not.toMatch(/\.tmp-|\.old-|\.trash-/);
        expect(await loadVersion(folder)).toBe(1);
      } finally {
        undo();
      }
      expect(besides(folder)).toEqual([]);
      await save(folder, 2);
      expect(await loadVersion(folder)).toBe(2);
    });
  });
});
