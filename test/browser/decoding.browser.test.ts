/**
 * Cached decoding in headless Chromium on wasm, webgl and webgpu, each in a fresh tab, on the
 * default path, the fused programs and the standard path: every cached block within 1e-5 of the
 * float64 reference and of the full call, nothing left behind.
 */
import type {DecodingCase} from '../helpers/browser/pages/decoding_page';
import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser} from '../helpers/browser/harness';

const precondition = browserPrecondition();
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const TOLERANCE = 1e-5;
// Every backend on 'auto' (with the decoding session; the fused programs on webgl and webgpu
// where they apply), and the standard path on the GPU backends; every path on cpu and wasm is
// tested in Node (test/layers/attention_cache.test.ts).
const RUNS = [
  ['wasm', 'auto'], ['webgl', 'auto'], ['webgpu', 'auto'], ['webgl', 'fused'], ['webgpu', 'fused'],
  ['webgl', 'standard'], ['webgpu', 'standard'],
] as const;

if (precondition.skip != null) {
  describe('cached decoding in Chromium', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  let moduleUrl: string;
  beforeAll(async () => {
    moduleUrl = await buildPageModule('test/helpers/browser/pages/decoding_page.ts', 'decoding_page');
    session = await openBrowser(precondition.executable);
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  describe.each(RUNS)('cached decoding in Chromium on %s, path %s', (key, path) => {
    let result: {backend: string, cases: DecodingCase[]};
    let errors: string[];
    beforeAll(async () => {
      const page = await session.newPage();
      result = await callInPage(page, moduleUrl, 'runOn', key, path);
      errors = page.errors;
      await page.close();
    }, BROWSER_HOOK_TIMEOUT_MS);

    it('runs on the requested backend without page errors', () => {
      expect(result.backend).toBe(key);
      expect(errors).toEqual([]);
      expect(result.cases.length).toBe(path === 'auto' ? 8 : 7);
    });

    it('every cached block is within 1e-5 of the reference and of the full call, nonzero, and leaks nothing',
       () => {
         const failing = result.cases.filter(c => !(c.full <= TOLERANCE &&
             (c.reference == null || c.reference <= TOLERANCE) && c.magnitude > 0.01 &&
             c.leakedTensors === 0));
         expect(failing).toEqual([]);
       });
  });
}
