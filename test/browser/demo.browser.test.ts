/**
 * The browser demo (examples/browser, `npm run demo`) in headless Chromium: it loads the
 * committed date model over http, translates a date typed into the box, draws one
 * cross-attention heatmap per head with 10 output characters × the input's length cells, says
 * which backend runs (webgl here; wasm when asked for), and its screenshot is not blank.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

import {buildDemo, DEMO_PATH} from '../../examples/browser/serve';
import {browserPrecondition, BrowserSession, findChromium, openBrowser, REPO_ROOT, TestPage} from '../helpers/browser/harness';

const precondition = browserPrecondition();
/** Starting Chromium and loading tfjs + the model on a software GPU on a busy machine. */
const BROWSER_HOOK_TIMEOUT_MS = 120_000;
const TEXT = 'Jan 20th 2019';

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are) to RGBA rows. */
function decodePng(png: Buffer): {width: number, height: number, pixels: Uint8Array} {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let offset = 8;
  let width = 0, height = 0, colourType = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      colourType = data[9]!;
      expect([data[8], data[12]]).toEqual([8, 0]);  // bit depth 8, no interlace
      expect([2, 6]).toContain(colourType);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    offset += 12 + length;
  }
  const channels = colourType === 6 ? 4 : 3;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? rows[y * stride + x - channels]! : 0;
      const b = y > 0 ? rows[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? rows[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a :
                    Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      rows[y * stride + x] = (line[x]! + predictor) & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 4; k++) {
      pixels[i * 4 + k] = k < channels ? rows[i * channels + k]! : 255;
    }
  }
  return {width, height, pixels};
}

async function typeAndWait(page: TestPage, text: string): Promise<void> {
  await page.waitForSelector('body[data-state="ready"]', {timeout: 90_000});
  await page.locator('#date').pressSequentially(text, {delay: 20});
  await page.waitForFunction(t => document.body.dataset['translated'] === t, text, {timeout: 60_000});
}

/** Number of cells (rects with a tooltip) of each heatmap on the page. */
async function cellsPerHeatmap(page: TestPage): Promise<number[]> {
  return page.$$eval('#heatmaps svg', svgs => svgs.map(s => s.querySelectorAll('rect > title').length));
}

if (precondition.skip != null) {
  describe('browser demo', () => {
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

  it('translates a typed date on webgl and draws one cross-attention heatmap per head', async () => {
    const page = await session.newPage(DEMO_PATH);
    await typeAndWait(page, TEXT);
    expect(await page.textContent('#output')).toBe('2019-01-20');
    expect(await page.getAttribute('body', 'data-backend')).toBe('webgl');
    expect(await page.textContent('#status')).toMatch(/^Backend: webgl/);
    expect(await cellsPerHeatmap(page)).toEqual([1, 2, 3, 4].map(() => 10 * TEXT.length));
    // Column labels are the input characters ('␣' for spaces), row labels the output's.
    const labels = await page.$$eval('#heatmaps svg:first-child text', ts => ts.map(t => t.textContent));
    expect(labels).toEqual(expect.arrayContaining([...TEXT.replace(/ /g, '␣'), ...'2019-01-20']));
    expect(await page.textContent('#error')).toBe('');

    const screenshot = await page.screenshot({fullPage: true});
    const file = path.join(REPO_ROOT, '.tmp', 'demo-screenshot.png');
    fs.mkdirSync(path.dirname(file), {recursive: true});
    fs.writeFileSync(file, screenshot);
    const {width, height, pixels} = decodePng(screenshot);
    const colours = new Set<number>();
    let dark = 0;  // viridis' dark purple end (#440154 ≈ cells near 0)
    for (let i = 0; i < width * height; i++) {
      const [r, g, b] = [pixels[i * 4]!, pixels[i * 4 + 1]!, pixels[i * 4 + 2]!];
      colours.add((r << 16) | (g << 8) | b);
      if (Math.abs(r - 0x44) < 12 && g < 24 && Math.abs(b - 0x54) < 16) dark++;
    }
    expect(colours.size).toBeGreaterThan(100);
    // Four maps of 10 × 13 cells of 22 px, most of them near 0: many thousands of dark pixels.
    expect(dark).toBeGreaterThan(20_000);

    // Changing the text re-translates (debounced) and redraws for the new length.
    await page.locator('#date').fill('');
    await typeAndWait(page, '20.01.19');
    expect(await page.textContent('#output')).toBe('2019-01-20');
    expect(await cellsPerHeatmap(page)).toEqual([1, 2, 3, 4].map(() => 10 * 8));
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('falls back to the next backend of its order and names it (wasm)', async () => {
    const page = await session.newPage(`${DEMO_PATH}?backends=nonexistent,wasm,cpu`);
    await typeAndWait(page, TEXT);
    expect(await page.textContent('#output')).toBe('2019-01-20');
    expect(await page.getAttribute('body', 'data-backend')).toBe('wasm');
    expect(await page.textContent('#status')).toMatch(/^Backend: wasm \(not used: nonexistent: /);
    expect(await cellsPerHeatmap(page)).toEqual([1, 2, 3, 4].map(() => 10 * TEXT.length));
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);
}
