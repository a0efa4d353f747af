/**
 * The SelfAttention layer against the float64 reference: numbers, gradients, masks, dropout,
 * shapes and tensor hygiene.
 */
import * as tf from '@tensorflow/tfjs';

import {SelfAttention, selfAttention, SelfAttentionArgs, scaledDotProductAttention} from '../../src';
import {expectClose, randomizeWeights, referenceOptions, roundToFloat32} from '../helpers/tensors';
import {attentionBatch, finiteDifferences, flatten, Matrix, randomMatrix, ReferenceWeights, rng} from '../helpers/reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the seed example', () => {
  it('three tokens, dk = 4, identity weights: scores ÷ 2, softmax, weighted sum', () => {
    // "the cat sat" as 4-dimensional token embeddings.
    const e = [[1, 0, 1, 0], [0, 2, 0, 1], [1, 1, 1, 1]];
    // Independent float64 arithmetic, step by step as the seed writes it.
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const divisor = Math.sqrt(4);
    expect(divisor).toBe(2);
    const expectedWeights = e.map(q => {
      const scaled = e.map(k => dot(q, k) / divisor);  // Q = K = V = E (identity)
      const exps = scaled.map(Math.exp);
      const sum = exps.reduce((a, b) => a + b);
      return exps.map(x => x / sum);
    });
    const expectedOutput =
        expectedWeights.map(w => [0, 1, 2, 3].map(c => w.reduce((s, wj, j) => s + wj * e[j]![c]!, 0)));
    // Spot-check one value by hand: Q_the·K_the = 2, Q_the·K_cat = 0, Q_the·K_sat = 2.
    const z = 2 * Math.exp(1) + Math.exp(0);
    expect(expectedWeights[0]![0]).toBeCloseTo(Math.exp(1) / z, 12);

    const layer = selfAttention({returnAttentionWeights: true});
    const [output, weights] = layer.apply(tf.tensor3d([e])) as tf.Tensor[];
    expect(output!.shape).toEqual([1, 3, 4]);
    expect(weights!.shape).toEqual([1, 1, 3, 3]);
    expectClose(weights!, expectedWeights, 1e-6);
    expectClose(output!, expectedOutput, 1e-6);
    // Identity initialisation: W_q = W_k = W_v = I.
    for (const w of layer.getWeights()) {
      expectClose(w, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], 0);
    }
  });

  it('rectangular identity kernels put ones on the main diagonal', () => {
    const layer = selfAttention({keyDim: 2, valueDim: 3});
    layer.apply(tf.zeros([1, 2, 4]));
    const [wq, , wv] = layer.getWeights();
    expectClose(wq!, [[1, 0], [0, 1], [0, 0], [0, 0]], 0);
    expectClose(wv!, [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], 0);
  });
});

interface Case {
  name: string;
  args: SelfAttentionArgs;
  batch: number;
  timeQ: number;
  features: number;
  /** Cross-attention context: [timeK, features]; absent = self-attention. */
  context?: [number, number];
}

const cases: Case[] = [
  {name: '1 head', args: {}, batch: 2, timeQ: 5, features: 4},
  {name: '2 heads + W_o + biases', args: {numHeads: 2, useBias: true}, batch: 2, timeQ: 4,
   features: 8},
  {name: '4 heads, keyDim 3, valueDim 5, outputDim 6, causal',
   args: {numHeads: 4, keyDim: 3, valueDim: 5, outputDim: 6, useBias: true, causal: true},
   batch: 3, timeQ: 6, features: 8},
  {name: '3 heads, no output projection', args: {numHeads: 3, keyDim: 2,
                                                 useOutputProjection: false},
   batch: 1, timeQ: 7, features: 5},
  {name: '1 head with W_o', args: {useOutputProjection: true, outputDim: 3}, batch: 2, timeQ: 3,
   features: 6},
  {name: 'cross-attention, 2 heads', args: {numHeads: 2, keyDim: 3, useBias: true}, batch: 2,
   timeQ: 3, features: 4, context: [5, 6]},
  {name: 'causal cross-attention, timeQ < timeK', args: {causal: true, keyDim: 2}, batch: 2,
   timeQ: 3, features: 4, context: [5, 4]},
];

function setup(c: Case, seed: number) {
  const next = rng(seed);
  const query = Array.from({length: c.batch}, () => roundToFloat32(randomMatrix(c.timeQ, c.features, next)));
  const context = c.context == null ? query :
      Array.from({length: c.batch}, () => roundToFloat32(randomMatrix(c.context![0], c.context![1], next)));
  const layer = selfAttention({...c.args, returnAttentionWeights: true});
  const inputs = c.context == null ? tf.tensor3d(query) : [tf.tensor3d(query), tf.tensor3d(context)];
  layer.apply(inputs);  // builds
  const weights = randomizeWeights(layer, next);
  const opts = referenceOptions(layer, c.args, c.features);
  return {layer, inputs, query, context, weights, opts};
}

describe('random inputs against the float64 reference', () => {
  it.each(cases)('$name', c => {
    const {layer, inputs, query, context, weights, opts} = setup(c, 7);
    const [output, attn] = layer.apply(inputs) as tf.Tensor[];
    const expected = attentionBatch(query, context, weights, opts);
    const outDim = layer.computeOutputShape(c.context == null ? [null, c.timeQ, c.features] :
        [[null, c.timeQ, c.features], [null, c.context[0], c.context[1]]]) as Array<Array<number|null>>;
    expect(output!.shape).toEqual([c.batch, c.timeQ, outDim[0]![2]]);
    expect(attn!.shape).toEqual([c.batch, opts.numHeads, c.timeQ, c.context?.[0] ?? c.timeQ]);
    expectClose(output!, expected.output, 1e-5, 1e-5);
    expectClose(attn!, expected.weights, 1e-6, 1e-5);
  });
});

describe('gradients against central finite differences of the reference', () => {
  const gradCases = cases.filter(c => ['2 heads + W_o + biases',
                                       '4 heads, keyDim 3, valueDim 5, outputDim 6, causal',
                                       'cross-attention, 2 heads'].includes(c.name));
  it.each(gradCases)('$name', c => {
    const {layer, inputs, query, context, weights, opts} = setup(c, 11);
    const next = rng(99);
    // loss = Σ output ⊙ R for a fixed random R, so every output element matters.
    const outShape = (layer.apply(inputs) as tf.Tensor[])[0]!.shape;
    const r = Array.from({length: outShape[0]!}, () => randomMatrix(outShape[1]!, outShape[2]!, next));
    const rFlat = flatten(r);

    // Float64 side: one flat vector of [query, (context,) every weight].
    const names = layer.weights.map(w => w.originalName.split('/').pop()!);
    const fields: Record<string, keyof ReferenceWeights> = {
      query_kernel: 'wq', key_kernel: 'wk', value_kernel: 'wv', query_bias: 'bq',
      key_bias: 'bk', value_bias: 'bv', output_kernel: 'wo', output_bias: 'bo'};
    const pieces: unknown[] = [query, ...(c.context ? [context] : []),
                               ...names.map(n => weights[fields[n]!])];
    const sizes = pieces.map(p => flatten(p).length);
    const unflatten = (x: number[]) => {
      let at = 0;
      return pieces.map((p, i) => {
        const values = x.slice(at, at += sizes[i]!);
        return reshapeLike(p, values);
      });
    };
    const loss = (x: number[]) => {
      const parts = unflatten(x);
      const q = parts[0] as Matrix[];
      const ctx = c.context ? parts[1] as Matrix[] : q;
      const w = {...weights};
      names.forEach((n, i) => {
        (w as Record<string, unknown>)[fields[n]!] = parts[(c.context ? 2 : 1) + i];
      });
      const out = flatten(attentionBatch(q, ctx, w, opts).output);
      return out.reduce((s, o, i) => s + o * rFlat[i]!, 0);
    };
    const fd = finiteDifferences(loss, flatten(pieces), 1e-6);

    // tfjs side: autograd through the layer.
    const inputList = inputs instanceof Array ? inputs : [inputs];
    const rT = tf.tensor(rFlat, outShape);
    const f = (...xs: tf.Tensor[]) => {
      const out = (layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor[])[0]!;
      return tf.sum(tf.mul(out, rT));
    };
    const inputGrads = tf.grads(f)(inputList);
    const {grads} = tf.variableGrads(() => f(...inputList) as tf.Scalar,
                                     layer.trainableWeights.map(w => w.read() as tf.Variable));
    const autograd = [
      ...inputGrads.map(g => Array.from(g.dataSync())),
      ...layer.trainableWeights.map(w => Array.from(grads[(w.read() as tf.Variable).name]!.dataSync())),
    ];
    let at = 0;
    autograd.forEach((g, i) => {
      const expected = fd.slice(at, at += sizes[i]!);
      const scale = Math.max(1, ...expected.map(Math.abs));
      expectClose(g, expected, 2e-4 * scale, 1e-3);
    });
    // Every weight really gets a gradient.
    expect(autograd.length).toBe(inputList.length + names.length);
  });
});

function reshapeLike(template: unknown, values: number[]): unknown {
  let at = 0;
  const walk = (t: unknown): unknown => Array.isArray(t) ? t.map(walk) : values[at++];
  return walk(template);
}

describe('masks', () => {
  it('causal: changing a later token never changes an earlier output', () => {
    const layer = selfAttention({numHeads: 2, causal: true, useBias: true});
    const next = rng(3);
    const x = randomMatrix(6, 4, next);
    const before = (layer.apply(tf.tensor3d([x])) as tf.Tensor).arraySync() as number[][][];
    for (let t = 1; t < 6; t++) {
      const changed = x.map((row, i) => (i === t ? row.map(v => v + 5) : row));
      const after = (layer.apply(tf.tensor3d([changed])) as tf.Tensor).arraySync() as number[][][];
      expectClose(after[0]!.slice(0, t).flat(), before[0]!.slice(0, t), 0);
      expect(Math.abs(after[0]![t]![0]! - before[0]![t]![0]!)).toBeGreaterThan(1e-3);
    }
  });

  it('an Embedding maskZero mask equals the explicit mask of the functional form', () => {
    const ids = tf.tensor2d([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]], undefined, 'int32');
    const input = tf.input({shape: [5], dtype: 'int32'});
    const embedding = tf.layers.embedding({inputDim: 10, outputDim: 4, maskZero: true});
    const attention = selfAttention({returnAttentionWeights: true});
    const [out, weights] = attention.apply(embedding.apply(input)) as tf.SymbolicTensor[];
    const model = tf.model({inputs: input, outputs: [out!, weights!]});
    const [implicitOut, implicitW] = model.predict(ids) as tf.Tensor[];

    const x = embedding.apply(ids) as tf.Tensor3D;  // [batch, time, features]
    const tokenMask = tf.notEqual(ids, 0);          // [batch, time]
    const mask = tf.logicalAnd(tokenMask.reshape([2, 5, 1]), tokenMask.reshape([2, 1, 5]));
    const explicit = scaledDotProductAttention(x, x, x, {mask});
    expectClose(implicitOut!, explicit.output.arraySync(), 1e-6);
    expectClose(implicitW!.squeeze([1]), explicit.weights.arraySync(), 1e-6);

    // Masked keys get weight exactly 0; padded query rows give zeros, not NaN.
    const w = implicitW!.arraySync() as number[][][][];
    expect(w[0]![0]![0]![3]).toBe(0);
    expect(w[0]![0]![0]![4]).toBe(0);
    expect(w[1]![0]![2]![4]).toBe(0);
    const o = implicitOut!.arraySync() as number[][][];
    expect(o[0]![4]).toEqual([0, 0, 0, 0]);
    expect(flatten(o).every(Number.isFinite)).toBe(true);
  });

  it('a query row whose keys are all masked gives zeros, never NaN, also in gradients', () => {
    const x = tf.randomNormal([1, 3, 4]);
    const attentionMask = tf.tensor3d([[[true, true, false], [false, false, false],
                                        [true, false, true]]]);
    const layer = selfAttention({numHeads: 2, useBias: true, biasInitializer: 'ones'});
    const out = layer.apply(x, {attentionMask}) as tf.Tensor;
    const rows = out.arraySync() as number[][][];
    // The only thing left in a fully masked row is W_o's bias.
    const bias = layer.getWeights()[4]!.arraySync() as number[];
    expectClose(rows[0]![1]!, bias, 1e-6);
    const g = tf.grad(v => tf.sum(layer.apply(v, {attentionMask}) as tf.Tensor))(x);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('cross-attention: the context mask masks keys, the query mask passes on', () => {
    const queryIds = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    const contextIds = tf.tensor2d([[5, 6, 0, 0]], undefined, 'int32');
    const checkWeights = (weights: tf.Tensor) => {
      const a = weights.arraySync() as number[][][][];
      for (const row of a[0]![0]!) {
        expect(row[2]).toBe(0);
        expect(row[3]).toBe(0);
        expect(row[0]! + row[1]!).toBeCloseTo(1, 6);
      }
    };
    const embedQ = tf.layers.embedding({inputDim: 9, outputDim: 4, maskZero: true});
    const embedC = tf.layers.embedding({inputDim: 9, outputDim: 4, maskZero: true});
    const layer = selfAttention({returnAttentionWeights: true});
    // Eager: masks passed as [queryMask, contextMask].
    const eager = layer.apply([embedQ.apply(queryIds) as tf.Tensor, embedC.apply(contextIds) as tf.Tensor],
                              {mask: [tf.notEqual(queryIds, 0), tf.notEqual(contextIds, 0)]}) as tf.Tensor[];
    checkWeights(eager[1]!);

    // In a model: tfjs's predict/fit executor hands a multi-input layer only the first input's
    // mask, so the context mask travels as the third input.
    const q = tf.input({shape: [3], dtype: 'int32'});
    const c = tf.input({shape: [4], dtype: 'int32'});
    const cMask = tf.input({shape: [4]});
    const [, w] = layer.apply([embedQ.apply(q), embedC.apply(c), cMask] as tf.SymbolicTensor[]) as
        tf.SymbolicTensor[];
    const model = tf.model({inputs: [q, c, cMask], outputs: w!});
    checkWeights(model.predict([queryIds, contextIds, tf.cast(tf.notEqual(contextIds, 0), 'float32')]) as tf.Tensor);

    const mask = layer.computeMask([tf.zeros([1, 3, 4]), tf.zeros([1, 4, 4])],
                                   [tf.ones([1, 3], 'bool'), tf.zeros([1, 4], 'bool')]) as tf.Tensor[];
    expect(mask[0]!.shape).toEqual([1, 3]);
    expect(mask[1]).toBeNull();
  });
});

describe('dropout', () => {
  it('drops attention weights only when training', () => {
    const layer = selfAttention({dropout: 0.5});
    const x = tf.randomNormal([2, 8, 4]);
    const plain = layer.apply(x) as tf.Tensor;
    const inference = layer.apply(x, {training: false}) as tf.Tensor;
    expectClose(inference, plain.arraySync(), 0);
    const trained = layer.apply(x, {training: true}) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(trained, plain))).dataSync()[0]).toBeGreaterThan(1e-3);
    // The reference without dropout equals the layer with dropout at inference.
    const w = layer.getWeights().map(t => t.arraySync() as Matrix);
    const ref = attentionBatch(x.arraySync() as Matrix[], x.arraySync() as Matrix[],
                               {wq: w[0]!, wk: w[1]!, wv: w[2]!}, {numHeads: 1, keyDim: 4, valueDim: 4});
    expectClose(plain, ref.output, 1e-5);
  });
});

describe('shapes', () => {
  it('computeOutputShape matches the real output for every option', () => {
    for (const c of cases) {
      for (const returnAttentionWeights of [false, true]) {
        const layer = selfAttention({...c.args, returnAttentionWeights});
        const shapes = c.context == null ? [null, c.timeQ, c.features] :
            [[null, c.timeQ, c.features], [null, c.context[0], c.context[1]]];
        const predicted = layer.computeOutputShape(shapes as never);
        const inputs = c.context == null ? tf.zeros([2, c.timeQ, c.features]) :
            [tf.zeros([2, c.timeQ, c.features]), tf.zeros([2, ...c.context])];
        const out = layer.apply(inputs);
        const real = out instanceof Array ? out.map(t => t.shape) : (out as tf.Tensor).shape;
        const withBatch = JSON.parse(JSON.stringify(predicted).replace(/null/, '2').replace(/null/, '2'));
        expect(withBatch).toEqual(real);
      }
    }
  });

  it('model.summary() works and counts the parameters', () => {
    const input = tf.input({shape: [5, 8]});
    const layer = selfAttention({numHeads: 2, useBias: true});
    const model = tf.model({inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor});
    const lines: string[] = [];
    model.summary(undefined, undefined, line => lines.push(line));
    // 3 kernels 8×8, 3 biases 8, W_o 8×8, its bias 8.
    expect(model.countParams()).toBe(4 * 64 + 4 * 8);
    expect(lines.join('\n')).toContain('[null,5,8]');
    expect(layer.weights.map(w => w.originalName.split('/').pop())).toEqual([
      'query_kernel', 'key_kernel', 'value_kernel', 'query_bias', 'key_bias', 'value_bias',
      'output_kernel', 'output_bias']);
  });

  it('defaults: one head, no W_o, no bias; several heads add W_o', () => {
    const one = selfAttention();
    one.apply(tf.zeros([1, 2, 6]));
    expect(one.weights.map(w => w.shape)).toEqual([[6, 6], [6, 6], [6, 6]]);
    const three = selfAttention({numHeads: 3});
    three.apply(tf.zeros([1, 2, 6]));
    expect(three.weights.map(w => w.shape)).toEqual([[6, 6], [6, 6], [6, 6], [6, 6]]);
  });
});

describe('no tensor leaks', () => {
  it('predict many times leaves tf.memory().numTensors unchanged', () => {
    const input = tf.input({shape: [6], dtype: 'int32'});
    const e = tf.layers.embedding({inputDim: 10, outputDim: 8, maskZero: true}).apply(input);
    const a = selfAttention({numHeads: 2, useBias: true, causal: true, dropout: 0.1,
                             returnAttentionWeights: true}).apply(e) as tf.SymbolicTensor[];
    const model = tf.model({inputs: input, outputs: a});
    const ids = tf.tensor2d([[1, 2, 3, 0, 0, 0]], undefined, 'int32');
    tf.dispose(model.predict(ids) as tf.Tensor[]);  // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      tf.dispose(model.predict(ids) as tf.Tensor[]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fit over several epochs leaves tf.memory().numTensors unchanged', async () => {
    const model = tf.sequential({layers: [
      selfAttention({inputShape: [4, 6], numHeads: 2, dropout: 0.2, useBias: true}),
      tf.layers.flatten(), tf.layers.dense({units: 1})]});
    model.compile({optimizer: 'adam', loss: 'meanSquaredError'});
    const x = tf.randomNormal([16, 4, 6]);
    const y = tf.randomNormal([16, 1]);
    await model.fit(x, y, {epochs: 1, batchSize: 8, verbose: 0});  // creates optimizer state
    const before = tf.memory().numTensors;
    await model.fit(x, y, {epochs: 3, batchSize: 8, verbose: 0});
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the functional form leaks nothing', () => {
    const q = tf.randomNormal([2, 2, 3, 4]);
    const before = tf.memory().numTensors;
    const {output, weights} = scaledDotProductAttention(q, q, q, {causal: true,
                                                                  mask: tf.ones([2, 1, 1, 3], 'bool')});
    // the mask we passed in, plus the two results
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([output, weights]);
  });
});

describe('the layer class', () => {
  it('is registered for serialization under its className', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map['SelfAttention']![0]).toBe(SelfAttention);
  });
});
