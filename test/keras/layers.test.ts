/**
 * The Keras-compatible layers the loader maps Keras classes to, on their own: numbers against
 * plain float64 formulas (Keras's numbers for them are checked through the fixtures), masks,
 * dtypes and shapes of the op layer, argument errors, and save → load of a model holding them.
 */
import * as tf from '@tensorflow/tfjs';

import {buildKerasModel, KerasCall, KerasGlobalAveragePooling1D, KerasGRU, KerasLayerNormalization,
        KerasOp, KerasRMSNormalization, planKerasModel, useBestBackend} from '../../src';
import {expectClose} from '../helpers/tensors';

beforeAll(async () => {
  await useBestBackend({order: ['cpu']});
});

/** Deterministic values in [-2, 2). */
function values(n: number, seed = 1): number[] {
  let s = seed;
  return Array.from({length: n}, () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 4 - 2;
  });
}

/** Normalizes each row of a [rows, cols] list over its columns, in float64. */
function normRows(x: number[][], center: boolean, rms: boolean, eps: number): number[][] {
  return x.map(row => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    const meanSquare = row.reduce((a, b) => a + b * b, 0) / row.length;
    return row.map(v => (rms ? v / Math.sqrt(meanSquare + eps) :
                         (center ? v - mean : v) / Math.sqrt(variance + eps)));
  });
}

describe('KerasLayerNormalization', () => {
  const rows = Array.from({length: 6}, (_, i) => values(5, i + 3).map(v => v * 3 + 1));

  test.each([
    ['default', {}, false],
    ['rms_scaling: x / sqrt(var + eps), not centered (Keras 3\'s formula)', {rmsScaling: true}, true],
  ])('%s', (_, args, rmsScaling) => {
    const layer = new KerasLayerNormalization({epsilon: 1e-3, ...args});
    const x = tf.tensor3d([rows], [1, 6, 5]);
    const y = layer.apply(x) as tf.Tensor;
    expect(layer.weights.map(w => w.name.split('/').pop())).toEqual(rmsScaling ? ['gamma'] : ['gamma', 'beta']);
    // rms_scaling divides the uncentered x by the variance's root (gamma = 1 here)
    expectClose(y, normRows(rows, !rmsScaling, false, 1e-3), 1e-5, 1e-5);
    tf.dispose([x, y]);
    layer.dispose();
  });

  test('over two axes, with a weight per (step, feature)', () => {
    const layer = new KerasLayerNormalization({axis: [1, 2], epsilon: 1e-3});
    const x = tf.tensor3d([rows], [1, 6, 5]);
    const y = layer.apply(x) as tf.Tensor;
    expect(layer.weights.map(w => w.shape)).toEqual([[6, 5], [6, 5]]);
    const flat = normRows([rows.flat()], true, false, 1e-3)[0]!;
    expectClose(y, flat, 1e-5, 1e-5);
    tf.dispose([x, y]);
    layer.dispose();
  });

  test('its gradient with respect to gamma matches finite differences', () => {
    const layer = new KerasLayerNormalization({epsilon: 1e-3});
    const x = tf.tensor2d(rows);
    layer.apply(x);
    const gamma = layer.weights[0]!;
    const loss = () => tf.tidy(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, tf.range(0, 5))));
    const grad = tf.variableGrads(() => loss() as tf.Scalar, [gamma.read() as tf.Variable]);
    const analytic = Array.from(Object.values(grad.grads)[0]!.dataSync());
    const base = Array.from(gamma.read().dataSync());
    const h = 1e-2;
    const numeric = base.map((_, i) => {
      const at = (d: number) => {
        gamma.write(tf.tensor1d(base.map((v, j) => (j === i ? v + d : v))));
        return loss().dataSync()[0]!;
      };
      return (at(h) - at(-h)) / (2 * h);
    });
    expectClose(analytic, numeric, 1e-2, 1e-3);
    tf.dispose([x, ...Object.values(grad.grads), grad.value]);
    layer.dispose();
  });

  test('bad arguments name the argument and the value', () => {
    expect(() => new KerasLayerNormalization({axis: [] as number[]})).toThrow('axis must be an integer or a non-empty list of integers. Received: axis=[]');
    expect(() => new KerasLayerNormalization({epsilon: -1})).toThrow('epsilon must be a non-negative number. Received: epsilon=-1');
    expect(() => new KerasLayerNormalization({center: 'yes' as unknown as boolean})).toThrow('center must be a boolean (true or false). Received: center="yes"');
    expect(() => new KerasLayerNormalization({epsilom: 1e-3} as object)).toThrow(/unknown argument 'epsilom'. Did you mean 'epsilon'\?/);
  });
});

test('KerasRMSNormalization: x / sqrt(mean(x²) + eps) · scale', () => {
  const rows = Array.from({length: 4}, (_, i) => values(6, i + 9));
  const layer = new KerasRMSNormalization({epsilon: 1e-5});
  const x = tf.tensor2d(rows);
  const y = layer.apply(x) as tf.Tensor;
  expect(layer.weights.map(w => w.name.split('/').pop())).toEqual(['scale']);
  expectClose(y, normRows(rows, false, true, 1e-5), 1e-5, 1e-5);
  tf.dispose([x, y]);
  layer.dispose();
});

describe('KerasGlobalAveragePooling1D', () => {
  const x = () => tf.tensor3d([[[1, 10], [2, 20], [3, 30], [4, 40]]]);  // [1, 4, 2]

  test('without a mask: the mean over the steps', () => {
    const layer = new KerasGlobalAveragePooling1D({});
    const input = x();
    const y = layer.apply(input) as tf.Tensor;
    expectClose(y, [2.5, 25]);
    tf.dispose([input, y]);
  });

  test('with a mask: the mean over the kept steps; keepdims; channelsFirst', () => {
    const input = x();
    const mask = tf.tensor2d([[1, 0, 1, 0]], [1, 4], 'bool');
    const kept = new KerasGlobalAveragePooling1D({keepdims: true}).apply(input, {mask}) as tf.Tensor;
    expect(kept.shape).toEqual([1, 1, 2]);
    expectClose(kept, [2, 20]);
    const first = tf.transpose(input, [0, 2, 1]);  // [1, 2, 4]
    const y = new KerasGlobalAveragePooling1D({dataFormat: 'channelsFirst'}).apply(first, {mask}) as tf.Tensor;
    expectClose(y, [2, 20]);
    tf.dispose([input, mask, kept, first, y]);
  });

  test('a row with every step masked gives NaN, as in Keras', () => {
    const input = x();
    const mask = tf.zeros([1, 4], 'bool');
    const y = new KerasGlobalAveragePooling1D({}).apply(input, {mask}) as tf.Tensor;
    expect(Array.from(y.dataSync()).every(Number.isNaN)).toBe(true);
    tf.dispose([input, mask, y]);
  });

  test('bad arguments', () => {
    expect(() => new KerasGlobalAveragePooling1D({dataFormat: 'nhwc' as 'channelsLast'}))
        .toThrow(`dataFormat must be 'channelsLast' or 'channelsFirst'. Received: dataFormat="nhwc"`);
  });
});

describe('KerasOp', () => {
  const run = (config: ConstructorParameters<typeof KerasOp>[0], ...inputs: tf.Tensor[]) => {
    const op = new KerasOp(config);
    const out = op.apply(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor;
    const shape = op.computeOutputShape(inputs.length === 1 ? inputs[0]!.shape : inputs.map(i => i.shape));
    return {out, shape};
  };

  test('Keras\'s dtypes: ints stay int with int scalars, / gives float, comparisons give bool', () => {
    const i = tf.tensor1d([3, 4], 'int32');
    const cases: Array<[ConstructorParameters<typeof KerasOp>[0], string, number[]]> = [
      [{op: 'add', args: [{input: 0}, {value: 2}]}, 'int32', [5, 6]],
      [{op: 'multiply', args: [{input: 0}, {value: 0.5}]}, 'float32', [1.5, 2]],
      [{op: 'divide', args: [{input: 0}, {value: 2}]}, 'float32', [1.5, 2]],
      [{op: 'notEqual', args: [{input: 0}, {value: 4}]}, 'bool', [1, 0]],
      [{op: 'add', args: [{input: 0}, {array: {dtype: 'float32', shape: [2], values: [0.5, 1]}}]},
       'float32', [3.5, 5]],
      [{op: 'cast', castTo: 'bool'}, 'bool', [1, 1]],
    ];
    for (const [config, dtype, expected] of cases) {
      const {out} = run(config, i);
      expect([config.op, out.dtype]).toEqual([config.op, dtype]);
      expect(Array.from(out.dataSync())).toEqual(expected);
      out.dispose();
    }
    i.dispose();
  });

  test('shapes: reshape with -1, transpose, expandDims, reductions, concatenate, pad', () => {
    const x = tf.ones([2, 3, 4]);
    const cases: Array<[ConstructorParameters<typeof KerasOp>[0], number[]]> = [
      [{op: 'reshape', newshape: [-1, 12]}, [2, 12]],
      [{op: 'transpose', axes: [0, 2, 1]}, [2, 4, 3]],
      [{op: 'expandDims', axis: -1}, [2, 3, 4, 1]],
      [{op: 'mean', axis: [1, 2], keepdims: true}, [2, 1, 1]],
      [{op: 'sum', axis: 1}, [2, 4]],
      [{op: 'pad', paddings: [[0, 0], [2, 0], [0, 1]]}, [2, 5, 5]],
    ];
    for (const [config, shape] of cases) {
      const {out, shape: inferred} = run(config, x);
      expect([config.op, out.shape]).toEqual([config.op, shape]);
      expect([config.op, inferred]).toEqual([config.op, shape]);
      out.dispose();
    }
    const {out, shape} = run({op: 'concatenate', args: [{list: [{input: 0}, {input: 1}]}], axis: 1},
                             x, tf.zeros([2, 5, 4]));
    expect(out.shape).toEqual([2, 8, 4]);
    expect(shape).toEqual([2, 8, 4]);
    tf.dispose([x, out]);
  });

  test('the mask ops: zeroMasked, and Concatenate\'s mask in both Keras versions', () => {
    const x = tf.tensor3d([[[1, 2], [3, 4]]]);   // [1, 2, 2]
    const m = tf.tensor2d([[1, 0]], [1, 2], 'bool');
    const zero = run({op: 'zeroMasked'}, x, m).out;
    expect(Array.from(zero.dataSync())).toEqual([1, 2, 0, 0]);
    const pair = [{input: 0}, {input: 1}, {input: 0}, {value: null}];
    const any = run({op: 'concatMaskAny', args: pair, axis: -1}, x, m).out;  // Keras 3
    const all = run({op: 'concatMaskAll', args: pair, axis: -1}, x, m).out;  // tf.keras 2
    expect(Array.from(any.dataSync())).toEqual([1, 1]);  // the unmasked input keeps every step
    expect(Array.from(all.dataSync())).toEqual([1, 0]);
    tf.dispose([x, m, zero, any, all]);
  });

  test('an unknown op or a bad cast is an error naming it', () => {
    expect(() => new KerasOp({op: 'einsum'})).toThrow(/op must be one of .*Received: op="einsum"/);
    expect(() => new KerasOp({op: 'cast', castTo: 'int64'}))
        .toThrow(`castTo must be one of 'float32', 'int32', 'bool'. Received: castTo="int64"`);
    expect(() => new KerasOp({op: 'add', args: [{input: -1}]})).toThrow(/args must be an array of/);
  });
});

test('tf.keras 2\'s hard_sigmoid is 0.2·x + 0.5, Keras 3\'s relu6(x + 3) / 6', () => {
  for (const [version, expected] of [[2, [0, 0.3, 0.5, 0.9, 1]], [3, [0, 0.3333333, 0.5, 0.8333333, 1]]] as const) {
    const dense = {class_name: 'Dense', config: {name: 'd', units: 1, use_bias: false,
                                                  activation: 'hard_sigmoid', trainable: true}};
    const plan = planKerasModel({class_name: 'Sequential', config: {name: 's', layers: [
      {class_name: 'InputLayer', config: {name: 'x', batch_shape: [null, 1]}}, dense]}},
                                {kerasVersion: version === 2 ? '2.15.0' : '3.15.1'});
    const {model, weights} = buildKerasModel(plan);
    weights[0]!.variable.write(tf.ones([1, 1]));
    const x = tf.tensor2d([[-5], [-1], [0], [2], [5]]);
    const y = model.predict(x) as tf.Tensor;
    expectClose(y, expected, 1e-6, 1e-6);
    tf.dispose([x, y]);
    model.dispose();
  }
});

test('a model with KerasCall, KerasOp and the Keras layers saves and loads back', async () => {
  const x = tf.input({shape: [4, 3]});
  const m = tf.input({shape: [4], dtype: 'bool'});
  const ln = new KerasLayerNormalization({name: 'ln', rmsScaling: true}).apply(x) as tf.SymbolicTensor;
  const shifted = new KerasOp({name: 'shift', op: 'add', args: [{input: 0}, {value: 1.5}]})
      .apply(ln) as tf.SymbolicTensor;
  const pooled = new KerasCall({name: 'pool', layer: {className: 'KerasGlobalAveragePooling1D', config: {}},
                                inputs: {input: 0}, kwargs: {mask: {input: 1}}})
      .apply([shifted, m]) as tf.SymbolicTensor;
  const model = tf.model({inputs: [x, m], outputs: pooled});
  const saved: tf.io.ModelArtifacts[] = [];
  await model.save(tf.io.withSaveHandler(async a => {
    saved.push(a);
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved[0]!));
  const input = [tf.randomNormal([2, 4, 3]), tf.tensor2d([[1, 1, 0, 0], [1, 0, 1, 1]], [2, 4], 'bool')];
  const a = model.predict(input) as tf.Tensor;
  const b = loaded.predict(input) as tf.Tensor;
  expectClose(b, Array.from(a.dataSync()), 0, 0);
  expect((loaded.getLayer('pool') as KerasCall).layer).toBeInstanceOf(KerasGlobalAveragePooling1D);
  tf.dispose([input, a, b]);
  model.dispose();
  loaded.dispose();
});

test('KerasGRU inside tfjs\'s Bidirectional saves and loads back, and its backward copy runs', async () => {
  const x = tf.input({shape: [5, 3]});
  const bi = tf.layers.bidirectional({
    layer: new KerasGRU({units: 4, returnSequences: true}) as unknown as tf.RNN, mergeMode: 'concat'});
  const model = tf.model({inputs: x, outputs: bi.apply(x) as tf.SymbolicTensor});
  expect(model.weights.map(w => w.shape)).toEqual([[3, 12], [4, 12], [2, 12], [3, 12], [4, 12], [2, 12]]);
  const saved: tf.io.ModelArtifacts[] = [];
  await model.save(tf.io.withSaveHandler(async a => {
    saved.push(a);
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved[0]!));
  const input = tf.randomNormal([2, 5, 3]);
  const a = model.predict(input) as tf.Tensor;
  const b = loaded.predict(input) as tf.Tensor;
  expectClose(b, Array.from(a.dataSync()), 0, 0);
  // the backward half is not the forward half reversed (it has its own weights)
  const forward = a.slice([0, 0, 0], [2, 5, 4]);
  const backward = a.slice([0, 0, 4], [2, 5, 4]);
  expect(tf.tidy(() => tf.max(tf.abs(tf.sub(forward, backward))).dataSync()[0]!)).toBeGreaterThan(1e-3);
  tf.dispose([input, a, b, forward, backward]);
  model.dispose();
  loaded.dispose();
});
