/**
 * How the package's own layers are written for Keras (save_config.ts writes tfjs's own):
 *
 * | package layer | Keras layer | notes |
 * | --- | --- | --- |
 * | SelfAttention | MultiHeadAttention | needs the output projection (Keras always projects); the 2-D kernels `[dim, heads*size]` become Keras's 3-D `[dim, heads, size]` (same numbers); `causal` / `returnAttentionWeights` become the call's `use_causal_mask` / `return_attention_scores` |
 * | LayerNorm | LayerNormalization | epsilon kept; axis -1 |
 * | TokenEmbedding | Embedding | same table |
 *
 * Anything else of the package (PositionalEmbedding, FeedForward) has no Keras equivalent and is
 * an error naming the layer.
 */
import * as tf from '@tensorflow/tfjs';

import type {ExportContext, ExportedLayer, LayerExporter} from './save_config';

type Dict = Record<string, unknown>;

const object = (module: string, className: string, config: Dict): Dict =>
    ({module, class_name: className, config, registered_name: null});

/** A binding to a variable whose values Keras holds under another (row-major) shape. */
function reshaped(layer: tf.layers.Layer, tfjsName: string, suffix: string,
                  kerasShape: number[], ctx: ExportContext): ExportedLayer['weights'][number] {
  const binding = ctx.weight(tfjsName, suffix);
  const size = binding.kerasShape.reduce((a, b) => a * b, 1);
  if (kerasShape.reduce((a, b) => a * b, 1) !== size) {
    throw ctx.error(`its ${tfjsName} of shape [${binding.kerasShape}] does not fit Keras's ` +
                    `[${kerasShape}] (layer ${layer.name}).`);
  }
  return {...binding, kerasShape};
}

const selfAttention: LayerExporter = (layer, ctx) => {
  const c = ctx.config(['numHeads', 'keyDim', 'valueDim', 'outputDim', 'useOutputProjection',
                        'useBias', 'causal', 'slidingWindow', 'dropout', 'returnAttentionWeights',
                        'attentionPath',
                        'memoryBudgetBytes', 'kernelInitializer', 'biasInitializer',
                        'kernelRegularizer', 'biasRegularizer', 'kernelConstraint',
                        'biasConstraint']);
  const shapeOf = (name: string) =>
      layer.weights.find(w => w.originalName.endsWith(`/${name}`))?.shape as number[]|undefined;
  const query = shapeOf('query_kernel');
  const key = shapeOf('key_kernel');
  const value = shapeOf('value_kernel');
  if (query === undefined || key === undefined || value === undefined) {
    throw ctx.error('it is not built (call the model once, or build it, before saving).');
  }
  const output = shapeOf('output_kernel');
  if (output === undefined) {
    throw ctx.error("it has no output projection (useOutputProjection is off, the default for " +
                    "numHeads=1), and Keras's MultiHeadAttention always projects its output. " +
                    'Build it with useOutputProjection: true to save it for Keras.');
  }
  const heads = c['numHeads'] as number;
  const keyDim = query[1]! / heads;
  const valueDim = value[1]! / heads;
  const [dim, contextDim] = [query[0]!, key[0]!];
  const outputDim = output[1]!;
  const useBias = c['useBias'] === true;
  const projection = (name: string, inDim: number, size: number) => [
    reshaped(layer, `${name}_kernel`, `${name}/kernel`, [inDim, heads, size], ctx),
    ...(useBias ? [reshaped(layer, `${name}_bias`, `${name}/bias`, [heads, size], ctx)] : []),
  ];
  const weights = [
    ...projection('query', dim, keyDim), ...projection('key', contextDim, keyDim),
    ...projection('value', contextDim, valueDim),
    reshaped(layer, 'output_kernel', 'attention_output/kernel', [heads, valueDim, outputDim], ctx),
    ...(useBias ? [ctx.weight('output_bias', 'attention_output/bias')] : []),
  ];
  const kwargs: Dict = {};
  if (c['causal'] === true) {
    kwargs['use_causal_mask'] = true;
  }
  if (c['returnAttentionWeights'] === true) {
    kwargs['return_attention_scores'] = true;
  }
  return {
    className: 'MultiHeadAttention', module: 'keras.layers', weights,
    config: {
      num_heads: heads, key_dim: keyDim, value_dim: valueDim, dropout: c['dropout'] ?? 0,
      use_bias: useBias, output_shape: outputDim === dim ? null : outputDim, attention_axes: null,
      // Keras 3.15's sliding_window, the same band (|i − j| < window); absent means none.
      ...(c['slidingWindow'] == null ? {} : {sliding_window: c['slidingWindow']}),
      kernel_initializer: ctx.initializer(c['kernelInitializer'], 'kernelInitializer', 3) ??
          object('keras.initializers', 'GlorotUniform', {seed: null}),
      bias_initializer: ctx.initializer(c['biasInitializer'], 'biasInitializer', 1) ??
          object('keras.initializers', 'Zeros', {}),
      kernel_regularizer: ctx.regularizer(c['kernelRegularizer'], 'kernelRegularizer'),
      bias_regularizer: ctx.regularizer(c['biasRegularizer'], 'biasRegularizer'),
      activity_regularizer: null,
      kernel_constraint: ctx.constraint(c['kernelConstraint'], 'kernelConstraint'),
      bias_constraint: ctx.constraint(c['biasConstraint'], 'biasConstraint'),
    },
    call: inputs => {
      if (inputs.length === 3) {
        throw ctx.error('it is called with an explicit key mask as a third input, which ' +
                        "Keras's MultiHeadAttention cannot take (it takes masks from the " +
                        'inputs or an attention_mask [batch, timeQ, timeK]).');
      }
      // self-attention x → mha(x, x); cross-attention [q, context] → mha(q, context)
      return {args: inputs.length === 1 ? [inputs[0], inputs[0]] : [inputs[0], inputs[1]], kwargs};
    },
  };
};

const layerNorm: LayerExporter = (_layer, ctx) => {
  const c = ctx.config(['epsilon']);
  return {
    className: 'LayerNormalization', module: 'keras.layers',
    weights: [ctx.weight('gamma', 'gamma'), ctx.weight('beta', 'beta')],
    config: {axis: -1, epsilon: c['epsilon'], center: true, scale: true,
             beta_initializer: object('keras.initializers', 'Zeros', {}),
             gamma_initializer: object('keras.initializers', 'Ones', {}),
             beta_regularizer: null, gamma_regularizer: null, beta_constraint: null,
             gamma_constraint: null},
  };
};

const tokenEmbedding: LayerExporter = (_layer, ctx) => {
  const c = ctx.config(['vocabSize', 'outputDim', 'maskZero', 'embeddingsInitializer']);
  return {
    className: 'Embedding', module: 'keras.layers',
    weights: [ctx.weight('embeddings', 'embeddings')],
    config: {input_dim: c['vocabSize'], output_dim: c['outputDim'],
             embeddings_initializer: ctx.initializer(c['embeddingsInitializer'],
                                                     'embeddingsInitializer') ??
                 object('keras.initializers', 'RandomUniform', {minval: -0.05, maxval: 0.05, seed: null}),
             embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null,
             mask_zero: c['maskZero'] === true},
  };
};

/** Exporters of the package's layers, by tfjs class name. */
export const PACKAGE_LAYER_EXPORTERS: Record<string, LayerExporter> = {
  SelfAttention: selfAttention,
  LayerNorm: layerNorm,
  TokenEmbedding: tokenEmbedding,
};
