/**
 * `.keras` files in headless Chromium, through the package's browser build (dist/esm):
 * - the zip/HDF5 chunk is fetched only when a Keras file is first touched;
 * - tfjs model → saveKerasModel → loadKerasModel in the page: the same predictions and the same
 *   weights (the weights file written again is the same bytes), on webgl, wasm and cpu; and the
 *   archive the page wrote is the one Node writes for the same model;
 * - downloads://name.keras gives a file that Node loads, predicting the same;
 * - loadKerasWeights reads a weights file served over http, and refuses one that does not fit.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {loadKerasModel, saveKerasModel, saveKerasWeights} from '../../src';
import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser, tempDir, TestPage} from '../helpers/browser/harness';
import {TEST_MODELS} from '../helpers/keras_file_models';

const precondition = browserPrecondition();
/** Starting Chromium on a busy machine; software WebGL is slow. */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const MODELS = Object.keys(TEST_MODELS);

interface Tensor {
  dtype?: string;
  shape: number[];
  data: number[];
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

async function bytesOf(save: (sink: {write(b: Uint8Array): void}) => Promise<unknown>): Promise<Buffer> {
  let out: Uint8Array = new Uint8Array(0);
  await save({write: b => { out = b; }});
  return Buffer.from(out);
}

if (precondition.skip != null) {
  describe('.keras files in the browser', () => {
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
    url = await buildPageModule('test/helpers/browser/pages/keras_file_page.ts', 'keras_file_page');
    session = await openBrowser(precondition.executable);
    page = await session.newPage();
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  it('fetches the Keras-file chunk only when a Keras file is first saved or loaded', async () => {
    await callInPage(page, url, 'useBackend', 'cpu');
    const before = await callInPage<string[]>(page, url, 'scriptsLoaded');
    expect(before.some(s => s.includes('/dist/esm/index.mjs'))).toBe(true);
    expect(before.filter(s => s.includes('keras_file_io-'))).toEqual([]);
    await callInPage(page, url, 'roundTrip', 'sequential_mlp');
    const after = await callInPage<string[]>(page, url, 'scriptsLoaded');
    expect(after.filter(s => /\/dist\/esm\/chunks\/keras_file_io-[A-Z0-9]+\.mjs$/.test(s))).toHaveLength(1);
    expect(page.errors).toEqual([]);
  }, BROWSER_HOOK_TIMEOUT_MS);

  describe.each(['webgl', 'wasm', 'cpu'])('on %s', backend => {
    beforeAll(async () => {
      expect(await callInPage(page, url, 'useBackend', backend)).toBe(backend);
    }, BROWSER_HOOK_TIMEOUT_MS);

    it.each(MODELS)('%s: saved as .keras and loaded back, the same predictions and weights', async name => {
      const r = await callInPage<{inputs: Tensor[], original: Tensor[], loaded: Tensor[],
                                  originalWeights: string, loadedWeights: string, archive: string}>(
          page, url, 'roundTrip', name);
      expect(r.loadedWeights).toBe(r.originalWeights);
      r.loaded.forEach((o, i) => expect(maxDiff(o.data, r.original[i]!.data)).toBeLessThan(1e-5));
      // the page wrote what Node writes for the same model
      const {model} = TEST_MODELS[name]!();
      expect(Buffer.from(r.originalWeights, 'base64').equals(await bytesOf(s => saveKerasWeights(model, s)))).toBe(true);
      const loadedInNode = await loadKerasModel(new Uint8Array(Buffer.from(r.archive, 'base64')));
      const xs = r.inputs.map(i => tf.tensor(i.data, i.shape, i.dtype as tf.DataType));
      const ys = loadedInNode.predict(xs.length === 1 ? xs[0]! : xs);
      (Array.isArray(ys) ? ys : [ys]).forEach((y, i) =>
          expect(maxDiff(y.dataSync(), r.original[i]!.data)).toBeLessThan(1e-5));
      tf.dispose([...xs, ...(Array.isArray(ys) ? ys : [ys])]);
      loadedInNode.dispose();
      model.dispose();
      expect(page.errors).toEqual([]);
    }, BROWSER_HOOK_TIMEOUT_MS);
  });

  it('downloads://name.keras gives a file that Node loads, predicting the same', async () => {
    await callInPage(page, url, 'useBackend', 'webgl');
    const dir = tempDir('keras-download-');
    const downloaded = new Promise<string>(resolve => {
      page.once('download', async download => {
        const file = path.join(dir, download.suggestedFilename());
        await download.saveAs(file);
        resolve(file);
      });
    });
    const r = await callInPage<{result: {path: string, bytes: number}, inputs: Tensor[],
                                outputs: Tensor[]}>(page, url, 'saveToDownloads', 'two_towers');
    const file = await downloaded;
    expect(path.basename(file)).toBe('two_towers.keras');
    expect(r.result).toEqual({path: 'downloads://two_towers.keras', bytes: fs.statSync(file).size});
    const model = await loadKerasModel(file);
    const ys = model.predict(r.inputs.map(i => tf.tensor(i.data, i.shape))) as tf.Tensor[];
    ys.forEach((y, i) => expect(maxDiff(y.dataSync(), r.outputs[i]!.data)).toBeLessThan(1e-5));
    tf.dispose(ys);
    model.dispose();
    fs.rmSync(dir, {recursive: true});
  }, BROWSER_HOOK_TIMEOUT_MS);

  it('loadKerasWeights reads weights over http, and refuses a file for another model', async () => {
    await callInPage(page, url, 'useBackend', 'webgl');
    const dir = tempDir('keras-weights-');
    const {model, inputs} = TEST_MODELS['conv_text']!();
    fs.writeFileSync(path.join(dir, 'conv.weights.h5'), await bytesOf(s => saveKerasWeights(model, s)));
    fs.writeFileSync(path.join(dir, 'mlp.keras'),
                     await bytesOf(s => saveKerasModel(TEST_MODELS['sequential_mlp']!().model, s)));
    session.server.mount('/weights/', dir);
    const specs = inputs.map(x => ({dtype: x.dtype, shape: x.shape, data: Array.from(x.dataSync())}));
    const ok = await callInPage<{outputs: Tensor[]}>(page, url, 'loadWeightsAndPredict', 'conv_text',
                                                     `${session.server.origin}/weights/conv.weights.h5`, specs);
    const expected = (model.predict(inputs[0]!) as tf.Tensor).dataSync();
    expect(maxDiff(ok.outputs[0]!.data, expected)).toBeLessThan(1e-5);
    const refused = await callInPage<{error: string}>(page, url, 'loadWeightsAndPredict', 'conv_text',
                                                      `${session.server.origin}/weights/mlp.keras`, specs);
    expect(refused.error).toMatch(/weights\/mlp\.keras \(model\.weights\.h5\).*(no weight|no layer)/);
    fs.rmSync(dir, {recursive: true});
  }, BROWSER_HOOK_TIMEOUT_MS);
}
