/**
 * `npm run bench:examples`: the examples' greedy decoders on the key/value caches against the
 * way they decoded before (the decoder re-run on the whole output so far for every new token,
 * test/helpers/uncached_decoders.ts), with the committed models:
 *
 * - dates: `decode` translating one batch of `--texts` held-out dates (every format) with
 *   models/dates;
 * - headlines: `decodeHeadlines` summarising one batch of `--texts` held-out sentences with
 *   models/headlines.
 *
 * Both ways must choose the same tokens (checked). Each backend runs in its own process (the
 * wasm heap never shrinks). Rounds are interleaved (`--runs`, the re-run in the middle one) so
 * that a change in the machine's load touches both alike; the speed-up is the re-run's time
 * over the cached median. Writes bench/results/examples/results.{json,md}.
 *
 * Flags: --backends wasm,cpu  --texts 256  --runs 5  --out bench/results/examples
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {allFormats, splitDays} from '../examples/dates/data';
import {decode, splitDateModel} from '../examples/dates/model';
import {loadModel as loadDateModel} from '../examples/dates/model_files';
import {sampleSplit} from '../examples/headlines/grammar';
import {splitForInference} from '../examples/headlines/model';
import {loadModel as loadHeadlineModel} from '../examples/headlines/model_files';
import {decodeHeadlines} from '../examples/headlines/summarizer';
import {useBestBackend} from '../src';
import {decodeDatesUncached, decodeHeadlinesUncached} from '../test/helpers/uncached_decoders';
import {machine, printChildResult, runBackendChild} from './report';

const ROOT = path.resolve(__dirname, '..');
const FLAGS = ['backends', 'texts', 'runs', 'out', 'child'];

interface Options {
  backends: string[];
  texts: number;
  runs: number;
  out: string;
}

/** One example on one backend: seconds per run of each way, and whether they agree. */
interface ExampleResult {
  example: 'dates'|'headlines';
  backend: string;
  texts: number;
  cachedSeconds: number[];
  rerunSeconds: number[];
  /** The encoder's share of each cached and re-run run (both ways run it once per batch). */
  cachedEncoderSeconds: number[];
  rerunEncoderSeconds: number[];
  /** Re-run over cached, whole decoding (medians). */
  speedup: number;
  /** The same without the encoder's time in each run: the decoder steps alone. */
  decoderSpeedup: number;
  sameTokens: boolean;
  tensorsLeft: number;
}

function parseArgs(argv: string[]): Options&{child: string|null} {
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && argv[at + 1] != null ? argv[at + 1]! : fallback;
  };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || !FLAGS.includes(argv[i]!.slice(2))) {
      throw new Error(`unknown argument ${JSON.stringify(argv[i])}: the flags are ${
          FLAGS.filter(f => f !== 'child').map(f => `--${f} <value>`).join(', ')}`);
    }
  }
  const int = (name: string, fallback: number) => {
    const value = Number(get(name, String(fallback)));
    if (!(Number.isInteger(value) && value > 0)) {
      throw new Error(`--${name} must be a positive integer. Received: --${name} ${get(name, '')}`);
    }
    return value;
  };
  return {
    backends: get('backends', 'wasm,cpu').split(',').filter(b => b !== ''),
    texts: int('texts', 256), runs: int('runs', 5),
    out: get('out', path.join('bench', 'results', 'examples')), child: get('child', '') || null,
  };
}

function seconds(run: () => unknown): {seconds: number, value: unknown} {
  const start = process.hrtime.bigint();
  const value = run();
  return {seconds: Number(process.hrtime.bigint() - start) / 1e9, value};
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Times `cached` (every round) against `rerun` (the middle round) on all the texts, after a
 * warm-up of each on a few; `tokens` reads what a run chose, to compare the two ways. The time
 * inside `encoder.predict` is summed per run (cpu and wasm run kernels as they are called, so
 * that is the encoder's time).
 */
function compare(o: Options, encoder: tf.LayersModel, cached: (texts: number) => unknown,
                 rerun: (texts: number) => unknown, tokens: (value: unknown) => string):
    Omit<ExampleResult, 'example'|'backend'|'texts'> {
  let inEncoder = 0;
  const predict = encoder.predict.bind(encoder);
  encoder.predict = (...args: Parameters<typeof predict>) => {
    const timed = seconds(() => predict(...args));
    inEncoder += timed.seconds;
    return timed.value as ReturnType<typeof predict>;
  };
  const run = (way: (texts: number) => unknown) => {
    inEncoder = 0;
    const result = seconds(() => way(o.texts));
    return {...result, encoder: inEncoder};
  };
  cached(4);
  rerun(4);
  const before = tf.memory().numTensors;
  const times = {cached: [] as number[], rerun: [] as number[], cachedEncoder: [] as number[],
                 rerunEncoder: [] as number[]};
  const chosen: string[] = [];
  for (let round = 0; round < o.runs; round++) {
    const c = run(cached);
    times.cached.push(c.seconds);
    times.cachedEncoder.push(c.encoder);
    chosen.push(tokens(c.value));
    if (round === Math.floor(o.runs / 2)) {
      const r = run(rerun);
      times.rerun.push(r.seconds);
      times.rerunEncoder.push(r.encoder);
      chosen.push(tokens(r.value));
    }
  }
  encoder.predict = predict;
  const decoderSteps = (total: number[], inside: number[]) => median(total.map((t, i) => t - inside[i]!));
  return {cachedSeconds: times.cached, rerunSeconds: times.rerun,
          cachedEncoderSeconds: times.cachedEncoder, rerunEncoderSeconds: times.rerunEncoder,
          speedup: median(times.rerun) / median(times.cached),
          decoderSpeedup: decoderSteps(times.rerun, times.rerunEncoder) /
              decoderSteps(times.cached, times.cachedEncoder),
          sameTokens: chosen.every(t => t === chosen[0]),
          tensorsLeft: tf.memory().numTensors - before};
}

/** Both examples on `backend`, in this process. */
async function measureBackend(backend: string, o: Options): Promise<ExampleResult[]> {
  const chosen = await useBestBackend({order: [backend]});
  if (chosen.backend !== backend) {
    throw new Error(`backend ${backend} did not start (got ${chosen.backend})`);
  }
  await tf.setBackend(backend);
  const results: ExampleResult[] = [];

  const dates = await loadDateModel(path.join(ROOT, 'models', 'dates'));
  const texts = allFormats(splitDays().test).slice(0, o.texts).map(e => e.input);
  const parts = splitDateModel(dates.model);
  results.push({example: 'dates', backend, texts: texts.length, ...compare(
      o, parts.encoder, n => decode(dates.model, dates.vocab, texts.slice(0, n), o.texts, parts),
      n => decodeDatesUncached(parts, dates.vocab, texts.slice(0, n), o.texts),
      v => Array.from((v as {ids: Int32Array}).ids).join(','))});
  dates.model.dispose();

  const headlines = await loadHeadlineModel(path.join(ROOT, 'models', 'headlines'));
  const rows = sampleSplit('test', o.texts, 5).map(s => headlines.vocab.encodeWords(s.input));
  const split = splitForInference(headlines.model);
  results.push({example: 'headlines', backend, texts: rows.length, ...compare(
      o, split.encoder, n => decodeHeadlines(split, headlines.vocab, rows.slice(0, n)),
      n => decodeHeadlinesUncached(split, headlines.vocab, rows.slice(0, n)),
      v => JSON.stringify((v as {ids: number[][]}).ids))});
  headlines.model.dispose();
  return results;
}

/** What bench/results/examples/results.json holds; `npm run docs:bench` renders it. */
export interface ExamplesResults {
  kind: 'examples';
  machine: ReturnType<typeof machine>&{loadAverageAtEnd: number[]};
  options: {backends: string[], texts: number, runs: number};
  results: ExampleResult[];
}

/** The results as a markdown paragraph and table. */
export function examplesMarkdown(r: ExamplesResults): string {
  const {machine: info, options: o, results} = r;
  const lines = [
    `Greedy decoding of one batch of ${o.texts} texts with the committed models, on the ` +
        `key/value caches vs the decoder re-run on the whole output so far per token ` +
        `(\`npm run bench:examples\`; ${info.cpu}, ${info.cores} cores, load average ${
            info.loadAverageAtStart.join(' ')} at the start, ${
            info.loadAverageAtEnd.join(' ')} at the end).`,
    '',
    '| example | backend | cached (s, median) | re-run (s) | speed-up | of which the encoder (s) | ' +
        'speed-up of the decoder steps | same tokens |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...results.map(r => `| ${r.example} | ${r.backend} | ${median(r.cachedSeconds).toFixed(2)} | ${
        median(r.rerunSeconds).toFixed(2)} | ${r.speedup.toFixed(1)}× | ${
        median(r.cachedEncoderSeconds).toFixed(2)} | ${r.decoderSpeedup.toFixed(1)}× | ${
        r.sameTokens ? 'yes' : 'NO'} |`),
    '',
    'Both ways run the encoder once per batch; the decoder steps\' speed-up leaves the time ' +
        'spent inside the encoder in each run out of both.',
  ];
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child != null) {
    printChildResult(await measureBackend(o.child, o));
    return;
  }
  const info = machine();
  const results: ExampleResult[] = [];
  for (const backend of o.backends) {
    const got = runBackendChild<ExampleResult[]>(__filename, backend, process.argv.slice(2));
    got.forEach(r => console.log(`${r.example} on ${backend}: cached ${
        median(r.cachedSeconds).toFixed(2)} s, re-run ${median(r.rerunSeconds).toFixed(2)} s, ${
        r.speedup.toFixed(1)}× (decoder steps ${r.decoderSpeedup.toFixed(1)}×)`));
    results.push(...got);
  }
  const all: ExamplesResults = {
    kind: 'examples', machine: {...info, loadAverageAtEnd: os.loadavg().map(l => Number(l.toFixed(2)))},
    options: {backends: o.backends, texts: o.texts, runs: o.runs}, results,
  };
  const md = examplesMarkdown(all);
  fs.mkdirSync(o.out, {recursive: true});
  fs.writeFileSync(path.join(o.out, 'results.json'), JSON.stringify(all, null, 2) + '\n');
  fs.writeFileSync(path.join(o.out, 'results.md'), md);
  console.log('\n' + md);
  const bad = results.filter(r => !r.sameTokens || r.tensorsLeft !== 0);
  if (bad.length > 0) {
    throw new Error(`the two ways disagree or leave tensors: ${
        bad.map(r => `${r.example} on ${r.backend}`).join(', ')}`);
  }
}

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    process.exit(1);
  });
}
