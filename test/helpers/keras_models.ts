/**
 * Keras models in the converter's format with Keras's own outputs, for test/keras/:
 * the fixtures this project made (test/fixtures/keras/<name>, scripts/keras/make_converter_fixtures.py)
 * and the folders in ../shared/keras (converted/, real/).
 *
 * A reference file holds the inputs and Keras's `predict` outputs as nested lists. Its form is
 * `reference.json` ({inputs, input_dtypes, outputs}) or, in ../shared/keras/real,
 * `keras_reference.json` ({x, outputs}).
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

/** The project's converter-format fixtures. */
export const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'keras');

/** The fixtures made by the converter-format script (folders with a model.json). */
export function fixtureNames(): string[] {
  return fs.readdirSync(FIXTURES)
      .filter(n => fs.existsSync(path.join(FIXTURES, n, 'model.json')))
      .sort();
}

export interface KerasReference {
  inputs: unknown[];
  dtypes: tf.DataType[];
  outputs: unknown[];
  note?: string;
}

function dtypeOf(name: string): tf.DataType {
  return name === 'bool' ? 'bool' : name.startsWith('int') ? 'int32' : 'float32';
}

/** The inputs and Keras's outputs of the model in `folder`. */
export function readReference(folder: string): KerasReference {
  const own = path.join(folder, 'reference.json');
  if (fs.existsSync(own)) {
    const r = JSON.parse(fs.readFileSync(own, 'utf8'));
    return {inputs: r.inputs, dtypes: (r.input_dtypes as string[]).map(dtypeOf), outputs: r.outputs,
            note: r.note};
  }
  const r = JSON.parse(fs.readFileSync(path.join(folder, 'keras_reference.json'), 'utf8'));
  return {inputs: [r.x], dtypes: ['float32'], outputs: r.outputs};
}

/** The reference's inputs as tensors. */
export function inputTensors(ref: KerasReference): tf.Tensor[] {
  return ref.inputs.map((x, i) => tf.tensor(x as number[], undefined, ref.dtypes[i]));
}

/** max |actual - expected| / max(1, |expected|), the measure. */
export function relativeError(actual: tf.Tensor, expected: unknown): number {
  return tf.tidy(() => {
    const e = tf.tensor(expected as number[]);
    if (!tf.util.arraysEqual(e.shape, actual.shape)) {
      throw new Error(`shape [${actual.shape}] where Keras's output is [${e.shape}]`);
    }
    const err = tf.max(tf.div(tf.abs(tf.sub(actual, e)), tf.maximum(1, tf.abs(e))));
    return err.dataSync()[0]!;
  });
}

/** Runs `model.predict` on the reference inputs; returns each output's relative error. */
export function predictErrors(model: tf.LayersModel, ref: KerasReference): number[] {
  const inputs = inputTensors(ref);
  try {
    const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
    const outs = Array.isArray(out) ? out : [out];
    try {
      expect(outs.length).toBe(ref.outputs.length);
      return outs.map((o, i) => relativeError(o, ref.outputs[i]));
    } finally {
      tf.dispose(outs);
    }
  } finally {
    tf.dispose(inputs);
  }
}

/** Tensors and variables alive now. */
export function census(): {tensors: number, variables: number} {
  return {tensors: tf.memory().numTensors,
          variables: Object.keys(tf.engine().registeredVariables).length};
}
