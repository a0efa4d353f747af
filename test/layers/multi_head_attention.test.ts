/**
 * MultiHeadAttention against the float64 reference of Keras's layer (test/helpers/mha_reference.ts):
 * outputs and scores on every attention path, gradients against central finite differences on
 * cpu and wasm, the fully-masked-row rules, dropout, weights, and tensor hygiene.
 */
import * as tf from '@tensorflow/tfjs';

import {AttentionPath, FullyMaskedRows, MultiHeadAttention, multiHeadAttention, MultiHeadAttentionArgs, useBestBackend} from '../../src';
import {expectClose, roundToFloat32} from '../helpers/tensors';
import {MhaReferenceOptions, MhaReferenceWeights, mhaReference, parameterVector, referenceWeightsFrom} from '../helpers/mha_reference';
import {finiteDifferences, flatten, randomMatrix, rng} from '../helpers/reference';

interface Spec {
  name: string;
  args: MultiHeadAttentionArgs;
  batch: number;
  timeQ: number;
  /** Query features. */
  dq: number;
  /** Cross-attention value [timeK, features]; absent: value = query. */
  value?: [number, number];
  /** Key features (the key has the value's time steps); absent: key = value. */
  key?: number;
  causal?: boolean;
  scores?: boolean;
  /** Real lengths per sequence: masks query rows / keys. */
  queryLengths?: number[];
  valueLengths?: number[];
  keyLengths?: number[];
  /** An explicit attention mask [batch, 1|heads, timeQ, timeK] with a fully masked row. */
  attentionMask?: 'shared'|'perHead';
}

const specs: Spec[] = [
  {name: 'self attention', args: {numHeads: 2, keyDim: 3}, batch: 2, timeQ: 4, dq: 5},
  {name: 'cross, key ≠ value, valueDim ≠ keyDim, output shape [2, 3]',
   args: {numHeads: 3, keyDim: 2, valueDim: 4, outputShape: [2, 3]}, batch: 2, timeQ: 3, dq: 5,
   value: [4, 6], key: 3},
  {name: 'no biases, gate, causal, scores', args: {numHeads: 2, keyDim: 3, useBias: false,
                                                   useGate: true},
   batch: 2, timeQ: 5, dq: 4, causal: true, scores: true},
  {name: 'sliding window, cross timeQ > timeK (rows with no key: average)',
   args: {numHeads: 2, keyDim: 2, slidingWindow: 2}, batch: 1, timeQ: 6, dq: 4, value: [3, 4]},
  {name: 'masks on query, value and key, per-head attention mask (average)',
   args: {numHeads: 2, keyDim: 3, valueDim: 2}, batch: 2, timeQ: 4, dq: 5, value: [5, 3], key: 4,
   queryLengths: [3, 4], valueLengths: [5, 0], keyLengths: [4, 5], attentionMask: 'perHead'},
  {name: 'the same with scores (zeros)', args: {numHeads: 2, keyDim: 3, valueDim: 2}, batch: 2,
   timeQ: 4, dq: 5, value: [5, 3], key: 4, queryLengths: [3, 4], valueLengths: [5, 0],
   keyLengths: [4, 5], attentionMask: 'perHead', scores: true},
  {name: 'dropout 0.2 in inference, masks (zeros)', args: {numHeads: 2, keyDim: 3, dropout: 0.2},
   batch: 2, timeQ: 4, dq: 6, queryLengths: [2, 4], valueLengths: [2, 4], attentionMask: 'shared'},
  {name: "Keras 2's rule: scores with masks (average, scores 1/timeK)",
   args: {numHeads: 2, keyDim: 3, fullyMaskedRows: 'average'}, batch: 2, timeQ: 4, dq: 6,
   queryLengths: [2, 4], valueLengths: [2, 4], scores: true},
  {name: "SelfAttention's rule: no scores, masks (zeros)",
   args: {numHeads: 2, keyDim: 3, fullyMaskedRows: 'zeros'}, batch: 2, timeQ: 4, dq: 6,
   queryLengths: [2, 4], valueLengths: [2, 4]},
  {name: 'everything: gate, window, causal, masks, output shape',
   args: {numHeads: 3, keyDim: 2, valueDim: 3, useGate: true, slidingWindow: 2, outputShape: 4},
   batch: 2, timeQ: 5, dq: 6, value: [5, 4], key: 3, causal: true, queryLengths: [5, 3],
   valueLengths: [4, 5], keyLengths: [5, 4], attentionMask: 'shared'},
];

/** The rule the layer applies to rows with no key (Keras 3: by its path). */
function emptyRows(rule: FullyMaskedRows|undefined, dropout: number, scores: boolean):
    'average'|'zeros' {
  const r = rule ?? 'keras3';
  return r === 'keras3' ? (dropout === 0 && !scores ? 'average' : 'zeros') : r;
}

/** The tensors of a record that are there. */
function present(record: Record<string, tf.Tensor|null>): tf.Tensor[] {
  return Object.values(record).filter((t): t is tf.Tensor => t != null);
}

const lengthsMask = (lengths: number[]|undefined, time: number) =>
    lengths?.map(n => Array.from({length: time}, (_, t) => t < n));

/** Inputs, a built layer with random weights, and the reference's view of both. */
function setup(s: Spec, seed: number, path: AttentionPath = 'auto') {
  const next = rng(seed);
  const timeK = s.value?.[0] ?? s.timeQ;
  const batchOf = (time: number, dim: number) =>
      Array.from({length: s.batch}, () => roundToFloat32(randomMatrix(time, dim, next)));
  const query = batchOf(s.timeQ, s.dq);
  const value = s.value == null ? query : batchOf(timeK, s.value[1]);
  const key = s.key == null ? value : batchOf(timeK, s.key);
  const heads = s.args.numHeads;
  const attentionMask = s.attentionMask == null ? undefined :
      Array.from({length: s.batch}, (_, b) => Array.from(
          {length: s.attentionMask === 'perHead' ? heads : 1}, (__, h) =>
              Array.from({length: s.timeQ}, (___, i) => Array.from({length: timeK}, () =>
                  !(b === 0 && h === 0 && i === 1) && next() > 0.3))));
  const masks = {
    query: lengthsMask(s.queryLengths, s.timeQ),
    value: lengthsMask(s.valueLengths, timeK),
    key: lengthsMask(s.keyLengths, timeK),
  };
  const layer = multiHeadAttention({...s.args, attentionPath: path});
  const tensors = {
    query: tf.tensor3d(query), value: s.value == null ? null : tf.tensor3d(value),
    key: s.key == null ? null : tf.tensor3d(key),
    attentionMask: attentionMask == null ? null : tf.tensor4d(attentionMask.map(b => b.map(
        h => h.map(r => r.map(x => (x ? 1 : 0))))), undefined, 'float32'),
    queryMask: masks.query == null ? null : tf.tensor2d(masks.query, undefined, 'bool'),
    valueMask: masks.value == null ? null : tf.tensor2d(masks.value, undefined, 'bool'),
    keyMask: masks.key == null ? null : tf.tensor2d(masks.key, undefined, 'bool'),
  };
  const call = (q: tf.Tensor, v: tf.Tensor|null, k: tf.Tensor|null, training = false) =>
      layer.apply(q, {
        value: v ?? q, ...(k == null ? {} : {key: k}),
        ...(tensors.attentionMask ? {attentionMask: tensors.attentionMask} : {}),
        ...(tensors.queryMask ? {queryMask: tensors.queryMask} : {}),
        ...(tensors.valueMask ? {valueMask: tensors.valueMask} : {}),
        ...(tensors.keyMask ? {keyMask: tensors.keyMask} : {}),
        useCausalMask: s.causal ?? false, returnAttentionScores: s.scores ?? false, training,
      }) as tf.Tensor|tf.Tensor[];
  tf.dispose(call(tensors.query, tensors.value, tensors.key));  // builds
  const values = layer.weights.map(w => roundToFloat32(
      [randomMatrix(1, w.shape.reduce((a, b) => a! * b!, 1)!, next, 0.5)[0]!])[0]!);
  tf.tidy(() => layer.setWeights(layer.weights.map((w, i) => tf.tensor(values[i]!, w.shape as number[]))));
  const options: MhaReferenceOptions = {
    numHeads: heads, keyDim: s.args.keyDim, valueDim: s.args.valueDim ?? s.args.keyDim,
    causal: s.causal, slidingWindow: s.args.slidingWindow, queryMask: masks.query,
    valueMask: masks.value, keyMask: masks.key, attentionMask,
    emptyRows: emptyRows(s.args.fullyMaskedRows, s.args.dropout ?? 0, s.scores ?? false),
  };
  return {layer, query, value, key, values, tensors, call, options};
}

/** The layer's weights (as float64 values) as the reference's, by Keras name. */
function referenceWeights(layer: MultiHeadAttention, values: number[][]): MhaReferenceWeights {
  return referenceWeightsFrom(layer.weights.map((w, i) => ({
    name: w.originalName.split('/').slice(1).join('/'), shape: w.shape as number[],
    values: values[i]!})));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('outputs and scores against the float64 reference', () => {
  const paths: AttentionPath[] = ['standard', 'fast', 'memoryEfficient'];
  const runs = specs.flatMap(s => paths.map(p => [s.name, p, s] as const));
  it.each(runs)('%s, %s path', (_name, path, s) => {
    const before = tf.memory().numTensors;
    const {layer, query, value, key, values, tensors, call, options} = setup(s, 7, path);
    const result = call(tensors.query, tensors.value, tensors.key);
    const [output, scores] = Array.isArray(result) ? result : [result];
    const expected = mhaReference(query, value, key, referenceWeights(layer, values), options);
    const outputShape = s.args.outputShape == null ? [s.dq] : [s.args.outputShape].flat();
    expect(output!.shape).toEqual([s.batch, s.timeQ, ...outputShape]);
    expectClose(output!, expected.output, 1e-5, 1e-5);
    if (s.scores) {
      expect(scores!.shape).toEqual([s.batch, s.args.numHeads, s.timeQ, s.value?.[0] ?? s.timeQ]);
      expectClose(scores!, expected.scores, 1e-6, 1e-5);
    }
    tf.dispose([output!, ...(scores ? [scores] : []), ...present(tensors)]);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(['cpu', 'wasm'])('gradients against central finite differences on %s', backend => {
  beforeAll(async () => {
    expect((await useBestBackend({order: [backend]})).backend).toBe(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const gradSpecs = specs.filter(s => ['cross, key ≠ value, valueDim ≠ keyDim, output shape [2, 3]',
                                       'no biases, gate, causal, scores',
                                       'masks on query, value and key, per-head attention mask (average)',
                                       'everything: gate, window, causal, masks, output shape']
                                          .includes(s.name));
  const paths: AttentionPath[] = ['standard', 'fast', 'memoryEfficient'];
  it.each(gradSpecs.flatMap(s => paths.map(p => [s.name, p, s] as const)))(
      '%s, %s path', (_name, path, s) => {
        const before = tf.memory().numTensors;
        const {layer, query, value, key, values, tensors, call, options} = setup(s, 11, path);
        const outputShape = s.args.outputShape == null ? [s.dq] : [s.args.outputShape].flat();
        const outSize = s.batch * s.timeQ * outputShape.reduce((a, b) => a * b, 1);
        const r = roundToFloat32([randomMatrix(1, outSize, rng(99))[0]!])[0]!;
        const cotangent = tf.tensor(r, [s.batch, s.timeQ, ...outputShape]);

        // The layer: loss = Σ output ⊙ R, differentiated by tfjs.
        const inputs = [tensors.query, ...(tensors.value ? [tensors.value] : []),
                        ...(tensors.key ? [tensors.key] : [])];
        const loss = (...xs: tf.Tensor[]) => {
          const out = call(xs[0]!, tensors.value ? xs[1]! : null, tensors.key ? xs[2]! : null);
          return tf.sum(tf.mul(Array.isArray(out) ? out[0]! : out, cotangent)) as tf.Scalar;
        };
        const inputGrads = tf.grads(loss)(inputs);
        const variables = layer.trainableWeights.map(w => w.read() as tf.Variable);
        const {value: l, grads} = tf.variableGrads(() => loss(...inputs), variables);

        // The reference: the same loss over [query, (value,) (key,) every weight], in float64.
        const {x0, split, unpack} = parameterVector(query, s.value ? value : null,
                                                    s.key ? key : null, values);
        const evaluate = (x: number[]) => {
          const p = unpack(x);
          const out = mhaReference(p.query, p.value, p.key, referenceWeights(layer, p.weights), options);
          return flatten(out.output).reduce((sum, o, i) => sum + o * r[i]!, 0);
        };
        expect(l.dataSync()[0]).toBeCloseTo(evaluate(x0), 4);
        const expected = split(finiteDifferences(evaluate, x0, 1e-5));
        const actual = [...inputGrads, ...variables.map(v => grads[v.name]!)];
        expect(actual.length).toBe(expected.length);
        actual.forEach((g, i) => {
          const e = expected[i]!;
          const scale = Math.max(1, ...e.map(Math.abs));
          expectClose(g, e, 2e-4 * scale, 1e-3);
        });
        tf.dispose([l, cotangent, ...inputGrads, ...Object.values(grads), ...present(tensors)]);
        layer.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
});

describe('weights', () => {
  it("Keras's names, shapes and order, with and without gate and biases", () => {
    const layer = multiHeadAttention({numHeads: 3, keyDim: 2, valueDim: 4, useGate: true,
                                      outputShape: [5, 2], name: 'att'});
    const out = layer.apply(tf.zeros([1, 4, 6]), {value: tf.zeros([1, 3, 7]), key: tf.zeros([1, 3, 8])}) as tf.Tensor;
    expect(out.shape).toEqual([1, 4, 5, 2]);
    expect(layer.weights.map(w => [w.originalName, w.shape])).toEqual([
      ['att/query/kernel', [6, 3, 2]], ['att/query/bias', [3, 2]],
      ['att/key/kernel', [8, 3, 2]], ['att/key/bias', [3, 2]],
      ['att/gate/kernel', [6, 3, 4]], ['att/gate/bias', [3, 4]],
      ['att/value/kernel', [7, 3, 4]], ['att/value/bias', [3, 4]],
      ['att/attention_output/kernel', [3, 4, 5, 2]], ['att/attention_output/bias', [5, 2]],
    ]);
    const noBias = multiHeadAttention({numHeads: 2, keyDim: 3, useBias: false, name: 'nb'});
    tf.dispose(noBias.apply([tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4])]) as tf.Tensor);
    expect(noBias.weights.map(w => w.originalName)).toEqual(
        ['nb/query/kernel', 'nb/key/kernel', 'nb/value/kernel', 'nb/attention_output/kernel']);
  });

  it("Keras's defaults: glorot-uniform kernels with Keras's fans, zero biases", () => {
    const layer = multiHeadAttention({numHeads: 4, keyDim: 8});
    tf.dispose(layer.apply(tf.zeros([1, 2, 16])) as tf.Tensor);
    const [qk, qb] = layer.getWeights();
    expect(Array.from(qb!.dataSync()).every(x => x === 0)).toBe(true);
    // Keras's compute_fans for the kernel [16, 4, 8]: receptive field 16, fan_in 4·16, fan_out
    // 8·16, so the uniform limit is √(6 / (64 + 128)). 512 draws reach within 5% of it.
    const limit = Math.sqrt(6 / (64 + 128));
    const largest = Math.max(...Array.from(qk!.dataSync()).map(Math.abs));
    expect(largest).toBeLessThanOrEqual(limit);
    expect(largest).toBeGreaterThan(0.95 * limit);
  });

  it('a self-attention call with one tensor equals [x, x] and {value: x}', () => {
    const layer = multiHeadAttention({numHeads: 2, keyDim: 3});
    const x = tf.randomNormal([2, 4, 5], 0, 1, 'float32', 1);
    const a = layer.apply(x) as tf.Tensor;
    const b = layer.apply([x, x]) as tf.Tensor;
    const c = layer.apply(x, {value: x}) as tf.Tensor;
    expectClose(b, a.arraySync(), 0, 0);
    expectClose(c, a.arraySync(), 0, 0);
  });
});

describe('fully masked rows', () => {
  /** One query row with no key (attention mask row 1 all false), dropout `rate`. */
  function run(args: Partial<MultiHeadAttentionArgs>, scores: boolean) {
    const layer = multiHeadAttention({numHeads: 1, keyDim: 2, useBias: false, ...args});
    const x = tf.tensor3d([[[1, 0], [0, 1], [2, 1]]]);
    const am = tf.tensor3d([[[1, 1, 0], [0, 0, 0], [1, 1, 1]]]);
    tf.dispose(layer.apply(x, {value: x, attentionMask: am}) as tf.Tensor);
    layer.setWeights([tf.eye(2).reshape([2, 1, 2]), tf.eye(2).reshape([2, 1, 2]),
                      tf.eye(2).reshape([2, 1, 2]), tf.eye(2).reshape([1, 2, 2])]);
    const out = layer.apply(x, {value: x, attentionMask: am, returnAttentionScores: scores}) as
        tf.Tensor|tf.Tensor[];
    const [o, s] = Array.isArray(out) ? out : [out];
    return {row: Array.from(o!.slice([0, 1, 0], [1, 1, 2]).dataSync()),
            scores: s == null ? null : Array.from(s.slice([0, 0, 1, 0], [1, 1, 1, 3]).dataSync())};
  }
  // Identity weights: a row's output is its weighted average of the inputs; the plain average
  // of [1, 0], [0, 1], [2, 1] is [1, 2/3].
  const average = [1, 2 / 3];
  it.each([
    ["keras3, dropout 0, no scores (Keras 3's dot_product_attention path)", {}, false, average, null],
    ['keras3 with scores (einsum path)', {}, true, [0, 0], [0, 0, 0]],
    ['keras3, dropout 0.3 in inference (einsum path)', {dropout: 0.3}, false, [0, 0], null],
    ['average (Keras 2), with scores', {fullyMaskedRows: 'average'}, true, average, [1 / 3, 1 / 3, 1 / 3]],
    ['zeros', {fullyMaskedRows: 'zeros'}, false, [0, 0], null],
  ] as const)('%s', (_name, args, scores, row, rowScores) => {
    const r = run(args as Partial<MultiHeadAttentionArgs>, scores);
    expectClose(r.row, [...row], 1e-6);
    if (rowScores != null) {
      expectClose(r.scores!, [...rowScores], 1e-7);
    }
  });

  it('a Keras 2 config (queryShape, softmaxRobustMasking) defaults to the Keras 2 rule', () => {
    expect(multiHeadAttention({numHeads: 1, keyDim: 2, queryShape: null, valueShape: null})
               .fullyMaskedRows).toBe('average');
    expect(multiHeadAttention({numHeads: 1, keyDim: 2, softmaxRobustMasking: false})
               .fullyMaskedRows).toBe('average');
    expect(multiHeadAttention({numHeads: 1, keyDim: 2}).fullyMaskedRows).toBe('keras3');
  });
});

describe('dropout in training', () => {
  it('drops attention weights only when training; a seed makes runs reproducible', () => {
    const make = () => multiHeadAttention({numHeads: 2, keyDim: 4, dropout: 0.5, seed: 42});
    const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 3);
    const a = make();
    const inference = a.apply(x) as tf.Tensor;
    const b = make();
    b.build([2, 6, 8]);
    b.setWeights(a.getWeights());
    expectClose(b.apply(x) as tf.Tensor, inference.arraySync(), 0, 0);
    const first = a.apply(x, {training: true}) as tf.Tensor;
    const second = a.apply(x, {training: true}) as tf.Tensor;
    const firstOfB = b.apply(x, {training: true}) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(first, inference))).dataSync()[0]).toBeGreaterThan(1e-3);
    expect(tf.max(tf.abs(tf.sub(first, second))).dataSync()[0]).toBeGreaterThan(1e-3);
    expectClose(firstOfB, first.arraySync(), 0, 0);
  });

  it('returns the scores before dropout', () => {
    const layer = multiHeadAttention({numHeads: 2, keyDim: 4, dropout: 0.5});
    const x = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 4);
    const [, inference] = layer.apply(x, {returnAttentionScores: true}) as tf.Tensor[];
    const [, training] = layer.apply(x, {returnAttentionScores: true, training: true}) as tf.Tensor[];
    expectClose(training!, inference!.arraySync(), 1e-7);
  });
});

describe('training in a model', () => {
  it.each(['cpu', 'wasm'])('fit lowers the loss and changes every weight on %s, leaking nothing', async backend => {
    expect((await useBestBackend({order: [backend]})).backend).toBe(backend);
    const start = tf.memory().numTensors;
    const q = tf.input({shape: [5, 6]});
    const v = tf.input({shape: [4, 3]});
    const layer = multiHeadAttention({numHeads: 2, keyDim: 3, useGate: true, slidingWindow: 3,
                                      kernelInitializer: tf.initializers.glorotUniform({seed: 1})});
    const h = layer.apply(q, {value: v, useCausalMask: true}) as tf.SymbolicTensor;
    const y = tf.layers.dense({units: 1, kernelInitializer: tf.initializers.glorotUniform({seed: 2})})
                  .apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor;
    const model = tf.model({inputs: [q, v], outputs: y});
    const optimizer = tf.train.adam(0.02);
    model.compile({optimizer, loss: 'meanSquaredError'});
    const xq = tf.randomNormal([16, 5, 6], 0, 1, 'float32', 5);
    const xv = tf.randomNormal([16, 4, 3], 0, 1, 'float32', 6);
    const target = tf.tidy(() => tf.sum(xv, [1, 2]).reshape([16, 1]));
    const before = layer.getWeights().map(w => w.clone());  // getWeights gives the variables
    const lossOf = () => tf.tidy(() => (model.evaluate([xq, xv], target) as tf.Scalar).dataSync()[0]!);
    const loss0 = lossOf();
    await model.fit([xq, xv], target, {epochs: 1, batchSize: 8, verbose: 0, shuffle: false});
    const afterOne = tf.memory().numTensors;
    await model.fit([xq, xv], target, {epochs: 9, batchSize: 8, verbose: 0, shuffle: false});
    expect(tf.memory().numTensors).toBe(afterOne);
    expect(lossOf()).toBeLessThan(0.7 * loss0);
    // Every weight moves. The key bias is left out: it adds one constant to a query's scores,
    // which the softmax ignores, so its gradient is 0 up to float32 noise (which Adam's
    // normalisation turns into full steps); the finite-difference tests above pin it to ~0.
    layer.getWeights().forEach((w, i) => {
      if (!layer.weights[i]!.originalName.endsWith('key/bias')) {
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(w, before[i]!))).dataSync()[0]))
            .toBeGreaterThan(1e-4);
      }
    });
    tf.dispose([xq, xv, target, ...before]);
    model.dispose();
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(start);
    await tf.setBackend('cpu');
  });

  it('an activity regularizer adds Σ l2(projection output) / batch to the training loss', () => {
    const layer = multiHeadAttention({numHeads: 2, keyDim: 2, useGate: true,
                                      activityRegularizer: {className: 'L1L2', config: {l1: 0, l2: 0.01}}});
    const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 8);
    tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.calculateLosses()[0]!.dataSync()[0]).toBe(0);  // no training call yet
    const out = layer.apply(x, {training: true}) as tf.Tensor;
    // By hand: the projections' outputs (query, key, value, sigmoid gate, output).
    const [wq, bq, wk, bk, wg, bg, wv, bv] = layer.getWeights();
    const proj = (w: tf.Tensor, b: tf.Tensor) =>
        tf.add(tf.matMul(x.reshape([12, 5]), w.reshape([5, 4])), b.reshape([4]));
    const sq = (t: tf.Tensor) => tf.sum(tf.square(t)).dataSync()[0]!;
    const expected = 0.01 * (sq(proj(wq!, bq!)) + sq(proj(wk!, bk!)) + sq(proj(wv!, bv!)) +
                             sq(tf.sigmoid(proj(wg!, bg!))) + sq(out)) / 3;
    expect(layer.calculateLosses()[0]!.dataSync()[0]).toBeCloseTo(expected, 4);
  });
});

describe('tensor hygiene', () => {
  it('eager calls, masks and predict leave no tensor behind', () => {
    const layer = multiHeadAttention({numHeads: 2, keyDim: 3, slidingWindow: 2});
    const x = tf.randomNormal([2, 4, 6]);
    const mask = tf.tensor2d([[1, 1, 0, 0], [1, 1, 1, 1]], undefined, 'bool');
    tf.dispose(layer.apply(x) as tf.Tensor);  // builds
    const before = tf.memory().numTensors;
    x.kerasMask = mask;
    for (let i = 0; i < 3; i++) {
      const out = layer.apply(x, {returnAttentionScores: true, useCausalMask: true}) as tf.Tensor[];
      expect(out[0]!.kerasMask).toBeDefined();
      tf.dispose(out);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(mask.isDisposed).toBe(false);
  });
});
