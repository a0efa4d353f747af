/**
 * Weights that are what they claim: a save records the SHA-256 of weights.bin in model.json
 * (`weightsManifest[i].sha256`, beside `paths`), a load verifies it and names the file on a
 * mismatch, files without one still load, and tfjs's own loader ignores the field. A manifest
 * whose dtype differs from the layer's weight, or a topology asking for absurd weights, fails
 * with an error naming the file, the layer and the weight, before anything is allocated, and
 * leaks nothing.
 */
import * as fs from 'fs';
import * as http from 'http';
import {AddressInfo} from 'net';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {BACKENDS, editModelJson, expectLoadError, inRealmFetch, maxDiff, savedModel, sha256, smallModel, useBackend} from '../helpers/io/model_folders';

let root: string;
let count = 0;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-integrity-'));
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
});

const input = () => tf.randomUniform([2, 5, 6], -1, 1, 'float32', 9);

async function fresh(seed = 1): Promise<string> {
  count++;
  return savedModel(path.join(root, `m${count}`), seed);
}

/** Serves `folder` over http on 127.0.0.1; returns its base URL and a close function. */
async function serve(folder: string): Promise<{url: string, close: () => Promise<void>}> {
  const server = http.createServer((request, response) => {
    const file = path.join(folder, path.basename(decodeURIComponent(request.url ?? '')));
    if (!fs.existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {url: `http://127.0.0.1:${port}`, close: () => new Promise(resolve => server.close(() => resolve()))};
}

describe.each(BACKENDS)('on %s', backend => {
  beforeAll(() => useBackend(backend));

  describe('SHA-256 of the weights', () => {
    it('a save records it beside paths; tfjs\'s own http loader ignores it and loads the model', async () => {
      const folder = await fresh(2);
      const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8'));
      expect(json.weightsManifest[0].sha256).toEqual([sha256(fs.readFileSync(path.join(folder, 'weights.bin')))]);

      const server = await serve(folder);
      try {
        const viaTfjs = await tf.loadLayersModel(`${server.url}/model.json`, {fetchFunc: inRealmFetch});
        const ours = await tf.loadLayersModel(`file://${folder}`);
        expect(maxDiff(viaTfjs.predict(input()) as tf.Tensor, ours.predict(input()) as tf.Tensor)).toBe(0);
        viaTfjs.dispose();
        ours.dispose();
      } finally {
        await server.close();
      }
    });

    it('one changed byte of weights.bin fails the load, naming the file', async () => {
      const folder = await fresh();
      const bin = path.join(folder, 'weights.bin');
      const data = fs.readFileSync(bin);
      data[17]! ^= 0x01;  // same size: only the checksum can tell
      fs.writeFileSync(bin, data);
      await expectLoadError(`file://${folder}`, [path.join(folder, 'model.json'), bin,
                                                 `the SHA-256 of ${bin} is ${sha256(data)}`,
                                                 'changed or replaced after the model was saved']);
    });

    it('weights.bin of another save of the same model (same size) fails the same way', async () => {
      const a = await fresh(3);
      const b = await fresh(4);
      fs.copyFileSync(path.join(b, 'weights.bin'), path.join(a, 'weights.bin'));
      await expectLoadError(`file://${a}`, [path.join(a, 'weights.bin'), 'SHA-256']);
    });

    it('without the field (as tfjs-node, the converter and Keras write) the model loads', async () => {
      const model = smallModel(5);
      const folder = path.join(root, `no-hash-${backend}`);
      await model.save(`file://${folder}`);
      editModelJson(folder, json => delete json.weightsManifest[0].sha256);
      const loaded = await tf.loadLayersModel(`file://${folder}`);
      expect(maxDiff(loaded.predict(input()) as tf.Tensor, model.predict(input()) as tf.Tensor)).toBe(0);
      loaded.dispose();
      model.dispose();
    });

    it.each([
      ['not a list', 'abc'],
      ['a hash that is not hex', ['z'.repeat(64)]],
      ['a short hash', ['ab']],
      ['one hash too many', ['a'.repeat(64), 'b'.repeat(64)]],
    ])('a malformed field (%s) is an error naming it', async (_, value) => {
      const folder = await fresh();
      editModelJson(folder, json => json.weightsManifest[0].sha256 = value);
      await expectLoadError(`file://${folder}`, [path.join(folder, 'model.json'),
                                                 'weightsManifest[0].sha256 must list the SHA-256',
                                                 `Received: ${JSON.stringify(value)}`]);
    });
  });

  describe('weights that do not fit the model fail before anything is built', () => {
    it('a manifest dtype other than the layer\'s names the file and the weight, and leaks nothing', async () => {
      const folder = await fresh();
      let name = '';
      editModelJson(folder, json => {
        const weight = json.weightsManifest[0].weights[0];
        weight.dtype = 'int32';  // same size as float32: only the dtype is wrong
        name = weight.name;
      });
      await expectLoadError(`file://${folder}`, [path.join(folder, 'model.json'),
                                                 `weight '${name}' has dtype int32 in the weightsManifest`,
                                                 /layer '[^']+' \(SelfAttention\) as configured holds float32/]);
    });

    it.each([[true], [false]])('a topology asking for a 40,000-feature kernel is refused, not allocated (strict: %s)', async strict => {
      const folder = await fresh();
      editModelJson(folder, json => json.modelTopology.config.layers[0].config.batch_input_shape = [null, 5, 40000]);
      const rss = process.memoryUsage().rss;
      await expectLoadError(`file://${folder}`, [
        path.join(folder, 'model.json'),
        /layer '[^']+' \(SelfAttention\) as configured would create weight 'query_kernel' of shape \[40000,40000\] \(6\.0 GiB\)/,
        /more than the \d+ bytes its weightsManifest holds/, 'nothing was allocated'], {strict});
      expect(process.memoryUsage().rss - rss).toBeLessThan(2 ** 30);
    });
  });
});
