/**
 * `generate`: token-by-token generation for decoder models (a decoder-only language model, or
 * an encoder–decoder given its encoder inputs), greedy or sampled (temperature, top-k, a seed),
 * on the key/value caches of `startDecoding` (decoding.ts): the prompt runs once, then each step
 * runs the model on one new token.
 *
 * Sampling runs in JavaScript on the step's logits row (downloaded, vocabSize numbers per
 * sequence) with a seeded generator, so a seed gives the same tokens on every backend whose
 * logits agree.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, describeValue, is} from '../args';
import {CACHE_LAYOUTS, CacheLayout} from '../layers/attention_cache';
import {DecodingSession, startDecoding} from './decoding';

/** Arguments of {@link generate}. */
export interface GenerateArgs {
  /**
   * The prompt, `[batch, promptLength]` token ids (an int32 tensor, or one array of ids per
   * sequence, all of one length ≥ 1: a start token at least). Required.
   */
  prompt: tf.Tensor|number[][];
  /** Tokens to generate after the prompt. Required. */
  maxNewTokens: number;
  /** The model's fixed inputs by name (an encoder–decoder's encoder inputs). Default none. */
  inputs?: Record<string, tf.Tensor>;
  /**
   * 0: greedy (always the most likely token). Above 0: sample from softmax(logits /
   * temperature) (1 = the model's own distribution, lower = more conservative). Default 0.
   */
  temperature?: number;
  /** When sampling: draw only among the topK most likely tokens. Default: all. */
  topK?: number;
  /** Seed of the sampling: the same seed gives the same tokens. Default: random. */
  seed?: number;
  /**
   * A token id that ends a sequence: it is kept as the sequence's last token, and generation
   * stops once every sequence has ended. Default none.
   */
  endToken?: number;
  /** Which model output holds the logits `[batch, time, vocabSize]`. Default 0. */
  outputIndex?: number;
  /**
   * Decode with key/value caches (default true). False re-runs the whole model on the whole
   * sequence for every token (what caching saves; for checking and measuring).
   */
  useCache?: boolean;
  /** How the caches store keys (see `CacheLayout`). Default 'growing'. */
  layout?: CacheLayout;
  /**
   * Called after each step with the tokens just chosen, one per sequence (an ended sequence
   * repeats endToken), e.g. to show text as it is generated. Default none.
   */
  onStep?: (tokens: number[], step: number) => void|Promise<void>;
}

const GENERATE_ARGS: ArgSpec = {
  prompt: is.anything,  // checked below
  maxNewTokens: is.positiveInt,
  inputs: is.object,
  temperature: {expected: 'a number ≥ 0', test: v => typeof v === 'number' && v >= 0 &&
                                                     Number.isFinite(v)},
  topK: is.positiveInt,
  seed: is.finiteNumber,
  endToken: {expected: 'a token id (an integer ≥ 0)',
             test: v => typeof v === 'number' && Number.isInteger(v) && v >= 0},
  outputIndex: {expected: 'an integer ≥ 0',
                test: v => typeof v === 'number' && Number.isInteger(v) && v >= 0},
  useCache: is.boolean,
  layout: is.oneOf(CACHE_LAYOUTS),
  onStep: {expected: 'a function', test: v => typeof v === 'function'},
};

/**
 * Generates up to `maxNewTokens` tokens after `prompt` with `model` (logits `[batch, time,
 * vocab]` for token ids `[batch, time]`, causal). Returns each sequence's new tokens (ending
 * at `endToken` when it was produced). Leaves no tensor behind.
 *
 * ```ts
 * const START = 1;  // the start token's id
 * const [tokens] = await generate(model, {prompt: [[START]], maxNewTokens: 20});
 * const sampled = await generate(model, {prompt: [[START]], maxNewTokens: 20,
 *                                        temperature: 0.8, topK: 10, seed: 1});
 * ```
 */
export async function generate(model: tf.LayersModel, args: GenerateArgs): Promise<number[][]> {
  const fn = 'generate';
  checkArgs(fn, args, GENERATE_ARGS, {layer: false, required: ['prompt', 'maxNewTokens'],
                                      suggestions: {maxTokens: 'maxNewTokens',
                                                    maxLength: 'maxNewTokens', k: 'topK',
                                                    eosToken: 'endToken', stopToken: 'endToken'}});
  const temperature = args.temperature ?? 0;
  if (temperature === 0 && (args.topK != null || args.seed != null)) {
    throw new Error(`${fn}: topK and seed apply when sampling (temperature > 0); with ` +
                    `temperature 0 decoding is greedy. Received: temperature=${temperature}, ${
                        args.topK != null ? `topK=${args.topK}` : `seed=${args.seed}`}`);
  }
  const prompt = promptRows(args.prompt);
  const batch = prompt.length;
  const promptLength = prompt[0]!.length;
  const random = temperature > 0 ? seededRandom(args.seed ?? Math.floor(Math.random() * 2 ** 32)) :
                                   null;
  const outputIndex = args.outputIndex ?? 0;
  const maxLength = promptLength + args.maxNewTokens;
  const next = (args.useCache ?? true) ?
      cachedSteps(model, prompt, maxLength, args.inputs, args.layout ?? 'growing') :
      fullSteps(model, prompt, args.inputs);
  const generated: number[][] = prompt.map(() => []);
  const done = new Array<boolean>(batch).fill(false);
  try {
    let fed: number[] = [];  // the tokens chosen last step, fed this step
    for (let step = 0; step < args.maxNewTokens; step++) {
      const rows = await lastLogits(next(step === 0 ? null : fed), outputIndex, fn);
      const vocab = rows.length / batch;
      fed = [];
      for (let b = 0; b < batch; b++) {
        const id = done[b] ? args.endToken! :
            pick(rows.subarray(b * vocab, (b + 1) * vocab), temperature, args.topK, random);
        fed.push(id);
        if (!done[b]) {
          generated[b]!.push(id);
          done[b] = id === args.endToken;
        }
      }
      await args.onStep?.([...fed], step);
      if (done.every(d => d)) {
        break;
      }
    }
  } finally {
    next.dispose();
  }
  return generated;
}

/** A source of logits: called with the tokens chosen last step (null: the prompt). */
interface Steps {
  (tokens: number[]|null): tf.Tensor|tf.Tensor[];
  dispose(): void;
}

/** Steps on the caches: the prompt once, then one token per step. */
function cachedSteps(model: tf.LayersModel, prompt: number[][], maxLength: number,
                     inputs: Record<string, tf.Tensor>|undefined, layout: CacheLayout): Steps {
  const session: DecodingSession =
      startDecoding(model, {maxLength, batchSize: prompt.length, layout,
                            ...(inputs == null ? {} : {inputs})});
  const steps = ((tokens: number[]|null) => {
    const ids = tokens == null ? tf.tensor2d(prompt, undefined, 'int32') :
                                 tf.tensor2d(tokens, [tokens.length, 1], 'int32');
    try {
      return session.step(ids);
    } finally {
      ids.dispose();
    }
  }) as Steps;
  steps.dispose = () => session.dispose();
  return steps;
}

/** Steps without caches: the whole model on the whole sequence so far, every time. */
function fullSteps(model: tf.LayersModel, prompt: number[][],
                   inputs: Record<string, tf.Tensor>|undefined): Steps {
  const sequence = prompt.map(row => [...row]);
  const given = inputs ?? {};
  const steps = ((tokens: number[]|null) => {
    tokens?.forEach((id, b) => sequence[b]!.push(id));
    const ids = tf.tensor2d(sequence, undefined, 'int32');
    try {
      const feed = model.inputNames.map(name => given[name] ?? ids);
      return model.predict(feed.length === 1 ? feed[0]! : feed) as tf.Tensor|tf.Tensor[];
    } finally {
      ids.dispose();
    }
  }) as Steps;
  steps.dispose = () => undefined;
  return steps;
}

/** The last position's logits `[batch, vocab]`, downloaded; disposes `outputs`. */
async function lastLogits(outputs: tf.Tensor|tf.Tensor[], index: number, fn: string):
    Promise<Float32Array> {
  const list = Array.isArray(outputs) ? outputs : [outputs];
  try {
    const logits = list[index];
    if (logits == null || logits.rank !== 3) {
      throw new Error(`${fn}: the model's output ${index} must be logits [batch, time, vocab]. ` +
                      `Received: ${logits == null ? `${list.length} outputs` :
                                                    `output ${describeValue(logits)}`}`);
    }
    const [batch, time, vocab] = logits.shape as [number, number, number];
    const last = logits.slice([0, time - 1, 0], [batch, 1, vocab]);
    try {
      return await last.data() as Float32Array;
    } finally {
      last.dispose();
    }
  } finally {
    tf.dispose(list);
  }
}

/** The prompt as rows of ids, checked: one row per sequence, all of one length ≥ 1. */
function promptRows(prompt: unknown): number[][] {
  let rows: unknown = prompt;
  if (prompt instanceof tf.Tensor) {
    if (prompt.rank !== 2 || prompt.dtype === 'string' || prompt.isDisposed) {
      throw new Error(`generate: prompt must be token ids [batch, promptLength]. Received: ` +
                      `prompt=${describeValue(prompt)}`);
    }
    rows = prompt.arraySync();
  }
  const ok = Array.isArray(rows) && rows.length > 0 &&
      rows.every(r => Array.isArray(r) && r.length > 0 &&
                      r.length === (rows as unknown[][])[0]!.length &&
                      r.every(id => typeof id === 'number' && Number.isInteger(id) && id >= 0));
  if (!ok) {
    throw new Error(`generate: prompt must be [batch, promptLength] token ids (integers ≥ 0), ` +
                    `every row of the same length ≥ 1. Received: prompt=${describeValue(prompt)}`);
  }
  return rows as number[][];
}

/**
 * The next token from one row of logits: the most likely (temperature 0, ties to the lowest
 * id), or a draw from softmax(logits / temperature) over the topK most likely.
 */
export function pick(logits: ArrayLike<number>, temperature: number, topK: number|undefined,
                     random: (() => number)|null): number {
  if (temperature === 0 || random == null) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) {
      if (logits[v]! > logits[best]!) {
        best = v;
      }
    }
    return best;
  }
  const order = Array.from({length: logits.length}, (_, v) => v);
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  const kept = order.slice(0, Math.min(topK ?? logits.length, logits.length));
  const top = logits[kept[0]!]!;
  const weights = kept.map(v => Math.exp((logits[v]! - top) / temperature));  // float64
  const total = weights.reduce((a, b) => a + b, 0);
  let u = random() * total;
  for (let i = 0; i < kept.length; i++) {
    u -= weights[i]!;
    if (u < 0) {
      return kept[i]!;
    }
  }
  return kept[kept.length - 1]!;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = (Math.floor(seed) >>> 0) || 0x9e3779b9;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
