/**
 * Saying when the date translator does not know. Every translation gets a confidence and three
 * checks; a translation that fails one is flagged (its output is null) with the reason:
 *
 * 1. The input: no character outside the vocabulary, not longer than the model takes.
 * 2. The output: a real calendar day from 1950-01-01 to 2049-12-31 (the model writes any ten
 *    characters; "2019-02-30" or "2019-13-01" are possible).
 * 3. The input agrees with the output: the input's numbers are the output's year (4 or 2
 *    digits), month and day (or its 8- or 6-digit compact form), nothing else; a month or
 *    weekday name in it is the output's; and every word is one the formats use (month and
 *    weekday names, `the`, `of`). This check does not translate anything: it only confirms
 *    that what the model wrote can be read off the input. It is what catches "December 31st,
 *    1949" (the model can only answer 1950–2049), "tomorrow" (no numbers at all) or
 *    "Monday, January 20, 2019" (a Sunday).
 * 4. Confidence: the probability the model gives its own answer, the product over the ten
 *    characters of the softmax of each step's logits divided by a temperature fitted on
 *    held-out validation dates (temperature scaling: the temperature that makes the characters'
 *    probabilities best match how often they are right). Below the threshold, also chosen on
 *    validation dates, the translation is flagged as unsure.
 *
 * No Node-only import: the browser page uses it too.
 */
import {Day, FIRST_YEAR, iso, LAST_YEAR, MONTHS, weekday, WEEKDAYS} from './data';
import {Decoded} from './model';
import {Vocab} from './vocab';

/** How confidences are computed and judged; saved as `calibration.json` beside the model. */
export interface Calibration {
  /** Logits are divided by this before the softmax. */
  temperature: number;
  /** A translation whose confidence is below this is flagged. */
  threshold: number;
  /** Where the two numbers come from, for people. */
  fittedOn: string;
}

/** Before calibration: plain softmax, flag below one half. */
export const UNCALIBRATED: Calibration = {temperature: 1, threshold: 0.5,
                                          fittedOn: 'not calibrated'};

/** One assessed translation: what `npm run translate -- --json` prints per line. */
export interface Assessment {
  input: string;
  /** `YYYY-MM-DD`, or null when flagged. */
  output: string|null;
  /** The calibrated probability of the model's answer, 0…1 (0 when the input cannot be read). */
  confidence: number;
  flagged: boolean;
  /** Why it is flagged, or null. */
  reason: string|null;
  /** The model's answer, flagged or not (null when the input cannot be read). Not in --json. */
  guess: string|null;
}

/** log of the softmax of `row / temperature` at `index`. */
function logSoftmaxAt(row: ArrayLike<number>, index: number, temperature: number): number {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) {
    max = Math.max(max, row[v]! / temperature);
  }
  let sum = 0;
  for (let v = 0; v < row.length; v++) {
    sum += Math.exp(row[v]! / temperature - max);
  }
  return row[index]! / temperature - max - Math.log(sum);
}

/**
 * Sequence probability of each decoded output: `Π_t softmax(logits_t / T)[chosen_t]`, from
 * {@link Decoded} (`logits` `[n, L, V]`, `ids` `[n, L]`, n = texts.length).
 */
export function sequenceConfidences(decoded: Pick<Decoded, 'logits'|'ids'|'vocabSize'|'texts'>,
                                    temperature: number): number[] {
  const V = decoded.vocabSize;
  const n = decoded.texts.length;
  const L = n === 0 ? 0 : decoded.ids.length / n;
  return decoded.texts.map((_, i) => {
    let logP = 0;
    for (let t = 0; t < L; t++) {
      const at = (i * L + t) * V;
      logP += logSoftmaxAt(decoded.logits.subarray(at, at + V), decoded.ids[i * L + t]!,
                           temperature);
    }
    return Math.exp(logP);
  });
}

/**
 * The temperature that minimises the mean negative log-likelihood of the right characters:
 * `logits` `[m, V]` rows (teacher-forced steps of held-out examples) and `labels` `[m]`. A
 * golden-section search over log T in [1/20, 20].
 */
export function fitTemperature(logits: Float32Array, labels: Int32Array, vocabSize: number): number {
  const m = labels.length;
  if (m === 0 || logits.length !== m * vocabSize) {
    throw new Error(`fitTemperature needs one row of ${vocabSize} logits per label. Received: ${
        logits.length} logits for ${m} labels`);
  }
  const nll = (logT: number) => {
    const T = Math.exp(logT);
    let sum = 0;
    for (let i = 0; i < m; i++) {
      sum -= logSoftmaxAt(logits.subarray(i * vocabSize, (i + 1) * vocabSize), labels[i]!, T);
    }
    return sum / m;
  };
  let [a, b] = [Math.log(1 / 20), Math.log(20)];
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let [fc, fd] = [nll(c), nll(d)];
  for (let k = 0; k < 40; k++) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - g * (b - a);
      fc = nll(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + g * (b - a);
      fd = nll(d);
    }
  }
  return Math.exp((a + b) / 2);
}

/**
 * The flagging threshold: the largest value up to `ceiling` (default 0.5: "more likely wrong
 * than right") below which at most `maxFalseAlarms` (default 0.5%) of `correctConfidences` lie.
 */
export function chooseThreshold(correctConfidences: number[], maxFalseAlarms = 0.005,
                                ceiling = 0.5): number {
  if (correctConfidences.length === 0) {
    return ceiling;
  }
  const sorted = [...correctConfidences].sort((x, y) => x - y);
  const allowed = Math.floor(maxFalseAlarms * sorted.length);
  // Flagging is `confidence < threshold`: up to `allowed` values may lie below it.
  return Math.min(ceiling, sorted[allowed]!);
}

/** Is `text` a `YYYY-MM-DD` that exists in the calendar? Returns the day, or null. */
export function readIso(text: string): Day|null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m == null) {
    return null;
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 &&
          date.getUTCDate() === day ? {year, month, day} : null;
}

/** Why the model's output `text` is not a supported day, or null. */
export function outputProblem(text: string): string|null {
  const day = readIso(text);
  if (day == null) {
    return `the model's answer ${JSON.stringify(text)} is not a real date`;
  }
  if (day.year < FIRST_YEAR || day.year > LAST_YEAR) {
    return `the model's answer ${text} is outside ${FIRST_YEAR}–${LAST_YEAR}`;
  }
  return null;
}

/** Words the formats write, lower case, → month (1–12) or weekday (0–6). */
const MONTH_WORDS = new Map<string, number>(MONTHS.flatMap(
    (m, i) => [[m.toLowerCase(), i + 1], [m.slice(0, 3).toLowerCase(), i + 1]] as Array<[string, number]>)
    .concat([['sept', 9]]));
const WEEKDAY_WORDS = new Map<string, number>(WEEKDAYS.flatMap(
    (w, i) => [[w.toLowerCase(), i], [w.slice(0, 3).toLowerCase(), i]] as Array<[string, number]>)
    .concat([['tues', 2], ['thurs', 4]]));
const FILLER_WORDS = new Set(['the', 'of']);

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * Why the input does not agree with the output `day`, or null when it does (check 3 of the
 * file comment). Order is not checked, only that each number and name is the output's.
 */
export function disagreement(input: string, day: Day): string|null {
  const text = input.toLowerCase();
  // Ordinal suffixes belong to their number: "20th" is the number 20.
  const tokens = text.replace(/(\d)(st|nd|rd|th)\b/g, '$1').match(/[a-z]+|\d+/g) ?? [];
  const numbers = tokens.filter(t => /^\d/.test(t));
  const words = tokens.filter(t => /^[a-z]/.test(t));
  const unknown = words.filter(w => !MONTH_WORDS.has(w) && !WEEKDAY_WORDS.has(w) &&
                                    !FILLER_WORDS.has(w));
  if (unknown.length > 0) {
    return `the input has words no supported format uses: ${unknown.slice(0, 3).join(', ')}`;
  }
  const months = words.filter(w => MONTH_WORDS.has(w)).map(w => MONTH_WORDS.get(w)!);
  const weekdays = words.filter(w => WEEKDAY_WORDS.has(w)).map(w => WEEKDAY_WORDS.get(w)!);
  if (months.length > 1 || weekdays.length > 1) {
    return `the input names ${months.length > 1 ? 'more than one month' : 'more than one weekday'}`;
  }
  if (months.length === 1 && months[0] !== day.month) {
    return `the input's month ${MONTHS[months[0]! - 1]} is not the answer's (${iso(day)})`;
  }
  if (weekdays.length === 1 && weekdays[0] !== weekday(day)) {
    return `${iso(day)} is a ${WEEKDAYS[weekday(day)]}, not a ${WEEKDAYS[weekdays[0]!]}`;
  }
  for (const n of numbers) {
    if (n.length === 4 && (Number(n) < FIRST_YEAR || Number(n) > LAST_YEAR)) {
      return `the year ${n} is outside the supported ${FIRST_YEAR}–${LAST_YEAR}`;
    }
  }
  if (numbers.length === 0) {
    return 'the input has no numbers: no day and no year';
  }
  if (numbers.length === 1 && months.length === 0) {
    const compact = [`${day.year}${pad2(day.month)}${pad2(day.day)}`,
                     `${pad2(day.month)}${pad2(day.day)}${pad2(day.year % 100)}`];
    return compact.includes(numbers[0]!) ? null :
        `the input's number ${numbers[0]} is not ${iso(day)} written without separators`;
  }
  // Each number must be one of the roles, each role used once.
  const roles: Array<(n: string) => boolean> = [
    n => n === String(day.year) || n === pad2(day.year % 100),
    n => n.length <= 2 && Number(n) === day.day,
  ];
  if (months.length === 0) {
    roles.push(n => n.length <= 2 && Number(n) === day.month);
  }
  const needed = months.length === 0 ? 'year, month and day' : 'year and day';
  if (numbers.length !== roles.length || !assignable(numbers, roles)) {
    return `the input's numbers (${numbers.join(', ')}) are not the ${needed} of ${iso(day)}`;
  }
  return null;
}

/** Can every number take a different role? (At most 3 of each: tries every order.) */
function assignable(numbers: string[], roles: Array<(n: string) => boolean>): boolean {
  const tryFrom = (i: number, used: boolean[]): boolean => i === numbers.length ||
      roles.some((role, r) => !used[r] && role(numbers[i]!) &&
                              tryFrom(i + 1, used.map((u, k) => u || k === r)));
  return tryFrom(0, roles.map(() => false));
}

/**
 * Assesses decoded translations of `inputs` (checks 2–4; check 1 is {@link assessInputs}'s).
 * `decoded` must be `decode(model, vocab, inputs)`.
 */
export function assessDecoded(inputs: string[], decoded: Decoded,
                              calibration: Calibration): Assessment[] {
  const confidences = sequenceConfidences(decoded, calibration.temperature);
  return inputs.map((input, i) => {
    const output = decoded.texts[i]!;
    const confidence = confidences[i]!;
    const day = readIso(output);
    const reason = outputProblem(output) ?? disagreement(input, day!) ??
        (confidence < calibration.threshold ?
             `the model is unsure: confidence ${confidence.toFixed(2)} is below ${
                 calibration.threshold.toFixed(2)} (its guess: ${output})` : null);
    return {input, output: reason == null ? output : null, confidence, flagged: reason != null,
            reason: reason != null && !reason.includes('guess') && day != null ?
                `${reason} (the model's guess: ${output})` : reason,
            guess: output};
  });
}

/**
 * Translates and assesses every input: one that the model cannot read (check 1) gets
 * confidence 0 and its problem; the others are decoded in one batch by `decodeTexts`.
 */
export function assessInputs(inputs: string[], vocab: Vocab,
                             decodeTexts: (texts: string[]) => Decoded,
                             calibration: Calibration): Assessment[] {
  const problems = inputs.map(t => vocab.problem(t));
  const readable = inputs.filter((_, i) => problems[i] == null);
  const assessed = readable.length === 0 ? [] :
      assessDecoded(readable, decodeTexts(readable), calibration);
  let k = 0;
  return inputs.map((input, i) => problems[i] == null ? assessed[k++]! :
      {input, output: null, confidence: 0, flagged: true, reason: problems[i]!, guess: null});
}
