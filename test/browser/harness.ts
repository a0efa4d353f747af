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
 *   PAGE_PATH              → the test page (test/browser/page.html): import map for
 *                            '@tensorflow/tfjs' (+ -core, -backend-wasm, -backend-webgpu) and
 *                            'tfjs-self-attention' → /dist/esm/index.mjs.
 *   callInPage(page, moduleUrl, exportName, ...args) → awaits `(await import(moduleUrl))
 *                            [exportName](...args)` in the page (JSON arguments and result). Use
 *                            it rather than `page.evaluate(() => import(...))`: ts-jest compiles
 *                            a dynamic import inside a page function to `require`.
 * A page's console errors and uncaught exceptions are collected in `page.errors` for messages.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

import * as esbuild from 'esbuild';
import {Browser, chromium, Page} from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const PAGE_PATH = '/test/browser/page.html';
/** Where page modules are bundled to (ignored by git). */
const PAGE_BUILD_DIR = path.join(REPO_ROOT, '.tmp', 'browser');

/** Software WebGL2 and WebGPU on SwiftShader; nothing that reaches the network. */
export const CHROMIUM_ARGS = [
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic',
];

/** CHROMIUM_PATH when set (and only it), else the Debian locations. */
export function findChromium(): string|null {
  const override = process.env['CHROMIUM_PATH'];
  const candidates = override ? [override] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find(p => fs.existsSync(p)) ?? null;
}

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

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.map': 'application/json', '.css': 'text/css',
};

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** Serves `dir` under the URL path `prefix` (starting and ending with '/'). */
  mount(prefix: string, dir: string): void;
  close(): Promise<void>;
}

/** Serves files under `root` (GET/HEAD only) on 127.0.0.1 and an ephemeral port. */
export async function startServer(root = REPO_ROOT): Promise<StaticServer> {
  const mounts: Array<[string, string]> = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const urlPath = decodeURIComponent(url.pathname);
    const mount = mounts.find(([prefix]) => urlPath.startsWith(prefix));
    const base = mount == null ? root : mount[1];
    const file = path.join(base, mount == null ? urlPath : urlPath.slice(mount[0].length));
    const inside = file === base || file.startsWith(base + path.sep);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !inside) {
      res.writeHead(403).end();
      return;
    }
    fs.stat(file, (err, stat) => {
      if (err != null || !stat.isFile()) {
        res.writeHead(404).end(`not found: ${url.pathname}`);
        return;
      }
      res.writeHead(200, {'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
                          'content-length': stat.size, 'cache-control': 'no-store'});
      if (req.method === 'HEAD') {
        res.end();
      } else {
        fs.createReadStream(file).pipe(res);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const {port} = server.address() as {port: number};
  return {
    origin: `http://127.0.0.1:${port}`,
    mount(prefix: string, dir: string) {
      if (!/^\/.*\/$/.test(prefix)) {
        throw new Error(`mount: prefix must start and end with '/'. Received: prefix=${prefix}`);
      }
      mounts.push([prefix, path.resolve(dir)]);
    },
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
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
  const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const browser = await chromium.launch({
    executablePath: executable,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(runningAsRoot ? ['--no-sandbox'] : [])],
  });
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
  const srcDir = path.join(REPO_ROOT, 'src');
  const outfile = path.join(PAGE_BUILD_DIR, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [path.join(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
    external: ['@tensorflow/*', 'tfjs-self-attention'],
    plugins: [{
      name: 'src-as-package',
      setup(build) {
        build.onResolve({filter: /^\.{1,2}\//}, args => {
          const resolved = path.resolve(args.resolveDir, args.path);
          return resolved === srcDir || resolved === path.join(srcDir, 'index') ?
              {path: 'tfjs-self-attention', external: true} : undefined;
        });
      },
    }],
  });
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
