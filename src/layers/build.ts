/**
 * Building a layer's weights so that a failure at the first call leaks nothing and says which
 * argument caused it: {@link buildWeights} disposes every weight created before the failure,
 * {@link initializing} turns an initializer's error into one that names the argument and the
 * weight (e.g. an identity `biasInitializer` on a 1-D bias).
 */
import * as tf from '@tensorflow/tfjs';

import {describeValue} from '../args';
import {Initializer, serialize} from '../initializers';

/**
 * Runs `create` (the layer's `addWeight` calls); if it throws, the weights it created are
 * disposed and removed from the layer before the error goes on, so no variable leaks and a
 * corrected call can build the layer again.
 */
export function buildWeights(layer: tf.layers.Layer, create: () => void): void {
  const before = new Set(layer.weights);
  try {
    create();
  } catch (e) {
    for (const w of layer.weights) {
      if (!before.has(w)) {
        w.dispose();
      }
    }
    layer.trainableWeights = layer.trainableWeights.filter(w => before.has(w));
    layer.nonTrainableWeights = layer.nonTrainableWeights.filter(w => before.has(w));
    throw e;
  }
}

/**
 * `create()` (one `addWeight`), with an initializer's error rethrown as
 * `<Class>: <argName> cannot initialize the weight '<weight>' of shape [...]: <why>. Received: …`.
 */
export function initializing<T>(className: string, argName: string, weight: string,
                                shape: number[], initializer: Initializer,
                                create: () => T): T {
  try {
    return create();
  } catch (e) {
    throw new Error(`${className}: ${argName} cannot initialize the weight '${weight}' of shape [${
        shape}]: ${(e as Error).message}. Received: ${argName}=${
        describeValue(serialize(initializer))}`, {cause: e});
  }
}
