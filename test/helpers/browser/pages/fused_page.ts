/**
 * Runs in the test page: the fused attention path on webgl (float32 or float16 textures) or
 * webgpu, for test/browser/fused.browser.test.ts. `start` picks the backend; the other functions
 * return plain numbers (values, counts) for the test to check.
 *
 * Programs are counted by wrapping the backend's own entry point for running one program
 * (`runWebGLProgram` on WebGL, `runWebGPUProgram` on WebGPU): every shader dispatched goes
 * through it, tfjs's kernels and the fused path's programs alike, including WebGL's packing and
 * unpacking of textures. A program's bytes are the sizes of its input tensors (read) and of its
 * output (written), 4 bytes per value.
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

import {attention, AttentionPath, choosePath, DispatchOptions, selfAttention} from '../../../../src';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

/** `key`: 'webgl', 'webgl-float16' (float16 render targets), 'webgl1' (WebGL 1), 'webgpu', 'wasm'. */
export async function start(key: string) {
  if (key === 'webgl-float16') {
    tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', false);
  }
  if (key === 'webgl1') {
    tf.env().set('WEBGL_VERSION', 1);
  }
  const backend = key.startsWith('webgl') ? 'webgl' : key;
  if (!(await tf.setBackend(backend))) {
    throw new Error(`the page could not start the '${backend}' backend`);
  }
  await tf.ready();
  return {backend: tf.getBackend(),
          webglVersion: backend === 'webgl' ? tf.env().getNumber('WEBGL_VERSION') : null};
}

export interface ProgramCount {
  programs: number;
  /** Bytes read (inputs) and written (outputs) by those programs. */
  bytesIn: number;
  bytesOut: number;
  /** Program class names, in order. */
  names: string[];
}

/**
 * Counts the programs `f` dispatches (see the module comment), and what they read and write;
 * then waits for its results, so that no work of this page is still queued on the GPU (a
 * software GPU is shared by every tab) when the caller moves on.
 */
async function countPrograms(f: () => tf.Tensor|tf.Tensor[]): Promise<ProgramCount> {
  const backend = tf.backend() as unknown as Record<string, unknown>;
  const method = tf.getBackend() === 'webgl' ? 'runWebGLProgram' : 'runWebGPUProgram';
  const original = backend[method] as (...args: unknown[]) => tf.TensorInfo;
  const count: ProgramCount = {programs: 0, bytesIn: 0, bytesOut: 0, names: []};
  const bytes = (shape: number[]) => 4 * shape.reduce((a, b) => a * b, 1);
  backend[method] = function(this: unknown, program: {outputShape: number[]},
                             inputs: tf.TensorInfo[], ...rest: unknown[]) {
    count.programs++;
    count.names.push(program.constructor.name);
    count.bytesIn += inputs.reduce((sum, t) => sum + bytes(t.shape), 0);
    count.bytesOut += bytes(program.outputShape);
    return original.call(this, program, inputs, ...rest);
  };
  let results: tf.Tensor[];
  try {
    const out = tf.tidy(f);
    results = Array.isArray(out) ? out : [out];
  } finally {
    backend[method] = original;
  }
  await Promise.all(results.map(t => t.data()));
  tf.dispose(results);
  return count;
}

/** A tensor of random numbers made by a GPU program, so that counting sees no upload. */
export function onDevice(shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), 1));
}

/**
 * Programs of attention (steps 3–6 only) on `[batch, heads, time, dh]` inputs, forward and
 * forward + backward (gradients of q, k and v), for each path.
 */
export async function programCounts(batch: number, heads: number, time: number, dh: number,
                                    paths: AttentionPath[]) {
  const [q, k, v, dy] = [1, 2, 3, 4].map(seed => onDevice([batch, heads, time, dh], seed));
  await Promise.all([q, k, v, dy].map(t => t!.data()));
  const result: Record<string, {forward: ProgramCount, both: ProgramCount}> = {};
  for (const path of paths) {
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        attention(a, b, c, {path, needWeights: false}).output;
    // Once before counting, so shaders compile and every input is in place.
    const warm = tf.grads(f)([q!, k!, v!], dy);
    await Promise.all(warm.map(t => t.data()));
    tf.dispose(warm);
    result[path] = {forward: await countPrograms(() => f(q!, k!, v!)),
                    both: await countPrograms(() => tf.grads(f)([q!, k!, v!], dy))};
  }
  tf.dispose([q!, k!, v!, dy!]);
  return result;
}

export interface CaseInput {
  q: number[], k: number[], v: number[], dy: number[], mask: number[]|null,
  qShape: number[], kShape: number[], vShape: number[], maskShape: number[]|null,
  options: DispatchOptions,
}

/**
 * The fused path's output, weights and gradients of q, k, v (loss = Σ output ⊙ dy) for one
 * case, and the tensors left over after it (0 when nothing leaks).
 */
export async function runCase(c: CaseInput) {
  const before = tf.memory().numTensors;
  const q = tf.tensor(c.q, c.qShape);
  const k = tf.tensor(c.k, c.kShape);
  const v = tf.tensor(c.v, c.vShape);
  const dy = tf.tensor(c.dy, [...c.qShape.slice(0, -1), c.vShape[c.vShape.length - 1]!]);
  const mask = c.mask == null ? null : tf.tensor(c.mask, c.maskShape!, 'bool');
  const options = {...c.options, mask, path: 'fused' as const};
  const {output, weights} = attention(q, k, v, options);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
      attention(a, b, d, {...options, needWeights: false}).output)([q, k, v], dy);
  const read = async (t: tf.Tensor|null) => (t == null ? null : Array.from(await t.data()));
  const values = {
    output: await read(output), weights: await read(weights),
    dq: await read(grads[0]!), dk: await read(grads[1]!), dv: await read(grads[2]!),
  };
  // A second call with the same seed draws the same dropout.
  const again = attention(q, k, v, options);
  const repeat = await read(again.output);
  tf.dispose([q, k, v, dy, output, ...(weights ? [weights] : []), ...grads, again.output,
              ...(again.weights ? [again.weights] : []), ...(mask ? [mask] : [])]);
  return {...values, repeat, leaked: tf.memory().numTensors - before};
}

/**
 * The fused path on empty shapes (batch 0, timeQ 0, timeK 0; `[batch, heads, time, 4]`
 * inputs): each output's shape and values, the gradients' shapes and values, and the tensors
 * left over afterwards.
 */
export async function emptyCases(shapes: Array<{q: number[], k: number[]}>) {
  const before = tf.memory().numTensors;
  const results = [];
  for (const s of shapes) {
    const [q, k, v] = [tf.ones(s.q), tf.ones(s.k), tf.ones(s.k)];
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        attention(a, b, c, {path: 'fused', needWeights: false, causal: true}).output;
    const output = f(q, k, v);
    const grads = tf.grads(f)([q, k, v]);
    results.push({
      outputShape: output.shape, output: Array.from(await output.data()),
      gradShapes: grads.map(g => g.shape),
      grads: await Promise.all(grads.map(async g => Array.from(await g.data()))),
    });
    tf.dispose([q, k, v, output, ...grads]);
  }
  return {results, leaked: tf.memory().numTensors - before};
}

/** What 'auto' picks for `[batch, heads, time, dh]` inputs with these options. */
export function autoChoice(batch: number, heads: number, time: number, dh: number,
                           options: DispatchOptions) {
  const q = tf.zeros([batch, heads, time, dh]);
  try {
    return choosePath(q, q, options);
  } finally {
    q.dispose();
  }
}

/** The error the fused path throws here, or null when it runs. */
export function fusedError(): string|null {
  const q = tf.ones([1, 1, 4, 2]);
  try {
    tf.dispose(attention(q, q, q, {path: 'fused'}).output);
    return null;
  } catch (e) {
    return String((e as Error).message ?? e);
  } finally {
    q.dispose();
  }
}

/**
 * A layer with dropout, trained a few steps through the fused path: the loss must fall and
 * nothing may leak across steps.
 */
export async function fitWithDropout(adamEpsilon: number) {
  const start = tf.memory().numTensors;
  const x = tf.randomNormal([16, 6, 8], 0, 1, 'float32', 11);
  const y = tf.tidy(() => tf.sum(x.slice([0, 0, 0], [16, 6, 2]), [1, 2]).reshape([16, 1]));
  const model = tf.sequential({layers: [
    selfAttention({inputShape: [6, 8], numHeads: 2, dropout: 0.2, causal: true,
                   attentionPath: 'fused',
                   kernelInitializer: tf.initializers.glorotUniform({seed: 5})}),
    tf.layers.flatten(),
    tf.layers.dense({units: 1, kernelInitializer: tf.initializers.glorotUniform({seed: 6})}),
  ]});
  const optimizer = tf.train.adam(0.02, 0.9, 0.999, adamEpsilon);
  model.compile({optimizer, loss: 'meanSquaredError'});
  const evaluate = async () => {
    const loss = model.evaluate(x, y) as tf.Scalar;
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  };
  const lossBefore = await evaluate();
  await model.fit(x, y, {epochs: 1, batchSize: 8, verbose: 0, shuffle: false});
  const tensorsAfterFirst = tf.memory().numTensors;
  await model.fit(x, y, {epochs: 7, batchSize: 8, verbose: 0, shuffle: false});
  const tensorsAfterLast = tf.memory().numTensors;
  const lossAfter = await evaluate();
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
  return {lossBefore, lossAfter, tensorsAfterFirst, tensorsAfterLast,
          leftAfterDispose: tf.memory().numTensors - start};
}
