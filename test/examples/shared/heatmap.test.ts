/**
 * Heatmaps of attention weights: the SVG has one labelled cell per weight coloured by its value,
 * the PNG (resvg) shows those colours at those places, and files are written one per head.
 */
import {Resvg} from '@resvg/resvg-js';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {colourAt, headHeatmaps, heatmapSvg, writeHeatmap, writeHeatmaps} from '../../../examples/shared/heatmap';

const dirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heatmap-test-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach(d => fs.rmSync(d, {recursive: true, force: true})));

interface Cell {x: number; y: number; size: number; fill: string; title: string}

/** The cells of a heatmap SVG: each is a rect with a <title> "row → column: value". */
function cells(svg: string): Cell[] {
  return [...svg.matchAll(
      /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="(#[0-9a-f]{6})"[^>]*><title>([^<]*)<\/title>/g)]
      .map(m => ({x: Number(m[1]), y: Number(m[2]), size: Number(m[3]), fill: m[4]!, title: m[5]!}));
}

function hex(r: number, g: number, b: number): string {
  return '#' + [r, g, b].map(c => c.toString(16).padStart(2, '0')).join('');
}

const data = {
  values: [[0.7, 0.2, 0.1], [0.05, 0.9, 0.05], [0, 0.5, 0.5]],
  rowLabels: ['the', 'cat', 'sat'],
  columnLabels: ['the', 'c<a>t', ' '],
  title: 'weights & more',
};

describe('heatmapSvg', () => {
  it('draws one cell per value, coloured on the scale, with escaped, visible labels', () => {
    const svg = heatmapSvg(data);
    const found = cells(svg);
    expect(found).toHaveLength(9);
    expect(found[0]!.title).toBe('the → the: 0.7000');
    expect(found[1]!.title).toBe('the → c&lt;a&gt;t: 0.2000');
    expect(found[2]!.title).toBe('the → ␣: 0.1000');
    // Default range [0, max]: the max is the top colour, 0 the bottom one.
    expect(found[4]!.fill).toBe('#fde725');
    expect(found[6]!.fill).toBe('#440154');
    expect(found[0]!.fill).toBe(colourAt(0.7 / 0.9));
    expect(svg).toContain('>weights &amp; more</text>');
    expect(svg).toContain('>0.90</text>');  // top of the colour scale
    expect(svg).toContain('>0.70</text>');  // value written in its cell
    // Cells tile a grid without gaps or overlap.
    const size = found[0]!.size;
    found.forEach((c, k) => {
      expect(c.x - found[0]!.x).toBeCloseTo((k % 3) * size);
      expect(c.y - found[0]!.y).toBeCloseTo(Math.floor(k / 3) * size);
    });
  });

  it('scales colours to the given range and turns long column labels upright', () => {
    const svg = heatmapSvg({...data, columnLabels: ['internationalization', 'b', 'c']}, {range: [0, 1]});
    expect(cells(svg)[4]!.fill).toBe(colourAt(0.9));
    expect(svg).toMatch(/transform="rotate\(-90 [\d.]+ [\d.]+\)">internationalization</);
  });

  it('maps the scale ends and the middle to viridis', () => {
    expect([colourAt(0), colourAt(0.5), colourAt(1), colourAt(-3), colourAt(NaN)])
        .toEqual(['#440154', '#21918c', '#fde725', '#440154', '#440154']);
  });

  it('rejects values and labels that do not match', () => {
    expect(() => heatmapSvg({...data, rowLabels: ['a']})).toThrow(
        /rowLabels must have one label per row \(3\). Received: 1 row labels/);
    expect(() => heatmapSvg({...data, columnLabels: ['a', 'b']})).toThrow(
        /one value per column label \(2\). Received: row 0 with 3 values/);
    expect(() => heatmapSvg({...data, values: []})).toThrow(/values must be a non-empty matrix/);
  });
});

describe('PNG and files', () => {
  it('renders the PNG with each cell in its colour (not blank)', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'map.png');
    writeHeatmap(file, data, {pngScale: 1});
    const png = fs.readFileSync(file);
    expect([...png.subarray(1, 4)].map(c => String.fromCharCode(c)).join('')).toBe('PNG');
    const svg = heatmapSvg(data);
    expect(png.readUInt32BE(16)).toBe(Number(/width="(\d+)"/.exec(svg)![1]));

    const image = new Resvg(svg, {font: {loadSystemFonts: true}}).render();
    const pixels = image.pixels;  // a getter that copies: read once
    const pixel = (x: number, y: number) => {
      const i = (Math.round(y) * image.width + Math.round(x)) * 4;
      return hex(pixels[i]!, pixels[i + 1]!, pixels[i + 2]!);
    };
    // A point near each cell's corner (away from the number written in it) has the cell's colour.
    for (const c of cells(svg)) {
      expect(pixel(c.x + 3, c.y + 3)).toBe(c.fill);
    }
    const colours = new Set<string>();
    for (let i = 0; i < pixels.length; i += 4) {
      colours.add(hex(pixels[i]!, pixels[i + 1]!, pixels[i + 2]!));
    }
    expect(colours.size).toBeGreaterThan(20);  // cells, text, scale: far from blank
  });

  it('writes one file per layer and head, named after them', () => {
    const dir = path.join(tmpDir(), 'maps');
    const weights = [[[[0.5, 0.5], [1, 0]], [[0, 1], [0.25, 0.75]]]];  // [batch, heads, rows, cols]
    const maps = headHeatmaps(weights, ['x', 'y'], ['a', 'b'], {prefix: 'layer 1', title: 'Layer 1'});
    expect(maps.map(m => [m.name, m.title])).toEqual(
        [['layer 1-head1', 'Layer 1 – head 1 of 2'], ['layer 1-head2', 'Layer 1 – head 2 of 2']]);
    const files = writeHeatmaps(dir, maps);
    expect(files.map(f => path.basename(f))).toEqual(['layer_1-head1.svg', 'layer_1-head2.svg']);
    expect(cells(fs.readFileSync(files[1]!, 'utf8')).map(c => c.title))
        .toEqual(['x → a: 0.0000', 'x → b: 1.0000', 'y → a: 0.2500', 'y → b: 0.7500']);
    expect(() => writeHeatmaps(dir, [maps[0]!, maps[0]!])).toThrow(/names must be unique/);
    expect(() => writeHeatmaps(dir, maps, 'jpg' as 'svg')).toThrow(/format must be 'svg' or 'png'. Received: format="jpg"/);
    expect(() => headHeatmaps(weights, ['x', 'y'], ['a', 'b'], {batchIndex: 3})).toThrow(/batchIndex/);
  });
});
