/**
 * `npm run bench:decode`: generation speed with key/value caches against re-running the model
 * for every token. A decoder-only model of `--layers` decoder blocks (src/layers/blocks.ts,
 * context null) of width `--width` generates `--tokens` tokens greedily after a one-token
 * prompt, batch 1:
 *
 * - cached (growing): `generate(model, …)` on the caches, keys appended with a concat;
 * - cached (preallocated): the same with `layout: 'preallocated'`;
 * - full re-run: `generate(model, {useCache: false})`, the whole model on the whole sequence
 *   for every token.
 *
 * Every variant must produce the same tokens (checked). Each backend runs in its own process
 * (the wasm heap never shrinks, so one backend's run must not shape another's). Writes
 * tokens/s and the ratios to bench/results/decode/results.{json,md} (bench/decode_report.ts),
 * which `npm run docs:bench` shows in docs/benchmarks.md.
 *
 * Flags: --backends cpu,wasm  --tokens 256  --layers 2  --width 128  --heads 4  --vocab 256
 *        --runs 3 (interleaved rounds of the cached variants; the full re-run runs once, in the
 *        middle round, and its ratio is against the cached medians)  --out bench/results/decode
 */
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {decoderBlock, generate, layerNorm, positionalEmbedding, tokenEmbedding, useBestBackend} from '../src';
import {DecodeBackendResult, DecodeOptions, Variant, writeDecodeResults} from './decode_report';
import {machine, printChildResult, runBackendChild} from './report';

const FLAGS = ['backends', 'tokens', 'layers', 'width', 'heads', 'vocab', 'runs', 'out', 'child'];

function parseArgs(argv: string[]): DecodeOptions&{child: string|null} {
  const get = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && argv[at + 1] != null ? argv[at + 1]! : fallback;
  };
  for (let i = 0; i < argv.length; i += 2) {
    if (!FLAGS.includes(argv[i]!.replace(/^--/, '')) || !argv[i]!.startsWith('--')) {
      throw new Error(`unknown argument ${JSON.stringify(argv[i])}: the flags are ${
          FLAGS.filter(f => f !== 'child').map(f => `--${f} <value>`).join(', ')}`);
    }
  }
  const int = (name: string, fallback: number) => {
    const value = Number(get(name, String(fallback)));
    if (!(Number.isInteger(value) && value > 0)) {
      throw new Error(`--${name} must be a positive integer. Received: --${name} ${
          get(name, '')}`);
    }
    return value;
  };
  return {
    backends: get('backends', 'cpu,wasm').split(',').filter(b => b !== ''),
    tokens: int('tokens', 256), layers: int('layers', 2), width: int('width', 128),
    heads: int('heads', 4), vocab: int('vocab', 256), runs: int('runs', 3),
    out: get('out', path.join('bench', 'results', 'decode')), child: get('child', '') || null,
  };
}

/** The decoder-only model: embeddings, `layers` decoder blocks without context, logits. */
function buildModel(o: DecodeOptions): tf.LayersModel {
  const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
  let x = tokenEmbedding({vocabSize: o.vocab, outputDim: o.width}).apply(ids) as
      tf.SymbolicTensor;  // [batch, time, width]
  x = positionalEmbedding({maxLength: o.tokens + 1}).apply(x) as tf.SymbolicTensor;
  for (let i = 0; i < o.layers; i++) {
    x = decoderBlock(x, null, null, {numHeads: o.heads, ffDim: 4 * o.width, name: `block_${i}`});
  }
  x = layerNorm({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({units: o.vocab}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: ids, outputs: logits, name: 'decoder'});
}

async function timed(run: () => Promise<number[][]>): Promise<{seconds: number,
                                                               tokens: number[][]}> {
  const start = process.hrtime.bigint();
  const tokens = await run();
  return {seconds: Number(process.hrtime.bigint() - start) / 1e9, tokens};
}

/**
 * One backend, in this process: the three variants on a fresh model; throws if `backend` does
 * not start. A runner that gives each case its own process calls this in the child.
 */
export async function measureBackend(backend: string, o: DecodeOptions): Promise<DecodeBackendResult> {
  const chosen = await useBestBackend({order: [backend]});
  if (chosen.backend !== backend) {
    throw new Error(`backend ${backend} did not start (got ${chosen.backend})`);
  }
  await tf.setBackend(backend);
  const model = buildModel(o);
  const before = tf.memory().numTensors;
  const prompt = [[1]];
  const args = {prompt, maxNewTokens: o.tokens};
  // Warm-up: kernels compiled, the caches' code paths run once.
  await generate(model, {...args, maxNewTokens: 8});
  await generate(model, {...args, maxNewTokens: 8, layout: 'preallocated'});
  await generate(model, {...args, maxNewTokens: 8, useCache: false});
  const plan = [{name: 'cached (growing)', extra: {}, runs: o.runs},
                {name: 'cached (preallocated)', extra: {layout: 'preallocated' as const}, runs: o.runs},
                {name: 'full re-run', extra: {useCache: false}, runs: 1}];
  const seconds: number[][] = plan.map(() => []);
  const tokens: number[][][] = [];
  // Interleaved rounds (the full re-run in the middle one), so that a change in the machine's
  // load during the run touches every variant alike.
  const middle = Math.floor(o.runs / 2);
  for (let round = 0; round < o.runs; round++) {
    for (const [i, v] of plan.entries()) {
      if (v.runs === o.runs || round === middle) {
        const result = await timed(() => generate(model, {...args, ...v.extra}));
        seconds[i]!.push(result.seconds);
        tokens.push(result.tokens);
      }
    }
  }
  const variants: Variant[] = plan.map((v, i) => {
    const median = [...seconds[i]!].sort((a, b) => a - b)[Math.floor(seconds[i]!.length / 2)]!;
    return {name: v.name, seconds: seconds[i]!, tokensPerSecond: o.tokens / median};
  });
  const first = JSON.stringify(tokens[0]);
  const tensorsLeft = tf.memory().numTensors - before;
  model.dispose();
  const tps = (i: number) => variants[i]!.tokensPerSecond;
  return {
    backend, variants, speedup: tps(0) / tps(2), speedupPreallocated: tps(1) / tps(2),
    sameTokens: tokens.every(t => JSON.stringify(t) === first), tensorsLeft,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child != null) {
    printChildResult(await measureBackend(o.child, o));
    return;
  }
  const info = machine();
  const results: DecodeBackendResult[] = [];
  for (const backend of o.backends) {
    const result = runBackendChild<DecodeBackendResult>(__filename, backend,
                                                        process.argv.slice(2));
    console.log(`${backend}: ${result.variants.map(v => `${v.name} ${
        v.tokensPerSecond.toFixed(1)} tokens/s`).join(', ')}; speed-up ${
        result.speedup.toFixed(1)}× (preallocated ${result.speedupPreallocated.toFixed(1)}×)`);
    results.push(result);
  }
  const {child: _child, ...options} = o;
  void _child;
  console.log('\n' + writeDecodeResults(info, options, results));
  console.log(`wrote ${path.join(o.out, 'results.{json,md}')}`);
  const bad = results.filter(r => !r.sameTokens || r.tensorsLeft !== 0);
  if (bad.length > 0) {
    throw new Error(`variants disagree or leave tensors on ${bad.map(r => r.backend)}`);
  }
}

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    process.exit(1);
  });
}
