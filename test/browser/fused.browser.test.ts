/**
 * The fused GPU path in headless Chromium, beyond the conformance suite (which checks it
 * through the layer against the float64 fixtures on webgl, webgl float16 and webgpu):
 * - how many programs it dispatches and how many bytes they move, against the standard path;
 * - dropout: the pattern fused_common.ts documents (reproduced here on the CPU), the same in
 *   the forward and the backward pass, against a float64 reference and its finite differences;
 * - fully masked rows exactly 0, masks, causal and sliding windows together, odd sizes over
 *   several workgroups and tiles;
 * - empty shapes (batch 0, timeQ 0, timeK 0): zeros, as every path gives;
 * - what 'auto' picks, and the errors where the path cannot run (wasm, WebGL 1), where 'auto'
 *   does not take it.
 */
import {fusedDropoutKeeps} from '../../src';
import {CaseInput, ProgramCount} from '../helpers/browser/pages/fused_page';
import {browserPrecondition, BrowserSession, buildPageModule, callInPage, findChromium, openBrowser, TestPage} from '../helpers/browser/harness';
import {finiteDifferences, rng} from '../helpers/reference';

const precondition = browserPrecondition();
/** Starting Chromium and compiling shaders on a software GPU (busy CI). */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const BACKENDS = ['webgl', 'webgl-float16', 'webgpu'];

/** How close to the float64 reference: float32 arithmetic, or float16 textures. */
const TOLERANCE: Record<string, {atol: number, rtol: number}> = {
  'webgl': {atol: 1e-5, rtol: 1e-4},
  'webgpu': {atol: 1e-5, rtol: 1e-4},
  'webgl-float16': {atol: 3e-2, rtol: 3e-2},
};

interface Case {
  name: string;
  qShape: number[];
  timeK: number;
  dv: number;
  /** Mask shape (broadcast against [batch, (heads,) timeQ, timeK]) and which entries are false. */
  mask?: {shape: number[], masked: (index: number[]) => boolean};
  causal?: boolean;
  slidingWindow?: number;
  scale?: number;
  dropout?: number;
  seed?: number;
}

const CASES: Case[] = [
  {name: 'a mask with a fully masked row, dropout 0.3', qShape: [2, 2, 5, 3], timeK: 6, dv: 4,
   mask: {shape: [2, 1, 5, 6], masked: ([b, , i, j]) => (b === 0 && i === 2) || (b === 1 && j! >= 4)},
   dropout: 0.3, seed: 17},
  {name: 'causal, rank 3, scale 0.5, dropout 0.5', qShape: [3, 7, 4], timeK: 7, dv: 2,
   causal: true, scale: 0.5, dropout: 0.5, seed: 3},
  {name: 'odd sizes over several workgroups and tiles, key mask, causal, dropout 0.2',
   qShape: [1, 1, 137, 3], timeK: 75, dv: 5, causal: true,
   mask: {shape: [1, 1, 1, 75], masked: ([, , , j]) => j! % 7 === 3}, dropout: 0.2, seed: 99},
  {name: 'no dropout, every key of one sequence masked', qShape: [2, 3, 4, 2], timeK: 5, dv: 3,
   mask: {shape: [2, 1, 1, 5], masked: ([b]) => b === 1}},
  {name: 'sliding window 3, causal, a key mask, dropout 0.25', qShape: [2, 2, 9, 4], timeK: 9,
   dv: 3, causal: true, slidingWindow: 3,
   mask: {shape: [2, 1, 1, 9], masked: ([b, , , j]) => b === 0 && j === 4}, dropout: 0.25, seed: 5},
  {name: 'sliding window 20 over several workgroups and tiles, timeQ > timeK',
   qShape: [1, 1, 150, 5], timeK: 90, dv: 4, slidingWindow: 20},
];

/** Row-major multi-index of flat position `index` in `shape`. */
function unravel(index: number, shape: number[]): number[] {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(index % shape[d]!);
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

/** Inputs of a case, from a fixed generator. */
function inputs(c: Case): CaseInput {
  const next = rng(c.qShape.reduce((a, b) => a + b, c.timeK));
  const lead = c.qShape.slice(0, -2);
  const kShape = [...lead, c.timeK, c.qShape[c.qShape.length - 1]!];
  const vShape = [...lead, c.timeK, c.dv];
  const dyShape = [...c.qShape.slice(0, -1), c.dv];
  const values = (shape: number[]) =>
      Array.from({length: shape.reduce((a, b) => a * b, 1)}, () => next() * 4 - 2);
  const maskSize = c.mask?.shape.reduce((a, b) => a * b, 1) ?? 0;
  return {
    q: values(c.qShape), k: values(kShape), v: values(vShape), dy: values(dyShape),
    mask: c.mask ? Array.from({length: maskSize}, (_, i) => (c.mask!.masked(unravel(i, c.mask!.shape)) ? 0 : 1)) : null,
    qShape: c.qShape, kShape, vShape, maskShape: c.mask?.shape ?? null,
    options: {causal: c.causal ?? false, slidingWindow: c.slidingWindow ?? null, scale: c.scale,
              dropout: c.dropout ?? 0,
              training: (c.dropout ?? 0) > 0, seed: c.seed},
  };
}

/**
 * float64 reference: per slice, P = softmax of scale·q·kᵀ over the allowed keys (0 where none),
 * output = (P ⊙ keep / (1 − rate))·v with the fused path's documented dropout pattern.
 */
function reference(c: Case, x: CaseInput, q = x.q, k = x.k, v = x.v) {
  const [timeQ, dk] = c.qShape.slice(-2) as [number, number];
  const lead = c.qShape.slice(0, -2);
  const slices = lead.reduce((a, b) => a * b, 1);
  const scale = c.scale ?? 1 / Math.sqrt(dk);
  const rate = c.dropout ?? 0;
  const {keeps, allowedRows} = fixedParts(c);
  const weights: number[] = [];
  const output: number[] = [];
  for (let s = 0; s < slices; s++) {
    for (let i = 0; i < timeQ; i++) {
      const allowed = allowedRows[s * timeQ + i]!;
      const scores = allowed.map((_, j) => {
        let sum = 0;
        for (let d = 0; d < dk; d++) sum += q[(s * timeQ + i) * dk + d]! * k[(s * c.timeK + j) * dk + d]!;
        return sum * scale;
      });
      const max = Math.max(...scores.filter((_, j) => allowed[j]));
      const exps = scores.map((x2, j) => (allowed[j] ? Math.exp(x2 - max) : 0));
      const total = exps.reduce((a, b) => a + b, 0);
      const p = exps.map(e => (total === 0 ? 0 : e / total));
      weights.push(...p);
      for (let e = 0; e < c.dv; e++) {
        let sum = 0;
        for (let j = 0; j < c.timeK; j++) {
          const m = keeps == null ? 1 : keeps[s]![i]![j]! ? 1 / (1 - rate) : 0;
          sum += p[j]! * m * v[(s * c.timeK + j) * c.dv + e]!;
        }
        output.push(sum);
      }
    }
  }
  return {output, weights};
}

const fixed = new Map<Case, {keeps: boolean[][][]|null, allowedRows: boolean[][]}>();

/** What a case's reference needs besides its inputs (computed once): dropout keeps, masks. */
function fixedParts(c: Case) {
  if (!fixed.has(c)) {
    const timeQ = c.qShape[c.qShape.length - 2]!;
    const lead = c.qShape.slice(0, -2);
    const slices = lead.reduce((a, b) => a * b, 1);
    const keeps = (c.dropout ?? 0) > 0 ?
        fusedDropoutKeeps(slices, timeQ, c.timeK, c.dropout!, c.seed!) : null;
    const allowedRows: boolean[][] = [];
    for (let s = 0; s < slices; s++) {
      const sliceIndex = unravel(s, lead);
      for (let i = 0; i < timeQ; i++) {
        allowedRows.push(Array.from({length: c.timeK}, (_, j) => {
          if (c.causal && j > i) return false;
          if (c.slidingWindow != null && Math.abs(i - j) >= c.slidingWindow) return false;
          if (c.mask == null) return true;
          const full = [...sliceIndex, i, j];
          const index = full.slice(full.length - c.mask.shape.length)
                            .map((n, d) => (c.mask!.shape[d] === 1 ? 0 : n));
          return !c.mask.masked(index);
        }));
      }
    }
    fixed.set(c, {keeps, allowedRows});
  }
  return fixed.get(c)!;
}

function expectClose(actual: number[]|null, expected: number[], tol: {atol: number, rtol: number},
                     what: string, scale = 1): void {
  expect(actual).not.toBeNull();
  expect(actual!.length).toBe(expected.length);
  const bad = expected.map((e, i) => ({i, e, a: actual![i]!}))
      .filter(({e, a}) => !(Math.abs(a - e) <= tol.atol * scale + tol.rtol * Math.abs(e)));
  expect({what, bad: bad.slice(0, 5)}).toEqual({what, bad: []});
}

if (precondition.skip != null) {
  describe('fused attention in the browser', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  let url: string;
  beforeAll(async () => {
    url = await buildPageModule('test/helpers/browser/pages/fused_page.ts', 'fused_page');
    session = await openBrowser(precondition.executable);
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  /** A fresh tab on `key`; WebGPU validation messages (console warnings) count as errors. */
  async function open(key: string): Promise<TestPage> {
    const page = await session.newPage();
    page.on('console', m => {
      if (m.type() === 'warning' && /WebGPU|Invalid|binding|validat/i.test(m.text())) {
        page.errors.push(m.text());
      }
    });
    const started = await callInPage<{backend: string}>(page, url, 'start', key);
    expect(started.backend).toBe(key.replace(/-float16|1$/, ''));
    return page;
  }

  describe.each(['webgl', 'webgpu'])('programs on %s, batch 8, 8 heads of 64, n = 256', key => {
    let counts: Record<string, {forward: ProgramCount, both: ProgramCount}>;
    let page: TestPage;
    beforeAll(async () => {
      page = await open(key);
      // The size: batch 8, 8 heads of 64, n = 256 (counts do not depend on the machine).
      counts = await callInPage(page, url, 'programCounts', 8, 8, 256, 64, ['standard', 'fused']);
      for (const [path, c] of Object.entries(counts)) {
        console.log(`${key} ${path}: forward ${c.forward.programs} programs (${
            c.forward.names.join(' ')}), ${(c.forward.bytesIn / 2 ** 20).toFixed(1)} MiB in, ${
            (c.forward.bytesOut / 2 ** 20).toFixed(1)} MiB out; forward + backward ${
            c.both.programs} programs, ${(c.both.bytesIn / 2 ** 20).toFixed(1)} MiB in, ${
            (c.both.bytesOut / 2 ** 20).toFixed(1)} MiB out`);
      }
    }, BROWSER_HOOK_TIMEOUT_MS);
    afterAll(async () => {
      if (page == null) return;  // opening it failed, and its tests report that
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it('at most 4 programs forward and 12 forward + backward', () => {
      expect(counts['fused']!.forward.programs).toBeGreaterThan(0);
      expect(counts['fused']!.forward.programs).toBeLessThanOrEqual(4);
      expect(counts['fused']!.both.programs).toBeLessThanOrEqual(12);
      expect(counts['fused']!.forward.names.every(n => n.length > 0)).toBe(true);
    });

    it('at most half the bytes of the standard path, forward and forward + backward', () => {
      const total = (c: ProgramCount) => c.bytesIn + c.bytesOut;
      for (const pass of ['forward', 'both'] as const) {
        expect(total(counts['fused']![pass])).toBeLessThanOrEqual(0.5 * total(counts['standard']![pass]));
      }
    });
  });

  describe.each(BACKENDS)('numbers on %s', key => {
    let page: TestPage;
    beforeAll(async () => {
      page = await open(key);
    }, BROWSER_HOOK_TIMEOUT_MS);
    afterAll(async () => {
      expect(page.errors).toEqual([]);
      await page.close();
    });

    it.each(CASES.map(c => [c.name, c] as const))('%s: output, weights and gradients match float64', async (_, c) => {
      const x = inputs(c);
      const got = await callInPage<Record<string, number[]|null>&{leaked: number}>(page, url, 'runCase', x);
      const tol = TOLERANCE[key]!;
      const ref = reference(c, x);
      expectClose(got['output']!, ref.output, tol, 'output');
      expectClose(got['weights']!, ref.weights, tol, 'weights');
      // Masked weights, and rows with no allowed key, are exactly 0.
      ref.weights.forEach((w, i) => {
        if (w === 0) expect(got['weights']![i]).toBe(0);
      });
      const dv = c.dv;
      ref.weights.forEach((_, i) => {
        const timeK = c.timeK;
        if (i % timeK === 0 && ref.weights.slice(i, i + timeK).every(w => w === 0)) {
          const row = i / timeK;
          expect(got['output']!.slice(row * dv, row * dv + dv)).toEqual(new Array(dv).fill(0));
        }
      });
      // Gradients of loss = Σ output ⊙ dy, by central finite differences of the reference.
      const loss = (q: number[], k: number[], v: number[]) =>
          reference(c, x, q, k, v).output.reduce((sum, o, i) => sum + o * x.dy[i]!, 0);
      const fd = {
        dq: finiteDifferences(q => loss(q, x.k, x.v), x.q),
        dk: finiteDifferences(k => loss(x.q, k, x.v), x.k),
        dv: finiteDifferences(v => loss(x.q, x.k, v), x.v),
      };
      for (const [name, expected] of Object.entries(fd)) {
        const scale = Math.max(1, ...expected.map(Math.abs));
        expectClose(got[name]!, expected, tol, name, scale);
      }
      expect(got['repeat']).toEqual(got['output']);
      expect(got.leaked).toBe(0);
    });

    it('empty shapes (batch 0, timeQ 0, timeK 0) give zeros and zero gradients, as every path', async () => {
      const shapes = [{q: [0, 2, 3, 4], k: [0, 2, 5, 4]}, {q: [1, 2, 0, 4], k: [1, 2, 5, 4]},
                      {q: [1, 2, 3, 4], k: [1, 2, 0, 4]}];
      const got = await callInPage<{leaked: number, results: Array<{
        outputShape: number[], output: number[], gradShapes: number[][], grads: number[][]}>}>(
          page, url, 'emptyCases', shapes);
      const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
      got.results.forEach((r, i) => {
        const {q, k} = shapes[i]!;
        expect(r.outputShape).toEqual(q);  // [batch, heads, timeQ, dv] with dv = 4
        expect(r.output).toEqual(new Array(size(q)).fill(0));
        expect(r.gradShapes).toEqual([q, k, k]);
        expect(r.grads).toEqual([q, k, k].map(shape => new Array(size(shape)).fill(0)));
      });
      expect(got.leaked).toBe(0);
    });

    it("'auto' takes the fused path when the weights are not wanted", async () => {
      const choice = (options: object) => callInPage<string>(page, url, 'autoChoice', 2, 4, 32, 8, options);
      expect(await choice({needWeights: false})).toBe('fused');
      expect(await choice({})).toBe('standard');
      // Scores of 2·4·32·32 floats = 32 KiB over a 16 KiB budget: WebGL's fused programs keep
      // two score-sized textures, WebGPU's none.
      expect(await choice({needWeights: false, memoryBudgetBytes: 16384}))
          .toBe(key === 'webgpu' ? 'fused' : 'memoryEfficient');
    });

    it('a model with dropout trains through the fused path without leaking', async () => {
      const fit = await callInPage<{lossBefore: number, lossAfter: number, tensorsAfterFirst: number,
                                    tensorsAfterLast: number, leftAfterDispose: number}>(
          page, url, 'fitWithDropout', key === 'webgl-float16' ? 1e-4 : 1e-7);
      expect(Number.isFinite(fit.lossAfter)).toBe(true);
      expect(fit.lossAfter).toBeLessThan(0.8 * fit.lossBefore);
      expect(fit.tensorsAfterLast).toBe(fit.tensorsAfterFirst);
      expect(fit.leftAfterDispose).toBe(0);
    });
  });

  describe('where the fused path cannot run', () => {
    it.each([
      ['wasm', /fused attention path runs on the webgl and webgpu backends\. Received: active backend 'wasm'/],
      ['webgl1', /fused WebGL attention path cannot run here: it needs WebGL 2, and WEBGL_VERSION is 1/],
    ])('on %s it throws a clear error', async (key, message) => {
      const page = await open(key);
      expect(await callInPage<string|null>(page, url, 'fusedError')).toMatch(message);
      expect(await callInPage<string>(page, url, 'autoChoice', 1, 1, 4, 2, {needWeights: false}))
          .not.toBe('fused');
      await page.close();
    });
  });
}

describe('the fused dropout pattern (CPU)', () => {
  it('keeps each weight with probability 1 − rate, and depends on the seed', () => {
    const a = fusedDropoutKeeps(4, 100, 250, 0.3, 1).flat(2);
    const b = fusedDropoutKeeps(4, 100, 250, 0.3, 2).flat(2);
    const kept = a.filter(Boolean).length / a.length;
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.01);
    const same = a.filter((x, i) => x === b[i]).length / a.length;
    expect(same).toBeLessThan(0.65);  // independent draws agree on 0.7² + 0.3² = 58% of entries
    expect(fusedDropoutKeeps(1, 3, 3, 0.3, 1)).toEqual(fusedDropoutKeeps(1, 3, 3, 0.3, 1));
  });

  it('rejects a seed that is not a finite number', () => {
    expect(() => fusedDropoutKeeps(1, 2, 2, 0.5, NaN)).toThrow(/seed must be a finite number. Received: seed=NaN/);
  });
});
