/**
 * Long sequences on WebGL: every tensor must fit in one texture of at most
 * WEBGL_MAX_TEXTURE_SIZE² texels. The layer must handle every length up to that and, beyond it,
 * throw a clear error naming the limit before any shader runs. WEBGL_MAX_TEXTURE_SIZE is lowered
 * to 256 here so the boundary is cheap to reach on a software GPU; `npm run bench:limits`
 * measures the device's real limit.
 */
import {Attempt} from '../helpers/browser/pages/limits_page';
import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser, TestPage} from '../helpers/browser/harness';

const precondition = browserPrecondition();
/** Starting Chromium and running a backend's whole suite in the page (software GPU, busy CI). */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const MAX = 256;

if (precondition.skip != null) {
  describe('browser limits', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  let page: TestPage;
  let url: string;
  const attempt = (via: 'layer'|'functional', n: number, batch: number, heads: number) =>
      callInPage<Attempt>(page, url, 'attempt', via, n, batch, heads);

  beforeAll(async () => {
    url = await buildPageModule('test/helpers/browser/pages/limits_page.ts', 'limits_page');
    session = await openBrowser(precondition.executable);
    page = await session.newPage();
    const started = await callInPage<{backend: string, maxTextureSize: number}>(
        page, url, 'start', 'webgl', MAX);
    expect(started).toEqual({backend: 'webgl', maxTextureSize: MAX});
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  it.each([[1, 1], [2, 2]])('batch %i × %i heads: every length up to the limit works, beyond it a clear error',
                            async (batch, heads) => {
    const longest = Math.floor(MAX / Math.sqrt(batch * heads));
    const atLimit = await attempt('layer', longest, batch, heads);
    expect(atLimit).toMatchObject({ok: true, finite: true});
    const beyond = await attempt('layer', longest + 1, batch, heads);
    expect(beyond.ok).toBe(false);
    expect(beyond.error).toMatch(new RegExp(
        `^SelfAttention: the attention scores .* \\[${batch * heads}, ${longest + 1}, ${
            longest + 1}\\].*WEBGL_MAX_TEXTURE_SIZE is ${MAX}`));
  });

  it('without the check tfjs itself fails just past the limit (so the check is not too strict)',
     async () => {
    expect(await attempt('functional', MAX, 1, 1)).toMatchObject({ok: true, finite: true});
    const raw = await attempt('functional', MAX + 1, 1, 1);
    expect(raw.ok).toBe(false);
    expect(raw.error).not.toMatch(/^SelfAttention/);
    console.log(`tfjs's own error past WEBGL_MAX_TEXTURE_SIZE=${MAX}: ${raw.error}`);
    expect(page.errors).toEqual([]);
  });
}
