/**
 * Draws validation exact match against training time for every model in compare.json, as an
 * SVG (no dependencies).
 *
 *   npm run chart:dates   (reads examples/dates/results/compare.json → compare.svg)
 */
import * as fs from 'fs';
import * as path from 'path';

import {Command, runCommand} from '../shared/cli';

interface Curve {
  name: string;
  curve: Array<{trainSeconds: number, validationAccuracy: number}>;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd'];

/**
 * The chart: one line per entry, validation exact match (0–100%) against training seconds;
 * `examples` says what the validation set is, in the title.
 */
export function chartSvg(entries: Curve[], budgetSeconds: number, clock = 'cpu',
                         examples = ''): string {
  const W = 640, H = 400, left = 60, right = 20, top = 30, bottom = 50;
  const maxT = Math.max(budgetSeconds, ...entries.flatMap(e => e.curve.map(p => p.trainSeconds)));
  const x = (t: number) => left + (t / maxT) * (W - left - right);
  const y = (a: number) => top + (1 - a) * (H - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
        `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">` +
        `Validation exact match${examples === '' ? '' : ` (${escape(examples)})`} ` +
        `against training time</text>`,
  ];
  for (let a = 0; a <= 1.0001; a += 0.2) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(a)}" y2="${y(a)}" stroke="#ddd"/>`,
               `<text x="${left - 6}" y="${y(a) + 4}" text-anchor="end">${
                   Math.round(a * 100)}%</text>`);
  }
  const step = maxT > 1600 ? 300 : maxT > 400 ? 120 : 60;
  for (let t = 0; t <= maxT; t += step) {
    parts.push(`<text x="${x(t)}" y="${H - bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 12}" text-anchor="middle">` +
                 `seconds of training (${clock === 'cpu' ? 'CPU time' : 'wall clock'}, ` +
                 `scoring excluded)</text>`,
             `<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="#333"/>`,
             `<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" ` +
                 `stroke="#333"/>`);
  // The legend sits in the middle on the right, where the curves have long flattened out.
  const legendX = W - right - 330;
  const legendY = top + (H - top - bottom) * 0.45;
  parts.push(`<rect x="${legendX - 6}" y="${legendY - 6}" width="336" height="${
      entries.length * 18 + 8}" fill="white" fill-opacity="0.85"/>`);
  entries.forEach((e, i) => {
    const color = COLORS[i % COLORS.length];
    const points = e.curve.map(p => `${x(p.trainSeconds).toFixed(1)},${
        y(p.validationAccuracy).toFixed(1)}`).join(' ');
    const last = e.curve[e.curve.length - 1]!;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`,
               `<rect x="${legendX}" y="${legendY + i * 18}" width="12" height="12" ` +
                   `fill="${color}"/>`,
               `<text x="${legendX + 18}" y="${legendY + 10 + i * 18}">${escape(e.name)}: ${
                   (100 * last.validationAccuracy).toFixed(2)}%</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reads compare.json, writes the SVG. */
export function writeChart(jsonPath: string, svgPath: string): void {
  const info = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const examples = info.curveExamples != null ?
      `${Number(info.curveExamples).toLocaleString('en')} held-out examples` : '';
  fs.writeFileSync(svgPath, chartSvg(info.entries, info.budgetSeconds,
                                     info.clock ?? info.entries[0]?.clock ?? 'cpu', examples));
}

export const CHART_COMMAND = {
  name: 'npm run chart:dates --',
  summary: 'Redraws compare.svg from compare.json (written by npm run compare:dates).',
  options: {dir: {default: 'examples/dates/results', help: 'folder of compare.json'}},
} satisfies Command;

if (require.main === module) {
  runCommand(CHART_COMMAND, ({options}) => {
    writeChart(path.join(options.dir, 'compare.json'), path.join(options.dir, 'compare.svg'));
    console.log(`Wrote ${path.join(options.dir, 'compare.svg')}`);
  });
}
