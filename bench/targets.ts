/**
 * `npm run bench` without flags: issue 16's targets in one run. Runs, each in processes of its
 * own, and each writing its folder under bench/results/ as when run alone:
 *
 * 1. the dispatcher's cases (bench/run.ts: wasm, batch 8, n 16/64/256 × 1x16, 4x64, 8x64,
 *    8x256, 5 runs) → dispatch/;
 * 2. cached decoding (bench/decode.ts, cpu and wasm) → decode/;
 * 3. threads (bench/threads.ts, 1 and 2 threads) → threads/;
 * 4. the fused GPU programs (`npm run build`, then bench/programs.ts in headless Chromium,
 *    webgl and webgpu) → fused/; skipped, with the reason, where Chromium is missing;
 *
 * then reads what they wrote, writes the targets table to targets/ (bench/targets_report.ts)
 * and regenerates the tables of docs/benchmarks.md (scripts/docs_bench.ts). A part that fails
 * leaves a row saying so, and the others still run. `--skip dispatch,decode,threads,programs`
 * leaves parts out (their targets then read the results already in their folders).
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {BENCHMARKS_PAGE, renderBenchmarksPage} from '../scripts/docs_bench';
import {checkBrowserPrerequisites} from './browser';
import {firstLine} from './measure';
import {machine} from './report';
import {computeTargets, PartResults, TargetsResults, writeTargetsResults} from './targets_report';

const root = path.resolve(__dirname, '..');
const results = path.join(root, 'bench', 'results');

/** Each part: its results folder and the command (relative to the repository) that writes it. */
const PARTS: Record<keyof PartResults, {dir: string, command: () => void}> = {
  dispatch: {
    dir: 'dispatch',
    command: () => tsNode('bench/run.ts', '--backends', 'wasm', '--n', '16,64,256', '--pairs',
                          '1x16,4x64,8x64,8x256', '--runs', '7', '--memory-n', '0', '--out', 'bench/results/dispatch'),
  },
  decode: {dir: 'decode', command: () => tsNode('bench/decode.ts')},
  threads: {dir: 'threads', command: () => tsNode('bench/threads.ts')},
  programs: {
    dir: 'fused',
    command: () => {
      execFileSync('npm', ['run', 'build'], {cwd: root, stdio: 'inherit'});
      checkBrowserPrerequisites(['webgl', 'webgpu']);  // throws, naming what is missing
      tsNode('bench/programs.ts');
    },
  },
};

function tsNode(script: string, ...args: string[]): void {
  execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args],
               {cwd: root, stdio: 'inherit'});
}

const load = (m: {loadAverageAtStart?: number[], loadAverageAtEnd?: number[]}) =>
  `${m.loadAverageAtStart?.[0] ?? '?'} → ${m.loadAverageAtEnd?.[0] ?? '?'}`;

export async function runTargets(argv: string[]): Promise<void> {
  const at = argv.indexOf('--skip');
  const skip = at >= 0 ? (argv[at + 1] ?? '').split(',').filter(s => s !== '') : [];
  const unknown = [...skip.filter(s => !(s in PARTS)),
                   ...argv.filter((a, i) => a !== '--skip' && !(i === at + 1 && at >= 0) && a !== '--targets')];
  if (unknown.length) {
    throw new Error(`npm run bench (the targets run) takes --skip ${Object.keys(PARTS).join(',')}. ` +
                    `Received: ${unknown.join(' ')} (grid runs take --grid or the grid flags: --help)`);
  }
  const info = machine();
  const why: Record<string, string> = {};
  for (const [name, part] of Object.entries(PARTS)) {
    if (skip.includes(name)) {
      continue;
    }
    console.log(`\n=== ${name} ===`);
    try {
      part.command();
    } catch (e) {
      why[name] = firstLine(e).replace(/\.$/, '');
      console.error(`${name} failed: ${why[name]}`);
    }
  }
  const read = <T>(name: string): T|null => {
    const file = path.join(results, PARTS[name as keyof PartResults].dir, 'results.json');
    if (why[name] != null || !fs.existsSync(file)) {
      why[name] ??= `no ${path.relative(root, file)}`;
      return null;
    }
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  };
  const parts: PartResults = {dispatch: read('dispatch'), decode: read('decode'), threads: read('threads'),
                              programs: read('programs')};
  const sources: TargetsResults['sources'] = {};
  for (const [name, value] of Object.entries(parts)) {
    const dir = `bench/results/${PARTS[name as keyof PartResults].dir}`;
    sources[name] = value == null ? {notRun: why[name]!} :
        {dir: skip.includes(name) ? `${dir}, an earlier run` : dir, loadAverage: load(value.machine)};
  }
  const md = writeTargetsResults(path.join(results, 'targets'), {machine: info, sources, rows: computeTargets(parts, why)});
  console.log('\n' + md);
  const page = fs.readFileSync(BENCHMARKS_PAGE, 'utf8');
  fs.writeFileSync(BENCHMARKS_PAGE, renderBenchmarksPage(page));
  console.log('wrote bench/results/targets/results.{json,md} and the tables of docs/benchmarks.md');
}
