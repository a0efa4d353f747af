/**
 * The browser check shared by keras.browser.test.ts and keras_shared.browser.shared.test.ts:
 * mounts a folder of Keras models on the harness's static server and compares each model's
 * predictions in the page (webgl) with Keras's.
 */
import * as fs from 'fs';
import * as path from 'path';

import {BrowserSession, buildPageModule, callInPage, openBrowser, TestPage} from '../helpers/browser/harness';

const TOLERANCE = 1e-5;
/** Starting Chromium and bundling the page (software GPU, busy machine). */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;

export function kerasBrowserSuite(title: string, executable: string, root: string, names: string[],
                                  report?: (line: string) => void): void {
  describe(title, () => {
    let session: BrowserSession;
    let page: TestPage;
    let url: string;
    beforeAll(async () => {
      url = await buildPageModule('test/helpers/browser/pages/keras_page.ts', 'keras_page');
      session = await openBrowser(executable);
      session.server.mount('/keras-models/', root);
      page = await session.newPage();
    }, BROWSER_HOOK_TIMEOUT_MS);
    afterAll(async () => {
      await session?.close();
    });

    test.each(names)('%s predicts what Keras predicts on webgl', async name => {
      const reference = fs.existsSync(path.join(root, name, 'reference.json')) ?
          'reference.json' : 'keras_reference.json';
      const base = `${session.server.origin}/keras-models/${name}`;
      const result = await callInPage<{backend: string, errors: number[], tensorsLeft: number}>(
          page, url, 'compareWithKeras', `${base}/model.json`, `${base}/${reference}`, 'webgl');
      expect(result.backend).toBe('webgl');
      report?.(`  webgl ${name}: ${result.errors.map(e => e.toExponential(2)).join(', ')}`);
      for (const e of result.errors) {
        expect(e).toBeLessThanOrEqual(TOLERANCE);
      }
      expect(result.tensorsLeft).toBe(0);
      expect(page.errors).toEqual([]);
    }, BROWSER_HOOK_TIMEOUT_MS);
  });
}
