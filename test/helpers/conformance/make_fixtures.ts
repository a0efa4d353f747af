/**
 * Writes test/helpers/conformance/fixtures.json: the conformance vectors every backend is checked
 * against. Everything expected is computed in float64 by test/helpers/reference.ts (no tfjs): outputs,
 * attention weights, and gradients of loss = Σ output ⊙ cotangent w.r.t. the inputs and every
 * weight, by central finite differences of the float64 reference. Inputs and weights are rounded
 * to float32 first, so the layer sees exactly the numbers the reference used.
 *
 *   npm run fixtures
 */
import * as fs from 'fs';
import * as path from 'path';

import {attentionBatch, finiteDifferences, flatten, Matrix, randomMatrix, ReferenceWeights, rng} from '../reference';
import {mhaConformanceCases} from './mha_cases';
import {ConformanceCase, ConformanceFixtures, FixtureTensor} from './types';

interface CaseSpec {
  name: string;
  args: ConformanceCase['args'];
  batch: number;
  timeQ: number;
  features: number;
  /** Cross-attention: [timeK, contextFeatures]. */
  context?: [number, number];
  /** Self-attention: per-token padding mask [batch][time], 1 = real token. */
  tokenMask?: number[][];
  /** Cross-attention: key mask [batch][timeK], passed as the third input. */
  contextMask?: number[][];
}

const specs: CaseSpec[] = [
  {name: 'single head', args: {}, batch: 2, timeQ: 5, features: 4},
  {name: 'two heads, biases, output projection', args: {numHeads: 2, useBias: true}, batch: 2,
   timeQ: 4, features: 8},
  {name: 'three heads, causal, keyDim 3, valueDim 5, outputDim 6',
   args: {numHeads: 3, keyDim: 3, valueDim: 5, outputDim: 6, useBias: true, causal: true},
   batch: 2, timeQ: 5, features: 6},
  {name: 'padding mask, padded query rows give the output bias',
   args: {numHeads: 2, useBias: true}, batch: 2, timeQ: 5, features: 4,
   tokenMask: [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]},
  {name: 'causal with a padding mask', args: {causal: true}, batch: 2, timeQ: 4, features: 4,
   tokenMask: [[1, 1, 0, 0], [0, 1, 1, 1]]},
  {name: 'cross-attention with a key mask, one sequence with every key masked',
   args: {numHeads: 2, keyDim: 3, useBias: true}, batch: 2, timeQ: 3, features: 4,
   context: [5, 6], contextMask: [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]]},
  {name: 'causal cross-attention, timeQ < timeK', args: {causal: true, keyDim: 2}, batch: 2,
   timeQ: 3, features: 4, context: [5, 4]},
];

function f32(m: Matrix): Matrix {
  return m.map(row => Array.from(Float32Array.from(row)));
}

/** The layer's weights, in its order, for these args and input sizes. */
function weightShapes(spec: CaseSpec): Array<[string, number[]]> {
  const a = spec.args;
  const h = a.numHeads ?? 1;
  const k = a.keyDim ?? spec.features / h;
  const v = a.valueDim ?? k;
  const c = spec.context?.[1] ?? spec.features;
  const project = a.useOutputProjection ?? h > 1;
  const out = a.outputDim ?? spec.features;
  const list: Array<[string, number[]]> = [
    ['query_kernel', [spec.features, h * k]], ['key_kernel', [c, h * k]],
    ['value_kernel', [c, h * v]]];
  if (a.useBias) {
    list.push(['query_bias', [h * k]], ['key_bias', [h * k]], ['value_bias', [h * v]]);
  }
  if (project) {
    list.push(['output_kernel', [h * v, out]]);
    if (a.useBias) {
      list.push(['output_bias', [out]]);
    }
  }
  return list;
}

const FIELDS: Record<string, keyof ReferenceWeights> = {
  query_kernel: 'wq', key_kernel: 'wk', value_kernel: 'wv', query_bias: 'bq', key_bias: 'bk',
  value_bias: 'bv', output_kernel: 'wo', output_bias: 'bo'};

/** 9 significant digits: more than float32 holds, and keeps the file small. */
function round(values: number[]): number[] {
  return values.map(x => Number(x.toPrecision(9)));
}

function tensor(shape: number[], values: number[]): FixtureTensor {
  return {shape, values: round(values)};
}

function makeCase(spec: CaseSpec, seed: number): ConformanceCase {
  const next = rng(seed);
  const h = spec.args.numHeads ?? 1;
  const keyDim = spec.args.keyDim ?? spec.features / h;
  const opts = {numHeads: h, keyDim, valueDim: spec.args.valueDim ?? keyDim,
                causal: spec.args.causal ?? false};
  const query = Array.from({length: spec.batch},
                           () => f32(randomMatrix(spec.timeQ, spec.features, next)));
  const context = spec.context == null ? null : Array.from(
      {length: spec.batch}, () => f32(randomMatrix(spec.context![0], spec.context![1], next)));
  const timeK = spec.context?.[0] ?? spec.timeQ;
  const shapes = weightShapes(spec);
  const weightValues = shapes.map(([, s]) => flatten(f32(
      randomMatrix(s.length === 2 ? s[0]! : 1, s.length === 2 ? s[1]! : s[0]!, next, 0.5))));
  const queryMask = spec.tokenMask ?? null;
  const keyMask = spec.tokenMask ?? spec.contextMask ?? null;
  const allowed = queryMask == null && keyMask == null ? undefined :
      query.map((_, b) => Array.from({length: spec.timeQ}, (__, i) =>
          Array.from({length: timeK}, (___, j) =>
              (queryMask == null || queryMask[b]![i] === 1) &&
              (keyMask == null || keyMask[b]![j] === 1))));

  // Flat parameter vector: [query, (context,) every weight] and its inverse.
  const pieces = [flatten(query), ...(context ? [flatten(context)] : []), ...weightValues];
  const sizes = pieces.map(p => p.length);
  const unflatten = (x: number[]) => {
    let at = 0;
    return sizes.map(n => x.slice(at, at += n));
  };
  const toMatrices = (flat: number[], rows: number, cols: number, count: number): Matrix[] =>
      Array.from({length: count}, (_, b) => Array.from({length: rows}, (__, i) =>
          flat.slice((b * rows + i) * cols, (b * rows + i + 1) * cols)));
  const evaluate = (x: number[]) => {
    const parts = unflatten(x);
    const q = toMatrices(parts[0]!, spec.timeQ, spec.features, spec.batch);
    const ctx = context ? toMatrices(parts[1]!, timeK, spec.context![1], spec.batch) : q;
    const w: Record<string, unknown> = {};
    shapes.forEach(([name, s], i) => {
      const values = parts[(context ? 2 : 1) + i]!;
      w[FIELDS[name]!] = s.length === 2 ? toMatrices(values, s[0]!, s[1]!, 1)[0] : values;
    });
    return attentionBatch(q, ctx, w as unknown as ReferenceWeights, {...opts, allowed});
  };

  const x0 = pieces.flat();
  const expected = evaluate(x0);
  const output = flatten(expected.output);
  const outDim = output.length / (spec.batch * spec.timeQ);
  const cotangent = flatten(f32([randomMatrix(1, output.length, next)[0]!]));
  const loss = (x: number[]) =>
      flatten(evaluate(x).output).reduce((s, o, i) => s + o * cotangent[i]!, 0);
  const grads = unflatten(finiteDifferences(loss, x0, 1e-5));

  const inputShape = [spec.batch, spec.timeQ, spec.features];
  const contextShape = context ? [spec.batch, timeK, spec.context![1]] : null;
  return {
    name: spec.name,
    args: spec.args,
    query: tensor(inputShape, pieces[0]!),
    ...(context ? {context: tensor(contextShape!, pieces[1]!)} : {}),
    ...(spec.tokenMask ? {tokenMask: tensor([spec.batch, spec.timeQ], flatten(spec.tokenMask))} : {}),
    ...(spec.contextMask ? {contextMask: tensor([spec.batch, timeK], flatten(spec.contextMask))} : {}),
    weights: shapes.map(([name, shape], i) => ({name, ...tensor(shape, weightValues[i]!)})),
    cotangent: tensor([spec.batch, spec.timeQ, outDim], cotangent),
    expected: {
      output: tensor([spec.batch, spec.timeQ, outDim], output),
      attention: tensor([spec.batch, h, spec.timeQ, timeK], flatten(expected.weights)),
      gradients: [
        {name: 'query', ...tensor(inputShape, grads[0]!)},
        ...(context ? [{name: 'context', ...tensor(contextShape!, grads[1]!)}] : []),
        ...shapes.map(([name, shape], i) => ({name, ...tensor(shape, grads[(context ? 2 : 1) + i]!)})),
      ],
    },
  };
}

function main(): void {
  const fixtures: ConformanceFixtures = {
    about: 'Made by test/helpers/conformance/make_fixtures.ts (npm run fixtures) from the float64 ' +
        'reference test/helpers/reference.ts. Gradients: central finite differences (h = 1e-5) of ' +
        'loss = sum(output * cotangent).',
    // SelfAttention's cases, then MultiHeadAttention's (Keras's layout, from mha_cases.ts).
    cases: [...specs.map((spec, i) => makeCase(spec, 1000 + i)), ...mhaConformanceCases(2000)],
  };
  const file = path.join(__dirname, 'fixtures.json');
  fs.writeFileSync(file, JSON.stringify(fixtures) + '\n');
  console.log(`wrote ${fixtures.cases.length} cases, ${fs.statSync(file).size} bytes to ${
      path.relative(process.cwd(), file)}`);
}

main();
