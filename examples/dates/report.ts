/**
 * Exact match per format and per variant family, and small text and markdown tables of it.
 */
import * as tf from '@tensorflow/tfjs';

import {Example, FAMILIES, Family, FORMATS, render} from './data';
import {evaluate, EvaluateArgs} from './model';
import {Vocab} from './vocab';

/** One row of a report. */
export interface ReportRow {
  name: string;
  /** An input of this row (a format's canonical form of 2019-01-20, or a family's description). */
  example: string;
  accuracy: number;
  examples: number;
}

export interface FormatReport {
  /** Exact match over every example. */
  overall: number;
  examples: number;
  /** Per format, in FORMATS order (canonical forms and variants together). */
  formats: ReportRow[];
  /** 'canonical' (no variant), then per family in FAMILIES order (variants using it). */
  families: ReportRow[];
  /** A few wrong inputs with what the model should have said. */
  mistakes: Array<{input: string, expected: string}>;
}

/** The report of `right[i]` (is example i right?) over `examples`. */
export function accuracyReport(examples: Example[], right: boolean[]): FormatReport {
  const row = (name: string, example: string, picked: number[]): ReportRow => ({
    name, example, examples: picked.length,
    accuracy: picked.filter(i => right[i]).length / Math.max(1, picked.length),
  });
  const indices = examples.map((_, i) => i);
  const sunday = {year: 2019, month: 1, day: 20};
  const mistakes: FormatReport['mistakes'] = [];
  examples.forEach((e, i) => {
    if (!right[i] && mistakes.length < 20) {
      mistakes.push({input: e.input, expected: e.target});
    }
  });
  return {
    overall: right.filter(Boolean).length / Math.max(1, examples.length),
    examples: examples.length,
    formats: FORMATS.map((f, k) => row(f.name, render(f, sunday),
                                       indices.filter(i => examples[i]!.format === k))),
    families: [
      row('canonical', 'the format as written', indices.filter(i => examples[i]!.families.length === 0)),
      ...FAMILIES.map((family: Family) => row(family, family, indices.filter(
          i => examples[i]!.families.includes(family)))),
    ],
    mistakes,
  };
}

/** Teacher-forced exact match (see `evaluate`) per format and family. */
export function formatReport(model: tf.LayersModel, vocab: Vocab, examples: Example[],
                             args: EvaluateArgs = {}): FormatReport {
  return accuracyReport(examples, evaluate(model, vocab, examples, args));
}

export const percent = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;

/** The report as aligned text lines: formats, then families. */
export function reportLines(report: FormatReport): string[] {
  const rows = [...report.formats, ...report.families];
  const width = Math.max(...rows.map(f => f.name.length), 'all formats'.length);
  const line = (f: ReportRow) =>
      `  ${f.name.padEnd(width)}  ${percent(f.accuracy).padStart(8)}  (${f.examples})`;
  return [
    ...report.formats.map(line),
    `  ${'all formats'.padEnd(width)}  ${percent(report.overall).padStart(8)}  (${
        report.examples})`,
    '  by variant family:',
    ...report.families.map(line),
  ];
}
