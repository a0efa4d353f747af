/**
 * The six `.keras` files Keras 3.15.1 saved (../shared/keras/keras3), loaded in headless
 * Chromium over http by loadKerasModel (the package's browser build): each predicts Keras's
 * outputs (reference.json) to 1e-5 (max |diff| / max(1, max |Keras|)) on webgl, wasm and cpu.
 */
import * as fs from 'fs';
import * as path from 'path';

import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser, TestPage} from '../helpers/browser/harness';
import {sharedPath} from '../helpers/shared';
import {relativeDiff} from '../helpers/tensors';

const precondition = browserPrecondition();
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const SHARED = sharedPath('keras/keras3');
const NAMES = fs.readdirSync(SHARED).filter(n => fs.existsSync(path.join(SHARED, n, 'model.keras'))).sort();

interface Tensor {
  shape: number[];
  data: number[];
}

if (precondition.skip != null) {
  describe("Keras's .keras files in the browser", () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  let url: string;
  let page: TestPage;
  beforeAll(async () => {
    url = await buildPageModule('test/helpers/browser/pages/keras_file_page.ts', 'keras_file_page');
    session = await openBrowser(precondition.executable);
    session.server.mount('/keras3/', SHARED);
    page = await session.newPage();
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  it('has the six files', () => {
    expect(NAMES).toHaveLength(6);
  });

  describe.each(['webgl', 'wasm', 'cpu'])('on %s', backend => {
    beforeAll(async () => {
      expect(await callInPage(page, url, 'useBackend', backend)).toBe(backend);
    }, BROWSER_HOOK_TIMEOUT_MS);

    it.each(NAMES)("%s: loadKerasModel over http predicts Keras's outputs", async name => {
      const reference = JSON.parse(fs.readFileSync(path.join(SHARED, name, 'reference.json'), 'utf8')) as
          {inputs: Tensor[], outputs: Tensor[]};
      const r = await callInPage<{backend: string, outputs: Tensor[]}>(
          page, url, 'loadAndPredict', `${session.server.origin}/keras3/${name}/model.keras`,
          reference.inputs);
      expect(r.backend).toBe(backend);
      expect(r.outputs.map(o => o.shape)).toEqual(reference.outputs.map(o => o.shape));
      r.outputs.forEach((o, i) => expect(relativeDiff(o.data, reference.outputs[i]!.data)).toBeLessThan(1e-5));
      expect(page.errors).toEqual([]);
    }, BROWSER_HOOK_TIMEOUT_MS);
  });
}
