/**
 * `npm run explain`: the printed numbers are the layer's own (its apply() output and its returned
 * attention weights) and match the float64 reference step by step; --json parses and carries
 * the same numbers; --model takes the layer from a saved model; --heatmap writes SVG/PNG files.
 */
import * as tf from '@tensorflow/tfjs';
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {explain, Explanation, wordVector} from '../../../examples/explain/explain';
import {main} from '../../../examples/explain/main';
import {selfAttention, SelfAttention} from '../../../src';
import {expectClose, randomizeWeights} from '../../helpers/tensors';
import {attentionOne, matmul, Matrix, rng, softmaxRows, transpose} from '../../helpers/reference';

interface PrintedMatrix {
  columns: string[];
  labels: string[];
  values: number[][];
}

/** The matrices of the text output, by the first words of their caption. */
function parsePrinted(text: string): Map<string, PrintedMatrix> {
  const blocks = new Map<string, PrintedMatrix>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const caption = lines[i]!;
    if (caption === '' || caption.startsWith(' ') || !lines[i + 1]?.startsWith('  ')) {
      continue;
    }
    const columns = lines[i + 1]!.trim().split(/\s{2,}/);
    const labels: string[] = [];
    const values: number[][] = [];
    for (i += 2; i < lines.length && lines[i]!.startsWith('  '); i++) {
      const [label, ...numbers] = lines[i]!.trim().split(/\s+/);
      labels.push(label!);
      values.push(numbers.map(Number));
    }
    blocks.set(caption, {columns, labels, values});
  }
  return blocks;
}

function block(blocks: Map<string, PrintedMatrix>, prefix: string): PrintedMatrix {
  const found = [...blocks.entries()].filter(([caption]) => caption.startsWith(prefix));
  expect(found.map(([c]) => c)).toHaveLength(1);
  return found[0]![1];
}

/** Printed with 3 decimals: within half a unit of the last digit (plus float32 noise). */
function expectPrinted(printed: number[][], expected: unknown): void {
  expectClose(printed.flat(), expected, 5.01e-4, 0);
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-test-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => tmpDirs.forEach(d => fs.rmSync(d, {recursive: true, force: true})));

/** The layer's own outputs on `x`: apply() with returnAttentionWeights, weights copied from `layer`. */
function layerOutputs(x: Matrix, args: ConstructorParameters<typeof SelfAttention>[0],
                      weights?: tf.Tensor[]): {output: number[][], weights: number[][][]} {
  return tf.tidy(() => {
    const layer = selfAttention({...args, returnAttentionWeights: true});
    const input = tf.tensor3d([x]);
    layer.apply(input);
    if (weights != null) {
      layer.setWeights(weights);
    }
    const [output, w] = layer.apply(input) as tf.Tensor[];
    return {output: (output!.arraySync() as number[][][])[0]!,
            weights: (w!.arraySync() as number[][][][])[0]!};
  });
}

describe('npm run explain (text)', () => {
  const words = ['the', 'cat', 'sat'];
  let text: string;
  let blocks: Map<string, PrintedMatrix>;
  beforeAll(async () => {
    text = await main(['the cat sat']);
    blocks = parsePrinted(text);
  });

  it('prints the seeded embeddings with token and feature labels', () => {
    const e = block(blocks, 'token embeddings');
    expect(e.labels).toEqual(words);
    expect(e.columns).toEqual(['d1', 'd2', 'd3', 'd4']);
    expectPrinted(e.values, words.map(w => wordVector(w, 4, 1)));
    // The same word gets the same vector in any sentence.
    expect(wordVector('cat', 4, 1)).toEqual(wordVector('cat', 4, 1));
    expect(wordVector('cat', 4, 1)).not.toEqual(wordVector('cat', 4, 2));
  });

  it('prints identity kernels once and Q = K = V = embeddings', () => {
    const w = block(blocks, 'W_q = W_k = W_v');
    expectPrinted(w.values, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
    const e = words.map(word => wordVector(word, 4, 1));
    for (const name of ['Q =', 'K =', 'V =']) {
      expect(block(blocks, name).labels).toEqual(words);
      expectPrinted(block(blocks, name).values, e);
    }
  });

  it('prints scores, scaled scores, weights and output equal to the reference and the layer', () => {
    const e = words.map(word => wordVector(word, 4, 1));
    const scores = matmul(e, transpose(e));
    const scaled = scores.map(row => row.map(s => s / 2));
    const expected = attentionOne(e, e, {wq: eye(4), wk: eye(4), wv: eye(4)},
                                  {numHeads: 1, keyDim: 4, valueDim: 4});
    const layer = layerOutputs(e, {});

    const s = block(blocks, 'raw scores');
    expect(s.labels).toEqual(words);
    expect(s.columns).toEqual(words);
    expectPrinted(s.values, scores);
    expectPrinted(block(blocks, 'scaled scores').values, scaled);
    expect(text).toContain('dk = 4, √dk = 2: every score is divided by 2');

    const w = block(blocks, 'attention weights');
    expect(w.columns).toEqual([...words, 'row sum']);
    expectPrinted(w.values.map(r => r.slice(0, 3)), layer.weights[0]);
    expectPrinted(w.values.map(r => r.slice(0, 3)), softmaxRows(scaled));
    expect(w.values.map(r => r[3])).toEqual([1, 1, 1]);

    const out = block(blocks, 'weighted sums');
    expectPrinted(out.values, layer.output);
    expectPrinted(out.values, expected.output);
    expect(text).toMatch(/max \|difference\| = 0\.0e\+0/);
  });

  it('aligns every column of a matrix on the right', () => {
    const lines = text.split('\n');
    const start = lines.findIndex(l => l.startsWith('raw scores'));
    const rows = lines.slice(start + 1, start + 5);
    const ends = (line: string) => [...line.matchAll(/\S+/g)].map(m => m.index! + m[0].length);
    const header = ends(rows[0]!);
    for (const row of rows.slice(1)) {
      expect(ends(row).slice(1)).toEqual(header);
    }
  });
});

describe('npm run explain --json', () => {
  it('--random: every step equals the layer and the float64 reference', async () => {
    const e = JSON.parse(await main(['--random', '--json', '--seed', '7', 'a', 'dog', 'barked', 'loudly'])) as
        Explanation;
    expect(e.tokens).toEqual(['a', 'dog', 'barked', 'loudly']);
    expect(e.weightsSource).toBe('random (seed 7)');
    const m = (name: string) => e.matrices.find(x => x.name === name)!.values;
    const [x, wq, wk, wv] = [m('embeddings'), m('W_q'), m('W_k'), m('W_v')];
    expect(wq).not.toEqual(wk);
    const layer = tf.tidy(() => layerOutputs(x, {}, [tf.tensor2d(wq), tf.tensor2d(wk), tf.tensor2d(wv)]));
    expectClose(m('weights').flat(), layer.weights, 1e-6);
    expectClose(m('output').flat(), layer.output, 1e-6);
    expectClose(e.layerOutput.flat(), layer.output, 1e-6);

    const q = matmul(x, wq);
    const k = matmul(x, wk);
    expectClose(m('Q').flat(), q, 1e-5);
    expectClose(m('K').flat(), k, 1e-5);
    expectClose(m('V').flat(), matmul(x, wv), 1e-5);
    expectClose(m('scores').flat(), matmul(q, transpose(k)), 1e-5);
    expectClose(m('scaled').flat(), matmul(q, transpose(k)).map(r => r.map(s => s / 2)), 1e-5);
    expect(e.scale).toBe(0.5);
    expect(e.divisor).toBe(2);
  });

  it('--model: takes a saved multi-head causal layer with biases and W_o', async () => {
    const dir = tmpDir();
    const next = rng(11);
    const input = tf.input({shape: [null, 6]});
    const attention = selfAttention({numHeads: 2, keyDim: 3, valueDim: 2, useBias: true, causal: true,
                                     name: 'attn'});
    const model = tf.model({inputs: input, outputs: tf.layers.dense({units: 1}).apply(
        attention.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor});
    const reference = randomizeWeights(attention, next);
    await model.save(tf.io.withSaveHandler(async artifacts => {
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
        modelTopology: artifacts.modelTopology, format: 'layers-model',
        weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}]}));
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }));
    const savedWeights = attention.getWeights().map(w => w.clone());
    model.dispose();

    const before = tf.memory().numTensors;
    const e = JSON.parse(await main(['--model', path.join(dir, 'model.json'), '--json', 'w x y z'])) as
        Explanation;
    expect(tf.memory().numTensors).toBe(before);  // the loaded model is disposed
    expect(e.weightsSource).toBe(`model ${path.join(dir, 'model.json')}, layer attn`);
    expect([e.numHeads, e.keyDim, e.valueDim, e.embeddingDim, e.causal]).toEqual([2, 3, 2, 6, true]);
    const x = e.matrices.find(m => m.name === 'embeddings')!.values;
    const layer = layerOutputs(x, {numHeads: 2, keyDim: 3, valueDim: 2, useBias: true, causal: true},
                               savedWeights);
    const weights = e.matrices.filter(m => m.name === 'weights');
    expect(weights.map(w => w.head)).toEqual([0, 1]);
    weights.forEach((w, h) => expectClose(w.values.flat(), layer.weights[h], 1e-6));
    expect(weights[0]!.values[0]!.slice(1)).toEqual([0, 0, 0]);  // causal: the first word sees itself only
    const last = e.matrices[e.matrices.length - 1]!;
    expect(last.step).toBe(7);
    expect(last.caption).toContain('W_o');
    expectClose(last.values.flat(), layer.output, 1e-5);
    expect(e.maxAbsDiffFromLayer).toBeLessThan(1e-6);
    const ref = attentionOne(x, x, reference, {numHeads: 2, keyDim: 3, valueDim: 2, causal: true});
    expectClose(last.values.flat(), ref.output, 1e-4, 1e-4);
    weights.forEach((w, h) => expectClose(w.values.flat(), ref.weights[h], 1e-5, 1e-4));
    savedWeights.forEach(t => t.dispose());
  });

  it('runs as `npm run explain -- --json` and prints only JSON on stdout', () => {
    const stdout = execFileSync('npm', ['run', '--silent', 'explain', '--', '--json', 'the cat sat'],
                                {cwd: path.join(__dirname, '..', '..', '..'), encoding: 'utf8'});
    const e = JSON.parse(stdout) as Explanation;
    expect(e.tokens).toEqual(['the', 'cat', 'sat']);
    expect(e.matrices.map(m => m.name)).toEqual(
        ['embeddings', 'W_q', 'W_k', 'W_v', 'Q', 'K', 'V', 'scores', 'scaled', 'weights', 'output']);
  });
});

describe('explain()', () => {
  it('leaks no tensors and rejects bad input with the argument named', () => {
    explain(['warm', 'up']);
    expect(explain(['alone']).matrices.find(m => m.name === 'weights')!.values).toEqual([[1]]);
    const before = tf.memory().numTensors;
    explain(['one', 'two', 'one'], {random: true, dim: 6});
    expect(tf.memory().numTensors).toBe(before);
    expect(() => explain([])).toThrow(/at least one non-empty word. Received: words=\[\]/);
    expect(() => explain(['a'], {dim: 0})).toThrow(/dim must be a positive integer. Received: dim=0/);
    expect(() => explain(['a'], {seed: 1.5})).toThrow(/seed must be an integer. Received: seed=1.5/);
  });

  it('CLI errors name the option', async () => {
    await expect(main([])).rejects.toThrow(/give some words/);
    await expect(main(['--dim', 'four', 'a'])).rejects.toThrow('--dim must be an integer ≥ 0. Received: --dim "four"');
    await expect(main(['--layer', 'x', 'a'])).rejects.toThrow(/--layer needs --model/);
    await expect(main(['--model', '/nonexistent/model.json', 'a'])).rejects.toThrow(/model file not found/);
    await expect(main(['--heatmap', 'out.jpg', 'a'])).rejects.toThrow(/\.svg or \.png file. Received: --heatmap out.jpg/);
  });
});

function eye(n: number): Matrix {
  return Array.from({length: n}, (_, i) => Array.from({length: n}, (__, j) => (i === j ? 1 : 0)));
}

describe('npm run explain --heatmap', () => {
  it('writes the weights of every head', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-heatmap-'));
    const text = await main(['--heatmap', path.join(dir, 'w.svg'), 'the cat sat']);
    expect(text).toContain(`Heatmap written: ${path.join(dir, 'w.svg')}`);
    const svg = fs.readFileSync(path.join(dir, 'w.svg'), 'utf8');
    // Cells are rects with a tooltip: "<row> → <column>: <weight>".
    const found = [...svg.matchAll(/<rect [^>]*><title>([^<]*)<\/title><\/rect>/g)].map(m => ({title: m[1]!}));
    expect(found).toHaveLength(9);
    const json = JSON.parse(await main(['--json', 'the cat sat'])) as
        {matrices: Array<{name: string, values: number[][]}>};
    const weights = json.matrices.find(m => m.name === 'weights')!.values.flat();
    expect(found.map(c => Number(c.title.split(': ')[1]))).toEqual(weights.map(w => Number(w.toFixed(4))));
  });
});
