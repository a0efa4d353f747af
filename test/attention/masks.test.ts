/**
 * The position masks (causal, sliding window, both) against the masks Keras 3.15.1 builds
 * (fixture written by scripts/keras/attention_masks.py), whole and cut into blocks as the
 * memory-efficient path cuts them.
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, causalMask, positionCoverage, positionMask, PositionRules, slidingWindowMask} from '../../src';

interface KerasMaskCase {
  timeQ: number;
  timeK: number;
  causal: boolean;
  slidingWindow: number|null;
  /** One string per query row, '1' = may attend. */
  rows: string[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a large JSON file: require keeps the compiler from typing all of it
const fixture = require('../fixtures/keras-masks/attention_masks.json') as {keras: string, cases: KerasMaskCase[]};

const asRows = (t: tf.Tensor): string[] =>
    (t.arraySync() as Array<Array<boolean|number>>).map(row => row.map(a => (a ? '1' : '0')).join(''));
const label = (c: KerasMaskCase) =>
    `timeQ ${c.timeQ}, timeK ${c.timeK}, causal ${c.causal}, window ${c.slidingWindow}`;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe(`position masks match Keras ${fixture.keras}`, () => {
  it('the fixture covers causal, window and both', () => {
    expect(fixture.cases.some(c => c.causal && c.slidingWindow == null)).toBe(true);
    expect(fixture.cases.some(c => !c.causal && c.slidingWindow != null)).toBe(true);
    expect(fixture.cases.some(c => c.causal && c.slidingWindow != null)).toBe(true);
  });

  it.each(fixture.cases.map(c => [label(c), c] as const))('%s', (_label, c) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const rules: PositionRules = {causal: c.causal, slidingWindow: c.slidingWindow};
      const whole = positionMask(rules, {start: 0, size: c.timeQ}, {start: 0, size: c.timeK})!;
      expect(whole.shape).toEqual([c.timeQ, c.timeK]);
      expect(whole.dtype).toBe('bool');
      expect(asRows(whole)).toEqual(c.rows);
      // The named builders, ANDed, give the same mask.
      const parts = andMasks(c.causal ? causalMask(c.timeQ, c.timeK) : null,
                             c.slidingWindow == null ? null :
                                 slidingWindowMask(c.timeQ, c.timeK, c.slidingWindow))!;
      expect(asRows(parts)).toEqual(c.rows);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(fixture.cases.map(c => [label(c), c] as const))(
      'cut into blocks, each block and its coverage agree with the whole mask: %s', (_label, c) => {
        const rules: PositionRules = {causal: c.causal, slidingWindow: c.slidingWindow};
        const before = tf.memory().numTensors;
        const seen = new Set<string>();
        for (const size of [1, 2, 3, 4]) {
          for (let r0 = 0; r0 < c.timeQ; r0 += size) {
            for (let c0 = 0; c0 < c.timeK; c0 += size) {
              const rows = {start: r0, size: Math.min(size, c.timeQ - r0)};
              const cols = {start: c0, size: Math.min(size, c.timeK - c0)};
              const expected = c.rows.slice(rows.start, rows.start + rows.size)
                                   .map(row => row.slice(cols.start, cols.start + cols.size));
              const block = positionMask(rules, rows, cols)!;
              expect(asRows(block)).toEqual(expected);
              block.dispose();
              const ones = expected.join('').split('').filter(x => x === '1').length;
              const kind = ones === 0 ? 'none' : ones === rows.size * cols.size ? 'all' : 'some';
              expect(positionCoverage(rules, rows, cols)).toBe(kind);
              seen.add(kind);
            }
          }
        }
        expect(seen.has('all')).toBe(true);
        expect(tf.memory().numTensors).toBe(before);
      });

  it('no rule: no mask, and every block is allowed', () => {
    const rules = {causal: false, slidingWindow: null};
    expect(positionMask(rules, {start: 0, size: 3}, {start: 0, size: 4})).toBeNull();
    expect(positionCoverage(rules, {start: 5, size: 3}, {start: 0, size: 4})).toBe('all');
  });
});
