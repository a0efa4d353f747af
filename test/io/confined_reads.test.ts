/**
 * Loads read only the model's own files: every `weightsManifest.paths` entry must stay inside
 * the model's folder, pass through no symbolic link, name a regular file and have the size the
 * manifest implies before a byte is read. Whatever a model.json lists (a path out of the folder,
 * an absolute path, /dev/zero, a FIFO, a link, a 64 GiB sparse file), the load fails at once,
 * naming the entry, telling nothing about files outside the folder, and leaking nothing.
 * Also readModelFiles, the helper every loader of the package uses, on its own.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {readModelFiles} from '../../src/io/model_files';
import {BACKENDS, editModelJson, expectLoadError, maxDiff, savedModel, sha256, smallModel, useBackend} from '../helpers/io/model_folders';

let root: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-confined-'));
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
});

let folders = 0;
/** A fresh saved model, plus a copy of its weights outside its folder (`<root>/other-N/weights.bin`). */
async function modelWithOutsideCopy(): Promise<{folder: string, outside: string}> {
  folders++;
  const folder = await savedModel(path.join(root, `model-${folders}`));
  const outside = path.join(root, `other-${folders}`, 'weights.bin');
  fs.mkdirSync(path.dirname(outside));
  fs.copyFileSync(path.join(folder, 'weights.bin'), outside);
  return {folder, outside};
}

function listPath(folder: string, entry: string): void {
  editModelJson(folder, json => json.weightsManifest[0].paths = [entry]);
}

const input = () => tf.randomUniform([2, 5, 6], -1, 1, 'float32', 7);

describe.each(BACKENDS)('on %s', backend => {
  beforeAll(() => useBackend(backend));

  describe('a manifest path outside the folder is refused without looking at it', () => {
    it.each([
      ['a path up and into a sibling folder', (outside: string) => `../${path.basename(path.dirname(outside))}/weights.bin`],
      ['an absolute path to a valid copy', (outside: string) => outside],
      ['/etc/passwd', () => '/etc/passwd'],
      ['/dev/zero', () => '/dev/zero'],
      ['a path that goes out and comes back', (outside: string) => `../${path.basename(path.dirname(outside))}/../x/weights.bin`],
      ['a Windows drive path', () => 'C:\\Windows\\win.ini'],
      ['the folder itself', () => '.'],
    ])('%s', async (_, entryFor) => {
      const {folder, outside} = await modelWithOutsideCopy();
      const entry = entryFor(outside);
      listPath(folder, entry);
      const message = await expectLoadError(`file://${folder}/model.json`,
                                            [path.join(folder, 'model.json'), JSON.stringify(entry),
                                             'outside the model\'s folder']);
      // Nothing about the file it named: not its size, not whether it exists.
      expect(message).not.toMatch(/bytes/);
      expect(message).not.toMatch(/does not exist/);
    });

    it('an outside file that exists and one that does not give the same error', async () => {
      const {folder, outside} = await modelWithOutsideCopy();
      const messages: string[] = [];
      for (const target of [outside, path.join(path.dirname(outside), 'missing.bin')]) {
        const entry = path.relative(folder, target);
        listPath(folder, entry);
        messages.push((await expectLoadError(`file://${folder}`, [entry])).replace(entry, '<entry>'));
      }
      expect(messages[0]).toBe(messages[1]);
    });
  });

  describe('inside the folder, only regular files, reached without links', () => {
    it('weights.bin as a symbolic link to a valid copy outside', async () => {
      const {folder, outside} = await modelWithOutsideCopy();
      const bin = path.join(folder, 'weights.bin');
      fs.rmSync(bin);
      fs.symlinkSync(outside, bin);
      await expectLoadError(`file://${folder}`, [bin, '"weights.bin"', 'is a symbolic link']);
    });

    it('a link to /dev/zero, or a link inside the folder, is refused as well', async () => {
      const {folder} = await modelWithOutsideCopy();
      const bin = path.join(folder, 'weights.bin');
      fs.renameSync(bin, path.join(folder, 'real.bin'));
      fs.symlinkSync('real.bin', bin);  // stays inside, still a link: refused, simply
      await expectLoadError(`file://${folder}`, ['"weights.bin"', 'is a symbolic link']);
      fs.rmSync(bin);
      fs.symlinkSync('/dev/zero', bin);
      await expectLoadError(`file://${folder}`, ['"weights.bin"', 'is a symbolic link']);
    });

    it('a folder on the way that is a link', async () => {
      const {folder, outside} = await modelWithOutsideCopy();
      fs.symlinkSync(path.dirname(outside), path.join(folder, 'sub'));
      listPath(folder, 'sub/weights.bin');
      await expectLoadError(`file://${folder}`, [path.join(folder, 'sub'), '"sub/weights.bin"',
                                                 'is a symbolic link']);
    });

    it('a FIFO fails at once instead of hanging', async () => {
      const {folder} = await modelWithOutsideCopy();
      const bin = path.join(folder, 'weights.bin');
      fs.rmSync(bin);
      execFileSync('mkfifo', [bin]);
      await expectLoadError(`file://${folder}`, [bin, 'is a FIFO']);
    });

    it('a folder where the weights file should be', async () => {
      const {folder} = await modelWithOutsideCopy();
      const bin = path.join(folder, 'weights.bin');
      fs.rmSync(bin);
      fs.mkdirSync(bin);
      await expectLoadError(`file://${folder}`, [bin, 'is a folder']);
    });

    it('a 64 GiB sparse file is refused by its size, not read', async () => {
      const {folder} = await modelWithOutsideCopy();
      const bin = path.join(folder, 'weights.bin');
      const expected = fs.statSync(bin).size;
      fs.truncateSync(bin, 64 * 2 ** 30);
      const before = process.memoryUsage().rss;
      await expectLoadError(`file://${folder}`,
                            [bin, `has ${64 * 2 ** 30} bytes, longer than the ${expected} bytes`]);
      expect(process.memoryUsage().rss - before).toBeLessThan(2 ** 30);
    });

    it('a model.json that is a FIFO or a folder fails at once', async () => {
      const folder = path.join(root, `fifo-json-${backend}`);
      fs.mkdirSync(folder);
      execFileSync('mkfifo', [path.join(folder, 'model.json')]);
      await expectLoadError(`file://${folder}/model.json`, [path.join(folder, 'model.json'), 'is a FIFO']);
      const other = path.join(root, `dir-json-${backend}`);
      fs.mkdirSync(path.join(other, 'model.json'), {recursive: true});
      await expectLoadError(`file://${other}/model.json`, [path.join(other, 'model.json'), 'is a folder']);
    });

    it('a missing file inside the folder is named', async () => {
      const {folder} = await modelWithOutsideCopy();
      listPath(folder, 'nested/gone.bin');
      await expectLoadError(`file://${folder}`, [path.join(folder, 'nested', 'gone.bin'),
                                                 '"nested/gone.bin"', 'does not exist']);
    });
  });

  describe('what stays allowed', () => {
    it('"./weights.bin" (as downloads:// writes), a file in a subfolder, and a linked model folder', async () => {
      const model = smallModel(3);
      const expected = model.predict(input()) as tf.Tensor;
      const folder = path.join(root, `allowed-${backend}`);
      await model.save(`file://${folder}`);
      const check = async (url: string) => {
        const loaded = await tf.loadLayersModel(url);
        expect(maxDiff(loaded.predict(input()) as tf.Tensor, expected)).toBe(0);
        loaded.dispose();
      };
      listPath(folder, './weights.bin');
      await check(`file://${folder}`);

      fs.mkdirSync(path.join(folder, 'sub'));
      fs.renameSync(path.join(folder, 'weights.bin'), path.join(folder, 'sub', 'w.bin'));
      listPath(folder, 'sub/w.bin');
      await check(`file://${folder}/model.json`);

      const link = path.join(root, `linked-${backend}`);
      fs.symlinkSync(folder, link);  // the user's own choice of folder may be a link
      await check(`file://${link}/model.json`);
      model.dispose();
    });
  });
});

describe('readModelFiles', () => {
  let folder: string;
  beforeAll(() => {
    folder = path.join(root, 'shards');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'a.bin'), Buffer.from([1, 2, 3]));
    fs.writeFileSync(path.join(folder, 'b.bin'), Buffer.from([4, 5]));
  });

  it('returns the bytes of each file in order, checking the total and each size', async () => {
    const [a, b] = await readModelFiles(folder, ['a.bin', 'b.bin'], {totalBytes: 5, sizes: [3, null]});
    expect(Array.from(a!)).toEqual([1, 2, 3]);
    expect(Array.from(b!)).toEqual([4, 5]);
    await expect(readModelFiles(folder, ['a.bin', 'b.bin'], {totalBytes: 6, listedIn: 'm.json'}))
        .rejects.toThrow(`Cannot load m.json: the files ${path.join(folder, 'a.bin')}, ` +
                         `${path.join(folder, 'b.bin')} together have 5 bytes, shorter than the 6 bytes expected.`);
    await expect(readModelFiles(folder, ['a.bin'], {sizes: [2], sizeSource: 'the header says'}))
        .rejects.toThrow(`${path.join(folder, 'a.bin')} has 3 bytes, longer than the 2 bytes the header says.`);
  });

  it('verifies a SHA-256 and names the file on a mismatch', async () => {
    const hash = sha256(Buffer.from([1, 2, 3]));
    await expect(readModelFiles(folder, ['a.bin'], {sha256: [hash]})).resolves.toHaveLength(1);
    await expect(readModelFiles(folder, ['a.bin'], {sha256: [hash.toUpperCase()]})).resolves.toHaveLength(1);
    const wrong = sha256(Buffer.from([1, 2, 4]));
    await expect(readModelFiles(folder, ['a.bin'], {sha256: [wrong], listedIn: 'm.json'}))
        .rejects.toThrow(`m.json: the SHA-256 of ${path.join(folder, 'a.bin')} is ${hash}, not the ${wrong}`);
    await expect(readModelFiles(folder, ['a.bin'], {sha256: ['abc']}))
        .rejects.toThrow('must be 64 hex digits. Received: "abc"');
  });

  it('refuses a file above maxBytes when its size is not otherwise known', async () => {
    await expect(readModelFiles(folder, ['a.bin'], {maxBytes: 2}))
        .rejects.toThrow(`${path.join(folder, 'a.bin')} has 3 bytes, more than the 2 accepted`);
  });

  it('refuses names outside, before touching the disk, and reports the entry', async () => {
    for (const name of ['../x', '/x', '', 'a.bin\0', '..']) {
      await expect(readModelFiles(folder, ['a.bin', name], {listedIn: 'm.json'}))
          .rejects.toMatchObject({reason: 'outside', entry: name});
    }
  });
});
