/**
 * What the browser demo and the browser tests both need: a page module bundled by esbuild with
 * the package and tfjs left as imports for the page's import map, and a static file server on
 * 127.0.0.1.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';

import * as esbuild from 'esbuild';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.map': 'application/json', '.css': 'text/css', '.svg': 'image/svg+xml',
};

/**
 * Bundles `entry` into `outfile` for the page. '@tensorflow/*' and 'tfjs-self-attention' (and
 * `external`) stay bare imports; an import of the repo's `src/` becomes 'tfjs-self-attention',
 * so the page runs the package's browser build (dist/esm).
 */
export async function bundleForPage(entry: string, outfile: string,
                                    external: string[] = []): Promise<void> {
  const srcDir = path.join(REPO_ROOT, 'src');
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
    external: ['@tensorflow/*', 'tfjs-self-attention', ...external],
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
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  server: http.Server;
  /** Serves `dir` under the URL path `prefix` (starting and ending with '/'). */
  mount(prefix: string, dir: string): void;
  close(): Promise<void>;
}

/**
 * Serves files under `root` (GET/HEAD only) on 127.0.0.1:`port` (0 = a free port); `index` is
 * what '/' serves.
 */
export async function startServer(root = REPO_ROOT, port = 0, index?: string):
    Promise<StaticServer> {
  const mounts: Array<[string, string]> = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const urlPath = decodeURIComponent(url.pathname === '/' && index ? index : url.pathname);
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
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as {port: number}).port}`,
    server,
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
