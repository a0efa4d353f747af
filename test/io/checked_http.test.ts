/**
 * checkedHttp: loads over http fetch only the model's own files, no more bytes than the manifest
 * implies, with their SHA-256 verified, and the weights checked against the layers. tfjs's own
 * http loader, for contrast, fetches a `../` path outside the model's folder. loadKerasModel
 * over http reads its shards the same way (fetchModelFiles). A local server on
 * 127.0.0.1 logs every request, so the tests see what was (not) fetched. On cpu and wasm.
 */
import * as fs from 'fs';
import * as http from 'http';
import {AddressInfo} from 'net';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {checkedHttp, loadKerasModel} from '../../src';
import {FIXTURES, predictErrors, readReference} from '../helpers/keras_models';
import {BACKENDS, editModelJson, expectLoadError, inRealmFetch, maxDiff, savedModel, smallModel, useBackend} from '../helpers/io/model_folders';

let root: string;
let server: http.Server;
let origin: string;
/** Paths requested, in order. */
let requested: string[];
/** Paths answered specially: an endless body, or a body with a false Content-Length. */
const special = new Map<string, (response: http.ServerResponse) => void>();

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-http-'));
  server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    requested.push(url.pathname + url.search);
    const answer = special.get(url.pathname);
    if (answer !== undefined) {
      answer(response);
      return;
    }
    const file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {'content-length': fs.statSync(file).size}).end(fs.readFileSync(file));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise(resolve => server.close(resolve));
  fs.rmSync(root, {recursive: true, force: true});
});

beforeEach(() => {
  requested = [];
});

let count = 0;
/** A saved model under the server's root; returns its folder and its URL path. */
async function served(): Promise<{folder: string, at: string}> {
  count++;
  const folder = await savedModel(path.join(root, 'models', `m${count}`), count);
  fs.mkdirSync(path.join(root, 'models', `other${count}`));
  fs.copyFileSync(path.join(folder, 'weights.bin'), path.join(root, 'models', `other${count}`, 'weights.bin'));
  return {folder, at: `/models/m${count}`};
}

const input = () => tf.randomUniform([2, 5, 6], -1, 1, 'float32', 4);

describe.each(BACKENDS)('on %s', backend => {
  beforeAll(() => useBackend(backend));

  it('loads a model saved by fileSystem (SHA-256 verified) and predicts the same; fetches only its two files', async () => {
    const model = smallModel(40);
    const folder = path.join(root, 'models', `good-${backend}`);
    await model.save(`file://${folder}`);
    const loaded = await tf.loadLayersModel(checkedHttp(`${origin}/models/good-${backend}/model.json?v=3`));
    expect(maxDiff(loaded.predict(input()) as tf.Tensor, model.predict(input()) as tf.Tensor)).toBe(0);
    expect(requested).toEqual([`/models/good-${backend}/model.json?v=3`, `/models/good-${backend}/weights.bin?v=3`]);
    loaded.dispose();
    model.dispose();
  });

  it.each([
    ['a path up and out', (n: number) => `../other${n}/weights.bin`],
    ['an absolute path', (n: number) => `/models/other${n}/weights.bin`],
    ['another host', () => '//example.com/weights.bin'],
    ['a full URL', () => 'http://127.0.0.1:1/weights.bin'],
    ['an escaped climb', (n: number) => `%2e%2e/other${n}/weights.bin`],
    ['backslashes', (n: number) => `sub\\..\\..\\other${n}\\weights.bin`],
    ['a query', () => 'weights.bin?x=1'],
  ])('%s is refused before anything but model.json is fetched', async (_, entryFor) => {
    const {folder, at} = await served();
    const entry = entryFor(count);
    editModelJson(folder, json => json.weightsManifest[0].paths = [entry]);
    await expectLoadError(checkedHttp(`${origin}${at}/model.json`),
                          [`${origin}${at}/model.json lists the file ${JSON.stringify(entry)}`,
                           `outside the model's folder ${origin}${at}/`]);
    expect(requested).toEqual([`${at}/model.json`]);
  });

  it("for contrast: tfjs's own http loader fetches a path outside the folder", async () => {
    const {folder, at} = await served();
    editModelJson(folder, json => json.weightsManifest[0].paths = [`../other${count}/weights.bin`]);
    const loaded = await tf.loadLayersModel(`${origin}${at}/model.json`, {fetchFunc: inRealmFetch});
    expect(requested).toEqual([`${at}/model.json`, `/models/other${count}/weights.bin`]);
    loaded.dispose();
  });

  it('a response longer than the manifest implies is refused by its Content-Length, unread', async () => {
    const {at} = await served();
    special.set(`${at}/weights.bin`, response => {
      response.writeHead(200, {'content-length': 2 ** 30});
      response.write(Buffer.alloc(1024));  // and then nothing: a reader would wait for the rest
    });
    await expectLoadError(checkedHttp(`${origin}${at}/model.json`),
                          [`${origin}${at}/weights.bin has ${2 ** 30} bytes, longer than the`]);
  });

  it('an endless response without Content-Length is cut off once it passes the expected size', async () => {
    const {folder, at} = await served();
    const expected = fs.statSync(path.join(folder, 'weights.bin')).size;
    let sent = 0;
    special.set(`${at}/weights.bin`, response => {
      response.writeHead(200);  // chunked: no length
      const more = () => {
        sent += 65536;
        if (response.write(Buffer.alloc(65536))) {
          setImmediate(more);
        } else {
          response.once('drain', more);
        }
      };
      response.on('close', () => sent = -sent);
      more();
    });
    await expectLoadError(checkedHttp(`${origin}${at}/model.json`),
                          [`${origin}${at}/weights.bin has more than that bytes, longer than the ${expected} bytes`]);
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(sent).toBeLessThan(0);  // the server saw the connection closed
    expect(-sent).toBeLessThan(64 * 2 ** 20);
  });

  it('a changed weights file fails its SHA-256, naming the URL; a short one fails its size', async () => {
    const {folder, at} = await served();
    const bin = path.join(folder, 'weights.bin');
    const data = fs.readFileSync(bin);
    data[3]! ^= 0x10;
    fs.writeFileSync(bin, data);
    await expectLoadError(checkedHttp(`${origin}${at}/model.json`),
                          [`the SHA-256 of ${origin}${at}/weights.bin is`, 'changed or replaced']);
    fs.writeFileSync(bin, data.subarray(0, data.length - 4));
    await expectLoadError(checkedHttp(`${origin}${at}/model.json`),
                          [`${origin}${at}/weights.bin has ${data.length - 4} bytes, shorter than the ${data.length} bytes`]);
  });

  it('HTTP errors and weights that do not fit the layers are named, and nothing leaks', async () => {
    const {folder, at} = await served();
    await expectLoadError(checkedHttp(`${origin}${at}/nothing.json`),
                          [`Cannot load ${origin}${at}/nothing.json: the server answered HTTP 404`]);
    fs.rmSync(path.join(folder, 'weights.bin'));
    await expectLoadError(checkedHttp(`${origin}${at}/model.json`),
                          [`its weights file ${origin}${at}/weights.bin (listed as "weights.bin") answered HTTP 404`]);
    const again = await served();
    editModelJson(again.folder, json => json.weightsManifest[0].weights[1].dtype = 'int32');
    await expectLoadError(checkedHttp(`${origin}${again.at}/model.json`), [/has dtype int32 in the weightsManifest/]);
    expect(() => checkedHttp('')).toThrow('checkedHttp: url must be the URL of a model.json. Received: url=""');
    await expectLoadError(checkedHttp('models/x/model.json'), ['url must be an absolute http(s) URL here']);
  });

  describe('loadKerasModel over http reads its shards the same way', () => {
    let at: string;
    beforeAll(() => {
      count++;
      at = `/keras${count}`;
      fs.cpSync(path.join(FIXTURES, 'sequential_mlp'), path.join(root, at), {recursive: true});
    });

    it('a converter folder loads and predicts what Keras predicts', async () => {
      const model = await loadKerasModel(`${origin}${at}/model.json`);
      expect(Math.max(...predictErrors(model, readReference(path.join(root, at))))).toBeLessThanOrEqual(1e-5);
      model.dispose();
      expect(requested).toEqual([`${at}/model.json`, `${at}/group1-shard1of1.bin`]);
    });

    it('a shard outside the folder is refused unfetched; a longer one by its size', async () => {
      const json = path.join(root, at, 'model.json');
      const original = fs.readFileSync(json, 'utf8');
      const edited = JSON.parse(original);
      edited.weightsManifest[0].paths = ['../secret.bin'];
      fs.writeFileSync(json, JSON.stringify(edited));
      await expect(loadKerasModel(`${origin}${at}/model.json`)).rejects.toThrow(
          `lists the file "../secret.bin", which is outside the model's folder ${origin}${at}/`);
      expect(requested).toEqual([`${at}/model.json`]);
      fs.writeFileSync(json, original);
      const shard = path.join(root, at, 'group1-shard1of1.bin');
      const size = fs.statSync(shard).size;
      fs.appendFileSync(shard, Buffer.alloc(8));
      await expect(loadKerasModel(`${origin}${at}/model.json`)).rejects.toThrow(
          `${origin}${at}/group1-shard1of1.bin has ${size + 8} bytes, longer than the ${size} bytes`);
    });
  });
});
