/**
 * `npm run demo`: bundles the date translator's page (page.ts → build/page.mjs) and serves the
 * repository on 127.0.0.1, so that the page reaches tfjs in node_modules/, the package's browser
 * build in dist/esm/ and the committed model in models/dates/. Prints the page's address. See
 * `--help`.
 */
import * as fs from 'fs';
import * as path from 'path';

import {Command, runCommand} from '../../shared/cli';
import {bundleForPage, REPO_ROOT, startServer, StaticServer} from '../../shared/page_server';

export const DEMO_PATH = '/examples/dates/web/index.html';

export const DEMO_COMMAND = {
  name: 'npm run demo --',
  summary: 'Serves the date translator page on 127.0.0.1: translate dates with the committed ' +
           'model and see its attention, or train a new model from scratch in the tab and ' +
           'watch its attention form.',
  options: {
    port: {default: 8080, help: 'port to listen on (0: a free one)', integer: true, max: 65535},
  },
} satisfies Command;

/**
 * Bundles page.ts for the page: tfjs stays a bare import for the import map, the repo's `src/`
 * becomes 'tfjs-self-attention' (the browser build), Node built-ins map to an empty module.
 */
export async function buildDemo(): Promise<string> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'esm', 'index.mjs'))) {
    throw new Error('dist/esm/index.mjs is missing: run `npm run build` first');
  }
  const outfile = path.join(__dirname, 'build', 'page.mjs');
  await bundleForPage(path.join(__dirname, 'page.ts'), outfile, ['fs', 'path', '@resvg/*']);
  return outfile;
}

/** Serves the repository on 127.0.0.1:`port`, '/' being the page; resolves to its server. */
export async function serve(port: number): Promise<StaticServer> {
  return startServer(REPO_ROOT, port, DEMO_PATH);
}

if (require.main === module) {
  runCommand(DEMO_COMMAND, async ({options}) => {
    await buildDemo();
    const {origin} = await serve(options.port);
    console.log(`Date translator page: ${origin}${DEMO_PATH}  (Ctrl+C stops the server)`);
    return new Promise<void>(() => undefined);  // serve until interrupted
  });
}
