/** A plain SVG bar chart of fwd+bwd GFLOP/s per case: (a) layer, (b) naive, (c) 2-D matMul. */

export interface ChartRow {
  label: string;
  a: number|null;
  b: number|null;
  c: number|null;
}

const COLORS = {a: '#1b7837', b: '#c51b7d', c: '#8c8c8c'};
const NAMES = {a: '(a) SelfAttention', b: '(b) naive', c: '(c) 2-D matMul, same FLOPs'};

export function chartSvg(rows: ChartRow[]): string {
  const barH = 7;
  const groupH = 3 * barH + 8;
  // Room for the longest label ('webgpu (Chromium) n=4096 h=8 d=256': ~6 px a character).
  const left = Math.max(200, 10 + 6 * Math.max(0, ...rows.map(r => r.label.length)));
  const width = left + 560;
  const plotW = width - left - 60;
  const top = 40;
  const height = top + rows.length * groupH + 30;
  const max = Math.max(1e-9, ...rows.flatMap(r => [r.a ?? 0, r.b ?? 0, r.c ?? 0]));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="16" font-size="13">Forward + backward GFLOP/s (higher is better)</text>`,
  ];
  (['a', 'b', 'c'] as const).forEach((k, i) => {
    parts.push(`<rect x="${left + i * 180}" y="24" width="10" height="10" fill="${COLORS[k]}"/>`,
               `<text x="${left + i * 180 + 14}" y="33">${NAMES[k]}</text>`);
  });
  rows.forEach((r, i) => {
    const y = top + i * groupH;
    parts.push(`<text x="${left - 6}" y="${y + 1.5 * barH + 4}" text-anchor="end">${esc(r.label)}</text>`);
    (['a', 'b', 'c'] as const).forEach((k, j) => {
      const v = r[k];
      const w = v == null ? 0 : Math.max(1, (v / max) * plotW);
      const by = y + j * barH;
      parts.push(`<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="${barH - 1}" fill="${COLORS[k]}"/>`,
                 `<text x="${left + w + 4}" y="${by + barH - 1}" font-size="8">${v == null ? 'skipped' : v.toFixed(1)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
