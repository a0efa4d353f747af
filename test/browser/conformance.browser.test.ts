/**
 * The conformance suite in headless Chromium: wasm, webgl (float32 render targets, then float16
 * as on many phones) and webgpu, each in a fresh tab, through the package's browser build, on
 * every attention path ('auto' is the standard path here: the suite asks for the weights), and
 * the fused GPU programs on webgl, webgl float16 and webgpu.
 */
import {expectCasePasses, expectFitWorks} from '../helpers/conformance/assertions';
import {extremeCases} from '../helpers/conformance/extreme_scores';
import {ConformanceFixtures} from '../helpers/conformance/types';
import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser} from '../helpers/browser/harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a large JSON file: require keeps the compiler from typing all of it
const fixtures = require('../helpers/conformance/fixtures.json') as ConformanceFixtures;
const precondition = browserPrecondition();
/** Starting Chromium and running a backend's whole suite in the page (software GPU, busy CI). */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const BACKENDS = ['wasm', 'webgl', 'webgl-float16', 'webgpu'];
const PATHS = ['auto', 'fast', 'memoryEfficient'] as const;
/** The fused path runs only on the GPU backends. */
const GPU_PATHS = ['fused'] as const;
const RUNS = BACKENDS.flatMap(key => [...PATHS, ...(key === 'wasm' ? [] : GPU_PATHS)]
                                         .map(path => [key, path] as const));

type PageResult = Awaited<ReturnType<typeof import('../helpers/browser/pages/conformance_page')['runOn']>>;

if (precondition.skip != null) {
  describe('browser conformance', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  let moduleUrl: string;
  beforeAll(async () => {
    moduleUrl = await buildPageModule('test/helpers/browser/pages/conformance_page.ts', 'conformance_page');
    session = await openBrowser(precondition.executable);
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  describe.each(RUNS)('conformance in Chromium on %s, path %s', (key, path) => {
    let result: PageResult;
    let errors: string[];
    beforeAll(async () => {
      const page = await session.newPage();
      result = await callInPage<PageResult>(page, moduleUrl, 'runOn', key, path);
      errors = page.errors;
      await page.close();
      const r = result.report;
      console.log(`conformance in Chromium on ${key}, path ${path}: max |diff| vs float64: output ${
          r.maxAbsDiff.output.toExponential(2)}, attention ${
          r.maxAbsDiff.attention.toExponential(2)}, gradients ${
          r.maxAbsDiff.gradient.toExponential(2)} (relative ${
          r.maxAbsDiff.gradientRelative.toExponential(2)})`);
    }, BROWSER_HOOK_TIMEOUT_MS);

    it('runs on the requested backend, with the package\'s browser build', () => {
      expect(result.choice.backend).toBe(key.replace('-float16', ''));
      expect(result.report.backend).toBe(key.replace('-float16', ''));
      if (key.startsWith('webgl')) {
        expect(result.renderFloat32).toBe(key === 'webgl');
      }
      expect(errors).toEqual([]);
    });

    it.each(fixtures.cases.map(c => c.name))('%s', name => {
      expectCasePasses(result.report.cases.find(c => c.name === name), name);
    });

    it('masks hold at scores up to ±1e30 (float16: at the edge of its range)', () => {
      const float16 = key === 'webgl-float16';
      expect(result.extreme.map(r => r.name)).toEqual(extremeCases(float16).map(c => c.name));
      const bound = float16 ? 2e-3 : 1e-5;
      const failing = result.extreme.filter(r => !(r.nonFinite === 0 && r.notExactZero === 0 &&
          r.leakedTensors === 0 && r.rowSums < bound && r.weights < bound && r.output < bound));
      expect(failing).toEqual([]);
    });

    // The fit check is about the backend: defined once per backend, with the 'auto' path.
    const itOnce = path === 'auto' ? it : () => undefined;
    itOnce('a short fit lowers the loss and leaks no tensor (nor GPU memory) across steps', () => {
      const fit = result.fit!;
      expect(fit.backend).toBe(key.replace('-float16', ''));
      expectFitWorks(fit);
      if (key.startsWith('webgl')) {
        expect(fit.memoryAfterLastEpoch.numBytesInGPU).toBeGreaterThan(0);
      }
    });
  });

  describe('useBestBackend in Chromium', () => {
    it('picks webgpu first when the page registered it', async () => {
      const page = await session.newPage();
      const choice = await callInPage(page, moduleUrl, 'defaultChoice');
      await page.close();
      expect(choice).toEqual({backend: 'webgpu', skipped: []});
    });
  });
}
