/**
 * Date data: every day from 1950-01-01 to 2049-12-31, written in many human formats, each paired
 * with its ISO form `YYYY-MM-DD`; and a split by date (test dates never occur in training, in
 * any format).
 *
 * The formats are chosen so that no string means two different dates: day-first numeric forms
 * use `.` or `-`, month-first ones `/`, year-first ones a 4-digit year in front; two-digit years
 * mean 1950–1999 for 50–99 and 2000–2049 for 00–49.
 */
import {random} from '../random';

export {random};

/** A calendar day. `month` 1–12, `day` 1–31. */
export interface Day {
  year: number;
  month: number;
  day: number;
}

/** One input format: a name for reports and a function that writes a day in it. */
export interface DateFormat {
  name: string;
  render: (d: Day) => string;
}

export const FIRST_YEAR = 1950;
export const LAST_YEAR = 2049;

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
                       'September', 'October', 'November', 'December'];
/** Index 0 is Sunday, as `Date.getUTCDay`. */
export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
                         'Saturday'];

const pad2 = (n: number) => String(n).padStart(2, '0');
const yy = (d: Day) => pad2(d.year % 100);
const mon = (d: Day) => MONTHS[d.month - 1]!.slice(0, 3);  // Jan
const MON = (d: Day) => mon(d).toUpperCase();              // JAN
const month = (d: Day) => MONTHS[d.month - 1]!;            // January
const wd = (d: Day) => WEEKDAYS[weekday(d)]!;              // Sunday

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

/** The target: `YYYY-MM-DD`. */
export function iso(d: Day): string {
  return `${d.year}-${pad2(d.month)}-${pad2(d.day)}`;
}

/** Every input format (34). Examples are for 2019-01-20, a Sunday. */
export const FORMATS: DateFormat[] = [
  // Numeric.
  {name: 'DD.MM.YYYY', render: d => `${pad2(d.day)}.${pad2(d.month)}.${d.year}`},      // 20.01.2019
  {name: 'DD.MM.YY', render: d => `${pad2(d.day)}.${pad2(d.month)}.${yy(d)}`},         // 20.01.19
  {name: 'D.M.YYYY', render: d => `${d.day}.${d.month}.${d.year}`},                    // 20.1.2019
  {name: 'M/D/YYYY', render: d => `${d.month}/${d.day}/${d.year}`},                    // 1/20/2019
  {name: 'MM/DD/YYYY', render: d => `${pad2(d.month)}/${pad2(d.day)}/${d.year}`},      // 01/20/2019
  {name: 'MM/DD/YY', render: d => `${pad2(d.month)}/${pad2(d.day)}/${yy(d)}`},         // 01/20/19
  {name: 'YYYY.M.D', render: d => `${d.year}.${d.month}.${d.day}`},                    // 2019.1.20
  {name: 'YYYY-MM-DD', render: d => iso(d)},                                           // 2019-01-20
  {name: 'YYYY/MM/DD', render: d => `${d.year}/${pad2(d.month)}/${pad2(d.day)}`},      // 2019/01/20
  {name: 'YYYYMMDD', render: d => `${d.year}${pad2(d.month)}${pad2(d.day)}`},          // 20190120
  {name: 'MMDDYY', render: d => `${pad2(d.month)}${pad2(d.day)}${yy(d)}`},             // 012019
  {name: 'D-M-YYYY', render: d => `${d.day}-${d.month}-${d.year}`},                    // 20-1-2019
  // Month names and abbreviations.
  {name: 'DDMONYYYY', render: d => `${pad2(d.day)}${MON(d)}${d.year}`},                // 20JAN2019
  {name: 'MON DD, YY', render: d => `${MON(d)} ${pad2(d.day)}, ${yy(d)}`},             // JAN 20, 19
  {name: 'Month D, YYYY', render: d => `${month(d)} ${d.day}, ${d.year}`},             // January 20, 2019
  {name: 'month d, yyyy', render: d => `${month(d).toLowerCase()} ${d.day}, ${d.year}`},  // january 20, 2019
  {name: 'MONTH D, YYYY', render: d => `${month(d).toUpperCase()} ${d.day}, ${d.year}`},  // JANUARY 20, 2019
  {name: 'D mon YYYY', render: d => `${d.day} ${mon(d).toLowerCase()} ${d.year}`},     // 20 jan 2019
  {name: 'D Month YYYY', render: d => `${d.day} ${month(d)} ${d.year}`},               // 20 January 2019
  {name: 'Mon D YYYY', render: d => `${mon(d)} ${d.day} ${d.year}`},                   // Jan 20 2019
  {name: 'Mon. D, YYYY', render: d => `${mon(d)}. ${d.day}, ${d.year}`},               // Jan. 20, 2019
  {name: 'DD-Mon-YYYY', render: d => `${pad2(d.day)}-${mon(d)}-${d.year}`},            // 20-Jan-2019
  {name: 'D-Mon-YY', render: d => `${d.day}-${mon(d)}-${yy(d)}`},                      // 20-Jan-19
  {name: 'YYYY Mon D', render: d => `${d.year} ${mon(d)} ${d.day}`},                   // 2019 Jan 20
  // Weekday first.
  {name: 'Weekday, Month D, YYYY', render: d => `${wd(d)}, ${month(d)} ${d.day}, ${d.year}`},  // Sunday, January 20, 2019
  {name: 'Wkd, D Mon YYYY', render: d => `${wd(d).slice(0, 3)}, ${d.day} ${mon(d)} ${d.year}`},  // Sun, 20 Jan 2019
  {name: 'Wkd Mon DD YYYY', render: d => `${wd(d).slice(0, 3)} ${mon(d)} ${pad2(d.day)} ${d.year}`},  // Sun Jan 20 2019
  {name: 'weekday d month yyyy',
   render: d => `${wd(d).toLowerCase()} ${d.day} ${month(d).toLowerCase()} ${d.year}`},  // sunday 20 january 2019
  {name: 'WKD DD.MM.YYYY', render: d => `${wd(d).slice(0, 3).toUpperCase()} ${pad2(d.day)}.${pad2(d.month)}.${d.year}`},  // SUN 20.01.2019
  // Ordinals.
  {name: 'the Dth of Month YYYY', render: d => `the ${ordinal(d.day)} of ${month(d)} ${d.year}`},  // the 20th of January 2019
  {name: 'Mon Dth YYYY', render: d => `${mon(d)} ${ordinal(d.day)} ${d.year}`},        // Jan 20th 2019
  {name: 'Dth Month YYYY', render: d => `${ordinal(d.day)} ${month(d)} ${d.year}`},    // 20th January 2019
  {name: 'Month Dth, YYYY', render: d => `${month(d)} ${ordinal(d.day)}, ${d.year}`},  // January 20th, 2019
  {name: 'Weekday, Dth Month YYYY', render: d => `${wd(d)}, ${ordinal(d.day)} ${month(d)} ${d.year}`},  // Sunday, 20th January 2019
];

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
  /** Days held out for validation (early stopping). Default 500. */
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

/** One example: input text, ISO target, and which format wrote it. */
export interface Example {
  input: string;
  target: string;
  format: number;
}

/** Every day in every format (days × FORMATS.length examples). */
export function allFormats(days: Day[]): Example[] {
  const examples: Example[] = [];
  for (const d of days) {
    FORMATS.forEach((f, format) => examples.push({input: f.render(d), target: iso(d), format}));
  }
  return examples;
}

/**
 * One training epoch: every day once, each in a format drawn at random (formats are balanced:
 * a shuffled cycle through all of them).
 */
export function epochExamples(days: Day[], next: () => number): Example[] {
  const order = shuffle(days.slice(), next);
  const formats: number[] = [];
  return order.map(d => {
    if (formats.length === 0) {
      formats.push(...shuffle(FORMATS.map((_, i) => i), next));
    }
    const format = formats.pop()!;
    return {input: FORMATS[format]!.render(d), target: iso(d), format};
  });
}
