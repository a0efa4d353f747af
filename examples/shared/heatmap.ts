/**
 * Attention weights as labelled heatmaps: SVG text with no dependencies, PNG through resvg
 * (prebuilt binaries from npm, no browser). Used by `npm run explain -- --heatmap` and meant for
 * every example that shows attention (one file per layer and head with {@link writeHeatmaps}).
 */
import * as fs from 'fs';
import * as path from 'path';

/** One heatmap: `values[row][column]` with a label per row and column. */
export interface HeatmapData {
  /** Row-major numbers, every row as long as `columnLabels`. */
  values: number[][];
  /** One label per row (e.g. query tokens, output characters). */
  rowLabels: string[];
  /** One label per column (e.g. key tokens, input characters). */
  columnLabels: string[];
  /** Line above the map. Default none. */
  title?: string|undefined;
  /** What the rows are, written along the left side. Default 'query'. */
  rowAxis?: string|undefined;
  /** What the columns are, written above the column labels. Default 'key'. */
  columnAxis?: string|undefined;
}

/** A heatmap with a file name (without extension), for {@link writeHeatmaps}. */
export interface NamedHeatmap extends HeatmapData {
  /** File name without extension; characters other than letters, digits, `.`, `_`, `-` become `_`. */
  name: string;
}

/** Drawing options. */
export interface HeatmapOptions {
  /** Side of one cell in px. Default: 48 for small maps, down to 14 for large ones. */
  cellSize?: number;
  /** Values mapped to the ends of the colour scale. Default [0, max] for non-negative values, else [min, max]. */
  range?: [number, number];
  /** Write each value in its cell. Default: when cells are at least 34 px. */
  showValues?: boolean;
  /** Decimals of the numbers in cells and on the scale. Default 2. */
  digits?: number;
  /** Font size of labels in px. Default 13. */
  fontSize?: number;
  /** PNG only: pixels per SVG unit. Default 2. */
  pngScale?: number;
}

/** Viridis (perceptually uniform, readable in grey and by colour-blind readers), 11 stops. */
const VIRIDIS = ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884',
                 '#44bf70', '#7ad151', '#bddf26', '#fde725'];
const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';

/** The colour of `t` in [0, 1] on the viridis scale, as `#rrggbb`. */
export function colourAt(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const [a, b] = [rgb(VIRIDIS[i]!), rgb(VIRIDIS[i + 1]!)];
  const f = x - i;
  return '#' + a.map((c, k) => Math.round(c + (b[k]! - c) * f).toString(16).padStart(2, '0')).join('');
}

/** The heatmap as a standalone SVG document. */
export function heatmapSvg(data: HeatmapData, options: HeatmapOptions = {}): string {
  checkData(data);
  const rows = data.values.length;
  const cols = data.columnLabels.length;
  const fontSize = options.fontSize ?? 13;
  const digits = options.digits ?? 2;
  const cell = options.cellSize ?? Math.max(fontSize + 3, Math.min(48, Math.floor(640 / Math.max(rows, cols))));
  const showValues = options.showValues ?? cell >= 34;
  const [lo, hi] = options.range ?? defaultRange(data.values);
  const span = hi - lo || 1;
  const rowLabels = data.rowLabels.map(displayLabel);
  const colLabels = data.columnLabels.map(displayLabel);
  const textWidth = (s: string, size = fontSize) => s.length * size * 0.62;

  const margin = 12;
  const titleH = data.title ? fontSize + 12 : 0;
  const axisH = fontSize + 8;  // one line of axis name
  const colLabelW = Math.max(...colLabels.map(l => textWidth(l)));
  const rotate = colLabelW > cell - 4;
  const colLabelH = rotate ? colLabelW + 8 : fontSize + 8;
  const rowLabelW = Math.max(...rowLabels.map(l => textWidth(l))) + 8;
  const gridX = margin + axisH + rowLabelW;
  const gridY = margin + titleH + axisH + colLabelH;
  const gridW = cols * cell;
  const gridH = rows * cell;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map(t => lo + t * span);
  const tickText = ticks.map(v => v.toFixed(digits));
  const barX = gridX + gridW + 18;
  const barH = Math.max(gridH, 120);
  const barW = 14;
  const width = Math.ceil(Math.max(barX + barW + 6 + Math.max(...tickText.map(t => textWidth(t, fontSize - 2))) + margin,
                                   margin * 2 + textWidth(data.title ?? '', fontSize + 1)));
  const height = Math.ceil(gridY + Math.max(gridH, barH) + margin);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
           `viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="${fontSize}">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<defs><linearGradient id="scale" x1="0" y1="1" x2="0" y2="0">${
      VIRIDIS.map((c, i) => `<stop offset="${(i / (VIRIDIS.length - 1)).toFixed(2)}" stop-color="${c}"/>`).join('')
  }</linearGradient></defs>`);
  if (data.title) {
    out.push(`<text x="${margin}" y="${margin + fontSize}" font-size="${fontSize + 1}" ` +
             `font-weight="bold">${escapeXml(data.title)}</text>`);
  }
  // Axis names.
  out.push(`<text x="${gridX + gridW / 2}" y="${margin + titleH + fontSize}" text-anchor="middle" ` +
           `fill="#444444">${escapeXml(data.columnAxis ?? 'key')} →</text>`);
  const rowAxisX = margin + fontSize;
  const rowAxisY = gridY + gridH / 2;
  out.push(`<text x="${rowAxisX}" y="${rowAxisY}" text-anchor="middle" fill="#444444" ` +
           `transform="rotate(-90 ${rowAxisX} ${rowAxisY})">${escapeXml(data.rowAxis ?? 'query')} →</text>`);
  // Column labels: horizontal when they fit in a cell, else vertical (reading upwards).
  colLabels.forEach((label, j) => {
    const x = gridX + (j + 0.5) * cell;
    if (rotate) {
      const y = gridY - 6;
      const xb = x + fontSize * 0.35;
      out.push(`<text x="${xb}" y="${y}" transform="rotate(-90 ${xb} ${y})">${escapeXml(label)}</text>`);
    } else {
      out.push(`<text x="${x}" y="${gridY - 6}" text-anchor="middle">${escapeXml(label)}</text>`);
    }
  });
  // Row labels, right-aligned against the grid.
  rowLabels.forEach((label, i) => {
    out.push(`<text x="${gridX - 6}" y="${gridY + (i + 0.5) * cell + fontSize * 0.35}" ` +
             `text-anchor="end">${escapeXml(label)}</text>`);
  });
  // Cells.
  data.values.forEach((row, i) => row.forEach((v, j) => {
    const t = (v - lo) / span;
    const x = gridX + j * cell;
    const y = gridY + i * cell;
    out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${colourAt(t)}" ` +
             `stroke="#ffffff" stroke-width="0.5"><title>${escapeXml(`${rowLabels[i]} → ${
                 colLabels[j]}: ${v.toFixed(4)}`)}</title></rect>`);
    if (showValues) {
      out.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + (fontSize - 2) * 0.35}" ` +
               `text-anchor="middle" font-size="${fontSize - 2}" fill="${t < 0.6 ? '#ffffff' : '#000000'}">${
                   v.toFixed(digits)}</text>`);
    }
  }));
  // Colour scale with its values.
  const barY = gridY;
  out.push(`<rect x="${barX}" y="${barY}" width="${barW}" height="${barH}" fill="url(#scale)" ` +
           `stroke="#888888" stroke-width="0.5"/>`);
  ticks.forEach((_, k) => {
    const y = barY + barH * (1 - k / (ticks.length - 1));
    out.push(`<line x1="${barX + barW}" y1="${y}" x2="${barX + barW + 3}" y2="${y}" stroke="#444444"/>`);
    out.push(`<text x="${barX + barW + 6}" y="${y + (fontSize - 2) * 0.35}" font-size="${fontSize - 2}">${
        tickText[k]}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Renders an SVG document to PNG bytes with resvg (system fonts, white background). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  // Loaded on first use, so SVG output works without the optional PNG renderer.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, loaded on first use
  const {Resvg} = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const renderer = new Resvg(svg, {
    fitTo: {mode: 'zoom', value: scale},
    background: '#ffffff',
    font: {loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans'},
  });
  return renderer.render().asPng();
}

/** Writes one heatmap; the format follows the extension of `file` (`.svg` or `.png`). */
export function writeHeatmap(file: string, data: HeatmapData, options: HeatmapOptions = {}): void {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') {
    throw new Error(`heatmap file must end in .svg or .png. Received: ${JSON.stringify(file)}`);
  }
  const svg = heatmapSvg(data, options);
  fs.mkdirSync(path.dirname(path.resolve(file)), {recursive: true});
  fs.writeFileSync(file, ext === '.svg' ? svg : svgToPng(svg, options.pngScale ?? 2));
}

/**
 * Writes one file per heatmap into `dir` (created if needed), as `<name>.<format>`; returns the
 * paths in order. Typical use: one map per layer and head, from {@link headHeatmaps}.
 */
export function writeHeatmaps(dir: string, maps: NamedHeatmap[], format: 'svg'|'png' = 'svg',
                              options: HeatmapOptions = {}): string[] {
  if (format !== 'svg' && format !== 'png') {
    throw new Error(`format must be 'svg' or 'png'. Received: format=${JSON.stringify(format)}`);
  }
  const names = maps.map(m => m.name.replace(/[^A-Za-z0-9._-]/g, '_'));
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated != null) {
    throw new Error(`heatmap names must be unique. Received: name ${JSON.stringify(repeated)} twice`);
  }
  fs.mkdirSync(dir, {recursive: true});
  return maps.map((m, i) => {
    const file = path.join(dir, `${names[i]}.${format}`);
    writeHeatmap(file, m, options);
    return file;
  });
}

/**
 * One heatmap per head from attention weights `[heads, rows, cols]` (or `[batch, heads, rows, cols]`,
 * of which `batchIndex` is used), as `SelfAttention` returns them (`await weights.array()`), named
 * `<prefix>-head<h>` and titled `<title> – head h of H`.
 */
export function headHeatmaps(weights: number[][][]|number[][][][], rowLabels: string[],
                             columnLabels: string[],
                             {prefix = 'attention', title = prefix, rowAxis, columnAxis, batchIndex = 0}:
                                 {prefix?: string, title?: string, rowAxis?: string, columnAxis?: string,
                                  batchIndex?: number} = {}): NamedHeatmap[] {
  const isBatched = Array.isArray(weights[0]?.[0]?.[0]);
  const heads = (isBatched ? (weights as number[][][][])[batchIndex] : weights as number[][][]);
  if (heads == null) {
    throw new Error(`batchIndex must index the batch of ${weights.length}. Received: batchIndex=${batchIndex}`);
  }
  return heads.map((values, h) => ({
    name: `${prefix}-head${h + 1}`,
    title: heads.length > 1 ? `${title} – head ${h + 1} of ${heads.length}` : title,
    values, rowLabels, columnLabels, rowAxis, columnAxis,
  }));
}

function checkData(data: HeatmapData): void {
  const {values, rowLabels, columnLabels} = data;
  if (!Array.isArray(values) || values.length === 0 || !Array.isArray(values[0]) || values[0].length === 0) {
    throw new Error(`values must be a non-empty matrix (rows of numbers). Received: values=${
        JSON.stringify(values)?.slice(0, 80)}`);
  }
  if (rowLabels.length !== values.length) {
    throw new Error(`rowLabels must have one label per row (${values.length}). Received: ${
        rowLabels.length} row labels`);
  }
  values.forEach((row, i) => {
    if (row.length !== columnLabels.length) {
      throw new Error(`every row must have one value per column label (${columnLabels.length}). ` +
                      `Received: row ${i} with ${row.length} values`);
    }
  });
}

function defaultRange(values: number[][]): [number, number] {
  const flat = values.flat().filter(Number.isFinite);
  const min = Math.min(...flat);
  const max = Math.max(...flat);
  return min >= 0 ? [0, max > 0 ? max : 1] : [min, max];
}

/** Makes blanks visible: '' → '∅', ' ' → '␣'. */
function displayLabel(label: string): string {
  return label === '' ? '∅' : label.replace(/ /g, '␣');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}
