/**
 * Date data: every day from 1950-01-01 to 2049-12-31, written in 34 human formats and in the
 * variants people actually write of each (case, commas, `the`/`of`, ordinals, spaces, leading
 * zeros, `Sept`, two-digit years), each paired with its ISO form `YYYY-MM-DD`; and a split by
 * date (test dates never occur in training, in any format or variant).
 *
 * A format is a template: `{Month} {D}[,] {YYYY}` writes "January 20, 2019". Fields are
 * `{Weekday}` `{Wkd}` (Sunday, Sun), `{Month}` `{Mon}` (January, Jan), written as their
 * placeholder is (`{MONTH}` → JANUARY, `{mon}` → jan); `{D}` `{DD}` the day (20, 05), `{Dth}`
 * its ordinal (20th), `{M}` `{MM}` the month's number, `{YYYY}` `{YY}` the year. `[x]` is text
 * the canonical form has and a variant may leave out, `<x>` text a variant may add.
 *
 * No string means two different dates: day-first numeric forms use `.` or `-`, month-first ones
 * `/`, and year-first ones put a 4-digit year in front; a two-digit year is always last, and
 * means 1950–1999 for 50–99 and 2000–2049 for 00–49. So `1/2/2019` is January 2nd, `1.2.2019`
 * February 1st, and `D/M/YYYY` is not a supported format.
 */
import {random} from '../shared/random';

export {random};

/** A calendar day. `month` 1–12, `day` 1–31. */
export interface Day {
  year: number;
  month: number;
  day: number;
}

export const FIRST_YEAR = 1950;
export const LAST_YEAR = 2049;

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
                       'September', 'October', 'November', 'December'];
/** Index 0 is Sunday, as `Date.getUTCDay`. */
export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
                         'Saturday'];
/** Longer abbreviations people write beside the three-letter ones (the `abbreviation` family). */
const LONG_ABBREVIATIONS: Record<string, string> = {Sep: 'Sept', Tue: 'Tues', Thu: 'Thurs'};

/**
 * How a variant differs from its format's canonical form. Each family is only used where it
 * changes the text (no leading zero to drop on the 20th, no `Sept` in June).
 */
export const FAMILIES = ['case', 'commas', 'the/of', 'ordinal', 'spacing', 'zeros',
                         'abbreviation', 'year'] as const;
export type Family = typeof FAMILIES[number];

/** What each family does, for reports. */
export const FAMILY_DESCRIPTIONS: Record<Family, string> = {
  'case': 'upper, lower or title case (JAN 20TH 2019, jan 20th 2019)',
  'commas': 'commas left out or added (January 20 2019, Sunday 20 Jan 2019, Jan 20, 2019)',
  'the/of': '"the" and "of" left out or added (20th of January, the 20th January)',
  'ordinal': 'day as an ordinal or not (Jan 20 2019 ↔ Jan 20th 2019)',
  'spacing': 'two spaces instead of one (Jan  20 2019)',
  'zeros': 'leading zeros added or dropped (1/5/2019 ↔ 01/05/2019, 5.1.19)',
  'abbreviation': 'Sept, Tues, Thurs beside Sep, Tue, Thu',
  'year': 'two-digit year for four or four for two (20.01.19 ↔ 20.01.2019)',
};

/** 1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st, 22nd, 23rd … */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : ({1: 'st', 2: 'nd', 3: 'rd'} as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(d: Day): number {
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The target: `YYYY-MM-DD`. */
export function iso(d: Day): string {
  return `${d.year}-${pad2(d.month)}-${pad2(d.day)}`;
}

type Field = 'Weekday'|'Wkd'|'Month'|'Mon'|'D'|'DD'|'Dth'|'M'|'MM'|'YYYY'|'YY';
type Case = 'title'|'lower'|'upper';
type Token = {kind: 'field', field: Field, case: Case} | {kind: 'text', text: string} |
             {kind: 'optional', text: string, present: boolean};

/** One input format: its name (for reports) and its template (see the file comment). */
export interface DateFormat {
  name: string;
  template: string;
  /** The template, parsed. */
  tokens: Token[];
}

const FIELDS: Field[] = ['Weekday', 'Wkd', 'Month', 'Mon', 'Dth', 'DD', 'D', 'MM', 'M', 'YYYY', 'YY'];

function parseTemplate(template: string): Token[] {
  const tokens: Token[] = [];
  const re = /\{([A-Za-z]+)\}|\[([^\]]*)\]|<([^>]*)>|([^{[<]+)/g;
  for (let m = re.exec(template); m != null; m = re.exec(template)) {
    if (m[1] != null) {
      const name = m[1];
      const field = FIELDS.find(f => f.toLowerCase() === name.toLowerCase());
      if (field == null) {
        throw new Error(`Unknown field {${name}} in the date template ${JSON.stringify(template)}`);
      }
      const letters = /[a-z]/i.test(name) && !/^(D|DD|Dth|M|MM|YYYY|YY)$/.test(name);
      const c: Case = !letters ? 'title' : name === name.toUpperCase() ? 'upper' :
          name === name.toLowerCase() ? 'lower' : 'title';
      tokens.push({kind: 'field', field, case: c});
    } else if (m[2] != null || m[3] != null) {
      tokens.push({kind: 'optional', text: m[2] ?? m[3]!, present: m[2] != null});
    } else {
      tokens.push({kind: 'text', text: m[4]!});
    }
  }
  return tokens;
}

function format(name: string, template: string): DateFormat {
  return {name, template, tokens: parseTemplate(template)};
}

/** Every input format (34). Examples are for 2019-01-20, a Sunday. */
export const FORMATS: DateFormat[] = [
  // Numeric.
  format('DD.MM.YYYY', '{DD}.{MM}.{YYYY}'),           // 20.01.2019
  format('DD.MM.YY', '{DD}.{MM}.{YY}'),               // 20.01.19
  format('D.M.YYYY', '{D}.{M}.{YYYY}'),               // 20.1.2019
  format('M/D/YYYY', '{M}/{D}/{YYYY}'),               // 1/20/2019
  format('MM/DD/YYYY', '{MM}/{DD}/{YYYY}'),           // 01/20/2019
  format('MM/DD/YY', '{MM}/{DD}/{YY}'),               // 01/20/19
  format('YYYY.M.D', '{YYYY}.{M}.{D}'),               // 2019.1.20
  format('YYYY-MM-DD', '{YYYY}-{MM}-{DD}'),           // 2019-01-20
  format('YYYY/MM/DD', '{YYYY}/{MM}/{DD}'),           // 2019/01/20
  format('YYYYMMDD', '{YYYY}{MM}{DD}'),               // 20190120
  format('MMDDYY', '{MM}{DD}{YY}'),                   // 012019
  format('D-M-YYYY', '{D}-{M}-{YYYY}'),               // 20-1-2019
  // Month names and abbreviations.
  format('DDMONYYYY', '{DD}{MON}{YYYY}'),             // 20JAN2019
  format('MON DD, YY', '{MON} {DD}[,] {YY}'),         // JAN 20, 19
  format('Month D, YYYY', '{Month} {D}[,] {YYYY}'),   // January 20, 2019
  format('month d, yyyy', '{month} {D}[,] {YYYY}'),   // january 20, 2019
  format('MONTH D, YYYY', '{MONTH} {D}[,] {YYYY}'),   // JANUARY 20, 2019
  format('D mon YYYY', '{D} {mon}<,> {YYYY}'),        // 20 jan 2019
  format('D Month YYYY', '{D} {Month}<,> {YYYY}'),    // 20 January 2019
  format('Mon D YYYY', '{Mon} {D}<,> {YYYY}'),        // Jan 20 2019
  format('Mon. D, YYYY', '{Mon}. {D}[,] {YYYY}'),     // Jan. 20, 2019
  format('DD-Mon-YYYY', '{DD}-{Mon}-{YYYY}'),         // 20-Jan-2019
  format('D-Mon-YY', '{D}-{Mon}-{YY}'),               // 20-Jan-19
  format('YYYY Mon D', '{YYYY} {Mon} {D}'),           // 2019 Jan 20
  // Weekday first.
  format('Weekday, Month D, YYYY', '{Weekday}[,] {Month} {D}[,] {YYYY}'),  // Sunday, January 20, 2019
  format('Wkd, D Mon YYYY', '{Wkd}[,] {D} {Mon} {YYYY}'),                  // Sun, 20 Jan 2019
  format('Wkd Mon DD YYYY', '{Wkd}<,> {Mon} {DD} {YYYY}'),                 // Sun Jan 20 2019
  format('weekday d month yyyy', '{weekday}<,> {D} {month} {YYYY}'),       // sunday 20 january 2019
  format('WKD DD.MM.YYYY', '{WKD}<,> {DD}.{MM}.{YYYY}'),                   // SUN 20.01.2019
  // Ordinals.
  format('the Dth of Month YYYY', '[the ]{Dth}[ of] {Month} {YYYY}'),      // the 20th of January 2019
  format('Mon Dth YYYY', '{Mon} {Dth}<,> {YYYY}'),                         // Jan 20th 2019
  format('Dth Month YYYY', '<the >{Dth}< of> {Month} {YYYY}'),             // 20th January 2019
  format('Month Dth, YYYY', '{Month} {Dth}[,] {YYYY}'),                    // January 20th, 2019
  format('Weekday, Dth Month YYYY', '{Weekday}[,] <the >{Dth}< of> {Month} {YYYY}'),  // Sunday, 20th January 2019
];

const hasField = (f: DateFormat, ...fields: Field[]) =>
    f.tokens.some(t => t.kind === 'field' && fields.includes(t.field));
const hasOptional = (f: DateFormat, test: (text: string) => boolean) =>
    f.tokens.some(t => t.kind === 'optional' && test(t.text));
const isComma = (text: string) => text === ',';
const isTheOf = (text: string) => /^\s*(the|of)\s*$/.test(text);

/** Is the day a word of its own beside a month name (so that it can be an ordinal)? */
function dayIsWord(f: DateFormat): boolean {
  const i = f.tokens.findIndex(t => t.kind === 'field' && ['D', 'DD', 'Dth'].includes(t.field));
  const apart = (t: Token|undefined) =>
      t == null || t.kind === 'optional' || (t.kind === 'text' && /\s/.test(t.text));
  return i >= 0 && hasField(f, 'Month', 'Mon') && apart(f.tokens[i - 1]) && apart(f.tokens[i + 1]);
}

/** The families that change how `format` writes `day` (see {@link FAMILIES}). */
export function applicableFamilies(f: DateFormat, day: Day): Family[] {
  const families: Family[] = [];
  const letters = hasField(f, 'Weekday', 'Wkd', 'Month', 'Mon', 'Dth') ||
      f.tokens.some(t => t.kind !== 'field' && /[a-z]/i.test(t.text));
  if (letters) {
    families.push('case');
  }
  if (hasOptional(f, isComma)) {
    families.push('commas');
  }
  if (hasOptional(f, isTheOf)) {
    families.push('the/of');
  }
  if (dayIsWord(f)) {
    families.push('ordinal');
  }
  if (f.tokens.some(t => t.kind !== 'field' && t.text.includes(' '))) {
    families.push('spacing');
  }
  const compact = f.name === 'YYYYMMDD' || f.name === 'MMDDYY';
  if (!compact && ((hasField(f, 'D', 'DD', 'Dth') && day.day < 10) ||
                   (hasField(f, 'M', 'MM') && day.month < 10))) {
    families.push('zeros');
  }
  const abbreviated = (hasField(f, 'Mon') && day.month === 9) ||
      (hasField(f, 'Wkd') && [2, 4].includes(weekday(day)));
  if (abbreviated) {
    families.push('abbreviation');
  }
  const first = f.tokens.find(t => t.kind === 'field');
  if (!compact && hasField(f, 'YYYY', 'YY') && !(first?.kind === 'field' &&
                                                    first.field === 'YYYY')) {
    families.push('year');
  }
  return families;
}

/**
 * Removes families that cannot go together: an ordinal turned into a plain number takes its
 * `the`/`of` with it (nobody writes "the 20 of January"), and leading zeros need a plain number.
 */
function resolveFamilies(f: DateFormat, day: Day, families: Set<Family>): Set<Family> {
  const result = new Set(families);
  const canonicalOrdinal = hasField(f, 'Dth');
  const isOrdinal = canonicalOrdinal !== result.has('ordinal');
  if (!isOrdinal) {
    result.delete('the/of');
  }
  if (result.has('zeros')) {
    const dayZeros = hasField(f, 'D', 'DD', 'Dth') && !isOrdinal && day.day < 10;
    const monthZeros = hasField(f, 'M', 'MM') && day.month < 10;
    if (!dayZeros && !monthZeros) {
      result.delete('zeros');
    }
  }
  return result;
}

const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();

function applyCase(text: string, c: Case): string {
  return c === 'upper' ? text.toUpperCase() : c === 'lower' ? text.toLowerCase() : title(text);
}

/** Title case as people write it: names capitalised, other words lower case, the first capitalised. */
function titleCase(text: string): string {
  const names = new Set([...MONTHS, ...WEEKDAYS].flatMap(
      n => [n.toLowerCase(), n.slice(0, 3).toLowerCase(), n.slice(0, 4).toLowerCase(),
            n.slice(0, 5).toLowerCase()]));
  const lower = text.toLowerCase().replace(/[a-z]+/g, w => names.has(w) ? title(w) : w);
  return lower.charAt(0).toUpperCase() + lower.slice(1);
}

/**
 * Writes `day` in format `f` with the variant `families` applied (none: the canonical form).
 * `next` draws the variant's choices (which commas, which spaces, which case); only families
 * from {@link applicableFamilies} may be asked for.
 */
export function render(f: DateFormat, day: Day, families: Iterable<Family> = [],
                       next: () => number = random(1)): string {
  const asked = new Set(families);
  const allowed = applicableFamilies(f, day);
  for (const family of asked) {
    if (!allowed.includes(family)) {
      throw new Error(`render: the family ${family} does not apply to the format ${f.name} on ${
          iso(day)}. Received: families=${JSON.stringify([...asked])}`);
    }
  }
  const on = resolveFamilies(f, day, asked);
  const isOrdinal = hasField(f, 'Dth') !== on.has('ordinal');
  // Optional text: toggle some (at least one) of the family's places.
  const optional = f.tokens.map(t => t.kind === 'optional' ? t.present : false);
  for (const [family, test] of [['commas', isComma], ['the/of', isTheOf]] as const) {
    const places = f.tokens.map((t, i) => t.kind === 'optional' && test(t.text) ? i : -1)
                       .filter(i => i >= 0);
    if (family === 'the/of' && !isOrdinal) {
      places.forEach(i => optional[i] = false);
      continue;
    }
    if (on.has(family)) {
      const flip = places.map(() => next() < 0.5);
      if (!flip.some(Boolean)) {
        flip[Math.floor(next() * flip.length)] = true;
      }
      places.forEach((i, k) => optional[i] = flip[k] ? !optional[i] : optional[i]!);
    }
  }
  const padOn = on.has('zeros');
  const abbreviate = on.has('abbreviation');
  const otherYear = on.has('year');
  const wd = WEEKDAYS[weekday(day)]!;
  const month = MONTHS[day.month - 1]!;
  const number = (n: number, padded: boolean) => (padded !== padOn ? pad2(n) : String(n));
  let text = '';
  f.tokens.forEach((t, i) => {
    if (t.kind === 'text') {
      text += t.text;
    } else if (t.kind === 'optional') {
      text += optional[i] ? t.text : '';
    } else {
      switch (t.field) {
        case 'Weekday': text += applyCase(wd, t.case); break;
        case 'Wkd': {
          const short = wd.slice(0, 3);
          text += applyCase(abbreviate ? LONG_ABBREVIATIONS[short] ?? short : short, t.case);
          break;
        }
        case 'Month': text += applyCase(month, t.case); break;
        case 'Mon': {
          const short = month.slice(0, 3);
          text += applyCase(abbreviate ? LONG_ABBREVIATIONS[short] ?? short : short, t.case);
          break;
        }
        case 'D': case 'DD': case 'Dth':
          text += isOrdinal ? ordinal(day.day) : number(day.day, t.field === 'DD');
          break;
        case 'M': case 'MM': text += number(day.month, t.field === 'MM'); break;
        case 'YYYY': text += otherYear ? pad2(day.year % 100) : String(day.year); break;
        case 'YY': text += otherYear ? String(day.year) : pad2(day.year % 100); break;
      }
    }
  });
  if (on.has('spacing')) {
    const gaps = [...text].map((c, i) => c === ' ' ? i : -1).filter(i => i >= 0);
    const doubled = gaps.map(() => next() < 0.5);
    if (!doubled.some(Boolean)) {
      doubled[Math.floor(next() * doubled.length)] = true;
    }
    text = [...text].map((c, i) => c === ' ' && doubled[gaps.indexOf(i)] ? '  ' : c).join('');
  }
  if (on.has('case')) {
    const choices = [text.toLowerCase(), text.toUpperCase(), titleCase(text)]
                        .filter(t => t !== text);
    text = choices[Math.floor(next() * choices.length)] ?? text;
  }
  return text;
}

/** Every day from FIRST_YEAR-01-01 to LAST_YEAR-12-31, in order (36,525 days). */
export function allDays(): Day[] {
  const days: Day[] = [];
  const end = Date.UTC(LAST_YEAR, 11, 31);
  for (let t = Date.UTC(FIRST_YEAR, 0, 1); t <= end; t += 86400000) {
    const date = new Date(t);
    days.push({year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate()});
  }
  return days;
}

/** Fisher–Yates shuffle in place with a seeded generator. */
export function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Seeds of the variants of the held-out sets that reports use (`variantSet`). */
export const VALIDATION_SEED = 11;
export const TEST_SEED = 7;

/** Days split into disjoint sets. */
export interface DaySplit {
  train: Day[];
  validation: Day[];
  test: Day[];
}

/** Arguments of {@link splitDays}. */
export interface SplitArgs {
  /** Days held out for the final test. Default 2500. */
  testDays?: number;
  /** Days held out for validation (early stopping, calibration). Default 500. */
  validationDays?: number;
  /** Seed of the shuffle. Default 20190120. */
  seed?: number;
}

/** Shuffles all days (seeded) and cuts them into test, validation and train, by date. */
export function splitDays(args: SplitArgs = {}): DaySplit {
  const testDays = args.testDays ?? 2500;
  const validationDays = args.validationDays ?? 500;
  const days = shuffle(allDays(), random(args.seed ?? 20190120));
  if (!(Number.isInteger(testDays) && testDays > 0 && Number.isInteger(validationDays) &&
        validationDays > 0 && testDays + validationDays < days.length)) {
    throw new Error(`splitDays: testDays and validationDays must be positive integers that ` +
                    `leave training days. Received: testDays=${testDays}, validationDays=${
                        validationDays}`);
  }
  return {
    test: days.slice(0, testDays),
    validation: days.slice(testDays, testDays + validationDays),
    train: days.slice(testDays + validationDays),
  };
}

/** One example: input text, ISO target, which format wrote it and which variant families. */
export interface Example {
  input: string;
  target: string;
  format: number;
  families: Family[];
}

/** Every day in every format, canonical (days × FORMATS.length examples). */
export function allFormats(days: Day[]): Example[] {
  const examples: Example[] = [];
  for (const d of days) {
    FORMATS.forEach((f, format) => examples.push({input: render(f, d), target: iso(d), format,
                                                  families: []}));
  }
  return examples;
}

/** Arguments of {@link sampleFamilies}. */
export interface VariantArgs {
  /** Share of examples written in the canonical form. Default 0.2. */
  canonical?: number;
  /** Chance of each applicable family in a variant (at least one is used). Default 0.4. */
  perFamily?: number;
}

/** Draws the families of one example (possibly none: the canonical form). */
export function sampleFamilies(f: DateFormat, day: Day, next: () => number,
                               args: VariantArgs = {}): Family[] {
  const allowed = applicableFamilies(f, day);
  if (allowed.length === 0 || next() < (args.canonical ?? 0.2)) {
    return [];
  }
  const chosen = allowed.filter(() => next() < (args.perFamily ?? 0.4));
  return chosen.length > 0 ? chosen : [allowed[Math.floor(next() * allowed.length)]!];
}

/** One example of `day` in format number `format`, its variant drawn by `next`. */
export function sampleExample(day: Day, format: number, next: () => number,
                              args: VariantArgs = {}): Example {
  const f = FORMATS[format]!;
  for (let attempt = 0;; attempt++) {
    const drawn = sampleFamilies(f, day, next, args);
    const resolved = resolveFamilies(f, day, new Set(drawn));
    // Families that cancel out (leading zeros on an ordinal) leave the canonical form: draw
    // again when a variant was asked for.
    if (resolved.size > 0 || drawn.length === 0 || attempt >= 20) {
      return {input: render(f, day, drawn, next), target: iso(day), format,
              families: FAMILIES.filter(x => resolved.has(x))};
    }
  }
}

/**
 * One training epoch: every day once, each in a format drawn at random (formats are balanced:
 * a shuffled cycle through all of them) and in a random variant of it.
 */
export function epochExamples(days: Day[], next: () => number, args: VariantArgs = {}): Example[] {
  const order = shuffle(days.slice(), next);
  const formats: number[] = [];
  return order.map(d => {
    if (formats.length === 0) {
      formats.push(...shuffle(FORMATS.map((_, i) => i), next));
    }
    return sampleExample(d, formats.pop()!, next, args);
  });
}

/**
 * A held-out evaluation set: every day in every format, once canonical and `variants` times in
 * a variant that is not the canonical form (seeded by `seed`).
 */
export function variantSet(days: Day[], variants = 1, seed = 7): Example[] {
  const next = random(seed);
  const examples: Example[] = [];
  for (const d of days) {
    FORMATS.forEach((f, format) => {
      examples.push({input: render(f, d), target: iso(d), format, families: []});
      if (applicableFamilies(f, d).length === 0) {
        return;
      }
      for (let k = 0; k < variants; k++) {
        examples.push(sampleExample(d, format, next, {canonical: 0}));
      }
    });
  }
  return examples;
}
