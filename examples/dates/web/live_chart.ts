/**
 * The training page's live chart: loss and exact match against training time, as SVG text (no
 * DOM, no dependencies), redrawn as points arrive.
 *
 *   lineChartSvg({loss: [[0, 3.2], [5, 1.1]], accuracy: [[5, 0.02]], validation: [[5, 0.01]]})
 */

/** Points `[seconds, value]` of each line. */
export interface LiveSeries {
  /** Mean training loss (per character), on a log scale on the left axis. */
  loss: Array<[number, number]>;
  /** Training batches' exact match, 0–1, on the right axis. */
  accuracy: Array<[number, number]>;
  /** Held-out validation exact match, 0–1, on the right axis. */
  validation: Array<[number, number]>;
}

const W = 560;
const H = 240;
const PAD = {left: 48, right: 48, top: 16, bottom: 36};

/** The chart; `title` goes above it. */
export function lineChartSvg(series: LiveSeries, title = ''): string {
  const all = [...series.loss, ...series.accuracy, ...series.validation];
  const tMax = Math.max(10, ...all.map(p => p[0]));
  const losses = series.loss.map(p => p[1]).filter(v => v > 0 && Number.isFinite(v));
  const lo = Math.log10(Math.max(1e-3, Math.min(0.01, ...losses)));
  const hi = Math.log10(Math.max(5, ...losses));
  const x = (t: number) => PAD.left + (t / tMax) * (W - PAD.left - PAD.right);
  const yLoss = (v: number) => PAD.top + (hi - Math.log10(Math.max(v, 1e-9))) / (hi - lo) *
      (H - PAD.top - PAD.bottom);
  const yAcc = (v: number) => PAD.top + (1 - v) * (H - PAD.top - PAD.bottom);
  const line = (points: Array<[number, number]>, y: (v: number) => number, colour: string,
                dashed = false) => points.length === 0 ? '' :
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${
          dashed ? ' stroke-dasharray="5 3"' : ''} points="${
          points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
        `font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (title !== '') {
    parts.push(`<text x="${W / 2}" y="12" text-anchor="middle">${escapeXml(title)}</text>`);
  }
  for (let a = 0; a <= 1.0001; a += 0.25) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yAcc(a)}" y2="${yAcc(a)}" ` +
                   `stroke="#eee"/>`,
               `<text x="${W - PAD.right + 4}" y="${yAcc(a) + 4}">${Math.round(a * 100)}%</text>`);
  }
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    parts.push(`<text x="${PAD.left - 4}" y="${yLoss(10 ** e) + 4}" text-anchor="end">${
        10 ** e}</text>`);
  }
  const step = tMax > 1200 ? 300 : tMax > 300 ? 60 : tMax > 60 ? 15 : 5;
  for (let t = 0; t <= tMax; t += step) {
    parts.push(`<text x="${x(t)}" y="${H - PAD.bottom + 14}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
      `<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">` +
          `seconds of training</text>`,
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" ` +
          `stroke="#333"/>`,
      line(series.loss, yLoss, '#d62728'),
      line(series.accuracy, yAcc, '#1f77b4', true),
      line(series.validation, yAcc, '#2ca02c'),
      `<text x="${PAD.left + 8}" y="${PAD.top + 12}" fill="#d62728">loss (log scale)</text>`,
      `<text x="${PAD.left + 8}" y="${PAD.top + 26}" fill="#1f77b4">training exact match</text>`,
      `<text x="${PAD.left + 8}" y="${PAD.top + 40}" fill="#2ca02c">held-out exact match</text>`,
      '</svg>');
  return parts.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
