/**
 * `npm run translate -- --heatmap <dir> <date>`: one SVG per attention layer and head of the
 * committed date model, with one cell per (row, column) and the characters as labels; and the
 * probe's weights are real attention (rows sum to 1, causal rows see no later token) while its
 * logits equal the trained model's.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {attentionFor, attentionProbe, START_LABEL} from '../../../examples/dates/attention';
import {decode} from '../../../examples/dates/model';
import {loadModel} from '../../../examples/dates/model_files';
import {useBackend} from '../../../examples/shared/backend';

const ROOT = path.join(__dirname, '..', '..', '..');
const TEXT = 'Jan 20th 2019';

/** Label text of an SVG heatmap as the renderer writes it ('␣' for a space). */
const shown = (c: string) => c === ' ' ? '␣' : c;

/** Cells (rects with a tooltip), their tooltips, and every <text> of one heatmap SVG. */
function readSvg(file: string): {cells: string[], texts: string[]} {
  const svg = fs.readFileSync(file, 'utf8');
  const cells = [...svg.matchAll(/<rect [^>]*><title>([^<]*)<\/title><\/rect>/g)].map(m => m[1]!);
  const texts = [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map(m => m[1]!);
  return {cells, texts};
}

describe('translate --heatmap', () => {
  it('writes one SVG per layer and head with rows × columns cells and the characters as labels', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dates-heatmap-'));
    const r = spawnSync(process.execPath,
        [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--transpile-only',
         path.join(ROOT, 'examples', 'dates', 'translate.ts'), '--heatmap', dir, TEXT],
        {cwd: ROOT, encoding: 'utf8', timeout: 120000});
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Jan 20th 2019 → 2019-01-20 \(confidence [01]\.\d\d\)\n$/);
    expect(r.stderr).toBe(`16 heatmaps of "Jan 20th 2019" (4 layers × 4 heads) in ${dir}\n`);

    const layers: Record<string, {rows: string[], cols: string[]}> = {
      encoder_0_attention: {rows: [...TEXT], cols: [...TEXT]},
      encoder_1_attention: {rows: [...TEXT], cols: [...TEXT]},
      decoder_0_self_attention: {rows: [...'2019-01-20'], cols: [START_LABEL, ...'2019-01-2']},
      decoder_0_cross_attention: {rows: [...'2019-01-20'], cols: [...TEXT]},
    };
    const expectedFiles = Object.keys(layers).flatMap(l => [1, 2, 3, 4].map(h => `${l}-head${h}.svg`));
    expect(fs.readdirSync(dir).sort()).toEqual(expectedFiles.sort());
    for (const [layer, {rows, cols}] of Object.entries(layers)) {
      for (const h of [1, 2, 3, 4]) {
        const {cells, texts} = readSvg(path.join(dir, `${layer}-head${h}.svg`));
        expect(cells).toHaveLength(rows.length * cols.length);
        // Cell (i, j) is titled "<row label> → <column label>: <weight>", row by row.
        const labels = cells.map(c => c.replace(/: [-0-9.e]+$/, ''));
        expect(labels).toEqual(rows.flatMap(rl => cols.map(cl => `${shown(rl)} → ${shown(cl)}`)));
        for (const label of [...rows, ...cols]) {
          expect(texts).toContain(shown(label));
        }
        expect(texts.some(t => t.includes(layer) && t.includes(`head ${h} of 4`))).toBe(true);
      }
    }
  });
});

describe('attention probe', () => {
  it('gives the trained model\'s logits and real attention weights, without leaking tensors', async () => {
    expect(await useBackend('wasm')).toBe('wasm');
    const {model, vocab} = await loadModel(path.join(ROOT, 'models', 'dates'));
    const probe = await attentionProbe(model);
    expect(probe.layers.map(l => l.name)).toEqual(['encoder_0_attention', 'encoder_1_attention',
                                                   'decoder_0_self_attention', 'decoder_0_cross_attention']);
    const enc = vocab.encodeInputs([TEXT]);
    const dec = vocab.encodeTargets(['2019-01-20']);
    const inputs = [tf.tensor2d(enc.ids, [1, enc.length], 'int32'), tf.tensor2d(enc.mask, [1, enc.length]),
                    tf.tensor2d(enc.fromEnd, [1, enc.length], 'int32'), tf.tensor2d(dec.decoderIds, [1, 10], 'int32')];
    const expected = tf.tidy(() => Array.from((model.predict(inputs) as tf.Tensor).dataSync()));
    const actual = tf.tidy(() => Array.from((probe.model.apply(inputs, {training: true}) as tf.Tensor[])[0]!.dataSync()));
    expect(Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)))).toBeLessThan(1e-5);
    tf.dispose(inputs);

    const ids = decode(model, vocab, [TEXT]).ids;
    const before = tf.memory().numTensors;
    const {output, maps} = attentionFor(probe, vocab, TEXT, ids);
    expect(tf.memory().numTensors).toBe(before);
    expect(output).toBe('2019-01-20');
    for (const m of maps) {
      expect(m.weights).toHaveLength(4);
      for (const head of m.weights) {
        expect(head).toHaveLength(m.rowLabels.length);
        head.forEach((row, i) => {
          expect(row).toHaveLength(m.columnLabels.length);
          expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
          if (m.kind.includes('causal')) {
            expect(Math.max(0, ...row.slice(i + 1))).toBe(0);
          }
        });
      }
    }
    expect(maps.map(m => m.kind)).toEqual(['encoder self-attention', 'encoder self-attention',
                                           'decoder causal self-attention', 'cross-attention']);
    probe.model.dispose();
    model.dispose();
  });
});
