/**
 * Keras's own MultiHeadAttention numbers (test/fixtures/keras/mha/keras3.json from Keras 3.15.1
 * and keras2.json from tf.keras 2.21, written by scripts/keras/make_mha_fixtures.py) and the plumbing to put a case into the layer: Keras's
 * snake_case arguments in camelCase, weights by Keras variable path, inputs as tensors.
 */
import * as tf from '@tensorflow/tfjs';

import {MultiHeadAttention, MultiHeadAttentionArgs} from '../../src';
import {FixtureTensor} from './conformance/types';

export interface KerasMhaCase {
  name: string;
  /** Keras constructor arguments, snake_case. */
  args: Record<string, unknown>;
  /** Keras's get_config() and get_build_config(). */
  config: Record<string, unknown>;
  /** Keras 3 only. */
  build_config: {shapes_dict: Record<string, Array<number|null>>}|null;
  call: {
    use_causal_mask: boolean;
    return_attention_scores: boolean;
    /** value is the query tensor itself (mha(x, x)). */
    self_attention: boolean;
    key: boolean;
    attention_mask: boolean;
    propagated_masks: Array<'query'|'value'|'key'>;
  };
  /** Keras 3's two computations, or Keras 2's one. */
  keras_path: 'dot_product_attention'|'einsum'|'keras2';
  inputs: Partial<Record<'query'|'value'|'key'|'attention_mask'|'query_mask'|'value_mask'|
                         'key_mask', FixtureTensor>>;
  weights: Array<FixtureTensor&{path: string}>;
  outputs: {output: FixtureTensor, scores?: FixtureTensor, output_mask: FixtureTensor|null};
}

export interface KerasMhaFixtures {
  about: string;
  keras_version: string;
  backend: string;
  cases: KerasMhaCase[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a large JSON file: require keeps the compiler from typing all of it
export const kerasMhaFixtures = require('../fixtures/keras/mha/keras3.json') as KerasMhaFixtures;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a large JSON file: require keeps the compiler from typing all of it
export const keras2MhaFixtures = require('../fixtures/keras/mha/keras2.json') as KerasMhaFixtures;

/** snake_case → camelCase, as tfjs converts Keras config keys. */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The case's Keras arguments as this package's (camelCase), with the layer named 'mha' and, for
 * a Keras 2 case, Keras 2's rule for rows with no key.
 */
export function argsOf(c: KerasMhaCase): MultiHeadAttentionArgs {
  const args: Record<string, unknown> = {name: 'mha'};
  if (c.keras_path === 'keras2') {
    args['fullyMaskedRows'] = 'average';
  }
  for (const [k, v] of Object.entries(c.args)) {
    args[camel(k)] = v;
  }
  return args as unknown as MultiHeadAttentionArgs;
}

export function toTensor(t: FixtureTensor, dtype: 'float32'|'bool' = 'float32'): tf.Tensor {
  return dtype === 'bool' ? tf.tensor(t.values.map(v => v !== 0), t.shape, 'bool') :
                            tf.tensor(t.values, t.shape, 'float32');
}

/** Sets the layer's weights from the case by name: `<layer>/query/kernel` = Keras's `mha/query/kernel`. */
export function setKerasWeights(layer: MultiHeadAttention, c: KerasMhaCase): void {
  const names = layer.weights.map(w => w.originalName);
  const paths = c.weights.map(w => w.path);
  if (names.join(',') !== paths.join(',')) {
    throw new Error(`case '${c.name}': the layer's weights [${names}] are not Keras's [${paths}]`);
  }
  tf.tidy(() => layer.setWeights(c.weights.map(w => toTensor(w))));
}

/**
 * Max |actual − expected| ÷ max(1, max |expected|): the measure the Keras fixtures are held to
 * (≤ 1e-5).
 */
export async function relativeError(actual: tf.Tensor, expected: FixtureTensor): Promise<number> {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`shape [${actual.shape}], expected [${expected.shape}]`);
  }
  const a = await actual.data();
  let diff = 0;
  let scale = 1;
  expected.values.forEach((e, i) => {
    const d = Math.abs(a[i]! - e);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(e));
  });
  return diff / scale;
}
