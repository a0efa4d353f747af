/**
 * `npm run bench:programs`: attention alone on webgl and webgpu in headless Chromium, the
 * standard path against the fused one in one run: how many GPU programs each dispatches forward
 * and forward + backward, how many bytes those programs read and write, and how long they take
 * here (SwiftShader, a software GPU, on this machine). Programs are counted by wrapping the
 * backend's `runWebGLProgram` / `runWebGPUProgram` (test/helpers/browser/pages/fused_page.ts,
 * the code test/browser/fused.browser.test.ts checks the targets with); times come from
 * bench/programs_page.ts. Writes results.json and results.md under --out, and prints the table.
 *
 * Flags: --batch 8 --heads 8 --n 256 --dh 64 (inputs [batch, heads, n, dh]), --runs 3,
 * --backends webgl,webgpu, --out bench/results/fused. Needs Chromium and a current `npm run build`.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {buildPageModule, callInPage, openBrowser} from '../test/helpers/browser/harness';
import type {ProgramCount} from '../test/helpers/browser/pages/fused_page';
import {checkBrowserPrerequisites} from './browser';
import type {PathTimes} from './programs_page';
import {programsMarkdown, ProgramsResults} from './programs_report';

const INT_FLAGS = ['batch', 'heads', 'n', 'dh', 'runs'];
const FLAGS = [...INT_FLAGS, 'backends', 'out'];
const PATHS = ['standard', 'fused'];

function parse(argv: string[]) {
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || !FLAGS.includes(argv[i]!.slice(2)) || argv[i + 1] == null) {
      throw new Error(`unknown or incomplete argument ${JSON.stringify(argv[i])}: the flags are ${
          FLAGS.map(f => `--${f} VALUE`).join(', ')}`);
    }
  }
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1]! : fallback;
  };
  const int = (name: string, fallback: number) => {
    const value = Number(get(name, String(fallback)));
    if (!(Number.isInteger(value) && value > 0)) {
      throw new Error(`--${name} takes a positive integer. Received: --${name} ${get(name, '')}`);
    }
    return value;
  };
  const backends = get('backends', 'webgl,webgpu').split(',');
  const unknown = backends.filter(b => b !== 'webgl' && b !== 'webgpu');
  if (unknown.length) {
    throw new Error(`--backends takes webgl and webgpu (the fused path runs there). Received: --backends ${
        backends.join(',')}`);
  }
  return {batch: int('batch', 8), heads: int('heads', 8), n: int('n', 256), dh: int('dh', 64),
          runs: int('runs', 3), backends, out: get('out', path.join('bench', 'results', 'fused'))};
}

const loadAverage = () => os.loadavg().map(l => Number(l.toFixed(2)));

async function main(): Promise<void> {
  const {out, ...o} = parse(process.argv.slice(2));
  const executable = checkBrowserPrerequisites(o.backends);
  const url = await buildPageModule('bench/programs_page.ts', 'programs_page');
  const cpus = os.cpus();
  const loadAverageAtStart = loadAverage();
  const session = await openBrowser(executable);
  const browser = `Chromium ${session.browser.version()}`;
  const rows: ProgramsResults['rows'] = [];
  const devices: Record<string, string|null> = {};
  try {
    for (const backend of o.backends) {
      const page = await session.newPage();
      await callInPage(page, url, 'start', backend);
      devices[backend] = await callInPage<string|null>(page, url, 'deviceName', backend);
      const counts = await callInPage<Record<string, {forward: ProgramCount, both: ProgramCount}>>(
          page, url, 'programCounts', o.batch, o.heads, o.n, o.dh, PATHS);
      const times = await callInPage<Record<string, PathTimes>>(
          page, url, 'timePaths', o.batch, o.heads, o.n, o.dh, PATHS, o.runs);
      if (page.errors.length) {
        throw new Error(`the page on ${backend} reported errors: ${page.errors.join('; ')}`);
      }
      await page.close();
      for (const p of PATHS) {
        rows.push({backend, path: p, ...counts[p]!, ...times[p]!});
        console.error(`${backend} ${p}: ${counts[p]!.forward.programs} programs forward, ${
            times[p]!.forwardMs.toFixed(0)} ms forward, ${times[p]!.bothMs.toFixed(0)} ms fwd+bwd`);
      }
    }
  } finally {
    await session.close();
  }
  const results: ProgramsResults = {
    kind: 'programs',
    machine: {cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length,
              memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.arch()}`,
              node: process.version, tfjs: tf.version.tfjs, browser,
              devices, loadAverageAtStart, loadAverageAtEnd: loadAverage()},
    options: o, rows,
  };
  fs.mkdirSync(out, {recursive: true});
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const md = programsMarkdown(results);
  fs.writeFileSync(path.join(out, 'results.md'), md);
  console.log(md);
  console.log(`Wrote ${path.join(out, 'results.{json,md}')}`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
