/**
 * Every attention path (standard, fast CPU, memory-efficient) against the float64 reference:
 * outputs, weights, gradients by finite differences, masks, dropout, on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';

import {attention, choosePath, DISPATCH_TABLE, FAST_PATH_MARGIN, fastCpuAttention, measuredPath, memoryEfficientAttention,
        PathOptions, PathResult, scaledDotProductAttention, selfAttention} from '../../src';
import {useBackend} from '../helpers/backends';
import {expectClose, randomizeWeights, referenceOptions} from '../helpers/tensors';
import {attentionBatch, finiteDifferences, flatten, Matrix, matmul, randomMatrix, rng,
        softmaxRows, transpose} from '../helpers/reference';

type PathFn = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o?: PathOptions) => PathResult;

const PATHS: Array<[string, PathFn]> = [
  ['standard', (q, k, v, o) => scaledDotProductAttention(q, k, v, o)],
  ['fast', fastCpuAttention],
  ['memoryEfficient (blocks of 3)', (q, k, v, o) => memoryEfficientAttention(q, k, v, {blockSize: 3, ...o})],
  ['memoryEfficient (default blocks)', memoryEfficientAttention],
];

const BACKENDS = ['cpu', 'wasm'];


// ---- The float64 reference at the level of steps 3–6 ---------------------------------------

interface Case {
  name: string;
  lead: number[];           // [batch] or [batch, heads]
  timeQ: number;
  timeK: number;
  dk: number;
  dv: number;
  causal?: boolean;
  /** Keras 3.15's sliding window: key j allowed when |i − j| < slidingWindow. */
  slidingWindow?: number;
  scale?: number;
  /** Mask shape (right-aligned against the scores) and fraction masked, or none. */
  mask?: {shape: number[], masked: number};
}

/** Reference steps 3–6 for every slice: output [slices][timeQ][dv], weights [slices][..]. */
function reference(c: Case, q: Matrix[], k: Matrix[], v: Matrix[], allowed: (s: number) => boolean[][]):
    {output: Matrix[], weights: Matrix[]} {
  const scale = c.scale ?? 1 / Math.sqrt(c.dk);
  const output: Matrix[] = [];
  const weights: Matrix[] = [];
  q.forEach((qs, s) => {
    const scores = matmul(qs, transpose(k[s]!)).map(row => row.map(x => x * scale));
    const ok = allowed(s).map((row, i) => row.map((a, j) => a && (!c.causal || j <= i) &&
        (c.slidingWindow == null || Math.abs(i - j) < c.slidingWindow)));
    const p = softmaxRows(scores, ok);
    weights.push(p);
    output.push(matmul(p, v[s]!));
  });
  return {output, weights};
}

function setup(c: Case, seed: number) {
  const next = rng(seed);
  const slices = c.lead.reduce((a, b) => a * b, 1);
  const f32 = (m: Matrix) => m.map(row => Array.from(Float32Array.from(row)));
  const q = Array.from({length: slices}, () => f32(randomMatrix(c.timeQ, c.dk, next, 1.5)));
  const k = Array.from({length: slices}, () => f32(randomMatrix(c.timeK, c.dk, next, 1.5)));
  const v = Array.from({length: slices}, () => f32(randomMatrix(c.timeK, c.dv, next)));
  let maskValues: number[]|null = null;
  if (c.mask) {
    const size = c.mask.shape.reduce((a, b) => a * b, 1);
    maskValues = Array.from({length: size}, () => (next() < c.mask!.masked ? 0 : 1));
    maskValues[0] = 1;
  }
  // allowed(s)[i][j] read from the broadcast mask.
  const allowed = (s: number): boolean[][] => {
    const full = [...c.lead, c.timeQ, c.timeK];
    const shape = c.mask ? [...new Array(full.length - c.mask.shape.length).fill(1), ...c.mask.shape] : null;
    const index: number[] = [];
    let rest = s;
    for (let d = c.lead.length - 1; d >= 0; d--) {
      index.unshift(rest % c.lead[d]!);
      rest = Math.floor(rest / c.lead[d]!);
    }
    return Array.from({length: c.timeQ}, (_, i) => Array.from({length: c.timeK}, (__, j) => {
      if (shape == null) return true;
      const at = [...index, i, j].map((x, d) => (shape[d] === 1 ? 0 : x));
      const flat = at.reduce((acc, x, d) => acc * shape[d]! + x, 0);
      return maskValues![flat] !== 0;
    }));
  };
  const tensors = () => ({
    q: tf.tensor(flatten(q), [...c.lead, c.timeQ, c.dk]),
    k: tf.tensor(flatten(k), [...c.lead, c.timeK, c.dk]),
    v: tf.tensor(flatten(v), [...c.lead, c.timeK, c.dv]),
    mask: c.mask ? tf.tensor(maskValues!, c.mask.shape, 'bool') : null,
  });
  return {q, k, v, allowed, tensors, slices};
}

const CASES: Case[] = [
  {name: 'rank 4, 2 heads, no mask', lead: [2, 2], timeQ: 7, timeK: 7, dk: 3, dv: 4},
  {name: 'rank 4, causal', lead: [2, 2], timeQ: 7, timeK: 7, dk: 3, dv: 2, causal: true},
  {name: 'rank 4, key padding mask [batch, 1, 1, timeK]', lead: [2, 3], timeQ: 5, timeK: 8, dk: 4,
   dv: 3, mask: {shape: [2, 1, 1, 8], masked: 0.4}},
  {name: 'rank 4, full mask per head with all-masked rows, causal', lead: [2, 2], timeQ: 7,
   timeK: 7, dk: 3, dv: 3, causal: true, mask: {shape: [2, 2, 7, 7], masked: 0.6}},
  {name: 'rank 3, cross-attention timeQ < timeK, causal, scale 0.7', lead: [3], timeQ: 4,
   timeK: 9, dk: 2, dv: 5, causal: true, scale: 0.7},
  {name: 'rank 3, timeQ > timeK, mask [timeQ, timeK]', lead: [2], timeQ: 8, timeK: 5, dk: 3,
   dv: 3, mask: {shape: [8, 5], masked: 0.5}},
  {name: 'rank 4, sliding window 3', lead: [2, 2], timeQ: 9, timeK: 9, dk: 3, dv: 2,
   slidingWindow: 3},
  {name: 'rank 4, causal sliding window 2, key padding mask', lead: [2, 2], timeQ: 8, timeK: 8,
   dk: 3, dv: 3, causal: true, slidingWindow: 2, mask: {shape: [2, 1, 1, 8], masked: 0.3}},
  {name: 'rank 3, sliding window 2, timeQ > timeK: later rows have no key', lead: [2],
   timeQ: 11, timeK: 4, dk: 2, dv: 3, slidingWindow: 2},
];

describe.each(BACKENDS)('on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(PATHS)('%s path', (_name, run) => {
    it.each(CASES)('outputs and weights match the reference: $name', c => {
      const {q, k, v, allowed, tensors} = setup(c, 3);
      const expected = reference(c, q, k, v, allowed);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const t = tensors();
        const {output, weights} = run(t.q, t.k, t.v, {mask: t.mask, causal: c.causal,
                                      slidingWindow: c.slidingWindow, scale: c.scale});
        expect(output.shape).toEqual([...c.lead, c.timeQ, c.dv]);
        expectClose(output, expected.output, 2e-6, 1e-5);
        expect(weights).not.toBeNull();
        expect(weights!.shape).toEqual([...c.lead, c.timeQ, c.timeK]);
        expectClose(weights!, expected.weights, 1e-6, 1e-5);
        // Fully masked rows are exact zeros, never NaN.
        expect(Array.from(output.dataSync()).every(Number.isFinite)).toBe(true);
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it.each(CASES)('gradients match finite differences of the reference: $name', c => {
      const {q, k, v, allowed, tensors} = setup(c, 5);
      const next = rng(17);
      const rMat = Array.from({length: q.length}, () => randomMatrix(c.timeQ, c.dv, next));
      const rFlat = flatten(rMat);
      const sizes = [q, k, v].map(x => flatten(x).length);
      const shapes = [[c.timeQ, c.dk], [c.timeK, c.dk], [c.timeK, c.dv]];
      const unflatten = (x: number[], part: number): Matrix[] => {
        const start = sizes.slice(0, part).reduce((a, b) => a + b, 0);
        const values = x.slice(start, start + sizes[part]!);
        const [rows, cols] = shapes[part]! as [number, number];
        return Array.from({length: q.length}, (_, s) => Array.from({length: rows}, (__, i) =>
            values.slice((s * rows + i) * cols, (s * rows + i + 1) * cols)));
      };
      const loss = (x: number[]) => {
        const out = flatten(reference(c, unflatten(x, 0), unflatten(x, 1), unflatten(x, 2), allowed).output);
        return out.reduce((sum, o, i) => sum + o * rFlat[i]!, 0);
      };
      const fd = finiteDifferences(loss, [...flatten(q), ...flatten(k), ...flatten(v)], 1e-6);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const t = tensors();
        const r = tf.tensor(rFlat, [...c.lead, c.timeQ, c.dv]);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(
            run(a, b, d, {mask: t.mask, causal: c.causal, slidingWindow: c.slidingWindow,
                          scale: c.scale, needWeights: false}).output, r)))(
            [t.q, t.k, t.v]);
        let at = 0;
        grads.forEach((g, i) => {
          const expected = fd.slice(at, at += sizes[i]!);
          expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
          expectClose(g, expected, 1e-4, 1e-3);
        });
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it('a mask of numbers (nonzero = attend) works like a boolean one', () => {
      const c = CASES[2]!;
      const {tensors} = setup(c, 9);
      tf.tidy(() => {
        const t = tensors();
        const asBool = run(t.q, t.k, t.v, {mask: t.mask}).output;
        const asNumber = run(t.q, t.k, t.v, {mask: tf.mul(tf.cast(t.mask!, 'float32'), 3)}).output;
        expectClose(asNumber, asBool.arraySync(), 0, 0);
      });
    });

    it('bad input: errors name the argument and the value received', () => {
      tf.tidy(() => {
        const q = tf.zeros([2, 3, 4]);
        expect(() => run(q, tf.zeros([2, 3, 5]), tf.zeros([2, 3, 4])))
            .toThrow(/key must have the same last dimension as query.*\[2,3,5\]/);
        expect(() => run(q, q, q, {mask: tf.ones([2, 4, 3], 'bool')}))
            .toThrow(/mask must broadcast.*Received: mask with shape \[2,4,3\]/);
        expect(() => run(q, q, q, {dropout: 1.5, training: true})).toThrow(/dropout=1.5/);
        expect(() => run(q, q, q, {slidingWindow: 0}))
            .toThrow(/slidingWindow must be a positive integer\. Received: slidingWindow=0/);
      });
    });
  });

  describe('dropout', () => {
    // With V = identity (timeK = dv), the output is exactly the dropped weights P ⊙ M.
    const c: Case = {name: 'dropout', lead: [2, 2], timeQ: 6, timeK: 6, dk: 3, dv: 6};
    const eye = () => tf.tile(tf.eye(6).reshape([1, 1, 6, 6]), [2, 2, 1, 1]);

    it.each(PATHS)('%s: only when training; each weight is dropped (0) or kept (÷ keep)', (_n, run) => {
      const {tensors} = setup(c, 21);
      tf.tidy(() => {
        const t = tensors();
        const plain = run(t.q, t.k, eye(), {dropout: 0.5}).output;
        const weights = run(t.q, t.k, eye()).weights!;
        expectClose(plain, weights.arraySync(), 1e-6, 1e-5);
        const dropped = run(t.q, t.k, eye(), {dropout: 0.5, training: true, seed: 7}).output;
        const again = run(t.q, t.k, eye(), {dropout: 0.5, training: true, seed: 7}).output;
        expectClose(again, dropped.arraySync(), 0, 0);  // a seed fixes the pattern
        const p = weights.dataSync();
        const d = dropped.dataSync();
        let zeros = 0;
        for (let i = 0; i < p.length; i++) {
          if (d[i] === 0) {
            zeros++;
          } else {
            expect(Math.abs(d[i]! - p[i]! / 0.5)).toBeLessThan(1e-5 * (1 + p[i]! / 0.5));
          }
        }
        expect(zeros / p.length).toBeGreaterThan(0.3);
        expect(zeros / p.length).toBeLessThan(0.7);
      });
    });

    it('the fast path drops exactly what the standard path drops (same seed)', () => {
      const {tensors} = setup(c, 23);
      tf.tidy(() => {
        const t = tensors();
        const opts = {dropout: 0.3, training: true, seed: 11};
        const fast = fastCpuAttention(t.q, t.k, t.v, opts).output;
        const standard = scaledDotProductAttention(t.q, t.k, t.v, opts).output;
        expectClose(fast, standard.arraySync(), 1e-6, 1e-5);
      });
    });

    it.each(PATHS.slice(1))('%s: gradients with dropout match finite differences of the same draw', (_n, run) => {
      const {tensors} = setup({...c, dv: 3}, 25);
      tf.tidy(() => {
        const t = tensors();
        const v = tf.randomNormal([2, 2, 6, 3], 0, 1, 'float32', 5);
        const f = (q: tf.Tensor) => tf.sum(tf.square(
            run(q, t.k, v, {dropout: 0.4, training: true, seed: 13, needWeights: false}).output));
        const g = tf.grad(f)(t.q).dataSync();
        // Central differences in float32 on the tfjs side (the pattern is the path's own).
        const x = Array.from(t.q.dataSync());
        const h = 1e-2;
        for (const i of [0, 5, 17, 30, 47, 71]) {
          const at = (delta: number) => {
            const y = x.slice();
            y[i]! += delta;
            return f(tf.tensor(y, t.q.shape)).dataSync()[0]!;
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          expect(Math.abs(g[i]! - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
        }
      });
    });
  });

  describe('memory', () => {
    it('memory-efficient forward+backward peaks far below the standard path (n = 1024)', async () => {
      const n = 1024;
      const q = tf.randomNormal([1, 1, n, 8]);
      // Peak bytes above what was alive before (tf.profile counts every live tensor).
      const peak = async (fn: PathFn) => {
        const before = tf.memory().numBytes;
        const info = await tf.profile(() => {
          tf.tidy(() => {
            const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
                tf.sum(fn(a, b, d, {needWeights: false, blockSize: 128}).output))([q, q, q]);
            grads.forEach(x => x.dataSync());
          });
        });
        return info.peakBytes - before;  // one mutable object: read at once
      };
      const standard = await peak(scaledDotProductAttention);
      const efficient = await peak(memoryEfficientAttention);
      const scores = n * n * 4;
      expect(standard).toBeGreaterThan(2 * scores);
      expect(efficient).toBeLessThan(standard / 8);
      expect(efficient).toBeLessThan(scores / 2);  // never even half of one timeQ×timeK matrix
      q.dispose();
    });
  });

  describe('dispatch', () => {
    it('auto: standard when weights are wanted, memoryEfficient above the budget, else the measured path', () => {
      // No gradient is being recorded here: the forward times decide ('inference').
      const measured = (t: number, d: number) => measuredPath(backend, t, t, d, d, 'inference');
      tf.tidy(() => {
        const q = tf.zeros([2, 2, 128, 64]);
        expect(choosePath(q, q)).toBe('standard');
        expect(choosePath(q, q, {needWeights: false})).toBe(measured(128, 64));
        for (const [t, d] of [[64, 64], [256, 8], [16, 16], [512, 32]] as const) {
          const x = tf.zeros([2, 2, t, d]);
          expect(choosePath(x, x, {needWeights: false})).toBe(measured(t, d));
        }
        // scores: 2·2·128·128·4 = 262144 bytes.
        expect(choosePath(q, q, {needWeights: false, memoryBudgetBytes: 262144})).toBe(measured(128, 64));
        expect(choosePath(q, q, {needWeights: false, memoryBudgetBytes: 262143})).toBe('memoryEfficient');
        expect(choosePath(q, q, {path: 'memoryEfficient'})).toBe('memoryEfficient');
        expect(() => choosePath(q, q, {path: 'quick' as never})).toThrow(/path must be one of.*Received: path="quick"/);
        expect(() => choosePath(q, q, {needWeights: false, memoryBudgetBytes: -1}))
            .toThrow(/memoryBudgetBytes must be a positive number of bytes. Received: memoryBudgetBytes=-1/);
      });
    });

    it('auto: the training times decide while gradients are recorded, the forward times otherwise', () => {
      const cell = DISPATCH_TABLE['wasm']!.find(c => c.fastForwardMs != null &&
          (c.fastMs < FAST_PATH_MARGIN * c.standardMs) !== (c.fastForwardMs < FAST_PATH_MARGIN * c.standardForwardMs!));
      const sizes = cell ?? {time: 64, dim: 16};  // some table has a cell where the two disagree
      const x = tf.zeros([2, 2, sizes.time, sizes.dim]);
      const chosen: string[] = [];
      tf.grad((t: tf.Tensor) => {
        chosen.push(choosePath(t, t, {needWeights: false}));
        return tf.sum(t);
      })(x).dispose();
      chosen.push(choosePath(x, x, {needWeights: false}));
      expect(chosen).toEqual([measuredPath(backend, sizes.time, sizes.time, sizes.dim, sizes.dim, 'training'),
                              measuredPath(backend, sizes.time, sizes.time, sizes.dim, sizes.dim, 'inference')]);
      x.dispose();
    });

    it('measuredPath: the faster path of the nearest measured cell; standard where none is listed', () => {
      const table = {wasm: [{time: 64, dim: 8, standardMs: 10, fastMs: 5, standardForwardMs: 2, fastForwardMs: 3},
                            {time: 256, dim: 8, standardMs: 10, fastMs: 20},
                            {time: 64, dim: 64, standardMs: 10, fastMs: 10}]};
      expect(measuredPath('wasm', 64, 64, 8, 8, 'training', table)).toBe('fast');
      expect(measuredPath('wasm', 64, 64, 8, 8, 'inference', table)).toBe('standard');  // forward times
      expect(measuredPath('wasm', 100, 100, 8, 8, 'training', table)).toBe('fast');       // nearer 64 (log₂)
      expect(measuredPath('wasm', 160, 160, 8, 8, 'training', table)).toBe('standard');   // nearer 256
      expect(measuredPath('wasm', 160, 160, 8, 8, 'inference', table)).toBe('standard');  // no forward times: fwd+bwd
      expect(measuredPath('wasm', 16, 4096, 8, 8, 'training', table)).toBe('standard');   // √(16·4096) = 256
      expect(measuredPath('wasm', 64, 64, 64, 64, 'training', table)).toBe('standard');   // a tie keeps standard
      const close = {wasm: [{time: 64, dim: 8, standardMs: 10, fastMs: 9.2}, {time: 128, dim: 8, standardMs: 10, fastMs: 8.9}]};
      expect(measuredPath('wasm', 64, 64, 8, 8, 'training', close)).toBe('standard');    // 8% faster: within noise
      expect(measuredPath('wasm', 128, 128, 8, 8, 'training', close)).toBe('fast');      // 11% faster
      expect(measuredPath('webgl', 64, 64, 8, 8, 'training', table)).toBe('standard');
      expect(() => measuredPath('wasm', 64, 64, 8, 8, 'train' as never, table))
          .toThrow(/mode must be 'training' or 'inference'. Received: mode="train"/);
      // The checked-in table: each of its cells gives its own faster path, in both modes.
      for (const [name, cells] of Object.entries(DISPATCH_TABLE)) {
        for (const c of cells) {
          expect(measuredPath(name, c.time, c.time, c.dim, c.dim))
              .toBe(c.fastMs < FAST_PATH_MARGIN * c.standardMs ? 'fast' : 'standard');
          expect(measuredPath(name, c.time, c.time, c.dim, c.dim, 'inference'))
              .toBe(c.fastForwardMs! < FAST_PATH_MARGIN * c.standardForwardMs! ? 'fast' : 'standard');
        }
      }
    });

    it('queryMask zeroes whole rows of the output and the weights on every path', () => {
      const c = CASES[0]!;
      const {tensors} = setup(c, 31);
      tf.tidy(() => {
        const t = tensors();
        const queryMask = tf.tensor2d([[1, 1, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]);
        const standard = scaledDotProductAttention(t.q, t.k, t.v, {
          mask: tf.tensor4d(queryMask.dataSync(), [2, 1, 7, 1]).notEqual(0).tile([1, 1, 1, 7]),
        });
        for (const p of ['standard', 'fast', 'memoryEfficient'] as const) {
          const r = attention(t.q, t.k, t.v, {path: p, queryMask});
          expectClose(r.output, standard.output.arraySync(), 1e-6, 1e-5);
          expectClose(r.weights!, standard.weights.arraySync(), 1e-6, 1e-5);
        }
        expect(() => attention(t.q, t.k, t.v, {queryMask: tf.ones([2, 6])}))
            .toThrow(/queryMask must have shape \[batch, timeQ\] = \[2,7\]. Received: queryMask with shape \[2,6\]/);
      });
    });
  });

  describe('the layer on every path', () => {
    it.each(['standard', 'fast', 'memoryEfficient'] as const)(
        '%s: outputs, weights and a training step agree with the reference', attentionPath => {
          const args = {numHeads: 2, useBias: true, causal: true, returnAttentionWeights: true, attentionPath};
          const layer = selfAttention(args);
          const next = rng(41);
          const x = [randomMatrix(6, 4, next), randomMatrix(6, 4, next)];
          const xt = tf.tensor3d(x);
          layer.apply(xt);
          const weights = randomizeWeights(layer, next);
          const expected = attentionBatch(x, x, weights, referenceOptions(layer, args, 4));
          const [output, attn] = layer.apply(xt) as tf.Tensor[];
          expectClose(output!, expected.output, 1e-5, 1e-5);
          expectClose(attn!, expected.weights, 1e-6, 1e-5);
          expect(layer.getConfig()['attentionPath']).toBe(attentionPath);
          tf.dispose([xt, output!, attn!]);
        });

    it('without returned weights, every path gives the same output and weight gradients', () => {
      const make = (attentionPath: 'standard'|'fast'|'memoryEfficient') =>
          selfAttention({numHeads: 2, causal: true, attentionPath, name: `sa_${attentionPath}`});
      const x = tf.randomNormal([2, 9, 4], 0, 1, 'float32', 3);
      const layers = (['standard', 'fast', 'memoryEfficient'] as const).map(make);
      layers.forEach(l => l.apply(x));
      const start = layers[0]!.getWeights().map(
          (w, i) => tf.add(tf.mul(w, 0.9), tf.randomNormal(w.shape, 0, 0.2, 'float32', i)));
      layers.forEach(l => l.setWeights(start));
      const results = layers.map(l => {
        const vars = l.trainableWeights.map(w => w.read() as tf.Variable);
        const {value, grads} = tf.variableGrads(() => tf.sum(tf.square(l.apply(x) as tf.Tensor)) as tf.Scalar, vars);
        return {value: value.dataSync()[0]!, grads: vars.map(v => grads[v.name]!)};
      });
      for (const r of results.slice(1)) {
        expect(Math.abs(r.value - results[0]!.value)).toBeLessThan(1e-4 * Math.abs(results[0]!.value));
        r.grads.forEach((g, i) => expectClose(g, results[0]!.grads[i]!.arraySync(), 1e-5, 1e-4));
      }
    });

    it('rejects a bad attentionPath or memoryBudgetBytes, naming the value', () => {
      expect(() => selfAttention({attentionPath: 'flash' as never}))
          .toThrow(/attentionPath must be one of .*Received: attentionPath="flash"/);
      expect(() => selfAttention({memoryBudgetBytes: 0}))
          .toThrow(/memoryBudgetBytes must be a positive number of bytes.*=0/);
    });
  });
});
