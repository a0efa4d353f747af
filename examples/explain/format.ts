/**
 * Text form of an {@link Explanation}: each matrix under a one-line caption, with its labels on
 * rows and columns and its numbers aligned on the decimal point.
 */
import {ExplainedMatrix, Explanation, formatNumber} from './explain';

/** Options of {@link formatExplanation}. */
export interface FormatOptions {
  /** Decimals printed per number. Default 3. */
  digits?: number|undefined;
  /** Matrices with more rows or columns than this are summarised, not printed. Default 16. */
  maxSize?: number|undefined;
}

const STEP_TITLES: Record<number, string> = {
  1: 'Token embeddings',
  2: 'Queries, keys and values',
  3: 'Attention scores',
  4: 'Scaling by √dk',
  5: 'Softmax',
  6: 'Weighted sum of values',
  7: 'Merging the heads',
};

/** The whole walk-through as printed by `npm run explain`. */
export function formatExplanation(e: Explanation, options: FormatOptions = {}): string {
  const digits = options.digits ?? 3;
  const maxSize = options.maxSize ?? 16;
  const heads = e.numHeads === 1 ? '1 head' : `${e.numHeads} heads`;
  const lines: string[] = [
    `Self-attention on ${e.tokens.length} tokens: ${e.tokens.join(' ')}`,
    `embedding size ${e.embeddingDim}, ${heads}, dk = ${e.keyDim}, W_q/W_k/W_v: ${
        e.weightsSource}${e.causal ? ', causal' : ''}`,
  ];
  // Identical kernels (the identity by default) are printed once.
  const byName = new Map(e.matrices.map(m => [m.name, m]));
  const sameKernels = ['W_k', 'W_v'].every(
      n => JSON.stringify(byName.get(n)?.values) === JSON.stringify(byName.get('W_q')?.values));
  let step = 0;
  for (const original of e.matrices) {
    if (sameKernels && (original.name === 'W_k' || original.name === 'W_v')) {
      continue;
    }
    const m = sameKernels && original.name === 'W_q' ?
        {...original, caption: `W_q = W_k = W_v: the layer's query, key and value kernels (${
            e.weightsSource}), all equal`} : original;
    if (m.step !== step) {
      step = m.step;
      lines.push('', `== Step ${step}: ${STEP_TITLES[step]} ==`);
      if (step === 4) {
        lines.push(`dk = ${e.keyDim}, √dk = ${formatNumber(e.divisor)}: every score is divided by ${
            formatNumber(e.divisor)} (multiplied by ${formatNumber(e.scale)})`);
      }
    }
    lines.push('', m.caption);
    if (m.values.length > maxSize || (m.values[0]?.length ?? 0) > maxSize) {
      lines.push(`  (${m.values.length} × ${m.values[0]?.length ?? 0}: not printed, see --json)`);
      continue;
    }
    lines.push(...formatMatrix(m, digits, m.name === 'weights'));
  }
  lines.push('', `Check: the layer's own apply() on the embeddings gives the last matrix above ` +
                 `(max |difference| = ${e.maxAbsDiffFromLayer.toExponential(1)}).`);
  return lines.join('\n') + '\n';
}

/**
 * Rows of text: a header of column labels, then one row per label with the numbers right-aligned
 * under their column; `withSums` adds a column with each row's sum.
 */
export function formatMatrix(m: ExplainedMatrix, digits: number, withSums = false): string[] {
  const columns = withSums ? [...m.columnLabels, 'row sum'] : m.columnLabels;
  const rows = m.values.map(row => {
    const cells = row.map(v => v.toFixed(digits));
    return withSums ? [...cells, row.reduce((a, b) => a + b, 0).toFixed(digits)] : cells;
  });
  const labelWidth = Math.max(...m.rowLabels.map(l => l.length));
  const widths = columns.map((c, j) => Math.max(c.length, ...rows.map(r => r[j]!.length)));
  const line = (label: string, cells: string[]) =>
      '  ' + label.padEnd(labelWidth) + cells.map((c, j) => '  ' + c.padStart(widths[j]!)).join('');
  return [line('', columns), ...rows.map((r, i) => line(m.rowLabels[i]!, r))];
}
