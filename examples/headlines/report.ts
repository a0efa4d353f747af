/** Scores of predicted headlines against the exact ones: exact match and ROUGE-1 F1. */
import {Sample, wordCount} from './grammar';

/**
 * Unigram-overlap F1 (ROUGE-1) of two word lists: overlap counts each word at most as often as
 * it appears in both; 1 when both are empty.
 */
export function rouge1F1(predicted: string[], reference: string[]): number {
  if (predicted.length === 0 && reference.length === 0) {
    return 1;
  }
  const counts = new Map<string, number>();
  for (const w of reference) {
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  let overlap = 0;
  for (const w of predicted) {
    const left = counts.get(w) ?? 0;
    if (left > 0) {
      overlap++;
      counts.set(w, left - 1);
    }
  }
  if (overlap === 0) {
    return 0;
  }
  const precision = overlap / predicted.length;
  const recall = overlap / reference.length;
  return 2 * precision * recall / (precision + recall);
}

/** Exact match and mean ROUGE-1 F1 of a group of examples. */
export interface Score {
  count: number;
  exactMatch: number;
  rouge1: number;
}

/** Word-count ranges of the by-length report. */
export const LENGTH_BUCKETS: Array<[number, number]> = [[8, 15], [16, 23], [24, 31], [32, 40]];

/** Overall and by-input-length scores of `predicted[i]` against `samples[i].headline`. */
export function score(samples: Sample[], predicted: string[][]):
    {overall: Score, byLength: Array<{words: string} & Score>} {
  const exact = samples.map((s, i) => predicted[i]!.join(' ') === s.headline.join(' '));
  const rouge = samples.map((s, i) => rouge1F1(predicted[i]!, s.headline));
  const summarise = (indices: number[]): Score => ({
    count: indices.length,
    exactMatch: indices.filter(i => exact[i]).length / Math.max(1, indices.length),
    rouge1: indices.reduce((sum, i) => sum + rouge[i]!, 0) / Math.max(1, indices.length),
  });
  const byLength = LENGTH_BUCKETS.map(([lo, hi]) => ({
    words: `${lo}–${hi}`,
    ...summarise(samples.map((s, i) => [wordCount(s.input), i] as const)
                     .filter(([n]) => n >= lo && n <= hi).map(([, i]) => i)),
  }));
  return {overall: summarise(samples.map((_, i) => i)), byLength};
}

export function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** The scores as a small Markdown table. */
export function formatScore(result: ReturnType<typeof score>): string {
  const row = (name: string, s: Score) =>
      `| ${name} | ${s.count} | ${percent(s.exactMatch)} | ${s.rouge1.toFixed(4)} |`;
  return ['| input words | examples | exact match | ROUGE-1 F1 |', '| --- | --- | --- | --- |',
          ...result.byLength.map(b => row(b.words, b)), row('all', result.overall)].join('\n');
}
