/**
 * `npm run demo`: bundles the browser demo's page module (demo.ts → build/demo.mjs) and serves
 * the repository on 127.0.0.1, so the page reaches tfjs in node_modules/, the package's browser
 * build in dist/esm/ and the committed model in models/dates/. Prints the page's address.
 *
 *   npm run demo                 (port 8080)
 *   npm run demo -- --port 9000  (0 picks a free port)
 */
import * as fs from 'fs';
import * as path from 'path';

import {bundleForPage, REPO_ROOT, startServer, StaticServer} from './static';

export const DEMO_PATH = '/examples/browser/index.html';

/**
 * Bundles demo.ts for the page: tfjs stays a bare import for the import map, the repo's `src/`
 * becomes 'tfjs-self-attention' (the browser build), Node built-ins map to an empty module.
 */
export async function buildDemo(): Promise<string> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'esm', 'index.mjs'))) {
    throw new Error('dist/esm/index.mjs is missing: run `npm run build` first');
  }
  const outfile = path.join(__dirname, 'build', 'demo.mjs');
  await bundleForPage(path.join(__dirname, 'demo.ts'), outfile, ['fs', 'path', '@resvg/*']);
  return outfile;
}

/** Serves the repository on 127.0.0.1:`port`, '/' being the demo page; resolves to its origin. */
export async function serve(port: number): Promise<StaticServer> {
  return startServer(REPO_ROOT, port, DEMO_PATH);
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
