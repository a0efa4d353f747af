/**
 * Saying when the date translator does not know (examples/dates/scope.ts), without a model:
 * the agreement check accepts every format and variant of every day with its own date (it can
 * never raise a false alarm on a right translation) and rejects each kind of out-of-scope
 * input; real dates and the range are checked; sequence confidences, the fitted temperature
 * and the threshold are right against numbers worked out here; the out-of-scope set is what it
 * says it is.
 */
import {allDays, applicableFamilies, Day, FORMATS, iso, random, render, sampleExample} from '../../../examples/dates/data';
import {OUT_OF_SCOPE_KINDS, outOfScopeSet} from '../../../examples/dates/out_of_scope';
import {assessDecoded, chooseThreshold, disagreement, fitTemperature, outputProblem, readIso,
        sequenceConfidences} from '../../../examples/dates/scope';

const day = (s: string): Day => readIso(s)!;

describe('disagreement (does the input agree with the answer?)', () => {
  it('never objects to a right answer: every format and variant family, 200 days', () => {
    const days = allDays().filter((_, i) => i % 181 === 0);
    const next = random(4);
    let checked = 0;
    for (const d of days) {
      for (const f of FORMATS) {
        const texts = [render(f, d), ...applicableFamilies(f, d).map(x => render(f, d, [x], next)),
                       render(f, d, applicableFamilies(f, d), next)];
        for (const text of texts) {
          const problem = disagreement(text, d);
          if (problem != null) {
            throw new Error(`${JSON.stringify(text)} (${iso(d)}): ${problem}`);
          }
          checked++;
        }
      }
    }
    for (let i = 0; i < 3000; i++) {
      const e = sampleExample(days[i % days.length]!, i % FORMATS.length, next);
      expect(disagreement(e.input, day(e.target))).toBeNull();
    }
    expect(checked).toBeGreaterThan(35_000);
  });

  it('objects to a wrong answer, naming what disagrees', () => {
    expect(disagreement('March 3rd 2021', day('2021-03-30'))).toBe(
        "the input's numbers (3, 2021) are not the year and day of 2021-03-30");
    expect(disagreement('the 3rd of March 2099', day('1999-03-03'))).toBe(
        'the year 2099 is outside the supported 1950–2049');
    expect(disagreement('December 31st, 1949', day('2049-12-31'))).toBe(
        'the year 1949 is outside the supported 1950–2049');
    expect(disagreement('tomorrow', day('2009-03-09'))).toBe(
        'the input has words no supported format uses: tomorrow');
    expect(disagreement('20.01.', day('2019-01-20'))).toBe(
        "the input's numbers (20, 01) are not the year, month and day of 2019-01-20");
    expect(disagreement('Monday, January 20, 2019', day('2019-01-20'))).toBe(
        '2019-01-20 is a Sunday, not a Monday');
    expect(disagreement('Jan 20 2019', day('2019-02-20'))).toBe(
        "the input's month January is not the answer's (2019-02-20)");
    expect(disagreement('20190121', day('2019-01-20'))).toBe(
        "the input's number 20190121 is not 2019-01-20 written without separators");
    expect(disagreement('Jan Feb 20 2019', day('2019-01-20'))).toBe('the input names more than one month');
    expect(disagreement('', day('2019-01-20'))).toBe('the input has no numbers: no day and no year');
    // Order is not checked: the numbers are all there.
    expect(disagreement('01/20/2019', day('2019-01-20'))).toBeNull();
  });
});

describe('the answer itself', () => {
  it('must be a real day of 1950–2049', () => {
    expect(readIso('2019-01-20')).toEqual({year: 2019, month: 1, day: 20});
    expect(readIso('2020-02-29')).toEqual({year: 2020, month: 2, day: 29});
    for (const bad of ['2019-02-29', '2019-13-01', '2019-00-10', '2019-04-31', '2019-1-20',
                       '20190120', '2019-01-2x', '']) {
      expect(readIso(bad)).toBeNull();
    }
    expect(outputProblem('2019-01-20')).toBeNull();
    expect(outputProblem('2019-02-30')).toBe(`the model's answer "2019-02-30" is not a real date`);
    expect(outputProblem('2050-01-01')).toBe("the model's answer 2050-01-01 is outside 1950–2049");
    expect(outputProblem('1949-12-31')).toBe("the model's answer 1949-12-31 is outside 1950–2049");
  });
});

describe('confidence', () => {
  // Two outputs of 2 steps over a vocabulary of 3.
  const logits = new Float32Array([2, 0, 0,  0, 1, 0,  /* row 2 */ 0, 0, 0,  5, 0, 0]);
  const decoded = {texts: ['a', 'b'], ids: new Int32Array([0, 1, 2, 0]), logits, vocabSize: 3};
  const softmax = (row: number[], i: number, t: number) =>
      Math.exp(row[i]! / t) / row.reduce((s, v) => s + Math.exp(v / t), 0);

  it('is the product of the chosen characters\' probabilities at the temperature', () => {
    for (const t of [1, 0.5, 3]) {
      const [a, b] = sequenceConfidences(decoded, t);
      expect(a).toBeCloseTo(softmax([2, 0, 0], 0, t) * softmax([0, 1, 0], 1, t), 12);
      expect(b).toBeCloseTo(softmax([0, 0, 0], 2, t) * softmax([5, 0, 0], 0, t), 12);
    }
  });

  it('fits the temperature that generated the labels (temperature scaling)', () => {
    // Labels drawn from softmax(z / 2): the best temperature is close to 2.
    const next = random(3);
    const m = 20000;
    const V = 4;
    const z = new Float32Array(m * V);
    const labels = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const row = Array.from({length: V}, () => (next() - 0.5) * 12);
      z.set(row, i * V);
      const p = row.map((_, k) => softmax(row, k, 2));
      let u = next();
      labels[i] = p.findIndex(pk => (u -= pk) < 0);
      if (labels[i]! < 0) labels[i] = V - 1;
    }
    expect(fitTemperature(z, labels, V)).toBeCloseTo(2, 1);
    expect(() => fitTemperature(z, labels.subarray(0, 10), V)).toThrow(/one row of 4 logits per label/);
  });

  it('the threshold flags at most the allowed share of right answers, never above the ceiling', () => {
    const confidences = Array.from({length: 1000}, (_, i) => (i + 1) / 1000);
    const t = chooseThreshold(confidences, 0.005);
    expect(confidences.filter(c => c < t).length).toBeLessThanOrEqual(5);
    expect(confidences.filter(c => c < t + 1e-9).length).toBeGreaterThanOrEqual(5);
    expect(chooseThreshold(confidences.map(c => 0.99 + c / 1e5), 0.005)).toBe(0.5);
    expect(chooseThreshold([])).toBe(0.5);
  });

  it('assessments: flagged answers have no output, a reason and the guess', () => {
    const L = 10;
    const V = 3;
    // Every step sure of its choice: confidence ≈ 1.
    const sure = new Float32Array(2 * L * V).map((_, i) => i % V === 0 ? 30 : 0);
    const result = assessDecoded(['Jan 20 2019', 'tomorrow'],
                                 {texts: ['2019-01-20', '2019-01-20'], ids: new Int32Array(2 * L),
                                  logits: sure, vocabSize: V},
                                 {temperature: 1, threshold: 0.5, fittedOn: 'test'});
    expect(result[0]).toEqual({input: 'Jan 20 2019', output: '2019-01-20',
                               confidence: expect.closeTo(1, 6), flagged: false, reason: null,
                               guess: '2019-01-20'});
    expect(result[1]).toMatchObject({input: 'tomorrow', output: null, flagged: true,
                                     guess: '2019-01-20'});
    expect(result[1]!.reason).toBe("the input has words no supported format uses: tomorrow " +
                                   "(the model's guess: 2019-01-20)");
    const unsure = assessDecoded(['Jan 20 2019'], {texts: ['2019-01-20'], ids: new Int32Array(L),
                                                   logits: new Float32Array(L * V), vocabSize: V},
                                 {temperature: 1, threshold: 0.5, fittedOn: 'test'});
    expect(unsure[0]).toMatchObject({output: null, flagged: true});
    expect(unsure[0]!.reason).toMatch(/^the model is unsure: confidence 0\.00 is below 0\.50 \(its guess: 2019-01-20\)$/);
  });
});

describe('the out-of-scope set', () => {
  const set = outOfScopeSet(200);

  it('has every kind, seeded, and no input that is a supported date', () => {
    expect(outOfScopeSet(200)).toEqual(set);
    for (const kind of OUT_OF_SCOPE_KINDS) {
      expect(set.filter(e => e.kind === kind).length).toBeGreaterThan(150);
    }
    const years = set.filter(e => e.kind === 'year');
    expect(years.every(e => /(19[0-4]\d|20[5-9]\d)/.test(e.input))).toBe(true);
    expect(set.filter(e => e.kind === 'relative').map(e => e.input.toLowerCase()))
        .toContain('tomorrow');
    // Each is caught by the agreement check against any answer in range: nothing here is a date
    // the model may translate.
    for (const e of set) {
      expect([e.input, disagreement(e.input, day('2019-01-20'))]).not.toEqual([e.input, null]);
    }
  });
});
