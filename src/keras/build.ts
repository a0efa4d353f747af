/**
 * A {@link KerasModelPlan} → the tfjs model, and the list of its weights in Keras's order.
 *
 * The layers are made from their configs (every class must be registered: the package's, tfjs's,
 * and `MultiHeadAttention`), applied to symbolic tensors in the plan's order, and tied into a
 * `tf.model`. If anything fails, every variable made on the way is disposed before the error
 * (naming the layer) is thrown: no half-built model is left behind.
 */
import * as tf from '@tensorflow/tfjs';

import {KerasGlobalAveragePooling1D} from './layers/global_average_pooling_1d';
import {KerasGRU} from './layers/gru';
import {KerasCall} from './layers/keras_call';
import {KerasOp} from './layers/keras_op';
import {KerasLayerNormalization} from './layers/layer_normalization';
import {KerasRMSNormalization} from './layers/rms_normalization';
import {KerasModelPlan} from './topology';

/** The package's layer classes that plans name (importing them registers them). */
const KERAS_LAYERS: readonly string[] = [KerasCall, KerasOp, KerasLayerNormalization,
                                         KerasRMSNormalization, KerasGlobalAveragePooling1D,
                                         KerasGRU].map(c => c.className);

/** One weight of the Keras model and the tfjs variable that holds it. */
export interface KerasWeight {
  /** The Keras layer it belongs to. */
  kerasLayer: string;
  /** Its names as the converter writes them (several spellings across Keras versions). */
  names: string[];
  /** Its position among its Keras layer's weights. */
  index: number;
  /** The tfjs variable holding it: write the file's values here. */
  variable: tf.LayerVariable;
}

/** What {@link buildKerasModel} returns. */
export interface BuiltKerasModel {
  /** The tfjs model, computing what the Keras model computes. */
  model: tf.LayersModel;
  /** Every weight, in Keras's order (layers in config order, each layer's in its own order). */
  weights: KerasWeight[];
}

/** The registered tfjs class of `className`, made from `config`. */
function makeLayer(className: string, config: tf.serialization.ConfigDict): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) {
    throw new Error(`the layer class '${className}' is not registered (import the package that ` +
                    `defines it before loading; this one registers ${KERAS_LAYERS.join(', ')})`);
  }
  const [cls, fromConfig] = entry;
  // a copy: tfjs layer constructors write into the config they are given
  return fromConfig(cls, JSON.parse(JSON.stringify(config))) as unknown as tf.layers.Layer;
}

/** Options of {@link buildKerasModel}. */
export interface BuildOptions {
  /**
   * Run the layers' initializers. False creates every weight as zeros, much faster (tfjs's
   * Orthogonal initializer takes seconds for a 128×512 recurrent kernel), for a loader that
   * writes every weight next. Default true.
   */
  initializeWeights?: boolean;
}

/**
 * Creates the tfjs model of `plan`. Throws, with every variable it made disposed, when a layer
 * cannot be made or applied.
 *
 * ```js
 * const {model, weights} = buildKerasModel(planKerasModel(modelConfig));
 * weights[0].variable.write(kernel);  // Keras's first weight
 * ```
 */
export function buildKerasModel(plan: KerasModelPlan, options: BuildOptions = {}): BuiltKerasModel {
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  let built: BuiltKerasModel|undefined;
  try {
    // In a scope: some tfjs initializers leave their intermediate tensors behind (LSTM's
    // unit_forget_bias leaks 4 per layer); the variables keep their values.
    tf.tidy(() => {
      built = build(plan, options.initializeWeights ?? true);
    });
    return built!;
  } catch (e) {
    const variables = tf.engine().registeredVariables;
    for (const name of Object.keys(variables)) {
      if (!before.has(name)) {
        variables[name]!.dispose();
      }
    }
    throw e;
  }
}

function build(plan: KerasModelPlan, initialize: boolean): BuiltKerasModel {
  const tensors = new Map<string, tf.SymbolicTensor>();
  const inputs = plan.inputs.map(i => {
    const input = tf.input({batchShape: i.batchShape, dtype: i.dtype, name: i.name});
    tensors.set(i.id, input);
    return input;
  });
  const layers = new Map<string, tf.layers.Layer>();
  for (const spec of plan.layers) {
    try {
      const layer = makeLayer(spec.className, spec.config);
      layer.setFastWeightInitDuringBuild(!initialize);
      layers.set(spec.name, layer);
    } catch (e) {
      throw new Error(`cannot make layer '${spec.kerasLayer ?? spec.name}' (${
          spec.className}): ${(e as Error).message}`, {cause: e});
    }
  }
  for (const node of plan.nodes) {
    const layer = layers.get(node.layer)!;
    const args = node.inputs.map(id => tensors.get(id)!);
    let out: tf.SymbolicTensor|tf.SymbolicTensor[];
    try {
      out = layer.apply(args.length === 1 ? args[0]! : args) as tf.SymbolicTensor|tf.SymbolicTensor[];
    } catch (e) {
      throw new Error(`cannot apply layer '${node.layer}' (${layer.getClassName()}) to inputs ` +
                      `of shapes ${args.map(a => `[${a.shape}]`).join(', ')}: ${(e as Error).message}`,
                      {cause: e});
    }
    const list = Array.isArray(out) ? out : [out];
    if (list.length !== node.outputs.length) {
      throw new Error(`layer '${node.layer}' gave ${list.length} outputs where Keras's has ${
          node.outputs.length}`);
    }
    node.outputs.forEach((id, i) => tensors.set(id, list[i]!));
  }
  layers.forEach(layer => layer.setFastWeightInitDuringBuild(false));
  const model = tf.model({inputs, outputs: plan.outputs.map(id => tensors.get(id)!),
                          name: plan.name});
  const weights = plan.weights.map(w => {
    const variable = layers.get(w.layer)!.weights[w.layerIndex];
    if (variable === undefined) {
      throw new Error(`layer '${w.kerasLayer}' has ${layers.get(w.layer)!.weights.length} ` +
                      `weights in tfjs, fewer than the Keras layer's (${w.names[0]})`);
    }
    return {kerasLayer: w.kerasLayer, names: w.names, index: w.index, variable};
  });
  return {model, weights};
}
