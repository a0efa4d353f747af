/**
 * Fuzzed constructor arguments and call inputs (seeded, a few seconds): random options for every
 * layer the package exports, random inputs, masks and call options for SelfAttention, random
 * shapes and options for the attention functions, on cpu and wasm. Asserted for every case:
 * - a rejection names the argument and the value received;
 * - what this test's own model of the arguments calls invalid is rejected (nothing unknown or
 *   ill-typed is accepted), and what it calls valid is accepted;
 * - nothing leaks (tensors, variables), and the backend still computes correctly afterwards.
 */
import * as tf from '@tensorflow/tfjs';

import {attention, feedForward, layerNorm, positionalEmbedding, scaledDotProductAttention, selfAttention,
        tokenEmbedding} from '../../src';
import {useBackend} from '../helpers/backends';
import {rng} from '../helpers/reference';

const SEED = 20261201;

// ---- A model of the arguments, written apart from the package's own checks ------------------

type Kind = 'int'|'bool'|'rate'|'positive'|'init'|{oneOf: unknown[]};

interface LayerModel {
  className: string;
  make: (args: unknown) => tf.layers.Layer;
  kinds: Record<string, Kind>;
  required: string[];
  dtypes: string[];
  /** An input to build the layer with. */
  input: () => tf.Tensor;
  /** Arguments that are valid one by one but not together. */
  conflict?: (args: Record<string, unknown>) => string|null;
}

const INITIALIZERS = ['identity', 'glorotUniform', 'zeros', 'ones'];
const LAYERS: LayerModel[] = [
  {
    className: 'SelfAttention', make: a => selfAttention(a as never),
    kinds: {numHeads: 'int', keyDim: 'int', valueDim: 'int', outputDim: 'int', useOutputProjection: 'bool',
            useBias: 'bool', causal: 'bool', slidingWindow: 'int', dropout: 'rate', returnAttentionWeights: 'bool',
            attentionPath: {oneOf: ['auto', 'standard', 'fast', 'memoryEfficient']}, memoryBudgetBytes: 'positive',
            kernelInitializer: 'init', biasInitializer: 'init'},
    // 6 features: 4 heads without keyDim do not divide them (a build-time rejection).
    required: [], dtypes: ['float32'], input: () => tf.ones([2, 3, 6]),
    conflict: a => (a['outputDim'] != null && !(a['useOutputProjection'] ?? ((a['numHeads'] as number ?? 1) > 1)) ?
                        'outputDim' : null),
  },
  {
    className: 'TokenEmbedding', make: a => tokenEmbedding(a as never),
    kinds: {vocabSize: 'int', outputDim: 'int', maskZero: 'bool', embeddingsInitializer: 'init'},
    required: ['vocabSize', 'outputDim'], dtypes: ['int32', 'float32'], input: () => tf.zeros([2, 3], 'int32'),
  },
  {
    className: 'PositionalEmbedding', make: a => positionalEmbedding(a as never),
    kinds: {maxLength: 'int', kind: {oneOf: ['learned', 'sinusoidal']}},
    required: ['maxLength'], dtypes: ['float32'], input: () => tf.ones([2, 1, 4]),
  },
  {
    className: 'LayerNorm', make: a => layerNorm(a as never), kinds: {epsilon: 'positive'},
    required: [], dtypes: ['float32'], input: () => tf.ones([2, 3, 4]),
  },
  {
    className: 'FeedForward', make: a => feedForward(a as never),
    kinds: {hiddenDim: 'int', outputDim: 'int', activation: {oneOf: ['relu', 'gelu']}, kernelInitializer: 'init'},
    required: ['hiddenDim'], dtypes: ['float32'], input: () => tf.ones([2, 3, 4]),
  },
];

const BAD_VALUES: unknown[] = [0, -1, 1.5, NaN, Infinity, -Infinity, '2', 'true', 'false', true, false, [], {}, [2],
                               () => 1, 'nope', 1e300];
const UNKNOWN_KEYS = ['numheads', 'num_heads', 'key_dim', 'returnAttentionScores', 'useCausalMask', 'use_causal_mask',
                      'caual', 'units', 'eps', 'inputDim', 'axis', 'foo', 'attentionAxes', 'mask', 'vocab_size'];

function validFor(kind: Kind, v: unknown): boolean {
  if (typeof kind === 'object') {
    return kind.oneOf.includes(v);
  }
  switch (kind) {
    case 'int': return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 2 ** 31;
    case 'bool': return typeof v === 'boolean';
    case 'rate': return typeof v === 'number' && v >= 0 && v < 1;
    case 'positive': return typeof v === 'number' && v > 0 && v < Infinity;
    case 'init': return INITIALIZERS.includes(v as string);
  }
}

function validValue(kind: Kind, next: () => number): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
  if (typeof kind === 'object') {
    return pick(kind.oneOf);
  }
  switch (kind) {
    case 'int': return pick([1, 2, 4]);
    case 'bool': return next() < 0.5;
    case 'rate': return pick([0, 0.1, 0.5]);
    case 'positive': return pick([1e-6, 0.5, 2 ** 30]);
    case 'init': return pick(INITIALIZERS);
  }
}

/** How a message shows a value (JSON, with the exceptions JSON cannot write). */
function shown(v: unknown): string[] {
  if (typeof v === 'function') {
    return ['a function'];
  }
  if (typeof v === 'number' && !Number.isFinite(v)) {
    return [String(v)];
  }
  if (v === undefined) {
    return ['undefined'];
  }
  const json = JSON.stringify(v);
  return typeof v === 'string' ? [json, `'${v}'`] : [json];
}

/** Throws unless `message` names one of `names` with its value. */
function expectNamed(message: string, named: Record<string, unknown>): void {
  const ok = Object.entries(named).some(([k, v]) => shown(v).some(s => message.includes(`${k}=${s}`)));
  if (!ok) {
    throw new Error(`the rejection names none of ${JSON.stringify(Object.keys(named))} with its value: ${message}`);
  }
}

function alive(): {tensors: number, variables: number} {
  return {tensors: tf.memory().numTensors,
          variables: Object.keys(tf.engine().registeredVariables).length};
}

/** The backend still computes: a small product with a known result. */
function expectBackendWorks(): void {
  const sum = tf.tidy(() => tf.matMul(tf.ones([5, 7]), tf.fill([7, 3], 2)).sum().dataSync()[0]);
  expect(sum).toBe(210);
}


// ---- Constructor arguments ----------------------------------------------------------------

describe('fuzzed constructor arguments of every layer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('every rejection names the argument and its value; nothing invalid is accepted; builds leak nothing', () => {
    const next = rng(SEED);
    const counts = {accepted: 0, rejected: 0, built: 0, buildRejected: 0};
    for (let trial = 0; trial < 400; trial++) {
      const m = LAYERS[trial % LAYERS.length]!;
      const args: Record<string, unknown> = {};
      const invalid: Record<string, unknown> = {};
      for (const [key, kind] of Object.entries(m.kinds)) {
        const required = m.required.includes(key);
        if (next() < (required ? 0.92 : 0.3)) {
          const v = next() < 0.75 ? validValue(kind, next) : BAD_VALUES[Math.floor(next() * BAD_VALUES.length)];
          args[key] = v;
          if (!validFor(kind, v)) {
            invalid[key] = v;
          }
        } else if (required) {
          invalid[key] = undefined;
        }
      }
      if (next() < 0.12) {
        const key = UNKNOWN_KEYS[Math.floor(next() * UNKNOWN_KEYS.length)]!;
        if (!(key in m.kinds)) {
          args[key] = 1;
          invalid[key] = 1;
        }
      }
      if (next() < 0.1) {
        const [key, v, ok] = [['name', 'layer_a', true], ['name', 'two words', false], ['trainable', 'no', false],
                              ['trainable', false, true], ['dtype', 'float64', false], ['dtype', m.dtypes[0], true]][
            Math.floor(next() * 6)] as [string, unknown, boolean];
        args[key] = v;
        if (!ok) {
          invalid[key] = v;
        }
      }
      const conflict = m.conflict?.(args) ?? null;
      if (conflict != null && validFor(m.kinds[conflict]!, args[conflict])) {
        invalid[conflict] = args[conflict];
      }
      const notAnObject = next() < 0.03 ? [null, 3, 'x', [], true][Math.floor(next() * 5)] : undefined;

      const before = alive();
      let layer: tf.layers.Layer|null = null;
      let error: Error|null = null;
      try {
        layer = m.make(notAnObject !== undefined ? notAnObject : args);
      } catch (e) {
        error = e as Error;
      }
      const label = `${m.className}(${notAnObject !== undefined ? shown(notAnObject) : JSON.stringify(args)})`;
      if (notAnObject !== undefined) {
        expect([label, error?.message]).toEqual([label, expect.stringMatching(new RegExp(`^${m.className}: args must be an object`))]);
        expectNamed(error!.message, {args: notAnObject});
        continue;
      }
      if (Object.keys(invalid).length > 0) {
        // Invalid: must be refused, naming one of the invalid arguments and its value.
        expect([label, layer === null]).toEqual([label, true]);
        expect([label, error!.message]).toEqual([label, expect.stringMatching(new RegExp(`^${m.className}: `))]);
        expectNamed(error!.message, invalid);
        counts.rejected++;
        continue;
      }
      expect([label, error?.message ?? null]).toEqual([label, null]);
      counts.accepted++;
      // Build it: either it builds, or the failure names an argument and leaks nothing.
      const x = m.input();
      try {
        tf.dispose(layer!.apply(x) as tf.Tensor|tf.Tensor[]);
        counts.built++;
      } catch (e) {
        expectNamed((e as Error).message, args);
        expect(layer!.weights).toEqual([]);
        counts.buildRejected++;
      }
      x.dispose();
      if (layer!.built) {
        layer!.dispose();
      }
      expect([label, alive()]).toEqual([label, before]);
    }
    // The generator reaches every outcome.
    expect(Math.min(counts.accepted, counts.rejected, counts.built, counts.buildRejected)).toBeGreaterThan(0);
  });
});

// ---- Call inputs --------------------------------------------------------------------------

describe.each(['cpu', 'wasm'])('fuzzed call inputs on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('SelfAttention: bad inputs and call options are refused by name, good ones give finite outputs', () => {
    const next = rng(SEED + 1);
    const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    const layers = [
      selfAttention({numHeads: 2, useBias: true, causal: true, attentionPath: 'fast'}),
      selfAttention({numHeads: 2, returnAttentionWeights: true, slidingWindow: 2}),
      selfAttention({attentionPath: 'memoryEfficient', useBias: true}),
    ];
    layers.forEach(l => tf.dispose(l.apply([tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4])]) as tf.Tensor));
    let rejected = 0;
    for (let trial = 0; trial < 60; trial++) {
      const layer = pick(layers);
      const [batch, timeQ, timeK] = [pick([0, 1, 2]), pick([0, 1, 3]), pick([0, 2, 3])];
      const features = next() < 0.9 ? 4 : 5;
      const kwargs: Record<string, unknown> = {};
      let mustReject: string|null = features !== 4 ? 'features' : null;
      const owned: tf.Tensor[] = [];
      const t = <T extends tf.Tensor>(x: T) => (owned.push(x), x);
      if (next() < 0.3) {
        const v = pick<unknown>([true, false, 'yes', 1, null]);
        kwargs['training'] = v;
        if (v != null && typeof v !== 'boolean') {
          mustReject = 'training';
        }
      }
      if (next() < 0.4) {
        const kind = pick(['ok', 'wrong shape', 'plain array', 'string tensor']);
        kwargs['mask'] = kind === 'ok' ? [t(tf.ones([batch, timeQ])), t(tf.ones([batch, timeK], 'bool'))] :
            kind === 'wrong shape' ? [t(tf.ones([batch, timeQ + 1])), null] :
            kind === 'plain array' ? [[1, 0]] : t(tf.tensor1d(['a']));
        if (kind !== 'ok') {
          mustReject ??= 'mask';
        }
      }
      if (next() < 0.25) {
        const kind = pick(['ok', 'wrong shape', 'plain array']);
        kwargs['attentionMask'] = kind === 'ok' ? t(tf.ones([batch, timeQ, timeK], 'bool')) :
            kind === 'wrong shape' ? t(tf.ones([batch, timeQ, timeK + 1], 'bool')) : [[[true]]];
        if (kind !== 'ok') {
          mustReject ??= 'attentionMask';
        }
      }
      if (next() < 0.1) {
        kwargs[pick(['attention_mask', 'useCausalMask', 'queryMask', 'trainig'])] = null;
        mustReject ??= 'unknown';
      }
      const query = t(tf.randomNormal([batch, timeQ, features], 0, 1, 'float32', trial));
      const context = t(tf.randomNormal([batch, timeK, 4], 0, 1, 'float32', trial + 1));
      const before = alive();
      let out: tf.Tensor[]|null = null;
      let error: Error|null = null;
      try {
        out = [layer.apply([query, context], kwargs) as tf.Tensor|tf.Tensor[]].flat();
      } catch (e) {
        error = e as Error;
      }
      const label = `trial ${trial}: ${JSON.stringify({batch, timeQ, timeK, features, keys: Object.keys(kwargs), mustReject})}`;
      if (mustReject != null) {
        expect([label, error?.message]).toEqual([label, expect.stringMatching(/Received: /)]);
        rejected++;
      } else {
        expect([label, error?.message ?? null]).toEqual([label, null]);
        expect(out![0]!.shape).toEqual([batch, timeQ, 4]);
        expect(Array.from(out![0]!.dataSync()).every(Number.isFinite)).toBe(true);
        tf.dispose(out!);
      }
      expect([label, alive()]).toEqual([label, before]);
      tf.dispose(owned);
      expectBackendWorks();
    }
    expect(rejected).toBeGreaterThan(5);
    layers.forEach(l => l.dispose());
  });

  it('attention functions: random shapes (empty ones too) and options', () => {
    const next = rng(SEED + 2);
    const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    const fns = [scaledDotProductAttention, (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: object) =>
        attention(q, k, v, {...o, path: pick(['auto', 'fast', 'memoryEfficient'] as const), blockSize: 2})];
    let rejected = 0;
    for (let trial = 0; trial < 60; trial++) {
      const [b, tq, tk, d] = [pick([0, 1, 2]), pick([0, 1, 3]), pick([0, 1, 4]), pick([1, 3])];
      const dk = next() < 0.9 ? d : d + 1;
      const options: Record<string, unknown> = {};
      let mustReject = dk !== d;
      const opt = (key: string, good: unknown[], bad: unknown[]) => {
        if (next() < 0.3) {
          const useBad = good.length === 0 || next() < 0.3;
          options[key] = pick(useBad ? bad : good);
          mustReject ||= useBad;
        }
      };
      opt('causal', [true, false], ['yes', 1]);
      opt('slidingWindow', [1, 2], [0, 1.5, '2']);
      opt('scale', [0.5, 2], [NaN, 'x']);
      opt('dropout', [0, 0.3], [1, -0.1]);
      opt('training', [true, false], ['no']);
      opt('seed', [1, 7], [NaN]);
      opt('caual', [], [true]);
      const before = alive();
      let error: Error|null = null;
      tf.tidy(() => {
        const q = tf.randomNormal([b, tq, d], 0, 1, 'float32', trial);
        const k = tf.randomNormal([b, tk, dk], 0, 1, 'float32', trial + 1);
        const v = tf.randomNormal([b, tk, 2], 0, 1, 'float32', trial + 2);
        try {
          const {output} = pick(fns)(q, k, v, options);
          expect(output.shape).toEqual([b, tq, 2]);
          expect(Array.from(output.dataSync()).every(Number.isFinite)).toBe(true);
        } catch (e) {
          error = e as Error;
        }
      });
      const label = `trial ${trial}: ${JSON.stringify({b, tq, tk, d, dk, options})}`;
      expect([label, (error as Error|null)?.message ?? null])
          .toEqual([label, mustReject ? expect.stringMatching(/Received: /) : null]);
      rejected += mustReject ? 1 : 0;
      expect([label, alive()]).toEqual([label, before]);
      expectBackendWorks();
    }
    expect(rejected).toBeGreaterThan(5);
  });
});
