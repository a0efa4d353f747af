/**
 * Keras activation names → the activations of tfjs layers, with the ones tfjs lacks registered
 * here (`activation: 'kerasHardSilu'` in a tfjs layer config; the names start with `keras` so
 * that they cannot clash with tfjs's own).
 *
 * The formulas are Keras 3's (keras/src/activations); where tf.keras 2 differs (`hard_sigmoid`
 * is 0.2·x + 0.5 clipped there, which is tfjs's `hardSigmoid`), {@link kerasActivation} picks by
 * version. tfjs activations are classes registered for serialization: a Dense layer stores only
 * the name, so a model saved with `model.save` finds these again when the package is imported.
 */
import * as tf from '@tensorflow/tfjs';

type Unary = (x: tf.Tensor) => tf.Tensor;

/** An activation: `apply(x)` elementwise, as tfjs's built-in activations. */
abstract class KerasActivation extends tf.serialization.Serializable {
  protected abstract fn(x: tf.Tensor): tf.Tensor;

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.fn(x));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

function define(className: string, fn: Unary): void {
  const cls = class extends KerasActivation {
    static className = className;
    protected fn(x: tf.Tensor): tf.Tensor {
      return fn(x);
    }
  };
  tf.serialization.registerClass(cls);
}

const relu6 = (x: tf.Tensor) => tf.clipByValue(x, 0, 6);

/** Keras 3 formulas, keyed by the registered tfjs name. */
const DEFINITIONS: Record<string, Unary> = {
  kerasExponential: x => tf.exp(x),
  // relu6(x + 3) / 6
  kerasHardSigmoid: x => tf.div(relu6(tf.add(x, 3)), 6),
  // x · relu6(x + 3) / 6
  kerasHardSilu: x => tf.mul(x, tf.div(relu6(tf.add(x, 3)), 6)),
  kerasLeakyRelu: x => tf.leakyRelu(x, 0.2),
  // log(sigmoid(x)) = -softplus(-x)
  kerasLogSigmoid: x => tf.neg(tf.softplus(tf.neg(x))),
  // max(0, x) + min(0, exp(x) - 1)   (alpha 1)
  kerasCelu: x => tf.add(tf.relu(x), tf.minimum(0, tf.sub(tf.exp(x), 1))),
  kerasHardTanh: x => tf.clipByValue(x, -1, 1),
  kerasTanhShrink: x => tf.sub(x, tf.tanh(x)),
  // (x + sqrt(x² + 4)) / 2
  kerasSquareplus: x => tf.div(tf.add(x, tf.sqrt(tf.add(tf.square(x), 4))), 2),
  // 0 for x ≤ -1, x for x ≥ 1, (x + 1)² / 4 between
  kerasSparsePlus: x => tf.where(tf.lessEqual(x, -1), tf.zerosLike(x),
                                 tf.where(tf.greaterEqual(x, 1), x,
                                          tf.div(tf.square(tf.add(x, 1)), 4))),
  // x - 0.5 above 0.5, x + 0.5 below -0.5, 0 between
  kerasSoftShrink: x => tf.where(tf.greater(x, 0.5), tf.sub(x, 0.5),
                                 tf.where(tf.less(x, -0.5), tf.add(x, 0.5), tf.zerosLike(x))),
  // x where |x| > 0.5, else 0
  kerasHardShrink: x => tf.where(tf.greater(tf.abs(x), 0.5), x, tf.zerosLike(x)),
  // 0 for x ≤ -1, 1 for x ≥ 1, (x + 1) / 2 between
  kerasSparseSigmoid: x => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1),
};

for (const [name, fn] of Object.entries(DEFINITIONS)) {
  define(name, fn);
}

/** Keras names (both versions unless noted) → tfjs activation names. */
const SHARED: Record<string, string> = {
  linear: 'linear', relu: 'relu', relu6: 'relu6', elu: 'elu', selu: 'selu', softplus: 'softplus',
  softsign: 'softsign', silu: 'swish', swish: 'swish', gelu: 'gelu', tanh: 'tanh',
  sigmoid: 'sigmoid', exponential: 'kerasExponential', mish: 'mish', softmax: 'softmax',
  log_softmax: 'logSoftmax', hard_silu: 'kerasHardSilu', hard_swish: 'kerasHardSilu',
  leaky_relu: 'kerasLeakyRelu', log_sigmoid: 'kerasLogSigmoid', celu: 'kerasCelu',
  hard_tanh: 'kerasHardTanh', tanh_shrink: 'kerasTanhShrink', squareplus: 'kerasSquareplus',
  sparse_plus: 'kerasSparsePlus', soft_shrink: 'kerasSoftShrink', hard_shrink: 'kerasHardShrink',
  sparse_sigmoid: 'kerasSparseSigmoid',
};

/**
 * The tfjs activation name for a Keras activation name, or null when there is none (e.g.
 * `sparsemax`, `glu`, which change the shape or need arguments).
 *
 * ```js
 * kerasActivation('hard_sigmoid', 3)  // 'kerasHardSigmoid': relu6(x + 3) / 6
 * kerasActivation('hard_sigmoid', 2)  // 'hardSigmoid': clip(0.2·x + 0.5, 0, 1), tf.keras 2's
 * ```
 */
export function kerasActivation(name: string, kerasVersion: 2|3): string|null {
  if (name === 'hard_sigmoid') {
    return kerasVersion === 2 ? 'hardSigmoid' : 'kerasHardSigmoid';
  }
  return Object.prototype.hasOwnProperty.call(SHARED, name) ? SHARED[name]! : null;
}

/** The Keras activation names {@link kerasActivation} knows, for the docs and messages. */
export const KERAS_ACTIVATIONS: readonly string[] = [...Object.keys(SHARED), 'hard_sigmoid'].sort();
