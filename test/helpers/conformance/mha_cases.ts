/**
 * The conformance cases of MultiHeadAttention (Keras's layout), for make_fixtures.ts: outputs,
 * scores and gradients of loss = Σ output ⊙ cotangent w.r.t. query, value, key and every weight,
 * from the float64 reference of Keras's layer (test/helpers/mha_reference.ts) by central finite
 * differences. Inputs and weights are rounded to float32 first. The cases cover what the Keras
 * layout adds to the core: key ≠ value, the gate, an output shape of several axes, the sliding
 * window, and Keras's rules for rows with no key (the plain average of the values).
 */
import {MhaReferenceOptions, mhaReference, parameterVector, referenceWeightsFrom} from '../mha_reference';
import {finiteDifferences, flatten, Matrix, randomMatrix, rng} from '../reference';
import {ConformanceCase, FixtureTensor, MhaConformanceArgs} from './types';

interface MhaCaseSpec {
  name: string;
  args: MhaConformanceArgs;
  batch: number;
  timeQ: number;
  queryFeatures: number;
  /** Cross-attention value [timeK, features]; absent: self-attention (value = query). */
  value?: [number, number];
  /** Key features (the key has the value's time steps); absent: key = value. */
  keyFeatures?: number;
  /** Per-token masks, 1 = real token: the query's (and, in self-attention, the value's). */
  tokenMask?: number[][];
  /** Cross-attention: the value's mask [batch][timeK]. */
  contextMask?: number[][];
  /** An attention mask with a heads axis, [batch][heads][timeQ][timeK]. */
  attentionMask?: number[][][][];
}

const specs: MhaCaseSpec[] = [
  {name: 'Keras layout: cross, key ≠ value, gate, output shape [2, 3]',
   args: {numHeads: 2, keyDim: 3, valueDim: 2, outputShape: [2, 3], useGate: true,
          returnAttentionScores: true},
   batch: 2, timeQ: 4, queryFeatures: 5, value: [3, 4], keyFeatures: 3},
  {name: 'Keras layout: padding, causal, sliding window, no scores (padded queries average)',
   args: {numHeads: 2, keyDim: 2, slidingWindow: 2, useCausalMask: true},
   batch: 2, timeQ: 5, queryFeatures: 4, tokenMask: [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]},
  {name: "Keras layout: value mask with every key masked, per-head attention mask, Keras 2's rule",
   args: {numHeads: 2, keyDim: 2, valueDim: 3, fullyMaskedRows: 'average',
          returnAttentionScores: true},
   batch: 2, timeQ: 3, queryFeatures: 4, value: [4, 3],
   contextMask: [[1, 1, 1, 0], [0, 0, 0, 0]],
   attentionMask: [[[[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]],
                    [[1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 0, 0]]],
                   [[[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
                    [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]]]},
];

function f32(m: Matrix): Matrix {
  return m.map(row => Array.from(Float32Array.from(row)));
}

/** 9 significant digits: more than float32 holds, and keeps the file small. */
function tensor(shape: number[], values: number[]): FixtureTensor {
  return {shape, values: values.map(x => Number(x.toPrecision(9)))};
}

/** Keras's weights, in Keras's order: name and shape. */
function weightShapes(s: MhaCaseSpec): Array<[string, number[]]> {
  const {numHeads: h, keyDim: k} = s.args;
  const v = s.args.valueDim ?? k;
  const dv = s.value?.[1] ?? s.queryFeatures;
  const dk = s.keyFeatures ?? dv;
  const out = s.args.outputShape == null ? [s.queryFeatures] : [s.args.outputShape].flat();
  const projections: Array<[string, number[], number[]]> = [
    ['query', [s.queryFeatures, h, k], [h, k]], ['key', [dk, h, k], [h, k]],
    ...(s.args.useGate ? [['gate', [s.queryFeatures, h, v], [h, v]] as [string, number[], number[]]] : []),
    ['value', [dv, h, v], [h, v]], ['attention_output', [h, v, ...out], out]];
  return projections.flatMap(([name, kernel, bias]) => [
    [`${name}/kernel`, kernel] as [string, number[]],
    ...(s.args.useBias === false ? [] : [[`${name}/bias`, bias] as [string, number[]]]),
  ]);
}

function makeCase(s: MhaCaseSpec, seed: number): ConformanceCase {
  const next = rng(seed);
  const timeK = s.value?.[0] ?? s.timeQ;
  const batchOf = (time: number, dim: number) =>
      Array.from({length: s.batch}, () => f32(randomMatrix(time, dim, next)));
  const query = batchOf(s.timeQ, s.queryFeatures);
  const value = s.value == null ? null : batchOf(timeK, s.value[1]);
  const key = s.keyFeatures == null ? null : batchOf(timeK, s.keyFeatures);
  const shapes = weightShapes(s);
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const weightValues = shapes.map(([, shape]) =>
      flatten(f32([randomMatrix(1, size(shape), next, 0.5)[0]!])));
  const asBool = (m?: number[][]) => m?.map(row => row.map(x => x === 1));
  const options: MhaReferenceOptions = {
    numHeads: s.args.numHeads, keyDim: s.args.keyDim, valueDim: s.args.valueDim ?? s.args.keyDim,
    causal: s.args.useCausalMask, slidingWindow: s.args.slidingWindow,
    queryMask: asBool(s.tokenMask),
    valueMask: asBool(s.value == null ? s.tokenMask : s.contextMask),
    attentionMask: s.attentionMask?.map(b => b.map(h => h.map(r => r.map(x => x === 1)))),
    emptyRows: s.args.fullyMaskedRows === 'average' ||
        ((s.args.fullyMaskedRows ?? 'keras3') === 'keras3' && !s.args.returnAttentionScores) ?
        'average' : 'zeros',
  };

  const params = parameterVector(query, value, key, weightValues);
  const evaluate = (x: number[]) => {
    const p = params.unpack(x);
    const w = referenceWeightsFrom(shapes.map(([name, shape], i) => ({name, shape, values: p.weights[i]!})));
    return mhaReference(p.query, p.value, p.key, w, options);
  };

  const {x0, split} = params;
  const pieces = split(x0);
  const expected = evaluate(x0);
  const output = flatten(expected.output);
  const cotangent = flatten(f32([randomMatrix(1, output.length, next)[0]!]));
  const loss = (x: number[]) =>
      flatten(evaluate(x).output).reduce((sum, o, i) => sum + o * cotangent[i]!, 0);
  const grads = split(finiteDifferences(loss, x0, 1e-5));

  const out = s.args.outputShape == null ? [s.queryFeatures] : [s.args.outputShape].flat();
  const outputShape = [s.batch, s.timeQ, ...out];
  const inputShapes = [[s.batch, s.timeQ, s.queryFeatures],
                       ...(value ? [[s.batch, timeK, s.value![1]]] : []),
                       ...(key ? [[s.batch, timeK, s.keyFeatures!]] : [])];
  const inputNames = ['query', ...(value ? ['context'] : []), ...(key ? ['key'] : [])];
  return {
    name: s.name,
    layer: 'MultiHeadAttention',
    args: {},
    mha: {
      args: s.args,
      ...(key ? {key: tensor(inputShapes[inputNames.indexOf('key')]!, pieces[inputNames.indexOf('key')]!)} : {}),
      ...(s.attentionMask ? {attentionMask: tensor([s.batch, s.args.numHeads, s.timeQ, timeK],
                                                   flatten(s.attentionMask))} : {}),
    },
    query: tensor(inputShapes[0]!, pieces[0]!),
    ...(value ? {context: tensor(inputShapes[1]!, pieces[1]!)} : {}),
    ...(s.tokenMask ? {tokenMask: tensor([s.batch, s.timeQ], flatten(s.tokenMask))} : {}),
    ...(s.contextMask ? {contextMask: tensor([s.batch, timeK], flatten(s.contextMask))} : {}),
    weights: shapes.map(([name, shape], i) => ({name, ...tensor(shape, weightValues[i]!)})),
    cotangent: tensor(outputShape, cotangent),
    expected: {
      output: tensor(outputShape, output),
      ...(s.args.returnAttentionScores ?
          {attention: tensor([s.batch, s.args.numHeads, s.timeQ, timeK], flatten(expected.scores))} :
          {}),
      gradients: [
        ...inputNames.map((name, i) => ({name, ...tensor(inputShapes[i]!, grads[i]!)})),
        ...shapes.map(([name, shape], i) => ({name, ...tensor(shape, grads[inputNames.length + i]!)})),
      ],
    },
  };
}

/** The Keras-layout conformance cases, seeded from `seed` on. */
export function mhaConformanceCases(seed: number): ConformanceCase[] {
  return specs.map((s, i) => makeCase(s, seed + i));
}
