/**
 * Date data and vocabulary: every format and every variant family writes every day so that an
 * independent parser (written here, sharing nothing with the formats) reads back the same day;
 * each family changes the text it is applied to; no string means two days; the split is by
 * date; the held-out sets are seeded; the vocabulary round-trips and holds every variant.
 */
import {allDays, allFormats, applicableFamilies, Day, epochExamples, FAMILIES, FORMATS, iso,
        ordinal, random, render, sampleExample, splitDays, variantSet} from '../../../examples/dates/data';
import {buildVocab, lengthBatches, MAX_INPUT_LENGTH, OUTPUT_LENGTH, PAD, START, Vocab} from '../../../examples/dates/vocab';

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov',
                     'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const weekdayOf = (d: Day) => new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();

/** An independent reading of a human date (the formats' own code is not used). */
function parse(text: string): {year: number, month: number, day: number, weekday: number|null} {
  let s = text.toLowerCase().replace(/\s+/g, ' ').trim();
  let weekday: number|null = null;
  const wd = /^(sunday|monday|tuesday|wednesday|thursday|friday|saturday|tues|thurs|sun|mon|tue|wed|thu|fri|sat)\b,? */
                 .exec(s);
  if (wd != null) {
    weekday = DAY_NAMES.indexOf(wd[1]!.slice(0, 3));
    s = s.slice(wd[0].length);
  }
  s = s.replace(/^the /, '').replace(/ of /, ' ').replace(/(\d)(st|nd|rd|th)\b/g, '$1')
       .replace(/,/g, '').trim();
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

function expectReadsAs(text: string, d: Day, what: string): void {
  const p = parse(text);
  if (p.year !== d.year || p.month !== d.month || p.day !== d.day ||
      (p.weekday != null && p.weekday !== weekdayOf(d))) {
    throw new Error(`${what}: ${JSON.stringify(text)} read as ${JSON.stringify(p)}, expected ${iso(d)}`);
  }
}

describe('date formats', () => {
  const days = allDays();

  it('cover every day from 1950-01-01 to 2049-12-31 with 34 formats', () => {
    expect(days.length).toBe(36525);
    expect(iso(days[0]!)).toBe('1950-01-01');
    expect(iso(days[days.length - 1]!)).toBe('2049-12-31');
    expect(days.filter(d => d.month === 2 && d.day === 29).length).toBe(25);
    expect(FORMATS.length).toBe(34);
    expect(new Set(FORMATS.map(f => f.name)).size).toBe(FORMATS.length);
  });

  it('render the examples of the issue', () => {
    const d: Day = {year: 2019, month: 1, day: 20};
    const rendered = new Set(FORMATS.map(f => render(f, d)));
    for (const text of ['20.01.2019', '1/20/2019', '01/20/19', '2019.1.20', '20190120',
                        '20-1-2019', '20JAN2019', 'JAN 20, 19', 'January 20, 2019',
                        '20 jan 2019', 'Sunday, January 20, 2019', 'the 20th of January 2019',
                        'Jan 20th 2019', '012019']) {
      expect(rendered).toContain(text);
    }
  });

  // The parser is a function, so when it reads every string back as the day that wrote it, no
  // string can mean two days.
  it('every format writes every day back to that day, leading zeros and short years too (independent parser)', () => {
    for (const d of days.filter((_, i) => i % 7 === 0)) {  // 5,218 days: every month, weekday, day
      for (const f of FORMATS) {
        expectReadsAs(render(f, d), d, f.name);
        const numeric = applicableFamilies(f, d).filter(x => x === 'zeros' || x === 'year');
        numeric.forEach(x => expectReadsAs(render(f, d, [x]), d, `${f.name} + ${x}`));
        if (numeric.length === 2) {
          expectReadsAs(render(f, d, numeric), d, `${f.name} + zeros + year`);
        }
      }
    }
  });

  it('every variant family changes the text and keeps the day, in every format it applies to', () => {
    const next = random(5);
    const sample = days.filter((_, i) => i % 97 === 0);  // 377 days, every month and weekday
    let checked = 0;
    for (const d of sample) {
      for (const f of FORMATS) {
        const canonical = render(f, d);
        for (const family of applicableFamilies(f, d)) {
          const text = render(f, d, [family], next);
          // Leading zeros on a canonical ordinal are the one family that can cancel out alone.
          if (!(family === 'zeros' && /\{Dth\}/.test(f.template) && !/\{MM?\}/.test(f.template))) {
            expect(text).not.toBe(canonical);
          }
          expectReadsAs(text, d, `${f.name} + ${family}`);
          checked++;
        }
        const all = applicableFamilies(f, d);
        expectReadsAs(render(f, d, all, next), d, `${f.name} + ${all.join(', ')}`);
      }
    }
    expect(checked).toBeGreaterThan(40_000);
  });

  it('families do what they say', () => {
    const d: Day = {year: 2021, month: 9, day: 3};  // a Friday in September
    const f = (name: string) => FORMATS.find(x => x.name === name)!;
    const next = random(1);
    expect(render(f('Mon D YYYY'), d)).toBe('Sep 3 2021');
    expect(render(f('Mon D YYYY'), d, ['abbreviation'])).toBe('Sept 3 2021');
    expect(render(f('Mon D YYYY'), d, ['ordinal'])).toBe('Sep 3rd 2021');
    expect(render(f('Mon D YYYY'), d, ['zeros'])).toBe('Sep 03 2021');
    expect(render(f('Mon D YYYY'), d, ['year'])).toBe('Sep 3 21');
    expect(render(f('Mon D YYYY'), d, ['commas'], next)).toBe('Sep 3, 2021');
    expect(render(f('Month D, YYYY'), d, ['commas'], next)).toBe('September 3 2021');
    expect(render(f('Month D, YYYY'), d, ['spacing'], next)).toMatch(/^September {1,2}3, {1,2}2021$/);
    expect(render(f('Month D, YYYY'), d, ['spacing'], next)).toMatch(/ {2}/);
    expect(['september 3, 2021', 'SEPTEMBER 3, 2021'])
        .toContain(render(f('Month D, YYYY'), d, ['case'], next));
    expect(['3rd of September 2021', 'the 3rd September 2021', '3rd September 2021'])
        .toContain(render(f('the Dth of Month YYYY'), d, ['the/of'], next));
    expect(render(f('the Dth of Month YYYY'), d, ['ordinal'])).toBe('3 September 2021');
    expect(render(f('Wkd, D Mon YYYY'), d)).toBe('Fri, 3 Sep 2021');
    expect(render(f('MM/DD/YY'), d, ['zeros', 'year'])).toBe('9/3/2021');
    expect(render(f('D.M.YYYY'), d, ['zeros'])).toBe('03.09.2021');
    expect(applicableFamilies(f('YYYYMMDD'), d)).toEqual([]);
    expect(applicableFamilies(f('YYYY-MM-DD'), d)).toEqual(['zeros']);  // never a 2-digit year first
    expect(() => render(f('YYYYMMDD'), d, ['case'])).toThrow(/family case does not apply to the format YYYYMMDD/);
    const tuesday: Day = {year: 2019, month: 1, day: 22};
    expect(render(f('Wkd Mon DD YYYY'), tuesday, ['abbreviation'])).toBe('Tues Jan 22 2019');
    expect(FAMILIES).toHaveLength(8);
  });

  it('random variants of random days read back too (no string means two days)', () => {
    const next = random(9);
    for (let i = 0; i < 30_000; i++) {
      const d = days[Math.floor(next() * days.length)]!;
      const e = sampleExample(d, i % FORMATS.length, next);
      expectReadsAs(e.input, d, FORMATS[e.format]!.name);
    }
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

  it('an epoch shows every training day once, formats balanced, most in a variant', () => {
    const days = splitDays().train.slice(0, 34 * 30);
    const epoch = epochExamples(days, random(3));
    expect(new Set(epoch.map(e => e.target)).size).toBe(days.length);
    const counts = FORMATS.map((_, i) => epoch.filter(e => e.format === i).length);
    expect(Math.min(...counts)).toBe(30);
    expect(Math.max(...counts)).toBe(30);
    const variants = epoch.filter(e => e.families.length > 0).length / epoch.length;
    expect(variants).toBeGreaterThan(0.6);
    expect(variants).toBeLessThan(0.85);
    for (const e of epoch) {
      const d = {year: Number(e.target.slice(0, 4)), month: Number(e.target.slice(5, 7)),
                 day: Number(e.target.slice(8))};
      expectReadsAs(e.input, d, FORMATS[e.format]!.name);
    }
  });

  it('held-out variant sets: canonical plus one variant per day and format, seeded', () => {
    const days = splitDays().test.slice(0, 20);
    const a = variantSet(days, 1, 7);
    expect(a).toEqual(variantSet(days, 1, 7));
    expect(a.map(e => e.input)).not.toEqual(variantSet(days, 1, 8).map(e => e.input));
    const canonical = a.filter(e => e.families.length === 0);
    expect(canonical).toHaveLength(20 * FORMATS.length);
    // Two formats (YYYYMMDD, MMDDYY) have no variant; the rest have one per day (a few canonical
    // when every drawn family cancels out).
    expect(a.length - canonical.length).toBeGreaterThan(20 * (FORMATS.length - 2) * 0.97);
  });

  it('rejects bad split sizes', () => {
    expect(() => splitDays({testDays: 0})).toThrow(/testDays=0/);
    expect(() => splitDays({testDays: 40000})).toThrow(/testDays=40000/);
  });
});

describe('Vocab', () => {
  const vocab = buildVocab();

  it('round-trips every format and variant, and every target', () => {
    const examples = variantSet(allDays().filter((_, i) => i % 401 === 0), 2, 3);
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

  it('no variant is longer than the model takes', () => {
    // The longest each template can get: every optional text present, every space doubled,
    // the longest name and number of each field.
    const longest: Record<string, number> = {Weekday: 9, Wkd: 5, Month: 9, Mon: 4, D: 4, DD: 4,
                                             Dth: 4, M: 2, MM: 2, YYYY: 4, YY: 4};
    for (const f of FORMATS) {
      let n = 0;
      for (const part of f.template.match(/\{[A-Za-z]+\}|\[[^\]]*\]|<[^>]*>|[^{[<]+/g)!) {
        const field = /^\{([A-Za-z]+)\}$/.exec(part)?.[1];
        const text = part.replace(/^[[<]|[\]>]$/g, '');
        n += field != null ? longest[Object.keys(longest).find(k => k.toLowerCase() === field.toLowerCase())!]! :
            text.length + (text.match(/ /g)?.length ?? 0);
      }
      expect(n).toBeLessThanOrEqual(MAX_INPUT_LENGTH);
    }
    expect(vocab.maxInputLength).toBe(MAX_INPUT_LENGTH);
  });

  it('pads at the end, to the longest or a given length', () => {
    const enc = vocab.encodeInputs(['1/2/2019', '1/2/19'], 10);
    expect(enc.length).toBe(10);
    expect(Array.from(enc.ids.subarray(8, 10))).toEqual([PAD, PAD]);
    expect(Array.from(enc.ids.subarray(16, 20))).toEqual([PAD, PAD, PAD, PAD]);
    expect(() => vocab.encodeInputs(['1/2/2019'], 4)).toThrow(/length=4 is shorter than the longest text \(8 characters\)/);
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
    expect(vocab.problem('x'.repeat(50))).toMatch(/50 characters, more than the model accepts \(48\)/);
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
