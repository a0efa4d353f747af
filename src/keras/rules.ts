/**
 * One rule per Keras layer class: which tfjs layer runs it (and with what config), how Keras
 * calls it (which arguments it takes), what it does with masks, and the names of its weights
 * as the converter writes them, in Keras's order.
 *
 * A rule reads every key of the layer's config; a key it does not know, or a value it cannot
 * honour (`stateful=true`, `groups=2`, a mixed-precision policy), is reported, and the loader
 * lists all of them in one error. Defaults are Keras's; tfjs layers get every argument
 * explicitly (their defaults differ: tfjs LSTM's recurrent activation is hard sigmoid).
 *
 * Masks, in Keras's terms (see masks in topology.ts):
 * - `consumesMask`: the layer's `call` takes `mask` (pooling, recurrent layers); it gets the
 *   node's explicit `mask` argument or, when none was written, the mask its input carries.
 * - `outputMask`: what its output carries — 'none' (the layer does not support masking, or
 *   drops the mask: Conv1D, Flatten, pooling), 'pass' (its input's mask: Dense,
 *   LayerNormalization, Dropout, ...), 'embedding' (input != 0 when mask_zero), 'merge'
 *   (Keras 3 ORs the inputs' masks and gives none if one input has none; tf.keras 2 ANDs the
 *   ones there are), 'concat' (Concatenate's rule).
 * - `alias`: at run time Keras returns the input tensor itself (Dropout and its kind in
 *   inference), so a mask cleared later on one is cleared on both.
 */
import * as tf from '@tensorflow/tfjs';

import {Dict, isDict, KerasLayer, preview} from './config';
import {activation, constraint, initializer, layerDtype, regularizer} from './objects';

type ConfigDict = tf.serialization.ConfigDict;

/** How Keras calls a layer. */
export type CallKind =
    /** `layer(x)`: one tensor. */
    'single'|
    /** `layer([a, b, ...])`: a list of tensors (merge layers). */
    'list'|
    /** `mha(query, value, key=None, ...)`. */
    'attention'|
    /** A `keras.ops` operation: positional tensors and constants. */
    'op';

export type OutputMask = 'none'|'pass'|'embedding'|'merge'|'concat';

/** What a rule gives for one Keras layer. */
export interface Translation {
  /** The tfjs layer's registered class name. */
  className: string;
  /** Its config, as tfjs layer constructors take it (camelCase keys). */
  config: ConfigDict;
  /** Each weight's candidate names in the file, in Keras's weight order. */
  weights: string[][];
  call: CallKind;
  consumesMask: boolean;
  outputMask: OutputMask;
  alias?: boolean|undefined;
  /** Recurrent layers with `zero_output_for_mask`: masked steps output 0 (with return_sequences). */
  zeroMaskedSteps?: boolean|undefined;
  /**
   * Zeros to put before the first input's steps (axis 1) first: Conv1D's `causal` padding, which
   * tfjs's Conv1D does not implement (it runs as `valid` after this padding, as in Keras).
   */
  padStepsBefore?: number|undefined;
  /** Run it through a KerasCall even for a plain call (recurrent layers with dropout). */
  wrap?: boolean|undefined;
  /** Number of outputs when more than one (LSTM with return_state). */
  outputs?: number|undefined;
  /** For 'op' layers: the KerasOp op and its options. */
  op?: string|undefined;
}

/** What a rule may use: the Keras version and a way to report what it cannot honour. */
export interface RuleContext {
  version: 2|3;
  report(what: string): void;
}

type Rule = (layer: KerasLayer, ctx: RuleContext) => Translation|null;

/** Reads a layer config key by key; `finish` reports the keys no one read. */
class Reader {
  // the input shape a (first) layer may carry is read by the Sequential reader (config.ts)
  private readonly seen = new Set<string>(['name', 'trainable', 'dtype', 'autocast',
                                           'batch_input_shape', 'batch_shape', 'input_shape']);

  constructor(private readonly layer: KerasLayer, private readonly ctx: RuleContext,
              private readonly cls = layer.className) {
    if (cls !== 'InputLayer') {  // an input's dtype is what it is fed as (objects.inputDtype)
      layerDtype(layer.config['dtype'], what => ctx.report(what));
    }
  }

  get config(): Dict {
    return this.layer.config;
  }

  /** The value of `key` (Keras's default when absent). */
  get<T = unknown>(key: string, fallback?: T): T {
    this.seen.add(key);
    return (key in this.layer.config ? this.layer.config[key] : fallback) as T;
  }

  /** Keys that have no effect on inference or training here. */
  ignore(...keys: string[]): void {
    keys.forEach(k => this.seen.add(k));
  }

  /** `key` must equal one of `allowed` (the first is Keras's default); else it is reported. */
  only(key: string, ...allowed: unknown[]): unknown {
    const value = this.get(key, allowed[0]);
    if (!allowed.some(a => JSON.stringify(a) === JSON.stringify(value))) {
      this.ctx.report(`${this.cls} argument ${key}=${preview(value, 60)}`);
    }
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.get(key, fallback);
    if (typeof value !== 'boolean') {
      this.ctx.report(`${this.cls} argument ${key}=${preview(value, 60)} (not a boolean)`);
      return fallback;
    }
    return value;
  }

  int(key: string, fallback?: number): number {
    let value = this.get<unknown>(key, fallback);
    if (Array.isArray(value) && value.length === 1) {
      value = value[0];
    }
    if (!Number.isInteger(value)) {
      this.ctx.report(`${this.cls} argument ${key}=${preview(value, 60)} (not an integer)`);
      return fallback ?? 1;
    }
    return value as number;
  }

  number(key: string, fallback: number): number {
    const value = this.get(key, fallback);
    if (typeof value !== 'number') {
      this.ctx.report(`${this.cls} argument ${key}=${preview(value, 60)} (not a number)`);
      return fallback;
    }
    return value;
  }

  initializer(key: string, fallback: string): ConfigDict|null {
    return initializer(this.get(key, fallback), `${this.cls} ${key}`, w => this.ctx.report(w));
  }

  regularizer(key: string): ConfigDict|null {
    return regularizer(this.get(key, null), `${this.cls} ${key}`, w => this.ctx.report(w));
  }

  constraint(key: string): ConfigDict|null {
    return constraint(this.get(key, null), `${this.cls} ${key}`, w => this.ctx.report(w));
  }

  activation(key: string, fallback: string): string|undefined {
    return activation(this.get(key, fallback), this.ctx.version, w => this.ctx.report(w));
  }

  /** Reports every key not read. */
  finish(): void {
    for (const key of Object.keys(this.layer.config)) {
      if (!this.seen.has(key)) {
        this.ctx.report(`${this.cls} argument '${key}' (${preview(this.layer.config[key], 60)})`);
      }
    }
  }

  base(): ConfigDict {
    this.only('activity_regularizer', null);
    return {name: this.layer.name, trainable: this.get<unknown>('trainable', true) !== false};
  }
}

function names(layer: KerasLayer, ...suffixes: string[]): string[][] {
  return suffixes.map(s => [`${layer.name}/${s}`]);
}

function dense(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const useBias = r.bool('use_bias', true);
  const config: ConfigDict = {
    ...r.base(),
    units: r.int('units'),
    activation: r.activation('activation', 'linear') ?? 'linear',
    useBias,
    kernelInitializer: r.initializer('kernel_initializer', 'glorot_uniform'),
    biasInitializer: r.initializer('bias_initializer', 'zeros'),
    kernelRegularizer: r.regularizer('kernel_regularizer'),
    biasRegularizer: r.regularizer('bias_regularizer'),
    kernelConstraint: r.constraint('kernel_constraint'),
    biasConstraint: r.constraint('bias_constraint'),
  };
  r.only('quantization_config', null);
  r.only('lora_rank', null);
  r.ignore('lora_alpha');
  r.finish();
  return {className: 'Dense', config, weights: names(layer, 'kernel', ...(useBias ? ['bias'] : [])),
          call: 'single', consumesMask: false, outputMask: 'pass'};
}

function embedding(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const maskZero = r.bool('mask_zero', false);
  const config: ConfigDict = {
    ...r.base(),
    inputDim: r.int('input_dim'),
    outputDim: r.int('output_dim'),
    embeddingsInitializer: r.initializer('embeddings_initializer', 'uniform'),
    embeddingsRegularizer: r.regularizer('embeddings_regularizer'),
    embeddingsConstraint: r.constraint('embeddings_constraint'),
    maskZero: false,  // the mask is computed as a tensor of the graph (see topology.ts)
  };
  r.only('quantization_config', null);
  r.only('lora_rank', null);
  r.only('sparse', false);
  r.ignore('lora_alpha', 'input_length', 'embeddings_initializer');
  r.finish();
  return {className: 'Embedding', config, weights: names(layer, 'embeddings'), call: 'single',
          consumesMask: false, outputMask: maskZero ? 'embedding' : 'none'};
}

function layerNormalization(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const center = r.bool('center', true);
  const scale = r.bool('scale', true);
  const rmsScaling = ctx.version === 3 ? r.bool('rms_scaling', false) : false;
  // (tf.keras 2 writes the built axes as positive numbers, which work as they are)
  const axis = r.get<unknown>('axis', -1);
  const config: ConfigDict = {
    ...r.base(),
    axis: axis as number|number[],
    epsilon: r.number('epsilon', 1e-3),
    center, scale, rmsScaling,
    betaInitializer: r.initializer('beta_initializer', 'zeros'),
    gammaInitializer: r.initializer('gamma_initializer', 'ones'),
    betaRegularizer: r.regularizer('beta_regularizer'),
    gammaRegularizer: r.regularizer('gamma_regularizer'),
    betaConstraint: r.constraint('beta_constraint'),
    gammaConstraint: r.constraint('gamma_constraint'),
  };
  r.finish();
  const weights = [...(scale || rmsScaling ? ['gamma'] : []),
                   ...(center && !rmsScaling ? ['beta'] : [])];
  return {className: 'KerasLayerNormalization', config, weights: names(layer, ...weights),
          call: 'single', consumesMask: false, outputMask: 'pass'};
}

function rmsNormalization(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const config: ConfigDict = {...r.base(), axis: r.get('axis', -1) as number|number[],
                              epsilon: r.number('epsilon', 1e-6)};
  r.finish();
  return {className: 'KerasRMSNormalization', config, weights: names(layer, 'scale'),
          call: 'single', consumesMask: false, outputMask: 'none'};
}

function batchNormalization(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const center = r.bool('center', true);
  const scale = r.bool('scale', true);
  const config: ConfigDict = {
    ...r.base(),
    axis: r.int('axis', -1),
    momentum: r.number('momentum', 0.99),
    epsilon: r.number('epsilon', 1e-3),
    center, scale,
    betaInitializer: r.initializer('beta_initializer', 'zeros'),
    gammaInitializer: r.initializer('gamma_initializer', 'ones'),
    movingMeanInitializer: r.initializer('moving_mean_initializer', 'zeros'),
    movingVarianceInitializer: r.initializer('moving_variance_initializer', 'ones'),
    betaRegularizer: r.regularizer('beta_regularizer'),
    gammaRegularizer: r.regularizer('gamma_regularizer'),
    betaConstraint: r.constraint('beta_constraint'),
    gammaConstraint: r.constraint('gamma_constraint'),
  };
  r.only('synchronized', false);
  r.only('renorm', false);
  r.only('renorm_clipping', null);
  r.only('virtual_batch_size', null);
  r.only('adjustment', null);
  r.ignore('renorm_momentum', 'fused');
  r.finish();
  const weights = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean',
                   'moving_variance'];
  // Keras 3's BatchNormalization takes a mask (it masks the batch statistics in training);
  // tfjs's cannot, so a masked input is reported by the loader.
  return {className: 'BatchNormalization', config, weights: names(layer, ...weights),
          call: 'single', consumesMask: true, outputMask: 'pass'};
}

function dropout(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const spatial = layer.className === 'SpatialDropout1D';
  const config: ConfigDict = {...r.base(), rate: r.number('rate', 0)};
  const seed = r.get('seed', null);
  if (typeof seed === 'number') {
    config['seed'] = seed;
  }
  if (!spatial) {
    const noiseShape = r.get('noise_shape', null);
    if (noiseShape != null) {
      config['noiseShape'] = noiseShape as number[];
    }
  } else {
    r.only('noise_shape', null);
    r.ignore('data_format');
  }
  r.finish();
  return {className: spatial ? 'SpatialDropout1D' : 'Dropout', config, weights: [], call: 'single',
          consumesMask: false, outputMask: 'pass', alias: true};
}

function activationLayer(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const act = r.activation('activation', 'linear') ?? 'linear';
  const config: ConfigDict = {...r.base(), activation: act};
  r.finish();
  return {className: 'Activation', config, weights: [], call: 'single', consumesMask: false,
          outputMask: 'pass', alias: act === 'linear'};
}

function conv1d(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const useBias = r.bool('use_bias', true);
  const config: ConfigDict = {
    ...r.base(),
    filters: r.int('filters'),
    kernelSize: r.int('kernel_size'),
    strides: r.int('strides', 1),
    padding: r.only('padding', 'valid', 'same', 'causal') as string,
    dataFormat: (r.only('data_format', 'channels_last', null), 'channelsLast'),
    dilationRate: r.int('dilation_rate', 1),
    activation: r.activation('activation', 'linear') ?? 'linear',
    useBias,
    kernelInitializer: r.initializer('kernel_initializer', 'glorot_uniform'),
    biasInitializer: r.initializer('bias_initializer', 'zeros'),
    kernelRegularizer: r.regularizer('kernel_regularizer'),
    biasRegularizer: r.regularizer('bias_regularizer'),
    kernelConstraint: r.constraint('kernel_constraint'),
    biasConstraint: r.constraint('bias_constraint'),
  };
  r.only('groups', 1);
  r.only('lora_rank', null);
  r.ignore('lora_alpha');
  if (config['strides'] !== 1 && config['dilationRate'] !== 1) {
    ctx.report('Conv1D with both strides and dilation_rate above 1');
  }
  r.finish();
  const causal = config['padding'] === 'causal';
  if (causal) {
    config['padding'] = 'valid';
  }
  return {className: 'Conv1D', config,
          weights: names(layer, 'kernel', ...(useBias ? ['bias'] : [])), call: 'single',
          consumesMask: false, outputMask: 'none',
          padStepsBefore: causal ? ((config['kernelSize'] as number) - 1) *
                                       (config['dilationRate'] as number) : undefined};
}

function pooling1d(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const poolSize = r.int('pool_size', 2);
  const strides = r.get<unknown>('strides', null);
  const config: ConfigDict = {
    ...r.base(),
    poolSize,
    strides: strides == null ? poolSize : (Array.isArray(strides) ? strides[0] : strides) as number,
    padding: r.only('padding', 'valid', 'same') as string,
  };
  r.only('data_format', 'channels_last', null);
  r.finish();
  return {className: layer.className, config, weights: [], call: 'single', consumesMask: false,
          outputMask: 'none'};
}

function globalPooling1d(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const average = layer.className === 'GlobalAveragePooling1D';
  const keepdims = r.bool('keepdims', false);
  const format = r.only('data_format', 'channels_last', 'channels_first', null);
  const config: ConfigDict = {...r.base()};
  if (average) {
    config['dataFormat'] = format === 'channels_first' ? 'channelsFirst' : 'channelsLast';
    config['keepdims'] = keepdims;
  } else if (keepdims || format === 'channels_first') {
    ctx.report(`GlobalMaxPooling1D with ${keepdims ? 'keepdims=true' : 'data_format=channels_first'}`);
  }
  r.finish();
  return {className: average ? 'KerasGlobalAveragePooling1D' : 'GlobalMaxPooling1D', config,
          weights: [], call: 'single', consumesMask: average, outputMask: 'none'};
}

function reshaping(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const config: ConfigDict = {...r.base()};
  switch (layer.className) {
    case 'Flatten':
      r.only('data_format', 'channels_last', null);
      break;
    case 'Reshape':
      config['targetShape'] = r.get('target_shape') as number[];
      break;
    case 'Permute':
      config['dims'] = r.get('dims') as number[];
      break;
    case 'RepeatVector':
      config['n'] = r.int('n');
      break;
    default:
      break;
  }
  r.finish();
  return {className: layer.className, config, weights: [], call: 'single', consumesMask: false,
          outputMask: 'none'};
}

function merge(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const config: ConfigDict = {...r.base()};
  let className = layer.className;
  let outputMask: OutputMask = 'merge';
  if (className === 'Concatenate') {
    config['axis'] = r.int('axis', -1);
    outputMask = 'concat';
  } else if (className === 'Subtract') {
    className = 'KerasOp';  // tfjs has no Subtract layer
    config['op'] = 'subtract';
  }
  r.finish();
  return {className, config, weights: [], call: 'list', consumesMask: false, outputMask};
}

/** The tfjs config of a recurrent layer (LSTM, GRU, SimpleRNN), for itself or inside Bidirectional. */
function recurrentConfig(layer: KerasLayer, ctx: RuleContext, r: Reader):
    {config: ConfigDict, cell: string, zero: boolean} {
  const cls = layer.className;
  const config: ConfigDict = {
    ...r.base(),
    units: r.int('units'),
    activation: r.activation('activation', 'tanh') ?? 'tanh',
    useBias: r.bool('use_bias', true),
    kernelInitializer: r.initializer('kernel_initializer', 'glorot_uniform'),
    recurrentInitializer: r.initializer('recurrent_initializer', 'orthogonal'),
    biasInitializer: r.initializer('bias_initializer', 'zeros'),
    kernelRegularizer: r.regularizer('kernel_regularizer'),
    recurrentRegularizer: r.regularizer('recurrent_regularizer'),
    biasRegularizer: r.regularizer('bias_regularizer'),
    kernelConstraint: r.constraint('kernel_constraint'),
    recurrentConstraint: r.constraint('recurrent_constraint'),
    biasConstraint: r.constraint('bias_constraint'),
    dropout: r.number('dropout', 0),
    recurrentDropout: r.number('recurrent_dropout', 0),
    returnSequences: r.bool('return_sequences', false),
    returnState: r.bool('return_state', false),
    goBackwards: r.bool('go_backwards', false),
  };
  if (cls !== 'SimpleRNN') {
    config['recurrentActivation'] = r.activation('recurrent_activation', 'sigmoid') ?? 'sigmoid';
  }
  if (cls === 'LSTM') {
    config['unitForgetBias'] = r.bool('unit_forget_bias', true);
  }
  let resetAfter = false;
  if (cls === 'GRU') {
    // tfjs's GRU has only reset_after=false; KerasGRUCell runs the other, Keras's default
    const value = r.get('reset_after', true);  // the default since tf.keras 2.0
    if (typeof value !== 'boolean') {
      ctx.report(`GRU argument reset_after=${preview(value, 20)}`);
    }
    resetAfter = value === true;
    config['resetAfter'] = false;
  }
  r.only('stateful', false);
  r.only('time_major', false);
  r.only('use_cudnn', 'auto', false, true);
  r.ignore('unroll', 'implementation', 'seed');
  const zero = r.bool('zero_output_for_mask', false);
  const cell = {LSTM: 'lstm_cell', GRU: 'gru_cell', SimpleRNN: 'simple_rnn_cell'}[cls]!;
  return {config: resetAfter ? kerasGRU(config) : config, cell, zero};
}

/** A GRU with reset_after=true: a KerasGRU (this package's), with the same arguments. */
function kerasGRU(config: ConfigDict): ConfigDict {
  const {resetAfter: _, ...rest} = config;
  void _;
  return {...rest, className: 'KerasGRU'};
}

/** The tfjs class of a recurrent config (kerasGRU's carries its own). */
function recurrentClass(keras: string, config: ConfigDict): string {
  return (config['className'] as string|undefined) ?? keras;
}

function withoutClass(config: ConfigDict): ConfigDict {
  const {className: _, ...rest} = config;
  void _;
  return rest;
}

/** tfjs's cells cache dropout masks between calls: such layers run through a KerasCall. */
function hasDropout(config: ConfigDict): boolean {
  return (config['dropout'] as number) > 0 || (config['recurrentDropout'] as number) > 0;
}

function recurrent(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const {config, cell, zero} = recurrentConfig(layer, ctx, r);
  r.finish();
  const weights = ['kernel', 'recurrent_kernel', ...(config['useBias'] ? ['bias'] : [])];
  const states = layer.className === 'LSTM' ? 2 : 1;
  return {className: recurrentClass(layer.className, config), config: withoutClass(config),
          weights: weights.map(w => [`${layer.name}/${cell}/${w}`, `${layer.name}/${w}`]),
          call: 'single', consumesMask: true,
          outputMask: config['returnSequences'] ? 'pass' : 'none',
          zeroMaskedSteps: zero && config['returnSequences'] === true,
          wrap: hasDropout(config),
          outputs: config['returnState'] ? 1 + states : undefined};
}

function bidirectional(layer: KerasLayer, ctx: RuleContext): Translation|null {
  const r = new Reader(layer, ctx);
  const inner = r.get<unknown>('layer');
  const mergeMode = r.only('merge_mode', 'concat', 'sum', 'mul', 'ave') as string;
  const backward = r.get<unknown>('backward_layer', null);
  r.only('num_constants', null, 0);
  r.finish();
  if (!isDict(inner) || typeof inner['class_name'] !== 'string' || !isDict(inner['config'])) {
    ctx.report(`Bidirectional layer ${preview(inner, 60)}`);
    return null;
  }
  const innerClass = inner['class_name'] as string;
  if (!['LSTM', 'GRU', 'SimpleRNN'].includes(innerClass)) {
    ctx.report(`Bidirectional wrapping '${innerClass}'`);
    return null;
  }
  const innerConfig = inner['config'] as Dict;
  const innerName = String(innerConfig['name'] ?? 'rnn');
  const innerLayer: KerasLayer = {...layer, className: innerClass, config: innerConfig,
                                  name: innerName};
  const ir = new Reader(innerLayer, ctx);
  const {config, cell} = recurrentConfig(innerLayer, ctx, ir);
  ir.ignore('go_backwards', 'zero_output_for_mask');
  ir.finish();
  // Keras 3 writes the forward copy's config (named forward_<name>) and the backward one;
  // tf.keras 2 the wrapped layer's own (its copies are named forward_/backward_<name>).
  let forwardName = innerName;
  let backwardName = `backward_${innerName.replace(/^forward_/, '')}`;
  if (ctx.version === 2 || !innerName.startsWith('forward_')) {
    forwardName = `forward_${innerName}`;
    backwardName = `backward_${innerName}`;
  }
  if (isDict(backward) && isDict(backward['config'])) {
    const b = backward['config'] as Dict;
    backwardName = String(b['name'] ?? backwardName);
    const same = (k: string) => JSON.stringify(b[k]) === JSON.stringify(innerConfig[k]);
    const differs = Object.keys({...b, ...innerConfig})
        .filter(k => !['name', 'go_backwards', 'build_config'].includes(k) && !same(k));
    if (backward['class_name'] !== innerClass || differs.length > 0) {
      ctx.report(`Bidirectional with a backward_layer unlike its forward layer (${
          differs.join(', ') || backward['class_name']})`);
    }
  }
  const useBias = config['useBias'] as boolean;
  const suffixes = ['kernel', 'recurrent_kernel', ...(useBias ? ['bias'] : [])];
  const weights: string[][] = [];
  for (const side of [forwardName, backwardName]) {
    for (const s of suffixes) {
      weights.push([`${side}/${cell}/${s}`, `${layer.name}/${side}/${cell}/${s}`,
                    `${layer.name}/${side}/${s}`]);
    }
  }
  if (config['returnState']) {
    ctx.report('Bidirectional with return_state=true');
  }
  delete config['name'];
  delete config['goBackwards'];
  return {className: 'Bidirectional',
          config: {name: layer.name, trainable: layer.config['trainable'] !== false,
                   layer: {className: recurrentClass(innerClass, config),
                           config: {...withoutClass(config), name: innerName}},
                   mergeMode},
          weights, call: 'single', consumesMask: true,
          outputMask: config['returnSequences'] ? 'pass' : 'none',
          zeroMaskedSteps: config['returnSequences'] === true, wrap: hasDropout(config)};
}

function multiHeadAttention(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  const useBias = r.bool('use_bias', true);
  const useGate = ctx.version === 3 ? r.bool('use_gate', false) : false;
  const outputShape = r.get<unknown>('output_shape', null);
  const axes = r.get<unknown>('attention_axes', null);
  if (!(axes == null || (Array.isArray(axes) && axes.length === 1 && axes[0] === 1))) {
    ctx.report(`MultiHeadAttention argument attention_axes=${preview(axes, 40)}`);
  }
  const config: ConfigDict = {
    ...r.base(),
    numHeads: r.int('num_heads'),
    keyDim: r.int('key_dim'),
    valueDim: r.get('value_dim', null) as number|null,
    dropout: r.number('dropout', 0),
    useBias,
    outputShape: outputShape as number|number[]|null,
    attentionAxes: axes as number[]|null,
    kernelInitializer: r.initializer('kernel_initializer', 'glorot_uniform'),
    biasInitializer: r.initializer('bias_initializer', 'zeros'),
    kernelRegularizer: r.regularizer('kernel_regularizer'),
    biasRegularizer: r.regularizer('bias_regularizer'),
    kernelConstraint: r.constraint('kernel_constraint'),
    biasConstraint: r.constraint('bias_constraint'),
    useGate,
    slidingWindow: (ctx.version === 3 ? r.get('sliding_window', null) : null) as number|null,
  };
  const seed = r.get('seed', null);
  if (typeof seed === 'number') {
    config['seed'] = seed;
  }
  r.only('flash_attention', null, false);
  r.ignore('query_shape', 'key_shape', 'value_shape', 'softmax_robust_masking');
  // rows with no key to attend: Keras 3's rule, or tf.keras 2's (which averages the values)
  config['fullyMaskedRows'] = ctx.version === 3 ? 'keras3' : 'average';
  r.finish();
  // Keras's weight order: query, key, (gate,) value, attention_output
  const order = ['query', 'key', ...(useGate ? ['gate'] : []), 'value', 'attention_output'];
  const weights = order.flatMap(p => (useBias ? [`${p}/kernel`, `${p}/bias`] : [`${p}/kernel`]));
  return {className: 'MultiHeadAttention', config, weights: names(layer, ...weights),
          call: 'attention', consumesMask: false, outputMask: 'pass'};
}

/** Keras op class names → KerasOp op names and the options each takes. */
const OPS: Record<string, {op: string, options?: Record<string, string>}> = {
  Add: {op: 'add'}, Subtract: {op: 'subtract'}, Multiply: {op: 'multiply'},
  Divide: {op: 'divide'}, TrueDivide: {op: 'divide'}, Power: {op: 'power'},
  Maximum: {op: 'maximum'}, Minimum: {op: 'minimum'}, FloorDivide: {op: 'floorDivide'},
  Mod: {op: 'mod'}, Equal: {op: 'equal'}, NotEqual: {op: 'notEqual'}, Greater: {op: 'greater'},
  GreaterEqual: {op: 'greaterEqual'}, Less: {op: 'less'}, LessEqual: {op: 'lessEqual'},
  LogicalAnd: {op: 'logicalAnd'}, LogicalOr: {op: 'logicalOr'}, LogicalNot: {op: 'logicalNot'},
  Matmul: {op: 'matmul'}, Where: {op: 'where'},
  Tanh: {op: 'tanh'}, Sigmoid: {op: 'sigmoid'}, Exp: {op: 'exp'}, Log: {op: 'log'},
  Sqrt: {op: 'sqrt'}, Rsqrt: {op: 'rsqrt'}, Square: {op: 'square'}, Abs: {op: 'abs'},
  Absolute: {op: 'abs'}, Negative: {op: 'negative'}, Sign: {op: 'sign'}, Sin: {op: 'sin'},
  Cos: {op: 'cos'}, Reciprocal: {op: 'reciprocal'}, Floor: {op: 'floor'}, Ceil: {op: 'ceil'},
  Erf: {op: 'erf'}, Log1p: {op: 'log1p'}, Expm1: {op: 'expm1'}, Relu: {op: 'relu'},
  Relu6: {op: 'relu6'}, Silu: {op: 'silu'}, Softplus: {op: 'softplus'},
  Elu: {op: 'elu', options: {alpha: 'alpha'}},
  LeakyRelu: {op: 'leakyRelu', options: {negative_slope: 'negativeSlope'}},
  Gelu: {op: 'gelu', options: {approximate: 'approximate'}},
  Softmax: {op: 'softmax', options: {axis: 'axis'}},
  LogSoftmax: {op: 'logSoftmax', options: {axis: 'axis'}},
  Cast: {op: 'cast', options: {dtype: 'castTo'}},
  OnesLike: {op: 'onesLike', options: {dtype: 'castTo'}},
  ZerosLike: {op: 'zerosLike', options: {dtype: 'castTo'}},
  Clip: {op: 'clip', options: {x_min: 'min', x_max: 'max'}},
  Mean: {op: 'mean', options: {axis: 'axis', keepdims: 'keepdims'}},
  Sum: {op: 'sum', options: {axis: 'axis', keepdims: 'keepdims'}},
  Prod: {op: 'prod', options: {axis: 'axis', keepdims: 'keepdims', dtype: ''}},
  Max: {op: 'max', options: {axis: 'axis', keepdims: 'keepdims', initial: ''}},
  Min: {op: 'min', options: {axis: 'axis', keepdims: 'keepdims', initial: ''}},
  Any: {op: 'any', options: {axis: 'axis', keepdims: 'keepdims'}},
  All: {op: 'all', options: {axis: 'axis', keepdims: 'keepdims'}},
  Var: {op: 'var', options: {axis: 'axis', keepdims: 'keepdims'}},
  Std: {op: 'std', options: {axis: 'axis', keepdims: 'keepdims'}},
  Logsumexp: {op: 'logsumexp', options: {axis: 'axis', keepdims: 'keepdims'}},
  ExpandDims: {op: 'expandDims', options: {axis: 'axis'}},
  Squeeze: {op: 'squeeze', options: {axis: 'axis'}},
  Reshape: {op: 'reshape', options: {newshape: 'newshape'}},
  Transpose: {op: 'transpose', options: {axes: 'axes'}},
  Tile: {op: 'tile', options: {repeats: 'repeats'}},
  Concatenate: {op: 'concatenate', options: {axis: 'axis'}},
  Stack: {op: 'stack', options: {axis: 'axis'}},
};

/** The Keras op class names the loader runs (as op layers). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();

function opLayer(layer: KerasLayer, ctx: RuleContext): Translation|null {
  const spec = OPS[layer.className];
  if (spec === undefined) {
    ctx.report(`keras.ops operation '${layer.className}'`);
    return null;
  }
  const config: ConfigDict = {name: layer.name, op: spec.op};
  for (const [key, value] of Object.entries(layer.config)) {
    if (key === 'name') {
      continue;
    }
    const target = spec.options?.[key];
    if (target === undefined) {
      ctx.report(`${layer.className} argument '${key}' (${preview(value, 40)})`);
    } else if (target === '') {
      if (value != null) {
        ctx.report(`${layer.className} argument ${key}=${preview(value, 40)}`);
      }
    } else if (target === 'castTo') {
      if (value == null) {
        continue;
      }
      const dtype = String(value);
      const mapped = dtype.startsWith('float') || dtype === 'bfloat16' ? 'float32' :
          dtype.startsWith('int') || dtype.startsWith('uint') ? 'int32' : dtype === 'bool' ? 'bool' :
                                                                 null;
      if (mapped === null) {
        ctx.report(`${layer.className} to dtype ${preview(value, 20)}`);
      } else {
        config['castTo'] = mapped;
      }
    } else if (value != null) {
      config[target] = value as number;
    }
  }
  if ((spec.op === 'onesLike' || spec.op === 'zerosLike') && config['castTo'] === undefined) {
    config['castTo'] = 'float32';
  }
  return {className: 'KerasOp', config, weights: [], call: 'op', consumesMask: false,
          outputMask: 'none', op: spec.op};
}

function inputLayer(layer: KerasLayer, ctx: RuleContext): Translation {
  const r = new Reader(layer, ctx);
  r.ignore('batch_shape', 'batch_input_shape', 'input_shape', 'shape', 'batch_size');
  r.only('sparse', false);
  r.only('ragged', false);
  r.only('optional', false);
  r.finish();
  return {className: 'InputLayer', config: {}, weights: [], call: 'single', consumesMask: false,
          outputMask: 'none'};
}

const RULES: Record<string, Rule> = {
  InputLayer: inputLayer,
  Dense: dense,
  Embedding: embedding,
  LayerNormalization: layerNormalization,
  RMSNormalization: rmsNormalization,
  BatchNormalization: batchNormalization,
  Dropout: dropout,
  SpatialDropout1D: dropout,
  Activation: activationLayer,
  Conv1D: conv1d,
  MaxPooling1D: pooling1d,
  AveragePooling1D: pooling1d,
  GlobalAveragePooling1D: globalPooling1d,
  GlobalMaxPooling1D: globalPooling1d,
  Flatten: reshaping,
  Reshape: reshaping,
  Permute: reshaping,
  RepeatVector: reshaping,
  Add: merge,
  Subtract: merge,
  Multiply: merge,
  Average: merge,
  Maximum: merge,
  Minimum: merge,
  Concatenate: merge,
  LSTM: recurrent,
  GRU: recurrent,
  SimpleRNN: recurrent,
  Bidirectional: bidirectional,
  MultiHeadAttention: multiHeadAttention,
};

/** The Keras layer classes the loader supports. */
export const SUPPORTED_LAYERS: readonly string[] = Object.keys(RULES).sort();

/**
 * Whether a layer of the converter's legacy form (no `module`) is an op layer: a class that only
 * `keras.ops` has, or one both have (`Add`, `Reshape`, ...) whose config lacks the `trainable`
 * that layers' configs carry.
 */
function isOpLayer(layer: KerasLayer): boolean {
  if (layer.className === 'InputLayer') {
    return false;
  }
  if (!(layer.className in OPS)) {  // an unknown class: ops' configs have neither of these
    return !(layer.className in RULES) && !('trainable' in layer.config) &&
        !('dtype' in layer.config);
  }
  return !(layer.className in RULES) || !('trainable' in layer.config);
}

/** The translation of `layer`, or null (with the reasons reported) when it is not supported. */
export function translateLayer(layer: KerasLayer, ctx: RuleContext): Translation|null {
  if (layer.isOp ?? isOpLayer(layer)) {
    return opLayer(layer, ctx);
  }
  if (layer.registeredName !== undefined && layer.module !== undefined &&
      !layer.module.startsWith('keras')) {
    ctx.report(`custom layer class '${layer.registeredName}' (module '${layer.module}')`);
    return null;
  }
  const rule = RULES[layer.className];
  if (rule === undefined) {
    ctx.report(`layer class '${layer.className}'`);
    return null;
  }
  return rule(layer, ctx);
}
