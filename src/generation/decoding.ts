/**
 * Decoding step by step: a functional `tf.LayersModel` (a decoder-only language model, or an
 * encoder–decoder such as the blocks of src/layers/blocks.ts build) run on a few new tokens at
 * a time, with a key/value cache in every attention layer, instead of re-running the whole
 * model on the whole sequence for every token.
 *
 *   const session = startDecoding(model, {maxLength: 64, inputs: {encoder_ids: ids}});
 *   const logits = session.step(tokens);   // tokens [batch, tNew] → outputs [batch, tNew, ...]
 *   session.dispose();
 *
 * One model input is the *sequence* (the decoder's token ids; it grows); the others are fixed
 * for the whole session (`inputs`: an encoder's ids and mask). A model whose decoder takes
 * several inputs per position (ids and, say, where each id was copied from) names them in
 * `sequenceInputs`; each step then gives one tensor per sequence input, all of the same
 * `[batch, tNew]`. `startDecoding` reads the model's graph once and sorts its layers:
 *
 * - **fixed** layers depend on the fixed inputs only (the encoder): they run once, at the
 *   start, and feed the cross-attention caches;
 * - **sequence** layers depend on the sequence. Each step runs them on the new positions only:
 *   position-wise layers (embeddings, dense, normalization, feed-forward, adds, dropout, ...)
 *   as they are; PositionalEmbedding with the positions counted from the session's position;
 *   SelfAttention and MultiHeadAttention through `applyCached` — a self-attention cache for a
 *   causal self-attention, a cross-attention cache (made at the start from the fixed context)
 *   for attention over the encoder.
 *
 * A layer that cannot run on new positions alone (a non-causal self-attention over the
 * sequence, a recurrent layer, a layer this module does not know) is an error at the start
 * that names it. Each step's outputs equal the full model's outputs at those positions (the
 * tests check it to 1e-5 on cpu and wasm, and in Chromium). Layers are called as
 * `model.predict` calls them: with the first input's propagated mask as `mask`.
 */
import * as tf from '@tensorflow/tfjs';

import {ArgSpec, checkArgs, checkTensorArg, describeValue, is} from '../args';
import {AttentionCache, CACHE_LAYOUTS, CacheLayout} from '../layers/attention_cache';
import {MultiHeadAttention} from '../layers/multi_head_attention';
import {PositionalEmbedding} from '../layers/positional_embedding';
import {SelfAttention} from '../layers/self_attention';

type Node = tf.layers.Layer['inboundNodes'][number];

/** Arguments of {@link startDecoding}. */
export interface StartDecodingArgs {
  /** The most positions the sequence will hold (prompt and generated tokens). Required. */
  maxLength: number;
  /**
   * The model's fixed inputs by input name (e.g. `{encoder_ids, encoder_mask}`), each
   * `[batch, ...]`. Every model input but one must be given; that one is the sequence.
   * Default none (a model with one input).
   */
  inputs?: Record<string, tf.Tensor>;
  /**
   * The model inputs that grow, by name, in the order {@link DecodingSession.step} takes
   * them (several for a decoder that reads more than one input per position). Every other
   * input must be given in `inputs`. Default: the one input that `inputs` leaves out.
   */
  sequenceInputs?: string[];
  /**
   * Sequences decoded side by side. Default: the fixed inputs' batch, else the first step's.
   */
  batchSize?: number;
  /** How the self-attention caches store keys (see `CacheLayout`). Default 'growing'. */
  layout?: CacheLayout;
}

/** How one layer call (a node of the graph) runs on new positions. */
type Rule =
    {kind: 'fixed'}|
    {kind: 'positionwise'}|
    {kind: 'positions'}|
    {kind: 'selfAttention'}|
    {kind: 'crossAttention', context: tf.SymbolicTensor, contextMask: tf.SymbolicTensor|null};

interface PlannedNode {
  node: Node;
  layer: tf.layers.Layer;
  rule: Rule;
}

/** A model's graph sorted for decoding: its nodes in order, and which input is the sequence. */
interface Plan {
  nodes: PlannedNode[];
  sequences: tf.SymbolicTensor[];
  fixedInputs: tf.SymbolicTensor[];
}

/**
 * Layers that compute each position from that position alone (for `[batch, time, ...]`
 * inputs), so running them on the new positions gives the full call's rows. Some only for
 * some settings (`axisOk`).
 */
const POSITIONWISE: Record<string, ((config: tf.serialization.ConfigDict) => boolean)|null> = {
  TokenEmbedding: null, LayerNorm: null, FeedForward: null, KerasLayerNormalization: lastAxis,
  KerasRMSNormalization: lastAxis, Embedding: null, Dense: null, Add: null, Multiply: null,
  Average: null, Maximum: null, Minimum: null, Dropout: null, Activation: null, ReLU: null,
  LeakyReLU: null, PReLU: null, ELU: null, ThresholdedReLU: null, Masking: null,
  GaussianNoise: null, GaussianDropout: null, AlphaDropout: null, Softmax: lastAxis,
  LayerNormalization: lastAxis, Concatenate: lastAxis,
};

/** Whether a layer's `axis` is the last one (-1, or 2 of `[batch, time, features]`). */
function lastAxis(config: tf.serialization.ConfigDict): boolean {
  const axis = config['axis'];
  const axes = Array.isArray(axis) ? axis : [axis ?? -1];
  return axes.length === 1 && (axes[0] === -1 || axes[0] === 2);
}

/** The plans made so far, per model and sequence inputs. */
const PLANS = new WeakMap<tf.LayersModel, Map<string, Plan>>();

/**
 * A decoding session of one model: the fixed part computed, the attention caches, and the
 * position reached. Made by {@link startDecoding}; holds tensors until {@link dispose}.
 */
export class DecodingSession {
  /** The (first) model input that grows: the sequence of token ids. */
  readonly sequenceInput: string;
  /** Every model input that grows, in the order {@link step} takes them. */
  readonly sequenceInputs: readonly string[];
  /** The most positions the session holds. */
  readonly maxLength: number;
  private batch: number|null;
  private filled = 0;
  private failed: string|null = null;
  private disposed = false;
  private readonly layout: CacheLayout;
  private readonly caches = new Map<number, AttentionCache>();  // node id → cache

  /**
   * Use {@link startDecoding}.
   * @internal
   */
  constructor(private readonly model: tf.LayersModel, private readonly plan: Plan,
              args: {maxLength: number, batchSize: number|null, layout: CacheLayout},
              fixedValues: Map<number, tf.Tensor>) {
    this.sequenceInputs = plan.sequences.map(t => inputName(model, t));
    this.sequenceInput = this.sequenceInputs[0]!;
    this.maxLength = args.maxLength;
    this.batch = args.batchSize;
    this.layout = args.layout;
    this.prepare(fixedValues);
  }

  /** Positions decoded so far. */
  get position(): number {
    return this.filled;
  }

  /** Sequences decoded side by side (null until known: no fixed input and no step yet). */
  get batchSize(): number|null {
    return this.batch;
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Runs the model on the next tokens `[batch, tNew]` (int32 ids, or what the sequence input
   * takes; with several {@link sequenceInputs}, a list of one such tensor per input, in that
   * order): returns the model's output(s) for those positions, `[batch, tNew, ...]` (a list
   * for a model with several outputs), equal to the full model's outputs there. The caches
   * keep the new positions. Throws, naming the argument, when the batch does not fit or
   * maxLength would be passed; a step that fails inside a layer ends the session (its caches
   * may hold part of the step), so later calls throw too.
   */
  step(tokens: tf.Tensor|tf.Tensor[]): tf.Tensor|tf.Tensor[] {
    this.checkUsable('step');
    const list = this.checkTokens(tokens);
    const [batch, tNew] = list[0]!.shape as [number, number];
    if (this.batch != null && batch !== this.batch) {
      throw new Error(`DecodingSession.step: tokens must have batchSize=${this.batch} rows. ` +
                      `Received: tokens with shape [${list[0]!.shape}]`);
    }
    if (this.filled + tNew > this.maxLength) {
      throw new Error(`DecodingSession.step: the session holds maxLength=${this.maxLength} ` +
                      `positions, ${this.filled} are filled, and tokens adds ${tNew}. Received: ` +
                      `tokens with shape [${list[0]!.shape}]`);
    }
    this.batch = batch;
    try {
      const outputs = tf.tidy(() => this.run(list));
      this.filled += tNew;
      return this.model.outputs.length === 1 ? outputs[0]! : outputs;
    } catch (e) {
      this.failed = (e as Error).message;
      this.releaseCaches();
      throw e;
    }
  }

  /** `step`'s tokens as one tensor per sequence input, checked: ranks, one [batch, tNew]. */
  private checkTokens(tokens: tf.Tensor|tf.Tensor[]): tf.Tensor[] {
    const fn = 'DecodingSession.step';
    const names = this.sequenceInputs;
    if (Array.isArray(tokens) !== (names.length > 1) ||
        (Array.isArray(tokens) && tokens.length !== names.length)) {
      throw new Error(`${fn}: tokens must be ${names.length > 1 ? `a list of ${
          names.length} tensors, one per sequence input (${names.join(', ')})` :
          'one tensor'}. Received: tokens=${describeValue(tokens)}`);
    }
    const list = Array.isArray(tokens) ? tokens : [tokens];
    list.forEach((t, i) => {
      const what = names.length > 1 ? `tokens[${i}]` : 'tokens';
      checkTensorArg(fn, t, what);
      const expected = this.plan.sequences[i]!.shape.length;
      if (t.rank !== expected || t.rank < 2) {
        throw new Error(`${fn}: ${what} must have the rank of the model's input '${
            names[i]}' ([batch, tNew${expected > 2 ? ', ...' : ''}]). Received: ${what} ${
            describeValue(t)}`);
      }
      if (t.shape[0] !== list[0]!.shape[0] || t.shape[1] !== list[0]!.shape[1]) {
        throw new Error(`${fn}: every sequence input's tokens must have one [batch, tNew]. ` +
                        `Received: shapes ${JSON.stringify(list.map(x => x.shape))}`);
      }
    });
    return list;
  }

  /** Frees every cache. Safe to call twice. */
  dispose(): void {
    this.releaseCaches();
    this.disposed = true;
  }

  private releaseCaches(): void {
    this.caches.forEach(c => c.dispose());
    this.caches.clear();
  }

  private checkUsable(fn: string): void {
    if (this.disposed) {
      throw new Error(`DecodingSession.${fn}: the session was disposed; start a new one with ` +
                      `startDecoding(). Received: a disposed session at position ${this.filled}`);
    }
    if (this.failed != null) {
      throw new Error(`DecodingSession.${fn}: an earlier step failed, so the caches are not ` +
                      `consistent; start a new session. The failure was: ${this.failed}`);
    }
  }

  /** Makes the cross-attention caches from the fixed values, then lets those values go. */
  private prepare(fixed: Map<number, tf.Tensor>): void {
    try {
      for (const {node, layer, rule} of this.plan.nodes) {
        if (rule.kind === 'crossAttention') {
          const context = fixed.get(rule.context.id)!;
          const contextMask = rule.contextMask == null ? null : fixed.get(rule.contextMask.id)!;
          this.caches.set(node.id, createCache(layer, {context, contextMask}));
        }
      }
    } catch (e) {
      this.releaseCaches();
      throw e;
    } finally {
      tf.dispose([...fixed.values()]);
    }
  }

  /** One step: the sequence layers on the new positions. Returns the model's outputs. */
  private run(tokens: tf.Tensor[]): tf.Tensor[] {
    const values = new Map<number, tf.Tensor>(this.plan.sequences.map((t, i) => [t.id, tokens[i]!]));
    const masks = new Map<number, tf.Tensor|null>();
    for (const {node, layer, rule} of this.plan.nodes) {
      if (rule.kind === 'fixed') {
        continue;
      }
      const inputs = node.inputTensors.map(t => values.get(t.id)!);
      const inputMasks = node.inputTensors.map(t => masks.get(t.id) ?? null);
      const firstMask = inputMasks[0] ?? null;
      let outputs: tf.Tensor[];
      switch (rule.kind) {
        case 'positionwise':
          outputs = applyAsPredict(layer, inputs, firstMask);
          break;
        case 'positions':
          outputs = [(layer as PositionalEmbedding).addPositions(inputs[0]!, this.filled)];
          break;
        case 'selfAttention':
        case 'crossAttention': {
          let cache = this.caches.get(node.id);
          if (cache == null) {
            cache = createCache(layer, {batchSize: this.batch!, maxLength: this.maxLength,
                                        layout: this.layout});
            this.caches.set(node.id, cache);
          }
          outputs = toList(applyCached(layer, inputs[0]!, cache, firstMask));
          break;
        }
      }
      const outputMasks = outputMasksOf(layer, inputs, inputMasks);
      node.outputTensors.forEach((t, i) => {
        values.set(t.id, outputs[i]!);
        masks.set(t.id, outputMasks[i] ?? null);
      });
    }
    return this.model.outputs.map(t => values.get(t.id)!);
  }
}

function createCache(layer: tf.layers.Layer, args: Parameters<SelfAttention['createCache']>[0]):
    AttentionCache {
  return (layer as SelfAttention|MultiHeadAttention).createCache(args);
}

function applyCached(layer: tf.layers.Layer, x: tf.Tensor, cache: AttentionCache,
                     mask: tf.Tensor|null): tf.Tensor|tf.Tensor[] {
  return (layer as SelfAttention|MultiHeadAttention).applyCached(x, cache, {mask});
}

function toList(x: tf.Tensor|tf.Tensor[]|null|undefined): tf.Tensor[] {
  return x == null ? [] : Array.isArray(x) ? x : [x];
}

/** `layer.apply` as `model.predict` calls it: the inputs as a list, the first input's mask. */
function applyAsPredict(layer: tf.layers.Layer, inputs: tf.Tensor[], mask: tf.Tensor|null):
    tf.Tensor[] {
  return toList(layer.apply(inputs, mask == null ? {} : {mask}) as tf.Tensor|tf.Tensor[]);
}

/** The masks of a layer's outputs, as `model.predict` propagates them (none without support). */
function outputMasksOf(layer: tf.layers.Layer, inputs: tf.Tensor[],
                       masks: Array<tf.Tensor|null>): Array<tf.Tensor|null> {
  if (!layer.supportsMasking) {
    return [];
  }
  return toList(layer.computeMask(inputs, masks as tf.Tensor[]) as tf.Tensor|tf.Tensor[]|null);
}

const START_ARGS: ArgSpec = {
  maxLength: is.positiveInt,
  inputs: is.object,
  sequenceInputs: {
    expected: 'a non-empty list of distinct input names',
    test: (v: unknown) => Array.isArray(v) && v.length > 0 && new Set(v).size === v.length &&
        v.every(n => typeof n === 'string'),
  },
  batchSize: is.positiveInt,
  layout: is.oneOf(CACHE_LAYOUTS),
};

/**
 * Starts decoding `model` step by step (see the module comment): checks that every layer on
 * the sequence's way can run on new positions alone, runs the fixed part (an encoder) once on
 * `inputs`, and makes the attention caches. Call `step(tokens)` with the prompt, then with
 * each new token; `dispose()` when done.
 *
 * ```ts
 * const START = 1;                                           // the start token's id
 * const session = startDecoding(model, {maxLength: 32});      // a decoder-only model
 * let logits = session.step(tf.tensor2d([[START]], [1, 1], 'int32'));  // [1, 1, vocab]
 * // ... pick the next id from logits, then session.step(tf.tensor2d([[id]], [1, 1], 'int32'))
 * session.dispose();
 * ```
 */
export function startDecoding(model: tf.LayersModel, args: StartDecodingArgs): DecodingSession {
  const fn = 'startDecoding';
  if (!(model instanceof tf.LayersModel)) {
    throw new Error(`${fn}: model must be a tf.LayersModel (functional or sequential). ` +
                    `Received: model=${describeValue(model)}`);
  }
  checkArgs(fn, args, START_ARGS, {layer: false, required: ['maxLength'],
                                   suggestions: {maxLen: 'maxLength', batch: 'batchSize'}});
  const given = args.inputs ?? {};
  const names = model.inputNames;
  for (const [name, value] of Object.entries(given)) {
    if (!names.includes(name)) {
      throw new Error(`${fn}: inputs.${name} is not an input of model '${model.name}' (its ` +
                      `inputs: ${names.join(', ')}). Received: inputs.${name}=${
                          describeValue(value)}`);
    }
    checkTensorArg(fn, value, `inputs.${name}`);
  }
  const missing = names.filter(n => !(n in given));
  const sequenceNames = args.sequenceInputs ?? missing;
  for (const name of sequenceNames) {
    if (!names.includes(name) || name in given) {
      throw new Error(`${fn}: sequenceInputs must name inputs of model '${model.name}' that ` +
                      `inputs does not give (its inputs: ${names.join(', ')}). Received: ` +
                      `sequenceInputs=${JSON.stringify(sequenceNames)}, inputs for ${
                          JSON.stringify(Object.keys(given))}`);
    }
  }
  if (sequenceNames.length !== missing.length ||
      (args.sequenceInputs == null && missing.length !== 1)) {
    throw new Error(`${fn}: every input of model '${model.name}' but the sequence must be given ` +
                    `in inputs (the one left out is the sequence that grows; name several in ` +
                    `sequenceInputs). Received: inputs for ${
                        JSON.stringify(Object.keys(given))}, leaving ${JSON.stringify(missing)}${
                        args.sequenceInputs == null ? '' :
                            `, sequenceInputs=${JSON.stringify(sequenceNames)}`}`);
  }
  const plan = planFor(model, sequenceNames);
  const fixedTensors = plan.fixedInputs.map(t => given[inputName(model, t)]!);
  const batches = new Set(fixedTensors.map(t => t.shape[0]));
  if (args.batchSize != null) {
    batches.add(args.batchSize);
  }
  if (batches.size > 1) {
    throw new Error(`${fn}: the fixed inputs and batchSize must agree on the batch size. ` +
                    `Received: batch sizes ${JSON.stringify([...batches])}`);
  }
  const fixed = runFixed(plan, new Map(plan.fixedInputs.map((t, i) => [t.id, fixedTensors[i]!])));
  return new DecodingSession(model, plan, {
    maxLength: args.maxLength, batchSize: [...batches][0] ?? null,
    layout: args.layout ?? 'growing',
  }, fixed);
}

/**
 * Runs the fixed layers once, as `predict` would, and returns what the cross-attention caches
 * read (contexts and their masks), by symbolic tensor id. The caller's tensors stay theirs.
 */
function runFixed(plan: Plan, inputs: Map<number, tf.Tensor>): Map<number, tf.Tensor> {
  const wanted = new Set<number>();
  for (const {rule} of plan.nodes) {
    if (rule.kind === 'crossAttention') {
      wanted.add(rule.context.id);
      if (rule.contextMask != null) {
        wanted.add(rule.contextMask.id);
      }
    }
  }
  const kept = tf.tidy(() => {
    const values = new Map<number, tf.Tensor>(inputs);
    const masks = new Map<number, tf.Tensor|null>();
    for (const {node, layer, rule} of plan.nodes) {
      if (rule.kind !== 'fixed') {
        continue;
      }
      const xs = node.inputTensors.map(t => values.get(t.id)!);
      const inputMasks = node.inputTensors.map(t => masks.get(t.id) ?? null);
      const outputs = applyAsPredict(layer, xs, inputMasks[0] ?? null);
      const outputMasks = outputMasksOf(layer, xs, inputMasks);
      node.outputTensors.forEach((t, i) => {
        values.set(t.id, outputs[i]!);
        masks.set(t.id, outputMasks[i] ?? null);
      });
    }
    // Copies, so that disposing them never touches the caller's inputs.
    return [...wanted].map(id => values.get(id)!.clone());
  });
  return new Map([...wanted].map((id, i) => [id, kept[i]!]));
}

/** The plan of `model` with `sequenceNames` as the sequence inputs (made once per pair). */
function planFor(model: tf.LayersModel, sequenceNames: string[]): Plan {
  let plans = PLANS.get(model);
  if (plans == null) {
    plans = new Map();
    PLANS.set(model, plans);
  }
  const key = JSON.stringify(sequenceNames);
  let plan = plans.get(key);
  if (plan == null) {
    plan = makePlan(model, sequenceNames);
    plans.set(key, plan);
  }
  return plan;
}

/** The name of a model input (its input layer's: what `inputs` and `predict` use). */
function inputName(model: tf.LayersModel, input: tf.SymbolicTensor): string {
  return model.inputNames[model.inputs.indexOf(input)]!;
}

/** Sorts the model's nodes (inputs first) and gives each sequence node its rule. */
function makePlan(model: tf.LayersModel, sequenceNames: string[]): Plan {
  const sequences = sequenceNames.map(n => model.inputs[model.inputNames.indexOf(n)]!);
  const sequenceIds = new Set(sequences.map(t => t.id));
  const order: Node[] = [];
  const seen = new Set<number>();
  const visit = (t: tf.SymbolicTensor) => {
    const node = t.sourceLayer.inboundNodes[t.nodeIndex]!;
    if (seen.has(node.id)) {
      return;
    }
    seen.add(node.id);
    node.inputTensors.forEach(visit);
    order.push(node);
  };
  model.outputs.forEach(visit);

  const onSequence = new Set<number>(sequenceIds);  // ids of tensors that depend on it
  const nodes: PlannedNode[] = [];
  const fixedInputs: tf.SymbolicTensor[] = [];
  for (const node of order) {
    const layer = node.outboundLayer;
    if (layer instanceof tf.layers.Layer && layer.getClassName() === 'InputLayer') {
      if (!sequenceIds.has(node.outputTensors[0]!.id)) {
        fixedInputs.push(node.outputTensors[0]!);
      }
      continue;
    }
    const grows = node.inputTensors.map(t => onSequence.has(t.id));
    if (!grows.some(g => g)) {
      nodes.push({node, layer, rule: {kind: 'fixed'}});
      continue;
    }
    node.outputTensors.forEach(t => onSequence.add(t.id));
    nodes.push({node, layer, rule: sequenceRule(model, node, grows)});
  }
  model.outputs.forEach((t, i) => {
    if (!onSequence.has(t.id)) {
      throw new Error(`startDecoding: output '${model.outputNames[i]}' of model '${
          model.name}' does not depend on the sequence input${sequenceNames.length > 1 ? 's' : ''} '${
          sequenceNames.join("', '")}', so it has no ` +
                      `rows to decode. Received: model outputs ${model.outputNames.join(', ')}`);
    }
  });
  return {nodes, sequences, fixedInputs};
}

/** How a node on the sequence's way runs on new positions; throws when it cannot. */
function sequenceRule(model: tf.LayersModel, node: Node, grows: boolean[]): Rule {
  const layer = node.outboundLayer;
  const className = layer.getClassName();
  const where = `layer '${layer.name}' (${className}) of model '${model.name}'`;
  const inputs = node.inputTensors;
  if (layer instanceof SelfAttention) {
    const [query, context = query, contextMask] = inputs as tf.SymbolicTensor[];
    if (context === query && contextMask == null) {
      if (!layer.causal) {
        throw new Error(`startDecoding: ${where} is a self-attention over the sequence that ` +
                        `is not causal (its outputs for earlier tokens depend on later ones), ` +
                        `so it cannot be decoded step by step. Received: causal=false`);
      }
      return {kind: 'selfAttention'};
    }
    if (grows[0] && !grows[1] && (contextMask == null || !grows[2])) {
      return {kind: 'crossAttention', context: context!, contextMask: contextMask ?? null};
    }
    throw new Error(`startDecoding: ${where} attends the sequence in a way a step cannot ` +
                    `compute (decoding supports causal self-attention on one input, and ` +
                    `cross-attention from the sequence to fixed inputs). Received: inputs ${
                        inputs.map((t, i) => `${t.name} (${grows[i] ? 'sequence' : 'fixed'})`)
                            .join(', ')}`);
  }
  if (layer instanceof MultiHeadAttention) {
    return mhaRule(layer, node, grows, where);
  }
  if (layer instanceof PositionalEmbedding) {
    return {kind: 'positions'};
  }
  if (className in POSITIONWISE) {
    const check = POSITIONWISE[className];
    if (check != null && !check(layer.getConfig())) {
      throw new Error(`startDecoding: ${where} works along an axis other than the last, so it ` +
                      `mixes positions and cannot be decoded step by step. Received: axis=${
                          JSON.stringify(layer.getConfig()['axis'])}`);
    }
    if (!grows.every(g => g)) {
      throw new Error(`startDecoding: ${where} combines the sequence with a fixed input, ` +
                      `which has no rows for the new positions. Received: inputs ${
                          inputs.map(t => t.name).join(', ')}`);
    }
    return {kind: 'positionwise'};
  }
  throw new Error(`startDecoding: ${where} is on the sequence's way and is not known to work ` +
                  `on new positions alone (decoding step by step knows SelfAttention, ` +
                  `MultiHeadAttention, PositionalEmbedding and position-wise layers: ${
                      Object.keys(POSITIONWISE).join(', ')}). Received: class ${className}`);
}

/** MultiHeadAttention on the sequence: causal self-attention, or cross-attention to fixed inputs. */
function mhaRule(layer: MultiHeadAttention, node: Node, grows: boolean[], where: string): Rule {
  const inputs = node.inputTensors;
  const order = layer.inputOrder ?? (['query', 'value', 'key'] as const).slice(0, inputs.length);
  const at = (name: string) => (order as readonly string[]).indexOf(name);
  const extra = order.filter(n => n !== 'query' && n !== 'value' && n !== 'key');
  if (extra.length > 0 || inputs.length > 3) {
    throw new Error(`startDecoding: ${where} takes mask inputs (${
        extra.join(', ')}); decoding step by step takes masks from propagation only. ` +
                    `Received: inputOrder ${JSON.stringify(order)}`);
  }
  const query = inputs[at('query')]!;
  const value = at('value') < 0 ? query : inputs[at('value')]!;
  const key = at('key') < 0 ? value : inputs[at('key')]!;
  if (value === query && key === query) {
    if (!layer.useCausalMask) {
      throw new Error(`startDecoding: ${where} is a self-attention over the sequence without ` +
                      `useCausalMask, so it cannot be decoded step by step. Received: ` +
                      `useCausalMask=false`);
    }
    return {kind: 'selfAttention'};
  }
  const growsTensor = (t: tf.SymbolicTensor) => grows[inputs.indexOf(t)];
  if (growsTensor(query) && !growsTensor(value) && key === value) {
    return {kind: 'crossAttention', context: value, contextMask: null};
  }
  throw new Error(`startDecoding: ${where} attends the sequence in a way a step cannot ` +
                  `compute (causal self-attention, or cross-attention from the sequence to one ` +
                  `fixed input as value and key). Received: inputs ${
                      inputs.map(t => t.name).join(', ')}`);
}
