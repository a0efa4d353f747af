/**
 * writeFileAtomically, the one-file form of the atomic save (for `.keras` archives), with the
 * folder form's care: a link to a file is saved through; a second save to the file gets "another
 * save to X is in progress"; a leftover that cannot be deleted never blocks it; errors name the
 * target as given, never the temporary file; a file on the way is "not a folder". A child killed
 * while it writes leaves the old file, whole.
 */
import {spawn} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {writeFileAtomically} from '../../src/io/atomic_directory';
import {lockDown, LOCK_DOWN_METHOD, unlockAll} from '../helpers/io/undeletable';

let root: string;
let warnings: string[];
const warn = console.warn;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-file-'));
});

afterAll(() => {
  unlockAll(root);
  fs.rmSync(root, {recursive: true, force: true});
});

beforeEach(() => {
  warnings = [];
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
});

afterEach(() => {
  console.warn = warn;
});

const besides = (file: string) =>
    fs.readdirSync(path.dirname(file)).filter(e => e.startsWith(`.${path.basename(file)}.`));

describe('writeFileAtomically', () => {
  it('writes and replaces the file, creating its folders, leaving nothing beside it', async () => {
    const file = path.join(root, 'a', 'b', 'model.keras');
    await writeFileAtomically(file, new Uint8Array([1, 2, 3]));
    await writeFileAtomically(file, 'second');
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['model.keras']);
  });

  it('saves through a link to a file; refuses a dangling link and a folder', async () => {
    const real = path.join(root, 'real.keras');
    fs.writeFileSync(real, 'old');
    const link = path.join(root, 'link.keras');
    fs.symlinkSync(real, link);
    await writeFileAtomically(link, 'new');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe('new');
    const dangling = path.join(root, 'dangling.keras');
    fs.symlinkSync(path.join(root, 'nowhere.keras'), dangling);
    await expect(writeFileAtomically(dangling, 'x')).rejects.toThrow(
        `Cannot save to ${dangling}: it is a symbolic link to a file that does not exist`);
    fs.mkdirSync(path.join(root, 'folder.keras'));
    await expect(writeFileAtomically(path.join(root, 'folder.keras'), 'x')).rejects.toThrow(
        `Cannot save to ${path.join(root, 'folder.keras')}: it exists and is a folder.`);
  });

  it('a file on the way is "not a folder"; errors name the target as given', async () => {
    const blocker = path.join(root, 'blocker');
    fs.writeFileSync(blocker, 'x');
    const given = path.relative(process.cwd(), path.join(blocker, 'm.keras'));
    await expect(writeFileAtomically(path.join(blocker, 'm.keras'), 'x', {label: given}))
        .rejects.toThrow(`Cannot save to ${given}: ${blocker} is not a folder.`);
  });

  it('two saves at once: the second is told another is in progress', async () => {
    const file = path.join(root, 'busy.keras');
    const big = new Uint8Array(32 * 2 ** 20);
    const results = await Promise.allSettled([writeFileAtomically(file, big), writeFileAtomically(file, 'small')]);
    expect(results.map(r => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect((failed.reason as Error).message).toMatch(`Cannot save to ${file}: another save to ${file} is in progress`);
    expect(besides(file)).toEqual([]);
  });

  it(`a leftover that cannot be deleted warns once and blocks nothing (${LOCK_DOWN_METHOD})`, async () => {
    const folder = path.join(root, 'stuck');
    fs.mkdirSync(folder);
    const file = path.join(folder, 'm.keras');
    const leftover = path.join(folder, '.m.keras.trash-999999999-abc');
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, 'part'), 'x');
    lockDown(leftover);
    await writeFileAtomically(file, 'one');
    await writeFileAtomically(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(warnings.filter(w => w.includes(leftover))).toHaveLength(1);
    unlockAll(root);
  });

  it('a child killed while writing leaves the old file whole; the next save removes its leftover', async () => {
    const file = path.join(root, 'killed.keras');
    fs.writeFileSync(file, 'old');
    const module = path.resolve(__dirname, '..', '..', 'src', 'io', 'atomic_directory.ts');
    // The child writes 256 MiB (and fsyncs it): it is killed once its temporary file appears.
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', `
      const {writeFileAtomically} = require(${JSON.stringify(module)});
      const data = new Uint8Array(256 * 2 ** 20).fill(7);
      process.stdout.write('start\\n');
      writeFileAtomically(${JSON.stringify(file)}, data);
    `], {stdio: ['ignore', 'pipe', 'inherit']});
    await new Promise<void>(resolve => child.stdout!.once('data', () => resolve()));
    while (!besides(file).some(e => e.includes('.tmp-'))) {  // until it is writing
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    child.kill('SIGKILL');
    await new Promise(resolve => child.once('exit', resolve));
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    await writeFileAtomically(file, 'new');  // its lock and temporary file are stale now
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(besides(file)).toEqual([]);
  });
});
