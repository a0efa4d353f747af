/**
 * Inputs the date translator must not translate, in six kinds, to measure how many it flags
 * (`npm run evaluate:dates`). None of them is ever trained on: training only sees real days of
 * 1950–2049 in the supported formats. Seeded, so the sets are the same every run.
 *
 *   year        real days of 1900–1949 and 2050–2099, in every format that writes four digits
 *   impossible  days that do not exist: February 29th of common years, the 30th and 31st of
 *               February, the 31st of 30-day months, day 32 or 0, month 13 or 0
 *   weekday     real days with the wrong weekday ("Monday, January 20, 2019": a Sunday)
 *   incomplete  a date with a part missing: month and year, day and month, a year alone
 *   relative    words for days: tomorrow, next Monday, in 3 days, the day after tomorrow …
 *   not a date  other text and numbers: words, sentences, amounts, codes, version numbers
 */
import {allDays, Day, FORMATS, MONTHS, random, render, sampleFamilies, shuffle, weekday,
        WEEKDAYS} from './data';

/** The six kinds, in report order. */
export const OUT_OF_SCOPE_KINDS = ['year', 'impossible', 'weekday', 'incomplete', 'relative',
                                   'not a date'] as const;
export type OutOfScopeKind = typeof OUT_OF_SCOPE_KINDS[number];

/** One input that must be flagged. */
export interface OutOfScopeExample {
  input: string;
  kind: OutOfScopeKind;
}

const pick = <T>(items: readonly T[], next: () => number): T =>
    items[Math.floor(next() * items.length)]!;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Every day of the years `from`–`to`. */
function daysOf(from: number, to: number): Day[] {
  const days: Day[] = [];
  for (let t = Date.UTC(from, 0, 1); t <= Date.UTC(to, 11, 31); t += 86400000) {
    const d = new Date(t);
    days.push({year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate()});
  }
  return days;
}

/** Real days outside 1950–2049, in a format with a four-digit year (and a variant of it). */
function outOfRangeYears(n: number, next: () => number): OutOfScopeExample[] {
  const days = [...daysOf(1900, 1949), ...daysOf(2050, 2099)];
  const fourDigits = FORMATS.filter(f => f.template.includes('{YYYY}'));
  return Array.from({length: n}, () => {
    const day = pick(days, next);
    const f = pick(fourDigits, next);
    // A variant, but never a two-digit year: 49 and 50 are in range by definition.
    const families = sampleFamilies(f, day, next).filter(x => x !== 'year');
    return {input: render(f, day, families, next), kind: 'year' as const};
  });
}

/**
 * Days that do not exist, written by hand in the formats' styles (the formats' own renderer only
 * writes real days).
 */
function impossibleDays(n: number, next: () => number): OutOfScopeExample[] {
  const out: OutOfScopeExample[] = [];
  const styles: Array<(y: number, m: number, d: number) => string> = [
    (y, m, d) => `${MONTHS[m - 1] ?? 'Smarch'} ${d}, ${y}`,
    (y, m, d) => `${d} ${(MONTHS[m - 1] ?? 'Smarch').slice(0, 3)} ${y}`,
    (y, m, d) => `${pad2(d)}.${pad2(m)}.${y}`,
    (y, m, d) => `${m}/${d}/${y}`,
    (y, m, d) => `${y}-${pad2(m)}-${pad2(d)}`,
    (y, m, d) => `${pad2(m)}/${pad2(d)}/${pad2(y % 100)}`,
    (y, m, d) => `${y}${pad2(m)}${pad2(d)}`,
    (y, m, d) => `the ${d}th of ${MONTHS[m - 1] ?? 'Smarch'} ${y}`,
  ];
  while (out.length < n) {
    const year = 1950 + Math.floor(next() * 100);
    const leap = year % 4 === 0;  // exact for 1950–2049
    const kind = Math.floor(next() * 5);
    let m: number;
    let d: number;
    if (kind === 0) {
      if (leap) {
        continue;
      }
      [m, d] = [2, 29];
    } else if (kind === 1) {
      [m, d] = [2, 30 + Math.floor(next() * 2)];
    } else if (kind === 2) {
      [m, d] = [pick([4, 6, 9, 11], next), 31];
    } else if (kind === 3) {
      [m, d] = [1 + Math.floor(next() * 12), pick([0, 32, 33, 40], next)];
    } else {
      [m, d] = [pick([0, 13, 14, 20], next), 1 + Math.floor(next() * 28)];
    }
    const style = pick(styles, next);
    // Month names exist only for months 1–12: numeric styles carry the bad months.
    if ((m < 1 || m > 12) && ![2, 3, 4, 5, 6].includes(styles.indexOf(style))) {
      continue;
    }
    out.push({input: style(year, m, d), kind: 'impossible'});
  }
  return out;
}

/** Real days with a weekday that is not theirs. */
function wrongWeekdays(n: number, next: () => number): OutOfScopeExample[] {
  const days = allDays();
  const withWeekday = FORMATS.filter(f => /\{(weekday|wkd)\}/i.test(f.template));
  return Array.from({length: n}, () => {
    const day = pick(days, next);
    const f = pick(withWeekday, next);
    const right = render(f, day, sampleFamilies(f, day, next), next);
    const other = WEEKDAYS[(weekday(day) + 1 + Math.floor(next() * 6)) % 7]!;
    // Replace the weekday word, keeping how it was written (case, length).
    const input = right.replace(/^[A-Za-z]+/, word => {
      const full = word.length > 3 && !/^(tues|thurs)$/i.test(word);
      const base = full ? other : other.slice(0, 3);
      return word === word.toUpperCase() ? base.toUpperCase() :
             word === word.toLowerCase() ? base.toLowerCase() : base;
    });
    return {input, kind: 'weekday' as const};
  });
}

/** Dates with a part missing. */
function incompleteDates(n: number, next: () => number): OutOfScopeExample[] {
  const styles: Array<(d: Day) => string> = [
    d => `${MONTHS[d.month - 1]} ${d.year}`,
    d => `${MONTHS[d.month - 1]!.slice(0, 3)} ${d.year}`,
    d => `${pad2(d.month)}/${d.year}`,
    d => `${d.year}-${pad2(d.month)}`,
    d => `${MONTHS[d.month - 1]} ${d.day}`,
    d => `${d.day} ${MONTHS[d.month - 1]!.slice(0, 3)}`,
    d => `the ${d.day}th of ${MONTHS[d.month - 1]}`,
    d => `${d.month}/${d.day}`,
    d => `${pad2(d.day)}.${pad2(d.month)}.`,
    d => `${d.year}`,
    d => `${MONTHS[d.month - 1]}`,
    d => `${WEEKDAYS[weekday(d)]}, ${MONTHS[d.month - 1]} ${d.day}`,
  ];
  const days = allDays();
  return Array.from({length: n}, () => {
    const day = pick(days, next);
    const text = pick(styles, next)(day);
    const c = next();
    return {input: c < 0.2 ? text.toUpperCase() : c < 0.4 ? text.toLowerCase() : text,
            kind: 'incomplete' as const};
  });
}

/** Words for days relative to today. */
function relativeDays(n: number, next: () => number): OutOfScopeExample[] {
  const weekdayName = () => pick(WEEKDAYS, next);
  const number = () => String(1 + Math.floor(next() * 30));
  const styles: Array<() => string> = [
    () => 'tomorrow', () => 'yesterday', () => 'today', () => 'tonight',
    () => 'the day after tomorrow', () => 'the day before yesterday',
    () => `next ${weekdayName()}`, () => `last ${weekdayName()}`, () => `this ${weekdayName()}`,
    () => weekdayName(), () => `${weekdayName()} next week`,
    () => `in ${number()} days`, () => `${number()} days ago`, () => `in ${number()} weeks`,
    () => `${number()} weeks from now`, () => 'next week', () => 'last month', () => 'next year',
    () => `the first ${weekdayName()} of next month`, () => 'end of the month',
  ];
  return Array.from({length: n}, () => {
    const text = pick(styles, next)();
    const c = next();
    return {input: c < 0.2 ? text.toUpperCase() :
                   c < 0.5 ? text.charAt(0).toUpperCase() + text.slice(1) : text,
            kind: 'relative' as const};
  });
}

/** Text and numbers that are not dates. */
function notDates(n: number, next: () => number): OutOfScopeExample[] {
  const words = ['hello', 'world', 'the', 'cat', 'sat', 'on', 'mat', 'meeting', 'at', 'noon',
                 'price', 'total', 'order', 'number', 'version', 'release', 'room', 'call',
                 'me', 'soon', 'thanks', 'see', 'you', 'later', 'date', 'time', 'deadline'];
  const digits = (k: number) => Array.from({length: k}, () => Math.floor(next() * 10)).join('');
  const styles: Array<() => string> = [
    () => Array.from({length: 1 + Math.floor(next() * 4)}, () => pick(words, next)).join(' '),
    () => digits(1 + Math.floor(next() * 5)),
    () => digits(7 + Math.floor(next() * 5)),
    () => `${digits(3)}-${digits(4)}`,
    () => `${digits(1)}.${digits(2)}.${digits(1)}`,
    () => `${digits(2)}.${digits(2)}`,
    () => `${digits(1)},${digits(3)},${digits(3)}`,
    () => `${pick(words, next)} ${digits(2 + Math.floor(next() * 3))}`,
    () => `${digits(2)}/${digits(2)}/${digits(2)}/${digits(2)}`,
    () => `room ${digits(3)}`,
  ];
  return Array.from({length: n}, () => ({input: pick(styles, next)(), kind: 'not a date' as const}));
}

/**
 * The out-of-scope set: `perKind` inputs of each kind (seeded). An input that happens to be a
 * real date in a supported format (a random "12.05.19") is left out; duplicates are kept.
 */
export function outOfScopeSet(perKind = 500, seed = 17): OutOfScopeExample[] {
  const next = random(seed);
  const makers: Record<OutOfScopeKind, (n: number, next: () => number) => OutOfScopeExample[]> = {
    'year': outOfRangeYears, 'impossible': impossibleDays, 'weekday': wrongWeekdays,
    'incomplete': incompleteDates, 'relative': relativeDays, 'not a date': notDates,
  };
  const inScope = realDateReader();
  const all = OUT_OF_SCOPE_KINDS.flatMap(kind => makers[kind](perKind, next));
  return shuffle(all.filter(e => !inScope(e.input)), random(seed + 1))
      .sort((a, b) => OUT_OF_SCOPE_KINDS.indexOf(a.kind) - OUT_OF_SCOPE_KINDS.indexOf(b.kind));
}

/**
 * Whether a "not a date" string is by chance a supported numeric date ("12.05.19" is May 12th,
 * 2019): the numeric formats' canonical and zero-free forms of every day, as a set.
 */
function realDateReader(): (text: string) => boolean {
  const numeric = FORMATS.filter(f => !/[a-z]/i.test(f.template.replace(/\{[A-Za-z]+\}/g, '')) &&
                                      !/\{(weekday|wkd|month|mon|dth)\}/i.test(f.template));
  const known = new Set<string>();
  for (const day of allDays()) {
    for (const f of numeric) {
      known.add(render(f, day));
      for (const family of ['zeros', 'year'] as const) {
        try {
          known.add(render(f, day, [family]));
        } catch {
          // the family does not apply to this format and day
        }
      }
      try {
        known.add(render(f, day, ['zeros', 'year']));
      } catch {
        // the families do not both apply
      }
    }
  }
  return text => known.has(text);
}
