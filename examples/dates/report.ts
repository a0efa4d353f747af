/**
 * Per-format exact-match accuracy on a set of examples, and a small text table of it.
 */
import * as tf from '@tensorflow/tfjs';

import {Example, FORMATS} from './data';
import {evaluate, EvaluateArgs} from './model';
import {Vocab} from './vocab';

export interface FormatReport {
  /** Exact match over every example. */
  overall: number;
  examples: number;
  /** Per format, in FORMATS order. */
  formats: Array<{name: string, example: string, accuracy: number, examples: number}>;
  /** A few wrong inputs with what the model should have said. */
  mistakes: Array<{input: string, expected: string}>;
}

export function formatReport(model: tf.LayersModel, vocab: Vocab, examples: Example[],
                             args: EvaluateArgs = {}): FormatReport {
  const right = evaluate(model, vocab, examples, args);
  const total = FORMATS.map(() => 0);
  const good = FORMATS.map(() => 0);
  const mistakes: FormatReport['mistakes'] = [];
  examples.forEach((e, i) => {
    total[e.format]!++;
    if (right[i]) {
      good[e.format]!++;
    } else if (mistakes.length < 20) {
      mistakes.push({input: e.input, expected: e.target});
    }
  });
  return {
    overall: right.filter(Boolean).length / examples.length,
    examples: examples.length,
    formats: FORMATS.map((f, i) => ({
      name: f.name,
      example: f.render({year: 2019, month: 1, day: 20}),
      accuracy: good[i]! / Math.max(1, total[i]!),
      examples: total[i]!,
    })),
    mistakes,
  };
}

export const percent = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;

/** The report as aligned text lines. */
export function reportLines(report: FormatReport): string[] {
  const width = Math.max(...report.formats.map(f => f.name.length));
  const lines = report.formats.map(
      f => `  ${f.name.padEnd(width)}  ${percent(f.accuracy).padStart(8)}  (${f.examples})`);
  lines.push(`  ${'all formats'.padEnd(width)}  ${percent(report.overall).padStart(8)}  (${
      report.examples})`);
  return lines;
}
