/**
 * Browser test harness: real headless Debian Chromium driven by playwright-core, pages served by
 * a tiny static server on 127.0.0.1 (ephemeral port) from the repository root.
 *
 * API (for any test that needs a browser):
 *   browserPrecondition()  → {executable} or {skip: reason}; under CI=true a missing browser
 *                            throws instead (CI must not skip).
 *   findChromium()         → path of the Chromium binary, or null (CHROMIUM_PATH, when set,
 *                            is the only place looked at).
 *   startServer(root?)     → {origin, mount(prefix, dir), close()}: static files from the repo
 *                            root, 127.0.0.1 only; mount('/models/', dir) serves a folder
 *                            outside it (e.g. a temporary one a test wrote).
 *   openBrowser()          → {browser, server, newPage(path?), close()}: one Chromium (fresh
 *                            profile, flags below) plus a server; share one per test file.
 *   buildPageModule(entry, name) → URL path of `entry` bundled by esbuild for the page: tfjs and
 *                            the package stay imports, resolved by the page's import map, and
 *                            `src/` is replaced by the package's browser build (dist/esm).
 *   PAGE_PATH              → the test page (test/helpers/browser/page.html): import map for
 *                            '@tensorflow/tfjs' (+ -core, -backend-wasm, -backend-webgpu) and
 *                            'tfjs-self-attention' → /dist/esm/index.mjs.
 *   callInPage(page, moduleUrl, exportName, ...args) → awaits `(await import(moduleUrl))
 *                            [exportName](...args)` in the page (JSON arguments and result). Use
 *                            it rather than `page.evaluate(() => import(...))`: ts-jest compiles
 *                            a dynamic import inside a page function to `require`.
 * A page's console errors and uncaught exceptions are collected in `page.errors` for messages.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {Browser, Page} from 'playwright-core';

import {CHROMIUM_ARGS, findChromium, launchChromium} from '../../../examples/shared/chromium';
import {bundleForPage, REPO_ROOT, startServer, StaticServer} from '../../../examples/shared/page_server';

export {CHROMIUM_ARGS, findChromium, REPO_ROOT, startServer, StaticServer};
export const PAGE_PATH = '/test/helpers/browser/page.html';
/** Where page modules are bundled to (ignored by git). */
const PAGE_BUILD_DIR = path.join(REPO_ROOT, '.tmp', 'browser');

/**
 * Whether browser tests can run. A missing Chromium is a skip locally (with the reason printed
 * once) and an error under CI=true.
 */
export function browserPrecondition(): {executable: string, skip: null}|{executable: null, skip: string} {
  const executable = findChromium();
  if (executable != null) {
    return {executable, skip: null};
  }
  const reason = `no Chromium found (looked at ${process.env['CHROMIUM_PATH'] ?
      `CHROMIUM_PATH=${process.env['CHROMIUM_PATH']}` : '/usr/bin/chromium, /usr/bin/chromium-browser'
      }; install it with \`apt-get install chromium\`)`;
  if (process.env['CI'] === 'true') {
    throw new Error(`browser tests cannot run under CI=true: ${reason}`);
  }
  console.warn(`browser tests skipped: ${reason}`);
  return {executable: null, skip: reason};
}


export interface TestPage extends Page {
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
}

export interface BrowserSession {
  browser: Browser;
  server: StaticServer;
  /** A new tab (its own JS realm, so its own tfjs engine and backends) at `pagePath`. */
  newPage(pagePath?: string): Promise<TestPage>;
  close(): Promise<void>;
}

/** Launches Chromium (fresh temporary profile) and a server; close() ends both. */
export async function openBrowser(executable = findChromium()): Promise<BrowserSession> {
  if (executable == null) {
    throw new Error('openBrowser: no Chromium found; call browserPrecondition() first');
  }
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'esm', 'index.mjs'))) {
    throw new Error('dist/esm/index.mjs is missing: run `npm run build` before the browser tests');
  }
  const server = await startServer();
  const browser = await launchChromium(executable);
  return {
    browser,
    server,
    async newPage(pagePath = PAGE_PATH) {
      const page = await browser.newPage() as TestPage;
      page.errors = [];
      page.on('console', m => {
        if (m.type() === 'error') page.errors.push(m.text());
      });
      page.on('pageerror', e => page.errors.push(String(e)));
      page.on('response', r => {
        if (r.status() >= 400) page.errors.push(`HTTP ${r.status()} for ${r.url()}`);
      });
      await page.goto(server.origin + pagePath);
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Bundles `entry` (a path relative to the repo root) for the page and returns its URL path.
 * '@tensorflow/*' and 'tfjs-self-attention' stay bare imports for the import map; any import of
 * the repo's `src/` becomes 'tfjs-self-attention', so pages test the built browser package.
 */
export async function buildPageModule(entry: string, name: string): Promise<string> {
  const outfile = path.join(PAGE_BUILD_DIR, `${name}.mjs`);
  await bundleForPage(path.join(REPO_ROOT, entry), outfile);
  return '/' + path.relative(REPO_ROOT, outfile).split(path.sep).join('/');
}

/** Calls an exported function of a page module; arguments and result travel as JSON. */
export async function callInPage<T>(page: Page, moduleUrl: string, exportName: string,
                                    ...args: unknown[]): Promise<T> {
  const call = `import(${JSON.stringify(moduleUrl)}).then(m => m[${JSON.stringify(exportName)}](` +
      `...${JSON.stringify(args)}))`;
  return page.evaluate(call) as Promise<T>;
}

/** A fresh empty temporary folder (for files a test writes). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
