/**
 * How the package's own layers are written for Keras (save_config.ts writes tfjs's own):
 *
 * | package layer | Keras layer | notes |
 * | --- | --- | --- |
 * | MultiHeadAttention | MultiHeadAttention | Keras's arguments, weights and call (`mha(q, v, key=k, attention_mask=m, use_causal_mask=…)`); `use_gate` / `sliding_window` written only when set (Keras 3.14 / 3.15) |
 * | SelfAttention | MultiHeadAttention | converted by `multiHeadAttentionFromSelfAttention` (a reshape of the weights); needs the output projection, as Keras always projects; `causal` / `returnAttentionWeights` become the call's `use_causal_mask` / `return_attention_scores` |
 * | LayerNorm | LayerNormalization | epsilon kept; axis -1 |
 * | TokenEmbedding | Embedding | same table |
 * | KerasLayerNormalization, KerasRMSNormalization, KerasGlobalAveragePooling1D (the Keras loader's) | LayerNormalization, RMSNormalization, GlobalAveragePooling1D | the same arguments |
 *
 * Anything else of the package (PositionalEmbedding, FeedForward, the loader's KerasCall and
 * KerasOp) has no Keras layer of its own and is an error naming the layer. (A model that
 * loadKerasModel made is written from the Keras config it was loaded from, see save_origin.ts,
 * and never reaches these.)
 */
import {multiHeadAttentionFromSelfAttention} from '../layers/attention_conversion';
import type {SelfAttention} from '../layers/self_attention';

import type {ExportContext, ExportedLayer, LayerExporter} from './save_config';

type Dict = Record<string, unknown>;

const object = (module: string, className: string, config: Dict): Dict =>
    ({module, class_name: className, config, registered_name: null});

const MHA_KEYS = ['numHeads', 'keyDim', 'valueDim', 'dropout', 'useBias', 'useGate', 'outputShape',
                  'attentionAxes', 'slidingWindow', 'kernelInitializer', 'biasInitializer',
                  'kernelRegularizer', 'biasRegularizer', 'activityRegularizer',
                  'kernelConstraint', 'biasConstraint', 'seed', 'queryShape', 'valueShape',
                  'keyShape', 'softmaxRobustMasking', 'useCausalMask', 'returnAttentionScores',
                  'inputOrder', 'fullyMaskedRows', 'attentionPath', 'memoryBudgetBytes',
                  'buildConfig'];

/** What a MultiHeadAttention's positional inputs are, when its config does not say. */
const DEFAULT_ORDER: Record<number, string[]> = {
  1: ['query'], 2: ['query', 'value'], 3: ['query', 'value', 'key'],
  4: ['query', 'value', 'key', 'attentionMask'],
};
const KERAS_KWARG: Record<string, string> = {
  key: 'key', attentionMask: 'attention_mask', queryMask: 'query_mask', valueMask: 'value_mask',
  keyMask: 'key_mask',
};

/** The Keras form of a (built) MultiHeadAttention, with `weights` as given. */
function multiHeadAttentionForKeras(c: Dict, ctx: ExportContext,
                                    weights: ExportedLayer['weights']): ExportedLayer {
  if (c['softmaxRobustMasking'] != null) {
    throw ctx.error('its softmaxRobustMasking (a Keras 2 setting) has no Keras 3 form.');
  }
  const config: Dict = {
    num_heads: c['numHeads'], key_dim: c['keyDim'], value_dim: c['valueDim'] ?? c['keyDim'],
    dropout: c['dropout'] ?? 0, use_bias: c['useBias'] ?? true,
    output_shape: c['outputShape'] ?? null, attention_axes: c['attentionAxes'] ?? null,
    kernel_initializer: ctx.initializer(c['kernelInitializer'], 'kernelInitializer', 3) ??
        object('keras.initializers', 'GlorotUniform', {seed: null}),
    bias_initializer: ctx.initializer(c['biasInitializer'], 'biasInitializer', 1) ??
        object('keras.initializers', 'Zeros', {}),
    kernel_regularizer: ctx.regularizer(c['kernelRegularizer'], 'kernelRegularizer'),
    bias_regularizer: ctx.regularizer(c['biasRegularizer'], 'biasRegularizer'),
    activity_regularizer: ctx.regularizer(c['activityRegularizer'], 'activityRegularizer'),
    kernel_constraint: ctx.constraint(c['kernelConstraint'], 'kernelConstraint'),
    bias_constraint: ctx.constraint(c['biasConstraint'], 'biasConstraint'),
    seed: c['seed'] ?? null,
  };
  // Keras 3.14 and 3.15 arguments: written only when used, so older Keras 3 reads the rest.
  if (c['useGate'] === true) {
    config['use_gate'] = true;
  }
  if (c['slidingWindow'] != null) {
    config['sliding_window'] = c['slidingWindow'];
  }
  const flags: Dict = {};
  if (c['useCausalMask'] === true) {
    flags['use_causal_mask'] = true;
  }
  if (c['returnAttentionScores'] === true) {
    flags['return_attention_scores'] = true;
  }
  return {
    className: 'MultiHeadAttention', module: 'keras.layers', config, weights,
    call: inputs => {
      const order = (c['inputOrder'] as string[]|null) ?? DEFAULT_ORDER[inputs.length];
      if (order === undefined || order.length !== inputs.length) {
        throw ctx.error(`it is called with ${inputs.length} inputs, which Keras's call cannot take.`);
      }
      const byRole = new Map(order.map((role, i) => [role, inputs[i]!]));
      const query = byRole.get('query');
      if (query === undefined) {
        throw ctx.error('its inputs have no query.');
      }
      const kwargs: Dict = {...flags};
      for (const [role, tensor] of byRole) {
        if (KERAS_KWARG[role] !== undefined) {
          kwargs[KERAS_KWARG[role]] = tensor;
        }
      }
      // mha(x) is self-attention: Keras needs the value passed, mha(x, x)
      return {args: [query, byRole.get('value') ?? query], kwargs};
    },
  };
}

/** Keras's MultiHeadAttention weights of a layer that holds them by Keras's names. */
function mhaWeights(c: Dict, ctx: ExportContext): ExportedLayer['weights'] {
  const projections = ['query', 'key', 'value', 'attention_output',
                       ...(c['useGate'] === true ? ['gate'] : [])];
  return projections.flatMap(p => [ctx.weight(`${p}/kernel`, `${p}/kernel`),
                                   ...(c['useBias'] === false ? [] : [ctx.weight(`${p}/bias`, `${p}/bias`)])]);
}

const multiHeadAttention: LayerExporter = (_layer, ctx) => {
  const c = ctx.config(MHA_KEYS);
  return multiHeadAttentionForKeras(c, ctx, mhaWeights(c, ctx));
};

/**
 * SelfAttention, through MultiHeadAttention: mha's conversion gives the equal Keras-layout
 * layer; its weights are read from it, and written back into SelfAttention's variables (the
 * same numbers, reshaped) when Keras weights are loaded into this model.
 */
const selfAttention: LayerExporter = (layer, ctx) => {
  ctx.config(['numHeads', 'keyDim', 'valueDim', 'outputDim', 'useOutputProjection', 'useBias',
              'causal', 'slidingWindow', 'dropout', 'returnAttentionWeights', 'attentionPath',
              'memoryBudgetBytes', 'kernelInitializer', 'biasInitializer', 'kernelRegularizer', 'biasRegularizer',
              'kernelConstraint', 'biasConstraint']);
  const sa = layer as SelfAttention;
  if (!sa.built) {
    throw ctx.error('it is not built (call the model once, or build it, before saving).');
  }
  if (!sa.weights.some(w => w.originalName.endsWith('/output_kernel'))) {
    throw ctx.error("it has no output projection (useOutputProjection is off, the default for " +
                    "numHeads=1), and Keras's MultiHeadAttention always projects its output. " +
                    'Build it with useOutputProjection: true to save it for Keras.');
  }
  const mha = multiHeadAttentionFromSelfAttention(sa, {name: `${layer.name}_as_mha`});
  try {
    const c = mha.getConfig();
    const byKerasName = new Map(mha.weights.map(w => [w.originalName.split('/').slice(-2).join('/'),
                                                      {shape: w.shape as number[],
                                                       values: w.read().dataSync().slice() as Float32Array}]));
    const tfjsName: Record<string, string> = {query: 'query', key: 'key', value: 'value',
                                              attention_output: 'output'};
    const weights = [...byKerasName].map(([name, {shape, values}]) => {
      const [projection, kind] = name.split('/') as [string, string];
      const target = ctx.weight(`${tfjsName[projection]}_${kind}`, name);  // SA's variable
      return {suffix: name, kerasShape: shape, read: () => values.slice(), write: target.write};
    });
    // Keras's call: SelfAttention's inputs (x or [query, context]) as mha(x, x) / mha(q, context).
    // SelfAttention's output is the query's width by default, as Keras's output_shape=None
    const queryWidth = byKerasName.get('query/kernel')!.shape[0];
    const outputShape = c['outputShape'] === queryWidth ? null : c['outputShape'];
    const exported = multiHeadAttentionForKeras({...c, outputShape, inputOrder: null}, ctx, weights);
    return {...exported, call: inputs => {
      if (inputs.length === 3) {
        throw ctx.error('it is called with an explicit key mask as a third input, which ' +
                        "Keras's MultiHeadAttention takes only as a keyword mask; this package " +
                        'does not write that form.');
      }
      return exported.call!(inputs.length === 1 ? [inputs[0]!] : inputs);
    }};
  } finally {
    mha.dispose();
  }
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

/** The Keras loader's LayerNormalization (Keras 3's, rms_scaling and several axes included). */
const kerasLayerNormalization: LayerExporter = (_layer, ctx) => {
  const c = ctx.config(['axis', 'epsilon', 'center', 'scale', 'rmsScaling', 'betaInitializer',
                        'gammaInitializer', 'betaRegularizer', 'gammaRegularizer',
                        'betaConstraint', 'gammaConstraint']);
  const weights = [...(c['scale'] === false ? [] : [ctx.weight('gamma', 'gamma')]),
                   ...(c['center'] === false || c['rmsScaling'] === true ? [] : [ctx.weight('beta', 'beta')])];
  return {
    className: 'LayerNormalization', module: 'keras.layers', weights,
    config: {
      axis: c['axis'], epsilon: c['epsilon'], center: c['center'], scale: c['scale'],
      ...(c['rmsScaling'] === true ? {rms_scaling: true} : {}),
      beta_initializer: ctx.initializer(c['betaInitializer'], 'betaInitializer', 1) ??
          object('keras.initializers', 'Zeros', {}),
      gamma_initializer: ctx.initializer(c['gammaInitializer'], 'gammaInitializer', 1) ??
          object('keras.initializers', 'Ones', {}),
      beta_regularizer: ctx.regularizer(c['betaRegularizer'], 'betaRegularizer'),
      gamma_regularizer: ctx.regularizer(c['gammaRegularizer'], 'gammaRegularizer'),
      beta_constraint: ctx.constraint(c['betaConstraint'], 'betaConstraint'),
      gamma_constraint: ctx.constraint(c['gammaConstraint'], 'gammaConstraint'),
    },
  };
};

const kerasRMSNormalization: LayerExporter = (_layer, ctx) => {
  const c = ctx.config(['axis', 'epsilon']);
  return {className: 'RMSNormalization', module: 'keras.layers',
          weights: [ctx.weight('scale', 'scale')], config: {axis: c['axis'], epsilon: c['epsilon']}};
};

const kerasGlobalAveragePooling1D: LayerExporter = (_layer, ctx) => {
  const c = ctx.config(['dataFormat', 'keepdims']);
  return {className: 'GlobalAveragePooling1D', module: 'keras.layers', weights: [],
          config: {data_format: c['dataFormat'] === 'channelsFirst' ? 'channels_first' : 'channels_last',
                   keepdims: c['keepdims'] === true}};
};

/** Exporters of the package's layers, by tfjs class name. */
export const PACKAGE_LAYER_EXPORTERS: Record<string, LayerExporter> = {
  MultiHeadAttention: multiHeadAttention,
  SelfAttention: selfAttention,
  LayerNorm: layerNorm,
  TokenEmbedding: tokenEmbedding,
  KerasLayerNormalization: kerasLayerNormalization,
  KerasRMSNormalization: kerasRMSNormalization,
  KerasGlobalAveragePooling1D: kerasGlobalAveragePooling1D,
};
