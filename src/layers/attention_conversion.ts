/**
 * SelfAttention ⇄ MultiHeadAttention: the same attention in this package's layout (2-D kernels
 * `[features, heads·size]`) and in Keras's (3-D kernels `[features, heads, size]`). Head h is the
 * column block h·size … (h+1)·size − 1 in both, so the kernels hold the same numbers in the same
 * order and a conversion is a reshape: no number changes, both ways.
 *
 * | SelfAttention | MultiHeadAttention |
 * | --- | --- |
 * | query_kernel `[dq, h·k]`, query_bias `[h·k]` | query/kernel `[dq, h, k]`, query/bias `[h, k]` |
 * | key_kernel `[dc, h·k]`, key_bias `[h·k]` | key/kernel `[dc, h, k]`, key/bias `[h, k]` |
 * | value_kernel `[dc, h·v]`, value_bias `[h·v]` | value/kernel `[dc, h, v]`, value/bias `[h, v]` |
 * | output_kernel `[h·v, out]`, output_bias `[out]` | attention_output/kernel `[h, v, out]`, attention_output/bias `[out]` |
 * | no output projection (`useOutputProjection: false`) | the identity `[h, v, h·v]` (and a zero bias) |
 * | `causal`, `returnAttentionWeights`, `slidingWindow` | `useCausalMask`, `returnAttentionScores`, `slidingWindow` |
 * | rows with no key give 0 | `fullyMaskedRows: 'zeros'` |
 */
import * as tf from '@tensorflow/tfjs';

import {MultiHeadAttention, MultiHeadAttentionArgs} from './multi_head_attention';
import {SelfAttention, SelfAttentionArgs} from './self_attention';

/** Options of the conversions. */
export interface AttentionConversionOptions {
  /** Name of the new layer. Default: a fresh name, as tfjs gives a new layer. */
  name?: string;
}

/**
 * A MultiHeadAttention (Keras's layout) computing what `layer` computes, with its weights
 * reshaped (not changed). `layer` must be built; it is left as it is. The new layer is called as
 * Keras's is: `apply([query, context])` for `layer.apply([query, context])`, `apply(x)` (or
 * `apply([x, x])`) for `layer.apply(x)`, and `apply([query, context, contextMask])` for a key
 * mask becomes `apply([query, context, contextMask])` with `inputOrder: ['query', 'value',
 * 'valueMask']` (set it on the result's config, or pass `{valueMask}`). Rows with no key to attend
 * give 0, as in SelfAttention (`fullyMaskedRows: 'zeros'`). SelfAttention's identity initializer
 * is 2-D only; the new layer's `kernelInitializer` (used only for fresh weights) is then Keras's
 * default, 'glorotUniform'.
 *
 * ```ts
 * const sa = selfAttention({numHeads: 2, useBias: true});
 * const x = tf.randomNormal([1, 4, 8]);
 * sa.apply(x);  // builds
 * const mha = multiHeadAttentionFromSelfAttention(sa);
 * mha.apply(x);  // = sa.apply(x); mha.getWeights()[0].shape: [8, 2, 4]
 * ```
 */
export function multiHeadAttentionFromSelfAttention(
    layer: SelfAttention, options: AttentionConversionOptions = {}): MultiHeadAttention {
  const w = weightsByName(layer, 'multiHeadAttentionFromSelfAttention');
  const config = layer.getConfig();
  const h = layer.numHeads;
  const [dq, hk] = w['query_kernel']!.shape as [number, number];
  const [dc, hv] = w['value_kernel']!.shape as [number, number];
  const k = hk / h;
  const v = hv / h;
  const project = w['output_kernel'] != null;
  const out = project ? w['output_kernel']!.shape[1]! : hv;
  const kernelInitializer = (config['kernelInitializer'] as {className?: string}|null)?.className ===
      'SelfAttentionIdentity' ? 'glorotUniform' : config['kernelInitializer'];
  const args: MultiHeadAttentionArgs = {
    numHeads: h, keyDim: k, valueDim: v, outputShape: out, useBias: layer.useBias,
    dropout: layer.dropout, useCausalMask: layer.causal, slidingWindow: layer.slidingWindow,
    returnAttentionScores: layer.returnAttentionWeights, fullyMaskedRows: 'zeros',
    attentionPath: layer.attentionPath, memoryBudgetBytes: layer.memoryBudgetBytes,
    ...setEntries<MultiHeadAttentionArgs>({...config, kernelInitializer}, WEIGHT_ARGS),
    trainable: layer.trainable, ...(options.name == null ? {} : {name: options.name}),
  };
  const mha = new MultiHeadAttention(args);
  buildWithoutInitializing(mha, [[1, 1, dq], [1, 1, dc]]);
  tf.tidy(() => {
    const byName: Record<string, tf.Tensor> = {
      'query/kernel': w['query_kernel']!.reshape([dq, h, k]),
      'key/kernel': w['key_kernel']!.reshape([dc, h, k]),
      'value/kernel': w['value_kernel']!.reshape([dc, h, v]),
      'attention_output/kernel': project ? w['output_kernel']!.reshape([h, v, out]) :
                                           tf.eye(hv).reshape([h, v, hv]),
    };
    if (layer.useBias) {
      byName['query/bias'] = w['query_bias']!.reshape([h, k]);
      byName['key/bias'] = w['key_bias']!.reshape([h, k]);
      byName['value/bias'] = w['value_bias']!.reshape([h, v]);
      byName['attention_output/bias'] = w['output_bias'] ?? tf.zeros([out]);
    }
    mha.setWeights(mha.weights.map(x => byName[shortName(x.originalName, 2)]!));
  });
  return mha;
}

/**
 * A SelfAttention (this package's layout) computing what `layer` computes, with its weights
 * reshaped (not changed). `layer` must be built; it is left as it is. SelfAttention takes its
 * keys and values from one context, has no gate, a flat output and no activity regularizer or
 * dropout seed: a layer that uses any of these is refused, naming it.
 * The new layer is called as SelfAttention is: `apply(x)` for self-attention, `apply([query,
 * context])` for `layer.apply([query, context])` (key = value = context). Its rows with no key to
 * attend give 0 (`layer`'s 'keras3' and 'average' rules give the average of the values there).
 *
 * ```ts
 * const mha = multiHeadAttention({numHeads: 2, keyDim: 4});
 * const x = tf.randomNormal([1, 4, 8]);
 * mha.apply(x);  // builds
 * const sa = selfAttentionFromMultiHeadAttention(mha);
 * sa.apply(x);  // = mha.apply(x); sa.getWeights()[0].shape: [8, 8]
 * ```
 */
export function selfAttentionFromMultiHeadAttention(
    layer: MultiHeadAttention, options: AttentionConversionOptions = {}): SelfAttention {
  const w = weightsByName(layer, 'selfAttentionFromMultiHeadAttention', 2);
  const config = layer.getConfig();
  const refuse = (what: string, value: unknown) => {
    throw new Error(`selfAttentionFromMultiHeadAttention: SelfAttention has no ${what}. ` +
                    `Received: layer '${layer.name}' with ${JSON.stringify(value)}.`);
  };
  if (layer.useGate) {
    refuse('gate', {useGate: true});
  }
  if (config['activityRegularizer'] != null) {
    refuse('activity regularizer', {activityRegularizer: config['activityRegularizer']});
  }
  if (layer.seed != null && layer.dropout > 0) {
    refuse('dropout seed', {seed: layer.seed, dropout: layer.dropout});
  }
  const h = layer.numHeads;
  const k = layer.keyDim;
  const v = layer.valueDim;
  const [dq] = w['query/kernel']!.shape as [number];
  const [dk] = w['key/kernel']!.shape as [number];
  const [dv] = w['value/kernel']!.shape as [number];
  if (dk !== dv) {
    refuse('separate key and value inputs (it takes both from one context)',
           {keyFeatures: dk, valueFeatures: dv});
  }
  const outputShape = w['attention_output/kernel']!.shape.slice(2);
  if (outputShape.length !== 1) {
    refuse('output shape of several axes', {outputShape});
  }
  const out = outputShape[0]!;
  const args: SelfAttentionArgs = {
    numHeads: h, keyDim: k, valueDim: v, outputDim: out, useOutputProjection: true,
    useBias: layer.useBias, causal: layer.useCausalMask, dropout: layer.dropout,
    ...(layer.slidingWindow == null ? {} : {slidingWindow: layer.slidingWindow}),
    returnAttentionWeights: layer.returnAttentionScores, attentionPath: layer.attentionPath,
    memoryBudgetBytes: layer.memoryBudgetBytes,
    ...setEntries<SelfAttentionArgs>(config, WEIGHT_ARGS),
    trainable: layer.trainable, ...(options.name == null ? {} : {name: options.name}),
  };
  const sa = new SelfAttention(args);
  buildWithoutInitializing(sa, [[1, 1, dq], [1, 1, dv]]);
  tf.tidy(() => {
    const byName: Record<string, tf.Tensor> = {
      query_kernel: w['query/kernel']!.reshape([dq, h * k]),
      key_kernel: w['key/kernel']!.reshape([dk, h * k]),
      value_kernel: w['value/kernel']!.reshape([dv, h * v]),
      output_kernel: w['attention_output/kernel']!.reshape([h * v, out]),
    };
    if (layer.useBias) {
      byName['query_bias'] = w['query/bias']!.reshape([h * k]);
      byName['key_bias'] = w['key/bias']!.reshape([h * k]);
      byName['value_bias'] = w['value/bias']!.reshape([h * v]);
      byName['output_bias'] = w['attention_output/bias']!;
    }
    sa.setWeights(sa.weights.map(x => byName[shortName(x.originalName, 1)]!));
  });
  return sa;
}

/** The last `parts` segments of a weight's name: 'query_kernel', 'query/kernel'. */
/** The initializer, regularizer and constraint arguments both layers share. */
const WEIGHT_ARGS = ['kernelInitializer', 'biasInitializer', 'kernelRegularizer', 'biasRegularizer',
                     'kernelConstraint', 'biasConstraint'] as const;

/** The entries of `config` named in `keys` that are set (not null or undefined), as layer args. */
function setEntries<A>(config: Record<string, unknown>,
                       keys: readonly(keyof A&string)[]): Partial<A> {
  const args: Record<string, unknown> = {};
  for (const key of keys) {
    if (config[key] != null) {
      args[key] = config[key];
    }
  }
  return args as Partial<A>;
}

function shortName(originalName: string, parts: number): string {
  return originalName.split('/').slice(-parts).join('/');
}

/** A built layer's weights by short name; throws, naming the function, when not built. */
function weightsByName(layer: tf.layers.Layer, fn: string, parts = 1): Record<string, tf.Tensor> {
  if (!layer.built) {
    throw new Error(`${fn} needs a built layer (call apply() once). Received: layer '${
        layer.name}' not built.`);
  }
  const byName: Record<string, tf.Tensor> = {};
  layer.weights.forEach(w => {
    byName[shortName(w.originalName, parts)] = w.read();
  });
  return byName;
}

/**
 * Builds `layer` for inputs of these shapes, inside `apply` (so its weights get the layer's name
 * scope, as in a model) and without running its initializers (the weights are set next): tfjs's
 * fast weight initialization, as when a model is loaded.
 */
function buildWithoutInitializing(layer: tf.layers.Layer, shapes: number[][]): void {
  layer.setFastWeightInitDuringBuild(true);
  try {
    tf.tidy(() => {
      layer.apply(shapes.map(s => tf.zeros(s)));
    });
  } finally {
    layer.setFastWeightInitDuringBuild(false);
  }
}
