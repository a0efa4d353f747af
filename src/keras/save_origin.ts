/**
 * The Keras config a model was loaded from. loadKerasModel records it for every model it
 * builds, with the tfjs variable behind each Keras weight; saveKerasModel then writes that
 * config again (the original graph, masks and call arguments as Keras wrote them, rather than a
 * reconstruction from the tfjs layers the loader made) with the variables' current values, so a
 * Keras model fine-tuned in tfjs goes back to Keras as itself.
 *
 * Kept per model object (a WeakMap): a new model built around a loaded model's layers is not the
 * loaded model, and is written from its own layers.
 */
import type * as tf from '@tensorflow/tfjs';

/** One Keras weight of a loaded model and the variable that holds it. */
export interface OriginWeight {
  /** The Keras layer's name. */
  kerasLayer: string;
  /** Its names as tensorflowjs_converter writes them (spellings of several Keras versions). */
  names: string[];
  /** Its position among its layer's weights, in Keras's order. */
  index: number;
  variable: tf.LayerVariable;
}

/** Where a loaded model came from. */
export interface KerasOrigin {
  /** The Keras model config it was built from (config.json's content, or a model_config). */
  config: Record<string, unknown>;
  weights: OriginWeight[];
  /**
   * Where each layer of a nested model of `config` is in the loaded (flat) model, by nested
   * path ('inner/dense' → 'dense'); layers not listed kept their names.
   */
  names?: Map<string, string>|undefined;
}

const origins = new WeakMap<tf.LayersModel, KerasOrigin>();

/** Records that `model` was built from `config` (loadKerasModel calls this). */
export function rememberKerasOrigin(model: tf.LayersModel, config: Record<string, unknown>,
                                    weights: OriginWeight[], names?: Map<string, string>): void {
  origins.set(model, {config, weights, names});
}

/** The config `model` was loaded from, if loadKerasModel made it. */
export function kerasOriginOf(model: tf.LayersModel): KerasOrigin|undefined {
  return origins.get(model);
}
