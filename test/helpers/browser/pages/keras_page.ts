/**
 * Runs in the test page: loads a converter-format Keras model over http with loadKerasModel and
 * compares its predictions with Keras's (the reference file next to it), on the page's backend.
 */
import * as tf from '@tensorflow/tfjs';

import {loadKerasModel} from '../../../../src';

interface Reference {
  inputs?: unknown[];
  input_dtypes?: string[];
  x?: unknown;
  outputs: unknown[];
}

function dtypeOf(name: string): tf.DataType {
  return name === 'bool' ? 'bool' : name.startsWith('int') ? 'int32' : 'float32';
}

/** max |actual - expected| / max(1, |expected|) for each output, and the tensors left after. */
export async function compareWithKeras(modelUrl: string, referenceUrl: string, backend: string) {
  if (tf.getBackend() !== backend) {
    await tf.setBackend(backend);
  }
  await tf.ready();
  const ref = await (await fetch(referenceUrl)).json() as Reference;
  const before = tf.memory().numTensors;
  const model = await loadKerasModel(modelUrl);
  const raw = ref.inputs ?? [ref.x];
  const dtypes = ref.input_dtypes ?? ['float32'];
  const inputs = raw.map((x, i) => tf.tensor(x as number[], undefined, dtypeOf(dtypes[i]!)));
  const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  const outs = Array.isArray(out) ? out : [out];
  const errors: number[] = [];
  for (const [i, o] of outs.entries()) {
    const err = tf.tidy(() => {
      const e = tf.tensor(ref.outputs[i] as number[]);
      return tf.max(tf.div(tf.abs(tf.sub(o, e)), tf.maximum(1, tf.abs(e))));
    });
    errors.push((await err.data())[0]!);
    err.dispose();
  }
  tf.dispose([inputs, outs]);
  model.dispose();
  return {backend: tf.getBackend(), errors, tensorsLeft: tf.memory().numTensors - before};
}
