/**
 * Masks hold whatever the scores (issue: a row whose real scores all lay below the fill value
 * −65504 got weights summing to 0): every path, on cpu and wasm, with scaled scores from −1e30
 * to +1e30, against the float64 reference. The same cases run in Chromium (webgl, webgl
 * float16, webgpu, wasm) in test/browser/conformance.browser.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

import {attention, fastCpuAttention, memoryEfficientAttention, PathOptions, PathResult, scaledDotProductAttention} from '../../src';
import {useBackend} from '../helpers/backends';
import {EXTREME_CASES, runExtremeScores} from '../helpers/conformance/extreme_scores';

type Run = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: PathOptions) => PathResult;
const PATHS: Array<[string, Run]> = [
  ['standard', scaledDotProductAttention],
  ['fast', fastCpuAttention],
  ['memoryEfficient (blocks of 2)', (q, k, v, o) => memoryEfficientAttention(q, k, v, {...o, blockSize: 2})],
  ['memoryEfficient (default blocks)', memoryEfficientAttention],
  ['attention() auto', (q, k, v, o) => attention(q, k, v, o)],
];


it('the cases reach scores of ±1e30 and rows whose allowed scores all lie below -65504', () => {
  const scores = EXTREME_CASES.flatMap(c => c.q.flatMap(q => c.k.map(k => q * k)));
  expect(Math.max(...scores)).toBeGreaterThanOrEqual(1e30);
  expect(Math.min(...scores)).toBeLessThanOrEqual(-1e30);
  const first = EXTREME_CASES[0]!;
  const row0 = first.k.filter((_, j) => first.mask![0]![j] === '1').map(k => k * first.q[0]!);
  expect(Math.max(...row0)).toBeLessThan(-65504);
});

describe.each(['cpu', 'wasm'])('on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(PATHS)('%s: masked keys get exactly 0, allowed keys all of the weight', async (_name, run) => {
    const reports = await runExtremeScores(run);
    expect(reports.map(r => r.name)).toEqual(EXTREME_CASES.map(c => c.name));
    // Every case that misses a bound, with its numbers (none may).
    const failing = reports.filter(r => !(r.nonFinite === 0 && r.notExactZero === 0 &&
        r.leakedTensors === 0 && r.rowSums < 1e-6 && r.weights < 1e-6 && r.output < 1e-5));
    expect(failing).toEqual([]);
  });
});
