/**
 * generate (src/generation/generate.ts): greedy and sampled generation on the caches gives the
 * same tokens as re-running the model for every token, on cpu and wasm; seeds reproduce;
 * top-k and temperature draw from the right distribution; endToken stops; numTensors stays flat
 * over 500 steps; bad arguments are named.
 */
import * as tf from '@tensorflow/tfjs';

import {decoderBlock, encoderBlock, generate, positionalEmbedding, tokenEmbedding} from '../../src';
import {pick, seededRandom} from '../../src/generation/generate';
import {useBackend} from '../helpers/backends';

const VOCAB = 11;

/** A decoder-only model of two decoder blocks; random weights from `seed`. */
function decoderOnly(maxLength = 32, seed = 1): tf.LayersModel {
  const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
  const init = tf.initializers.randomNormal({stddev: 0.8, seed});
  let x = tokenEmbedding({vocabSize: VOCAB, outputDim: 8, embeddingsInitializer: init})
              .apply(ids) as tf.SymbolicTensor;
  x = positionalEmbedding({maxLength, kind: 'sinusoidal'}).apply(x) as tf.SymbolicTensor;
  for (let i = 0; i < 2; i++) {
    x = decoderBlock(x, null, null, {numHeads: 2, ffDim: 16,
                                     kernelInitializer: tf.initializers.glorotNormal({seed: seed + i})});
  }
  const logits = tf.layers.dense({units: VOCAB, kernelInitializer: init}).apply(x) as
      tf.SymbolicTensor;
  return tf.model({inputs: ids, outputs: logits});
}

describe.each(['cpu', 'wasm'])('generate on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('greedy: the caches give the tokens of re-running the model for every token', async () => {
    const model = decoderOnly();
    const prompt = [[1, 5, 3], [2, 2, 7]];
    const cached = await generate(model, {prompt, maxNewTokens: 20});
    const preallocated = await generate(model, {prompt, maxNewTokens: 20, layout: 'preallocated'});
    const full = await generate(model, {prompt, maxNewTokens: 20, useCache: false});
    expect(cached.map(r => r.length)).toEqual([20, 20]);
    expect(cached).toEqual(full);
    expect(preallocated).toEqual(full);
    model.dispose();
  });

  it('sampling: a seed reproduces the tokens, with or without the caches', async () => {
    const model = decoderOnly();
    const args = {prompt: [[1], [4], [9]], maxNewTokens: 16, temperature: 1.5, topK: 5, seed: 42};
    const a = await generate(model, args);
    expect(await generate(model, args)).toEqual(a);
    expect(await generate(model, {...args, useCache: false})).toEqual(a);
    const other = await generate(model, {...args, seed: 43});
    expect(other).not.toEqual(a);
    // topK 1 is greedy whatever the temperature.
    expect(await generate(model, {...args, topK: 1}))
        .toEqual(await generate(model, {prompt: args.prompt, maxNewTokens: 16}));
    model.dispose();
  });

  it('an encoder–decoder, given its encoder inputs', async () => {
    const source = tf.input({shape: [null], dtype: 'int32', name: 'source'});
    const target = tf.input({shape: [null], dtype: 'int32', name: 'target'});
    const enc = encoderBlock(tokenEmbedding({vocabSize: VOCAB, outputDim: 8}).apply(source) as
                                 tf.SymbolicTensor, null, {numHeads: 2});
    let y = tokenEmbedding({vocabSize: VOCAB, outputDim: 8}).apply(target) as tf.SymbolicTensor;
    y = positionalEmbedding({maxLength: 12}).apply(y) as tf.SymbolicTensor;
    y = decoderBlock(y, enc, null, {numHeads: 2});
    const model = tf.model({inputs: [source, target],
                            outputs: tf.layers.dense({units: VOCAB}).apply(y) as tf.SymbolicTensor});
    const inputs = {source: tf.tensor2d([[3, 4, 5], [6, 7, 8]], undefined, 'int32')};
    const args = {prompt: [[1], [1]], maxNewTokens: 10, inputs};
    expect(await generate(model, args)).toEqual(await generate(model, {...args, useCache: false}));
    inputs.source.dispose();
  });

  it('endToken ends a sequence (kept as its last token) and stops when all have ended',
     async () => {
       const model = decoderOnly();
       const free = await generate(model, {prompt: [[1], [2]], maxNewTokens: 12});
       const end = free[0]![3]!;  // a token the first sequence produces at step 3
       const steps: number[][] = [];
       const stopped = await generate(model, {prompt: [[1], [2]], maxNewTokens: 12,
                                              endToken: end, onStep: t => void steps.push(t)});
       const cut = (row: number[]) => row.indexOf(end) < 0 ? row : row.slice(0, row.indexOf(end) + 1);
       expect(stopped).toEqual(free.map(cut));
       expect(stopped[0]!.length).toBeLessThanOrEqual(4);
       expect(steps.length).toBe(Math.max(...stopped.map(r => r.length)));
       model.dispose();
     });

  it('numTensors stays flat over 500 steps, and nothing is left afterwards', async () => {
    const model = decoderOnly(501);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const tokens = await generate(model, {
      prompt: [[1]], maxNewTokens: 500, temperature: 1, seed: 3,
      onStep: () => void counts.push(tf.memory().numTensors),
    });
    expect(tokens[0]!.length).toBe(500);
    expect(counts.length).toBe(500);
    expect(Math.max(...counts.slice(1))).toBe(Math.min(...counts.slice(1)));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('sampling', () => {
  it('draws from softmax(logits / temperature) over the topK most likely', () => {
    const random = seededRandom(5);
    const logits = [Math.log(1), Math.log(3), Math.log(6), -50];
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) {
      counts[pick(logits, 1, undefined, random)]!++;
    }
    expect(counts[0]! / n).toBeCloseTo(0.1, 1);
    expect(counts[1]! / n).toBeCloseTo(0.3, 1);
    expect(counts[2]! / n).toBeCloseTo(0.6, 1);
    // Temperature 2 flattens: weights ∝ √1, √3, √6; topK 2 keeps ids 2 and 1 only.
    const top2 = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      top2[pick(logits, 2, 2, random)]!++;
    }
    expect(top2[0]).toBe(0);
    expect(top2[3]).toBe(0);
    expect(top2[2]! / n).toBeCloseTo(Math.sqrt(6) / (Math.sqrt(6) + Math.sqrt(3)), 1);
    expect(pick([0.5, 2, 2, 1], 0, undefined, null)).toBe(1);  // greedy: ties to the lowest id
  });

  it('a seeded generator is reproducible and spreads over [0, 1)', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const xs = Array.from({length: 1000}, () => a());
    expect(xs).toEqual(Array.from({length: 1000}, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / 1000).toBeCloseTo(0.5, 1);
  });
});

describe('generate: bad arguments are named', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('prompt, counts, sampling options, outputs', async () => {
    const model = decoderOnly();
    await expect(generate(model, {prompt: [[1], [2, 3]], maxNewTokens: 2}))
        .rejects.toThrow(/prompt must be \[batch, promptLength\] token ids .* Received: prompt=\[\[1\],\[2,3\]\]/);
    await expect(generate(model, {prompt: [], maxNewTokens: 2})).rejects.toThrow(/prompt must be/);
    await expect(generate(model, {prompt: [[1.5]], maxNewTokens: 2})).rejects.toThrow(/prompt must be/);
    await expect(generate(model, {prompt: [[1]], maxNewTokens: 0}))
        .rejects.toThrow(/maxNewTokens must be a positive integer. Received: maxNewTokens=0/);
    await expect(generate(model, {prompt: [[1]], maxNewTokens: 2, temperature: -1}))
        .rejects.toThrow(/temperature must be a number ≥ 0. Received: temperature=-1/);
    await expect(generate(model, {prompt: [[1]], maxNewTokens: 2, topK: 3}))
        .rejects.toThrow(/topK and seed apply when sampling \(temperature > 0\).* Received: temperature=0, topK=3/);
    await expect(generate(model, {prompt: [[1]], maxTokens: 2} as never))
        .rejects.toThrow(/unknown argument 'maxTokens'. Did you mean 'maxNewTokens'\?/);
    await expect(generate(model, {prompt: [[1]], maxNewTokens: 2, outputIndex: 1}))
        .rejects.toThrow(/the model's output 1 must be logits \[batch, time, vocab\]. Received: 1 outputs/);
    await expect(generate(model, {prompt: [[1]], maxNewTokens: 40}))
        .rejects.toThrow(/PositionalEmbedding: the sequence has 33 steps, more than maxLength=32/);
    model.dispose();
  });
});
