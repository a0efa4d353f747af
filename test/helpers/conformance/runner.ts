/**
 * The conformance runner, one module for every backend: Node jest tests import it directly, the
 * browser harness bundles it for the page (there `../../src` becomes the package's browser ESM
 * build). It runs on whatever backend is active and returns plain numbers; the tests assert.
 *
 * For each fixture case: a SelfAttention layer (or, for a Keras-layout case, a
 * MultiHeadAttention) is built, its weights set from the fixture, and its outputs, attention
 * weights and autograd gradients (w.r.t. the inputs and every weight) are compared with the
 * float64 values.
 */
import * as tf from '@tensorflow/tfjs';

import {AttentionPath, multiHeadAttention, selfAttention} from '../../../src';
import {ConformanceCase, ConformanceFixtures, FixtureTensor} from './types';
import {Bound, Tolerance} from './tolerances';

/** One compared tensor. */
export interface Check {
  what: string;
  maxAbsDiff: number;
  /** max(|actual - expected| - allowed): <= 0 passes. */
  worstExcess: number;
  /** Entries that are NaN or ±Infinity. */
  nonFinite: number;
  /** Entries the reference has at exactly 0 (masked weights) that are not exactly 0. */
  notExactZero: number;
  ok: boolean;
}

export interface CaseReport {
  name: string;
  checks: Check[];
  /** tf.memory().numTensors after the case minus before (the layer is disposed). */
  leakedTensors: number;
}

export interface ConformanceReport {
  backend: string;
  cases: CaseReport[];
  /** The largest |difference| of each kind over all cases. */
  maxAbsDiff: {output: number, attention: number, gradient: number,
                /** Of gradients, divided by max(1, largest |expected| of their tensor). */
                gradientRelative: number};
  ok: boolean;
}

/**
 * Runs every fixture case on the active backend, through the layer's attention `path` (default
 * 'auto': the layer's own choice).
 */
export async function runConformance(fixtures: ConformanceFixtures, tolerance: Tolerance,
                                     path: AttentionPath = 'auto'): Promise<ConformanceReport> {
  const cases: CaseReport[] = [];
  for (const c of fixtures.cases) {
    cases.push(await runCase(c, tolerance, path));
  }
  const all = cases.flatMap(c => c.checks);
  const max = (prefix: string) =>
      Math.max(0, ...all.filter(k => k.what.startsWith(prefix)).map(k => k.maxAbsDiff));
  let gradientRelative = 0;
  fixtures.cases.forEach((c, i) => {
    c.expected.gradients.forEach(g => {
      const check = cases[i]!.checks.find(k => k.what === `gradient ${g.name}`)!;
      gradientRelative = Math.max(gradientRelative, check.maxAbsDiff / Math.max(1, maxAbs(g.values)));
    });
  });
  return {
    backend: tf.getBackend(),
    cases,
    maxAbsDiff: {output: max('output'), attention: max('attention'), gradient: max('gradient'),
                  gradientRelative},
    ok: cases.every(c => c.leakedTensors === 0 && c.checks.every(k => k.ok)),
  };
}

export async function runCase(c: ConformanceCase, tolerance: Tolerance,
                              path: AttentionPath = 'auto'): Promise<CaseReport> {
  const before = tf.memory().numTensors;
  const keras = c.layer === 'MultiHeadAttention';
  const layer = keras ? multiHeadAttention({...c.mha!.args, attentionPath: path}) :
                        selfAttention({...c.args, returnAttentionWeights: true, attentionPath: path});
  // Weight names: SelfAttention's 'query_kernel', Keras's 'query/kernel'.
  const nameParts = keras ? 2 : 1;
  // Everything computed synchronously inside one tidy; read back asynchronously afterwards
  // (WebGPU reads GPU buffers asynchronously).
  const results = tf.tidy(() => {
    const query = toTensor(c.query);
    const context = c.context == null ? null : toTensor(c.context);
    const tokenMask = c.tokenMask == null ? null : tf.cast(toTensor(c.tokenMask), 'bool');
    const contextMask = c.contextMask == null ? null : toTensor(c.contextMask);
    const key = c.mha?.key == null ? null : toTensor(c.mha.key);
    const attentionMask = c.mha?.attentionMask == null ? null : toTensor(c.mha.attentionMask);
    // The differentiable inputs, and how the layer is called on them.
    const inputs = [query, ...(context == null ? [] : [context]), ...(key == null ? [] : [key])];
    const run = (...xs: tf.Tensor[]): tf.Tensor[] => {
      if (keras) {
        // Keras's call: query, value (the context, else the query), key; masks by name.
        const valueMask = context == null ? tokenMask : contextMask;
        const out = layer.apply(xs[0]!, {
          value: context == null ? xs[0]! : xs[1]!, ...(key == null ? {} : {key: xs[2]!}),
          ...(attentionMask == null ? {} : {attentionMask}),
          ...(tokenMask == null ? {} : {queryMask: tokenMask}),
          ...(valueMask == null ? {} : {valueMask}),
        }) as tf.Tensor|tf.Tensor[];
        return Array.isArray(out) ? out : [out];
      }
      const layerInputs = xs.length === 1 ? xs[0]! : contextMask == null ? xs : [...xs, contextMask];
      return layer.apply(layerInputs, tokenMask == null ? {} : {mask: tokenMask}) as tf.Tensor[];
    };
    run(...inputs);  // builds the layer
    setWeights(layer, c, nameParts);

    const [output, attention] = run(...inputs);
    const cotangent = toTensor(c.cotangent);
    const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(run(...xs)[0]!, cotangent)) as tf.Scalar;
    const inputGrads = tf.grads(loss)(inputs);
    const variables = layer.trainableWeights.map(w => w.read() as tf.Variable);
    const {grads} = tf.variableGrads(() => loss(...inputs), variables);
    const actual: Record<string, tf.Tensor> = {'output': output!, 'gradient query': inputGrads[0]!};
    if (attention != null) {
      actual['attention'] = attention;
    }
    if (context != null) {
      actual['gradient context'] = inputGrads[1]!;
    }
    if (key != null) {
      actual['gradient key'] = inputGrads[inputs.length - 1]!;
    }
    layer.trainableWeights.forEach((w, i) => {
      actual[`gradient ${shortName(w.originalName, nameParts)}`] = grads[variables[i]!.name]!;
    });
    return actual;
  });

  const checks: Check[] = [];
  checks.push(await compare('output', results['output']!, c.expected.output, tolerance.output, 1));
  if (c.expected.attention != null) {
    checks.push(await compare('attention', results['attention']!, c.expected.attention,
                              tolerance.attention, 1));
  }
  for (const g of c.expected.gradients) {
    const got = results[`gradient ${g.name}`];
    if (got == null) {
      throw new Error(`case '${c.name}': the layer has no gradient for '${g.name}'`);
    }
    checks.push(await compare(`gradient ${g.name}`, got, g, tolerance.gradient,
                              Math.max(1, maxAbs(g.values))));
  }
  tf.dispose(Object.values(results));
  layer.dispose();
  return {name: c.name, checks, leakedTensors: tf.memory().numTensors - before};
}

function setWeights(layer: tf.layers.Layer, c: ConformanceCase, nameParts: number): void {
  const names = layer.weights.map(w => shortName(w.originalName, nameParts));
  const expected = c.weights.map(w => w.name);
  if (names.join(',') !== expected.join(',')) {
    throw new Error(`case '${c.name}': layer weights [${names}] differ from the fixture's [${
        expected}]`);
  }
  layer.setWeights(c.weights.map(toTensor));
}

/** The last `parts` segments of a weight's name: 'query_kernel', or Keras's 'query/kernel'. */
function shortName(originalName: string, parts = 1): string {
  return originalName.split('/').slice(-parts).join('/');
}

function toTensor(t: FixtureTensor): tf.Tensor {
  return tf.tensor(t.values, t.shape, 'float32');
}

function maxAbs(values: number[]): number {
  return values.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

async function compare(what: string, actual: tf.Tensor, expected: FixtureTensor, bound: Bound,
                       scale: number): Promise<Check> {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape}], expected [${expected.shape}]`);
  }
  const a = await actual.data();
  let maxAbsDiff = 0;
  let worstExcess = -Infinity;
  let nonFinite = 0;
  let notExactZero = 0;
  expected.values.forEach((e, i) => {
    const x = a[i]!;
    if (!Number.isFinite(x)) {
      nonFinite++;
      return;
    }
    if (what === 'attention' && e === 0 && x !== 0) {
      notExactZero++;
    }
    const diff = Math.abs(x - e);
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    worstExcess = Math.max(worstExcess, diff - (bound.atol * scale + bound.rtol * Math.abs(e)));
  });
  return {what, maxAbsDiff, worstExcess, nonFinite, notExactZero,
          ok: nonFinite === 0 && notExactZero === 0 && worstExcess <= 0};
}

/** What {@link runFitCheck} measured. */
export interface FitReport {
  backend: string;
  lossBefore: number;
  lossAfter: number;
  /** tf.memory() after the first epoch and after the last, to spot leaks across steps. */
  memoryAfterFirstEpoch: {numTensors: number, numDataBuffers: number, numBytesInGPU?: number};
  memoryAfterLastEpoch: {numTensors: number, numDataBuffers: number, numBytesInGPU?: number};
  /** tf.memory().numTensors after disposing the model and data, minus before building them. */
  leftAfterDispose: number;
}

/**
 * A short `fit` of a tiny model with a SelfAttention layer (2 heads, biases, causal) on a fixed
 * regression task: the loss must fall and the tensor count must not grow across epochs.
 * `adamEpsilon`: tfjs's default 1e-7 is below float16's normal range; with float16 textures it
 * becomes 0 and a weight whose gradient is exactly 0 (the key bias: softmax ignores a constant
 * per row) gets 0/0 = NaN in its first step. Use 1e-4 there, as for Keras mixed precision.
 */
export async function runFitCheck(epochs = 6, adamEpsilon = 1e-7): Promise<FitReport> {
  const start = tf.memory().numTensors;
  const x = tf.randomNormal([16, 5, 6], 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.sum(x.slice([0, 0, 0], [16, 5, 2]), [1, 2]).reshape([16, 1]));
  const model = tf.sequential({layers: [
    selfAttention({inputShape: [5, 6], numHeads: 2, useBias: true, causal: true,
                   kernelInitializer: tf.initializers.glorotUniform({seed: 3})}),
    tf.layers.flatten(),
    tf.layers.dense({units: 1, kernelInitializer: tf.initializers.glorotUniform({seed: 4})}),
  ]});
  const optimizer = tf.train.adam(0.02, 0.9, 0.999, adamEpsilon);
  model.compile({optimizer, loss: 'meanSquaredError'});
  const evaluate = async () => {
    const loss = model.evaluate(x, y) as tf.Scalar;
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  };
  const memory = () => {
    const m = tf.memory() as tf.MemoryInfo & {numBytesInGPU?: number};
    return {numTensors: m.numTensors, numDataBuffers: m.numDataBuffers,
            ...(m.numBytesInGPU == null ? {} : {numBytesInGPU: m.numBytesInGPU})};
  };
  const lossBefore = await evaluate();
  await model.fit(x, y, {epochs: 1, batchSize: 8, verbose: 0, shuffle: false});
  const memoryAfterFirstEpoch = memory();
  await model.fit(x, y, {epochs: epochs - 1, batchSize: 8, verbose: 0, shuffle: false});
  const memoryAfterLastEpoch = memory();
  const lossAfter = await evaluate();
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
  return {backend: tf.getBackend(), lossBefore, lossAfter, memoryAfterFirstEpoch,
          memoryAfterLastEpoch, leftAfterDispose: tf.memory().numTensors - start};
}
