/**
 * Date data and vocabulary: every format renders every day so that an independent parser
 * (written here, sharing nothing with the formats) reads back the same day; no string means two
 * days; the split is by date; the vocabulary round-trips.
 */
import {allDays, allFormats, Day, epochExamples, FORMATS, iso, ordinal, random, splitDays}
    from '../../../examples/dates/data';
import {buildVocab, lengthBatches, OUTPUT_LENGTH, PAD, START, Vocab} from '../../../examples/dates/vocab';

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov',
                     'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** An independent reading of a human date (the formats' own code is not used). */
function parse(text: string): {year: number, month: number, day: number, weekday: number|null} {
  let s = text.toLowerCase();
  let weekday: number|null = null;
  const wd = /^(sunday|monday|tuesday|wednesday|thursday|friday|saturday|sun|mon|tue|wed|thu|fri|sat)\b,?\s*/
                 .exec(s);
  if (wd != null) {
    weekday = DAY_NAMES.indexOf(wd[1]!.slice(0, 3));
    s = s.slice(wd[0].length);
  }
  s = s.replace(/^the /, '').replace(/ of /, ' ').replace(/(\d)(st|nd|rd|th)\b/g, '$1');
  const fullYear = (y: string) => y.length === 4 ? Number(y) :
                                                   (Number(y) >= 50 ? 1900 : 2000) + Number(y);
  const monthWord = /([a-z]{3,})\.?/.exec(s);
  if (monthWord != null) {
    const month = MONTH_NAMES.indexOf(monthWord[1]!.slice(0, 3)) + 1;
    if (month === 0) {
      throw new Error(`no month in ${text}`);
    }
    const numbers = s.replace(monthWord[0], ' ').match(/\d+/g) ?? [];
    if (numbers.length !== 2) {
      throw new Error(`expected day and year in ${text}`);
    }
    const four = numbers.find(n => n.length === 4);
    if (four != null) {
      return {year: Number(four), month, day: Number(numbers.find(n => n !== four) ?? four),
              weekday};
    }
    return {year: fullYear(numbers[1]!), month, day: Number(numbers[0]), weekday};
  }
  if (/^\d+$/.test(s)) {
    if (s.length === 8) {
      return {year: Number(s.slice(0, 4)), month: Number(s.slice(4, 6)),
              day: Number(s.slice(6, 8)), weekday};
    }
    if (s.length === 6) {
      return {year: fullYear(s.slice(4)), month: Number(s.slice(0, 2)),
              day: Number(s.slice(2, 4)), weekday};
    }
    throw new Error(`unknown digits ${text}`);
  }
  const m = /^(\d+)([./-])(\d+)\2(\d+)$/.exec(s);
  if (m == null) {
    throw new Error(`cannot read ${text}`);
  }
  const [, a, sep, b, c] = m as unknown as [string, string, string, string, string];
  if (a.length === 4) {
    return {year: Number(a), month: Number(b), day: Number(c), weekday};
  }
  if (sep === '/') {
    return {year: fullYear(c), month: Number(a), day: Number(b), weekday};
  }
  return {year: fullYear(c), month: Number(b), day: Number(a), weekday};
}

describe('date formats', () => {
  const days = allDays();

  it('cover every day from 1950-01-01 to 2049-12-31 with at least 30 formats', () => {
    expect(days.length).toBe(36525);
    expect(iso(days[0]!)).toBe('1950-01-01');
    expect(iso(days[days.length - 1]!)).toBe('2049-12-31');
    expect(days.filter(d => d.month === 2 && d.day === 29).length).toBe(25);
    expect(FORMATS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(FORMATS.map(f => f.name)).size).toBe(FORMATS.length);
  });

  it('render the examples of the issue', () => {
    const d: Day = {year: 2019, month: 1, day: 20};
    const rendered = new Set(FORMATS.map(f => f.render(d)));
    for (const text of ['20.01.2019', '1/20/2019', '01/20/19', '2019.1.20', '20190120',
                        '20-1-2019', '20JAN2019', 'JAN 20, 19', 'January 20, 2019',
                        '20 jan 2019', 'Sunday, January 20, 2019', 'the 20th of January 2019',
                        'Jan 20th 2019', '012019']) {
      expect(rendered).toContain(text);
    }
  });

  it('every format renders every day back to that day (independent parser)', () => {
    for (const f of FORMATS) {
      for (const d of days) {
        const text = f.render(d);
        const p = parse(text);
        if (p.year !== d.year || p.month !== d.month || p.day !== d.day ||
            (p.weekday != null && p.weekday !== new Date(Date.UTC(d.year, d.month - 1, d.day))
                                                    .getUTCDay())) {
          throw new Error(`${f.name}: ${text} read as ${JSON.stringify(p)}, expected ${iso(d)}`);
        }
      }
    }
  });

  it('no string means two different days', () => {
    const meaning = new Map<string, string>();
    for (const e of allFormats(days)) {
      const seen = meaning.get(e.input);
      if (seen != null && seen !== e.target) {
        throw new Error(`${e.input} means both ${seen} and ${e.target}`);
      }
      meaning.set(e.input, e.target);
    }
    expect(meaning.size).toBeGreaterThan(30 * 36525 * 0.8);
  });

  it('ordinals', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31].map(ordinal))
        .toEqual(['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd',
                  '31st']);
  });
});

describe('split by date', () => {
  it('is disjoint, complete and reproducible', () => {
    const a = splitDays();
    const b = splitDays();
    expect(a.test.map(iso)).toEqual(b.test.map(iso));
    const test = new Set(a.test.map(iso));
    const validation = new Set(a.validation.map(iso));
    const train = new Set(a.train.map(iso));
    expect(test.size).toBe(2500);
    expect(validation.size).toBe(500);
    expect(test.size + validation.size + train.size).toBe(36525);
    for (const d of test) {
      expect(train.has(d) || validation.has(d)).toBe(false);
    }
    for (const d of validation) {
      expect(train.has(d)).toBe(false);
    }
  });

  it('an epoch shows every training day once, formats balanced', () => {
    const days = splitDays().train.slice(0, 34 * 30);
    const epoch = epochExamples(days, random(3));
    expect(new Set(epoch.map(e => e.target)).size).toBe(days.length);
    const counts = FORMATS.map((_, i) => epoch.filter(e => e.format === i).length);
    expect(Math.min(...counts)).toBe(30);
    expect(Math.max(...counts)).toBe(30);
  });

  it('rejects bad split sizes', () => {
    expect(() => splitDays({testDays: 0})).toThrow(/testDays=0/);
    expect(() => splitDays({testDays: 40000})).toThrow(/testDays=40000/);
  });
});

describe('Vocab', () => {
  const vocab = buildVocab();

  it('round-trips every format and every target', () => {
    const examples = allFormats(allDays().filter((_, i) => i % 97 === 0));
    const texts = examples.map(e => e.input);
    const enc = vocab.encodeInputs(texts);
    for (let i = 0; i < texts.length; i++) {
      expect(vocab.decode(enc.ids.subarray(i * enc.length, (i + 1) * enc.length))).toBe(texts[i]);
      const mask = Array.from(enc.mask.subarray(i * enc.length, (i + 1) * enc.length));
      expect(mask.reduce((a, b) => a + b, 0)).toBe(texts[i]!.length);
      expect(enc.fromEnd[i * enc.length]).toBe(texts[i]!.length);
      expect(enc.fromEnd[i * enc.length + texts[i]!.length - 1]).toBe(1);
    }
    const targets = vocab.encodeTargets(examples.map(e => e.target));
    for (let i = 0; i < examples.length; i++) {
      const labels = targets.labels.subarray(i * OUTPUT_LENGTH, (i + 1) * OUTPUT_LENGTH);
      const decoder = targets.decoderIds.subarray(i * OUTPUT_LENGTH, (i + 1) * OUTPUT_LENGTH);
      expect(vocab.decode(labels)).toBe(examples[i]!.target);
      expect(decoder[0]).toBe(START);
      expect(Array.from(decoder.subarray(1))).toEqual(Array.from(labels.subarray(0, 9)));
    }
  });

  it('pads at the end or at the start', () => {
    const post = vocab.encodeInputs(['1/2/2019'], 'post', 10);
    const pre = vocab.encodeInputs(['1/2/2019'], 'pre', 10);
    expect(Array.from(post.ids.subarray(8))).toEqual([PAD, PAD]);
    expect(Array.from(pre.ids.subarray(0, 2))).toEqual([PAD, PAD]);
    expect(vocab.decode(pre.ids)).toBe('1/2/2019');
  });

  it('saves and loads as JSON', () => {
    const again = new Vocab(JSON.parse(JSON.stringify(vocab.toJSON())));
    expect(again.chars).toBe(vocab.chars);
    expect(again.size).toBe(vocab.size);
  });

  it('names the problem with bad input', () => {
    expect(vocab.problem('Jan 20th 2019')).toBeNull();
    expect(vocab.problem('')).toMatch(/empty/);
    expect(vocab.problem('   ')).toMatch(/empty/);
    expect(vocab.problem('20 Jan 2019 !')).toMatch(/"!" not in the vocabulary/);
    expect(vocab.problem('x'.repeat(40))).toMatch(/40 characters, more than the model accepts \(32\)/);
    expect(() => vocab.encodeInputs(['20#01'])).toThrow(/Cannot encode "20#01".*"#"/);
    expect(() => new Vocab({chars: 'aa', maxInputLength: 3, outputLength: 10}))
        .toThrow(/distinct/);
  });

  it('groups batches by length and keeps every example', () => {
    const examples = allFormats(allDays().slice(0, 40));
    const batches = lengthBatches(examples, 32, random(1));
    expect(batches.flat().length).toBe(examples.length);
    expect(batches.every(b => b.length <= 32)).toBe(true);
    const spread = batches.map(b => Math.max(...b.map(e => e.input.length)) -
                                    Math.min(...b.map(e => e.input.length)));
    expect(spread.reduce((a, b) => a + b, 0) / spread.length).toBeLessThan(6);
  });
});
