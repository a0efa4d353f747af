/**
 * `npm run demo`: bundles the browser demo's page module (demo.ts → build/demo.mjs) and serves
 * the repository on 127.0.0.1, so the page reaches tfjs in node_modules/, the package's browser
 * build in dist/esm/ and the committed model in models/dates/. Prints the page's address.
 *
 *   npm run demo                 (port 8080)
 *   npm run demo -- --port 9000  (0 picks a free port)
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';

import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');
export const DEMO_PATH = '/examples/browser/index.html';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.css': 'text/css', '.svg': 'image/svg+xml',
};

/**
 * Bundles demo.ts for the page: tfjs stays a bare import for the import map, the repo's `src/`
 * becomes 'tfjs-self-attention' (the browser build), Node built-ins map to an empty module.
 */
export async function buildDemo(): Promise<string> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'esm', 'index.mjs'))) {
    throw new Error('dist/esm/index.mjs is missing: run `npm run build` first');
  }
  const srcDir = path.join(ROOT, 'src');
  const outfile = path.join(__dirname, 'build', 'demo.mjs');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'demo.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
    external: ['@tensorflow/*', 'tfjs-self-attention', 'fs', 'path', '@resvg/*'],
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
  return outfile;
}

/** Serves the repository (GET/HEAD only) on 127.0.0.1:`port`; resolves to its origin. */
export async function serve(port: number): Promise<{origin: string, server: http.Server}> {
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = path.join(ROOT, urlPath === '/' ? DEMO_PATH : urlPath);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !file.startsWith(ROOT + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.stat(file, (err, stat) => {
      if (err != null || !stat.isFile()) {
        res.writeHead(404).end(`not found: ${urlPath}`);
        return;
      }
      res.writeHead(200, {'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
                          'content-length': stat.size, 'cache-control': 'no-store'});
      req.method === 'HEAD' ? res.end() : fs.createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {origin: `http://127.0.0.1:${(server.address() as {port: number}).port}`, server};
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let port = 8080;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port' && /^\d+$/.test(args[i + 1] ?? '') && Number(args[i + 1]) < 65536) {
      port = Number(args[++i]);
    } else {
      throw new Error(`Usage: npm run demo -- [--port <0–65535>]. Received: ${args.slice(i).join(' ')}`);
    }
  }
  await buildDemo();
  const {origin} = await serve(port);
  console.log(`Date translator demo: ${origin}${DEMO_PATH}  (Ctrl+C stops the server)`);
}

if (require.main === module) {
  main().catch(e => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
