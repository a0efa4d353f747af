/**
 * Saving and loading across Node and the browser, in headless Chromium:
 * - a model saved by Node (model.json + weights.bin on disk) loads in the page over http from
 *   127.0.0.1 and predicts the same values;
 * - a model saved in the page to indexeddb:// and localstorage:// loads back;
 * - a model saved with downloads:// produces files that Node loads;
 * - a model saved by the package's fileSystem (with its SHA-256 in model.json) loads in the page
 *   with tfjs's own loader and with checkedHttp (SubtleCrypto, and the package's own SHA-256
 *   where the page has none); checkedHttp refuses a manifest path outside the model's folder
 *   before fetching it, and a changed weights file by its SHA-256, leaking nothing.
 * Node writes and reads the standard files itself in the first three (tf.io.withSaveHandler /
 * fromMemory).
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem} from '../../src';
import {randomMatrix, rng} from '../helpers/reference';
import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser, tempDir, TestPage} from '../helpers/browser/harness';
import * as pageModule from '../helpers/browser/pages/save_load_page';

const precondition = browserPrecondition();
/** Starting Chromium and running a backend's whole suite in the page (software GPU, busy CI). */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const input = randomMatrix(1, 2 * 5 * 8, rng(5))[0]!;

/** Writes model.json + weights.bin, the layout tf.io's http loader and file:// handlers use. */
async function saveToFolder(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(tf.io.withSaveHandler(async artifacts => {
    const weightData = artifacts.weightData as ArrayBuffer;
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(weightData));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      modelTopology: artifacts.modelTopology, format: artifacts.format,
      generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy,
      weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
    }));
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON',
                                 weightDataBytes: weightData.byteLength}};
  }));
}

async function predictInNode(model: tf.LayersModel): Promise<number[]> {
  return tf.tidy(() => Array.from((model.predict(tf.tensor(input, pageModule.INPUT_SHAPE)) as tf.Tensor).dataSync()));
}

function expectSameValues(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
  expect(worst).toBeLessThan(1e-5);
}

if (precondition.skip != null) {
  describe('browser save and load', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  let url: string;
  let page: TestPage;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    url = await buildPageModule('test/helpers/browser/pages/save_load_page.ts', 'save_load_page');
    session = await openBrowser(precondition.executable);
    page = await session.newPage();
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  it('a model saved by Node loads in the page over http and predicts the same values', async () => {
    const dir = tempDir('sa-node-model-');
    const model = pageModule.buildModel();
    const expected = await predictInNode(model);
    await saveToFolder(model, dir);
    session.server.mount('/node-model/', dir);
    const result = await callInPage<{backend: string, layers: string[], prediction: number[]}>(
        page, url, 'loadAndPredict', `${session.server.origin}/node-model/model.json`, input);
    expect(result.layers).toEqual(['SelfAttention', 'Flatten', 'Dense']);
    expect(result.backend).toBe('webgl');
    expectSameValues(result.prediction, expected);
    expect(page.errors).toEqual([]);
    fs.rmSync(dir, {recursive: true});
  });

  it('a model saved in the page to indexeddb:// and localstorage:// loads back', async () => {
    const result = await callInPage<{original: number[], loaded: Record<string, number[]>,
                                     listed: string[]}>(page, url, 'roundTripBrowserStores', input);
    expect(Object.keys(result.loaded)).toEqual(['indexeddb://sa-test-model', 'localstorage://sa-test-model']);
    for (const values of Object.values(result.loaded)) {
      expect(values).toEqual(result.original);
    }
    expect(result.listed).toEqual(expect.arrayContaining(['indexeddb://sa-test-model',
                                                          'localstorage://sa-test-model']));
  });

  describe('checkedHttp in the page', () => {
    let dir: string;
    let expected: number[];
    let requests: string[];
    const onRequest = (request: {url(): string}) => requests.push(new URL(request.url()).pathname);
    beforeAll(async () => {
      dir = tempDir('sa-checked-');
      const model = pageModule.buildModel();
      expected = await predictInNode(model);
      for (const name of ['good', 'escape', 'changed', 'other']) {
        await model.save(fileSystem(path.join(dir, name)));
      }
      const escape = path.join(dir, 'escape', 'model.json');
      const json = JSON.parse(fs.readFileSync(escape, 'utf8'));
      json.weightsManifest[0].paths = ['../other/weights.bin'];
      fs.writeFileSync(escape, JSON.stringify(json));
      const changed = path.join(dir, 'changed', 'weights.bin');
      const data = fs.readFileSync(changed);
      data[5]! ^= 0x20;
      fs.writeFileSync(changed, data);
      session.server.mount('/checked/', dir);
      page.on('request', onRequest);
    });
    beforeEach(() => {
      requests = [];
    });
    afterAll(() => {
      page.off('request', onRequest);
      fs.rmSync(dir, {recursive: true});
    });

    type Checked = {prediction: number[]|null, hidden: boolean, error: string|null, leaked: number};
    const load = (name: string, withoutSubtleCrypto: boolean) => callInPage<Checked>(
        page, url, 'loadChecked', `${session.server.origin}/checked/${name}/model.json`, input,
        withoutSubtleCrypto);

    it("tfjs's own loader reads the package's files (it ignores the sha256 field)", async () => {
      const result = await callInPage<{prediction: number[]}>(
          page, url, 'loadAndPredict', `${session.server.origin}/checked/good/model.json`, input);
      expectSameValues(result.prediction, expected);
      // ...and it follows a manifest path out of the model's folder, which checkedHttp does not.
      await callInPage(page, url, 'loadAndPredict', `${session.server.origin}/checked/escape/model.json`, input);
      expect(requests).toContain('/checked/other/weights.bin');
    });

    it.each([[false], [true]])('loads a good model, SHA-256 verified (without SubtleCrypto: %s)', async without => {
      const result = await load('good', without);
      expect(result.error).toBeNull();
      expect(result.hidden).toBe(without);
      expectSameValues(result.prediction!, expected);
      expect(result.leaked).toBe(0);
    });

    it.each([[false], [true]])('refuses a path out of the folder unfetched, and a changed file by its SHA-256 (without SubtleCrypto: %s)', async without => {
      const escape = await load('escape', without);
      expect(escape.error).toMatch(`${session.server.origin}/checked/escape/model.json lists the file "../other/weights.bin", which is outside the model's folder ${session.server.origin}/checked/escape/`);
      expect(requests).toEqual(['/checked/escape/model.json']);
      const changed = await load('changed', without);
      expect(changed.error).toMatch(`the SHA-256 of ${session.server.origin}/checked/changed/weights.bin is `);
      expect(escape.leaked).toBe(0);
      expect(changed.leaked).toBe(0);
      expect(page.errors).toEqual([]);
    });
  });

  it('a model saved with downloads:// gives files that Node loads and predicts the same', async () => {
    const dir = tempDir('sa-downloads-');
    const downloads: string[] = [];
    const saved = new Promise<void>(resolve => {
      page.on('download', async download => {
        const file = path.join(dir, download.suggestedFilename());
        await download.saveAs(file);
        downloads.push(path.basename(file));
        if (downloads.length === 2) resolve();
      });
    });
    const {prediction} = await callInPage<{prediction: number[]}>(page, url, 'saveToDownloads', input,
                                                                   'sa-model');
    await saved;
    expect(downloads.sort()).toEqual(['sa-model.json', 'sa-model.weights.bin']);

    const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'sa-model.json'), 'utf8'));
    expect(modelJson.weightsManifest[0].paths).toEqual(['./sa-model.weights.bin']);
    const weightData = fs.readFileSync(path.join(dir, 'sa-model.weights.bin'));
    const model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }));
    expect(model.layers.map(l => l.getClassName())).toEqual(['SelfAttention', 'Flatten', 'Dense']);
    expectSameValues(await predictInNode(model), prediction);
    fs.rmSync(dir, {recursive: true});
  });
}
