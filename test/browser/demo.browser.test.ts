/**
 * The date translator page (examples/dates/web, `npm run demo`) in headless Chromium: it opens
 * with the example translated by the committed model (webgl), its cross-attention drawn one
 * heatmap per head, the formats listed; it flags what it should; it falls back to the next
 * backend of its order; and Train trains a model from scratch in the tab (wasm here, for
 * speed): the loss falls, the heatmaps change, Stop ends it, and the page then translates with
 * the model it trained, which Save keeps in IndexedDB and Load saved brings back.
 */
import * as fs from 'fs';
import * as path from 'path';

import {buildDemo, DEMO_PATH} from '../../examples/dates/web/serve';
import {browserPrecondition, BrowserSession, findChromium, openBrowser, REPO_ROOT, TestPage} from '../helpers/browser/harness';

const precondition = browserPrecondition();
/** Starting Chromium and loading tfjs + the model on a software GPU on a busy machine. */
const BROWSER_HOOK_TIMEOUT_MS = 120_000;
const EXAMPLE = 'Jan 20th 2019';

async function ready(page: TestPage): Promise<void> {
  await page.waitForSelector('body[data-state="ready"]', {timeout: 150_000});
}

async function typeAndWait(page: TestPage, text: string): Promise<void> {
  await page.locator('#date').fill('');
  await page.locator('#date').pressSequentially(text, {delay: 10});
  await page.waitForFunction(t => document.body.dataset['translated'] === t, text, {timeout: 90_000});
}

/** Number of cells (rects with a tooltip) of each heatmap on the page. */
async function cellsPerHeatmap(page: TestPage): Promise<number[]> {
  return page.$$eval('#heatmaps svg', svgs => svgs.map(s => s.querySelectorAll('rect > title').length));
}

const dataset = (page: TestPage) => page.evaluate(() => ({...document.body.dataset}));

if (precondition.skip != null) {
  describe('date translator page', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  beforeAll(async () => {
    await buildDemo();
    session = await openBrowser(precondition.executable);
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  it('opens with the example translated on webgl, its heatmaps drawn, and flags what it should', async () => {
    const page = await session.newPage(DEMO_PATH);
    await ready(page);
    expect(await page.inputValue('#date')).toBe(EXAMPLE);
    expect(await page.textContent('#output')).toMatch(/^2019-01-20 {2}\(confidence (0\.9\d|1\.00)\)$/);
    expect(await page.getAttribute('body', 'data-backend')).toBe('webgl');
    expect(await page.textContent('#status')).toMatch(/^Backend: webgl · the committed model/);
    expect(await cellsPerHeatmap(page)).toEqual([1, 2, 3, 4].map(() => 10 * EXAMPLE.length));
    // Column labels are the input characters ('␣' for spaces), row labels the output's.
    const labels = await page.$$eval('#heatmaps svg:first-child text', ts => ts.map(t => t.textContent));
    expect(labels).toEqual(expect.arrayContaining([...EXAMPLE.replace(/ /g, '␣'), ...'2019-01-20']));
    // It says what to look for and which formats it knows.
    expect(await page.textContent('body')).toMatch(/look for the year's four digits/);
    expect(await page.$$eval('#formats code', cs => cs.length)).toBe(34);
    const screenshot = await page.screenshot({fullPage: true});
    fs.mkdirSync(path.join(REPO_ROOT, '.tmp'), {recursive: true});
    fs.writeFileSync(path.join(REPO_ROOT, '.tmp', 'demo-screenshot.png'), screenshot);

    await typeAndWait(page, 'tomorrow');
    expect(await page.textContent('#output')).toMatch(/^flagged: the input has words no supported format uses: tomorrow/);
    await typeAndWait(page, '20.01.19');
    expect(await page.textContent('#output')).toMatch(/^2019-01-20 /);
    expect(await cellsPerHeatmap(page)).toEqual([1, 2, 3, 4].map(() => 10 * 8));
    expect(page.errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('falls back to the next backend of its order and names it (wasm)', async () => {
    const page = await session.newPage(`${DEMO_PATH}?backends=nonexistent,wasm,cpu`);
    await ready(page);
    expect(await page.textContent('#output')).toMatch(/^2019-01-20 /);
    expect(await page.getAttribute('body', 'data-backend')).toBe('wasm');
    expect(await page.textContent('#status')).toMatch(/^Backend: wasm \(not used: nonexistent: /);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('trains from scratch in the tab: the loss falls, the heatmaps change, Stop, then it translates with it', async () => {
    const page = await session.newPage(
        `${DEMO_PATH}?backends=wasm&curveEvery=4&curveDays=2&heatmapEvery=1`);
    await ready(page);
    const committedMaps = await page.innerHTML('#heatmaps');
    await page.click('#train');
    expect(await page.getAttribute('body', 'data-training')).toBe('running');
    await page.waitForFunction(() => Number(document.body.dataset['step'] ?? 0) >= 2, null, {timeout: 120_000});
    const early = await dataset(page);
    await page.waitForFunction(() => Number(document.body.dataset['heatmaps']) >= 2, null, {timeout: 120_000});
    const firstMaps = await page.innerHTML('#heatmaps');
    const heatmapsSeen = Number((await dataset(page))['heatmaps']);
    await page.waitForFunction(
        n => Number(document.body.dataset['step']) >= 40 && Number(document.body.dataset['heatmaps']) > n,
        heatmapsSeen, {timeout: 180_000});
    const late = await dataset(page);
    const laterMaps = await page.innerHTML('#heatmaps');
    expect(Number(late['loss'])).toBeLessThan(Number(early['loss']) * 0.8);
    expect(firstMaps).not.toBe(committedMaps);  // the model being trained, not the committed one
    expect(laterMaps).not.toBe(firstMaps);
    expect(await page.textContent('#heatmaps-title')).toBe('Cross-attention of the model trained in this tab');
    expect(await page.$$eval('#chart polyline', ls => ls.length)).toBe(3);  // loss, training, held-out

    await page.click('#stop');
    await page.waitForSelector('body[data-training="done"]', {timeout: 180_000});
    expect(await page.getAttribute('body', 'data-model')).toBe('trained');
    expect(await page.textContent('#train-status')).toMatch(/^Stopped \(stopped on request\) after .* Done: translating with it now\.$/);
    expect(await page.textContent('#status')).toMatch(/the model trained in this tab · translated in/);
    await typeAndWait(page, '20.01.19');
    // A model trained for a few steps: an answer or a flag, from that model.
    expect(await page.textContent('#output')).toMatch(/^(\d{4}-\d{2}-\d{2} {2}\(confidence|flagged: )/);
    expect(await cellsPerHeatmap(page)).toEqual([1, 2, 3, 4].map(() => 10 * 8));

    await page.click('#save');
    await page.waitForSelector('body[data-saved="yes"]', {timeout: 60_000});
    await page.click('#use-committed');
    expect(await page.getAttribute('body', 'data-model')).toBe('committed');
    await page.click('#load');
    await page.waitForSelector('body[data-model="saved"]', {timeout: 60_000});
    expect(page.errors).toEqual([]);
    await page.close();
  }, 600_000);
}
