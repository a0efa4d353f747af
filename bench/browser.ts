/**
 * The browser half of `npm run bench -- --browser`: headless Chromium (test/helpers/browser/harness.ts)
 * opens one page per backend (webgl, webgpu, wasm), and bench/browser_page.ts measures every
 * case there with bench/measure.ts. Rows are labelled `webgl (Chromium)` and so on.
 */
import * as fs from 'fs';
import * as path from 'path';

import {buildPageModule, callInPage, findChromium, openBrowser, REPO_ROOT, TestPage} from '../test/helpers/browser/harness';
import type {PageBackend} from './browser_page';
import {Case, forwardFlops} from './cases';
import {emptyTiming, firstLine, MeasureOptions} from './measure';
import {Row} from './report';

export const BROWSER_BACKENDS = ['webgl', 'webgpu', 'wasm'];

export const browserLabel = (backend: string) => `${backend} (Chromium)`;

/**
 * Throws, naming what is missing, unless the browser rows can run: Chromium, and a browser
 * build of the package (dist/esm) no older than src/.
 */
export function checkBrowserPrerequisites(backends: string[]): string {
  const unknown = backends.filter(b => !BROWSER_BACKENDS.includes(b));
  if (unknown.length) {
    throw new Error(`--browser-backends takes ${BROWSER_BACKENDS.join(', ')}. Received: ${
        backends.join(',')}`);
  }
  const executable = findChromium();
  if (executable == null) {
    throw new Error(`--browser needs Chromium, and none was found (looked at ${
        process.env['CHROMIUM_PATH'] ? `CHROMIUM_PATH=${process.env['CHROMIUM_PATH']}` :
        '/usr/bin/chromium and /usr/bin/chromium-browser; set CHROMIUM_PATH for another place'}). ` +
        'Install it with `apt-get install chromium` (Debian/Ubuntu), or run without --browser.');
  }
  const bundle = path.join(REPO_ROOT, 'dist', 'esm', 'index.mjs');
  if (!fs.existsSync(bundle)) {
    throw new Error('--browser measures the package\'s browser build, and dist/esm/index.mjs is ' +
                    'missing: run `npm run build` first.');
  }
  const newest = newestFile(path.join(REPO_ROOT, 'src'));
  if (newest != null && newest.mtimeMs > fs.statSync(bundle).mtimeMs) {
    throw new Error(`--browser measures the package's browser build, and dist/esm/index.mjs is ` +
                    `older than ${path.relative(REPO_ROOT, newest.file)}: run \`npm run build\` first.`);
  }
  return executable;
}

function newestFile(dir: string): {file: string, mtimeMs: number}|null {
  let newest: {file: string, mtimeMs: number}|null = null;
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const file = path.join(dir, entry.name);
    const found = entry.isDirectory() ? newestFile(file) : {file, mtimeMs: fs.statSync(file).mtimeMs};
    if (found != null && (newest == null || found.mtimeMs > newest.mtimeMs)) {
      newest = found;
    }
  }
  return newest;
}

/** A row whose three variants did not run, saying why. */
export function failedRow(label: string, c: Case, reason: string): Row {
  return {backend: label, ...c, flops: forwardFlops(c), a: emptyTiming(reason),
          b: emptyTiming(reason), c: emptyTiming(reason)};
}

export interface BrowserInfo {
  /** e.g. "Chromium 156.0.8078.108" */
  browser: string;
  /** What each backend runs on (WebGL renderer, WebGPU adapter), as the page reports it. */
  devices: Record<string, string|null>;
}

/**
 * Measures every case on every backend in the page; `onRow` gets each row as it comes. A case
 * that fails in the page, or a backend that does not start, gives rows marked as skipped with
 * the error, and the run goes on (in a fresh page, in case the old one is broken).
 */
export async function measureInBrowser(executable: string, backends: string[], cases: Case[],
                                       o: MeasureOptions, onRow: (row: Row) => void,
                                       info: (i: BrowserInfo) => void): Promise<void> {
  const url = await buildPageModule('bench/browser_page.ts', 'bench_page');
  const session = await openBrowser(executable);
  const browserInfo: BrowserInfo = {browser: `Chromium ${session.browser.version()}`, devices: {}};
  info(browserInfo);
  try {
    for (const backend of backends) {
      const label = browserLabel(backend);
      const open = async () => {
        const page = await session.newPage();
        const started = await callInPage<PageBackend>(page, url, 'start', backend);
        browserInfo.devices[backend] = started.device;
        info(browserInfo);
        return page;
      };
      let opened: TestPage|null = null;
      let startError: string|null = null;
      try {
        opened = await open();
      } catch (e) {
        startError = `the ${backend} backend did not start in Chromium: ${firstLine(e)}`;
        console.error(startError);
      }
      for (const c of cases) {
        if (opened == null) {
          onRow(failedRow(label, c, startError ?? 'no page'));
          continue;
        }
        try {
          onRow(await callInPage<Row>(opened, url, 'measure', label, c, o));
        } catch (e) {
          const errors = opened.errors.slice(-2).join(' | ');
          const reason = `failed in the page: ${firstLine(e)}${errors ? ` (page errors: ${errors})` : ''}`;
          console.error(`${label} ${JSON.stringify(c)}: ${reason}`);
          onRow(failedRow(label, c, reason));
          await opened.close().catch(() => undefined);
          try {
            opened = await open();
          } catch (e2) {
            startError = `the ${backend} backend did not start again in Chromium: ${firstLine(e2)}`;
            opened = null;
          }
        }
      }
      if (opened != null) {
        await opened.close();
      }
    }
  } finally {
    await session.close();
  }
}
