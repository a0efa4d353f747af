/**
 * `npm run measure:demo`: how long the date page's in-tab training takes to reach 99% held-out
 * exact match, on wasm and on webgl, in headless Chromium on this machine. See `--help`.
 *
 * For each backend it opens the page (`?backends=<backend>&target=…`), clicks Train, and waits
 * until the page stops at the target, or until --maxMinutes, when it clicks Stop. It records
 * the page's own figures (seconds of training, scoring excluded; steps; held-out exact match),
 * the wall-clock time, the CPU seconds of the whole browser (every Chromium process, from
 * /proc) and the load average, and writes examples/dates/results/browser_training.json, whose
 * `text` the page shows.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {Command, Options, runCommand} from '../../shared/cli';
import {launchChromium} from '../../shared/chromium';
import {duration} from '../../shared/training';
import {buildDemo, DEMO_PATH, serve} from './serve';

export const MEASURE_COMMAND = {
  name: 'npm run measure:demo --',
  summary: "Measures the date page's in-tab training in headless Chromium: time to reach the " +
           'target held-out exact match on each backend. Writes <out>/browser_training.json.',
  options: {
    backends: {default: 'wasm,webgl', help: 'backends to measure, in order'},
    target: {default: 0.99, help: 'held-out exact match to reach', min: 0.01, max: 1},
    maxMinutes: {default: 60, help: 'stop a backend that has not reached the target after this ' +
                                    'many wall-clock minutes', min: 1},
    curveEvery: {default: 30, help: 'seconds of training between two held-out scores', min: 1},
    out: {default: 'examples/dates/results', help: 'folder of browser_training.json'},
  },
} satisfies Command;

/** User + system CPU seconds of every process descending from `root` (this one). */
function descendantCpuSeconds(root = process.pid): number {
  const tick = 100;  // USER_HZ on Linux
  const stats = new Map<number, {ppid: number, cpu: number}>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), {ppid: Number(fields[1]),
                                cpu: (Number(fields[11]) + Number(fields[12])) / tick});
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  for (const [pid, s] of stats) {
    let p = s.ppid;
    while (p > 1 && p !== root) {
      p = stats.get(p)?.ppid ?? 0;
    }
    if (p === root && pid !== root) {
      total += s.cpu;
    }
  }
  return total;
}

/** One backend's measurement. */
export interface BrowserTraining {
  backend: string;
  reached: boolean;
  target: number;
  /** The page's seconds of training (held-out scoring excluded) when it stopped. */
  trainSeconds: number;
  steps: number;
  validation: number;
  wallSeconds: number;
  /** CPU seconds of all Chromium processes during the run. */
  browserCpuSeconds: number;
  loadBefore: number[];
  loadAfter: number[];
}

async function main(o: Options<typeof MEASURE_COMMAND>): Promise<void> {
  await buildDemo();
  const server = await serve(0);
  const browser = await launchChromium();
  const runs: BrowserTraining[] = [];
  try {
    for (const backend of o.backends.split(',')) {
      const page = await browser.newPage();
      page.on('pageerror', e => process.stderr.write(`page error: ${e}\n`));
      await page.goto(`${server.origin}${DEMO_PATH}?backends=${backend}&target=${o.target}` +
                      `&curveEvery=${o.curveEvery}`);
      await page.waitForSelector('body[data-state="ready"]', {timeout: 600_000});
      const used = await page.getAttribute('body', 'data-backend');
      if (used !== backend) {
        throw new Error(`The page runs on ${used}, not ${backend}: ${await page.textContent('#status')}`);
      }
      const loadBefore = os.loadavg();
      const cpuBefore = descendantCpuSeconds();
      const started = Date.now();
      await page.click('#train');
      let stopped = false;
      for (;;) {
        await new Promise(resolve => setTimeout(resolve, 10_000));
        const state = await page.getAttribute('body', 'data-training');
        const minutes = (Date.now() - started) / 60_000;
        process.stderr.write(`${backend}: ${minutes.toFixed(1)} min, step ${
            await page.getAttribute('body', 'data-step')}, held-out ${
            await page.getAttribute('body', 'data-validation')}\n`);
        if (state === 'done' || state === 'failed') {
          break;
        }
        if (minutes >= o.maxMinutes && !stopped) {
          stopped = true;
          await page.click('#stop');
        }
      }
      const data = await page.evaluate(() => ({...document.body.dataset}));
      if (data['training'] !== 'done') {
        throw new Error(`Training failed on ${backend}: ${await page.textContent('#train-status')}`);
      }
      const validation = Number(data['validation']);
      runs.push({backend, reached: validation >= o.target, target: o.target,
                 trainSeconds: Number(data['trainSeconds']), steps: Number(data['step']),
                 validation, wallSeconds: (Date.now() - started) / 1000,
                 browserCpuSeconds: descendantCpuSeconds() - cpuBefore, loadBefore,
                 loadAfter: os.loadavg()});
      process.stderr.write(`${backend}: ${JSON.stringify(runs[runs.length - 1])}\n`);
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const text = describe(runs);
  fs.mkdirSync(o.out, {recursive: true});
  fs.writeFileSync(path.join(o.out, 'browser_training.json'), JSON.stringify({
    command: `npm run measure:demo -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(), cpus: os.cpus().length, runs, text}, null, 1) + '\n');
  console.log(text);
}

/** The sentence the page shows. */
export function describe(runs: BrowserTraining[]): string {
  const parts = runs.map(r => {
    const pct = `${(100 * r.target).toFixed(0)}%`;
    return r.reached ?
        `on ${r.backend}, ${duration(r.trainSeconds)} of training (${r.steps} steps) to reach ${pct}` :
        `on ${r.backend}, ${(100 * r.validation).toFixed(1)}% after ${
            duration(r.trainSeconds)} (${r.steps} steps; stopped before ${pct})`;
  });
  const load = runs.map(r => r.loadAfter[0]!.toFixed(0)).join(' and ');
  return `Measured in headless Chromium on this project's build machine (2 shared CPU cores, ` +
         `software WebGL, load average ${load}): ${parts.join('; ')}.`;
}

if (require.main === module) {
  runCommand(MEASURE_COMMAND, ({options}) => main(options));
}
