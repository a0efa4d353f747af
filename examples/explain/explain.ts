/**
 * The six steps of self-attention on real numbers, computed by the package's own code: step 1 by
 * a `TokenEmbedding` layer, step 2 by `SelfAttention.projectQKV`, steps 3–6 by `attentionSteps`
 * (the function behind `scaledDotProductAttention`, which the layer's `call` runs), and the
 * merge of the heads (and W_o) by `SelfAttention.mergeHeads`. The result is plain data that
 * `format.ts` prints as text and `--json` prints as JSON.
 */
import * as tf from '@tensorflow/tfjs';

import {attentionSteps, SelfAttention, selfAttention, tokenEmbedding} from '../../src';
import {random} from '../shared/random';

/** One printed matrix: what it is, its labels and its numbers. */
export interface ExplainedMatrix {
  /** Step of the seed (1–6), or 7 for merging the heads / the output projection. */
  step: number;
  /** Short name, unique in one explanation: 'embeddings', 'W_q', 'Q', 'scores', …. */
  name: string;
  /** Head (0-based) for steps 3–6 and per-head Q, K, V; absent otherwise. */
  head?: number;
  /** One line saying what the matrix is. */
  caption: string;
  rowLabels: string[];
  columnLabels: string[];
  /** values[row][column]. */
  values: number[][];
}

/** Everything `npm run explain` shows. */
export interface Explanation {
  tokens: string[];
  /** Where W_q, W_k, W_v come from: 'identity', 'random (seed N)' or 'model <path>, layer <name>'. */
  weightsSource: string;
  embeddingDim: number;
  numHeads: number;
  /** dk: size of each head's queries and keys. */
  keyDim: number;
  valueDim: number;
  /** Step 4 multiplies by scale = 1/√dk, i.e. divides by `divisor` = √dk. */
  scale: number;
  divisor: number;
  causal: boolean;
  /** Every matrix, in the order printed. */
  matrices: ExplainedMatrix[];
  /** The layer's own `apply` on the same embeddings, and how far it is from the last matrix. */
  layerOutput: number[][];
  maxAbsDiffFromLayer: number;
}

/** Options of {@link explain}. */
export interface ExplainOptions {
  /** Size of the token embeddings when the layer is built here. Default 4, as in the seed. */
  dim?: number|undefined;
  /** Seed of the embedding table (and of `random` weights). Default 1. */
  seed?: number|undefined;
  /** W_q, W_k, W_v uniform random in [-1, 1] (rounded to 2 decimals) instead of identity. Default false. */
  random?: boolean|undefined;
  /**
   * Use this (built) SelfAttention layer instead of a fresh one, e.g. from a saved model. Its
   * query and context feature sizes must be equal (self-attention). Default: a new
   * `selfAttention()` layer with one head and identity weights.
   */
  layer?: SelfAttention|undefined;
  /** Text for {@link Explanation.weightsSource} when `layer` is given. Default 'given layer'. */
  layerSource?: string|undefined;
}

/**
 * A seeded vector of `dim` numbers in [-1, 1], rounded to 2 decimals, for one word: the same word
 * gets the same vector in every sentence, so "cat" can be recognised across runs.
 */
export function wordVector(word: string, dim: number, seed: number): number[] {
  const next = random(hashString(word) ^ Math.imul(seed, 0x9e3779b1));
  return Array.from({length: dim}, () => Math.round((next() * 2 - 1) * 100) / 100);
}

/** Runs the six steps on `words` and returns every intermediate matrix. */
export function explain(words: string[], options: ExplainOptions = {}): Explanation {
  if (!Array.isArray(words) || words.length === 0 || words.some(w => typeof w !== 'string' || w === '')) {
    throw new Error(`explain needs at least one non-empty word. Received: words=${JSON.stringify(words)}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) {
    throw new Error(`seed must be an integer. Received: seed=${JSON.stringify(options.seed)}`);
  }
  if (options.random && options.layer != null) {
    throw new Error('random and layer exclude each other (random replaces the weights of a new ' +
                    'layer). Received: both');
  }
  const layer = options.layer ?? selfAttention({numHeads: 1});
  let dim = options.dim ?? 4;
  if (options.layer != null) {
    const [queryShape, contextShape] = layerInputShapes(options.layer);
    dim = queryShape;
    if (contextShape !== queryShape) {
      throw new Error(`the layer '${options.layer.name}' is a cross-attention layer (query ` +
                      `features ${queryShape}, context features ${contextShape}); explain needs ` +
                      `self-attention. Received: layer=${options.layer.name}`);
    }
    if (options.dim != null && options.dim !== dim) {
      throw new Error(`dim must match the layer's input size ${dim}. Received: dim=${options.dim}`);
    }
  }
  if (!(Number.isInteger(dim) && dim > 0)) {
    throw new Error(`dim must be a positive integer. Received: dim=${JSON.stringify(options.dim)}`);
  }

  // Step 1 by the package's TokenEmbedding: id 0 is kept for padding (a zero row), ids 1… are
  // the distinct words, each with its seeded row.
  const vocabulary = ['', ...new Set(words)];
  const embedding = tokenEmbedding({vocabSize: vocabulary.length, outputDim: dim});
  const tableRows = vocabulary.map(w => w === '' ? new Array<number>(dim).fill(0) : wordVector(w, dim, seed));
  const matrices: ExplainedMatrix[] = [];
  const features = range(dim).map(i => `d${i + 1}`);

  let result!: Explanation;
  tf.tidy(() => {
    const ids = tf.tensor2d([words.map(w => vocabulary.indexOf(w))], undefined, 'int32');
    embedding.apply(ids);  // builds the table
    embedding.setWeights([tf.tensor2d(tableRows)]);
    const x = embedding.apply(ids) as tf.Tensor;  // [1, time, dim]
    if (!layer.built) {
      layer.apply(x);
    }
    if (options.random && options.layer == null) {
      const next = random(seed ^ 0x5eed);
      layer.setWeights(layer.getWeights().map(w => tf.tensor(
          Array.from({length: w.size}, () => Math.round((next() * 2 - 1) * 100) / 100), w.shape)));
    }
    const weightsSource = options.layer != null ? options.layerSource ?? 'given layer' :
        options.random ? `random (seed ${seed})` : 'identity';
    matrices.push({step: 1, name: 'embeddings', caption: `token embeddings: one seeded row of ${
        dim} numbers per word`, rowLabels: words, columnLabels: features,
                   values: matrix(x)});

    // Step 2: the layer's kernels and its projection code.
    const [wq, wk, wv] = layer.getWeights() as [tf.Tensor, tf.Tensor, tf.Tensor];
    const heads = layer.numHeads;
    const keyDim = wq.shape[1]! / heads;
    const valueDim = wv.shape[1]! / heads;
    const kernelColumns = (letter: string, size: number) => range(heads * size).map(
        i => heads > 1 ? `${letter}${Math.floor(i / size) + 1}.${i % size + 1}` : `${letter}${i + 1}`);
    for (const [name, w, letter, size] of [['W_q', wq, 'q', keyDim], ['W_k', wk, 'k', keyDim],
                                           ['W_v', wv, 'v', valueDim]] as const) {
      matrices.push({step: 2, name, caption: `${name}: the layer's ${
          {W_q: 'query', W_k: 'key', W_v: 'value'}[name]} kernel (${weightsSource}), embedding → ${
          letter.toUpperCase()}`, rowLabels: features, columnLabels: kernelColumns(letter, size),
                     values: matrix(w)});
    }
    const qkv = layer.projectQKV(x);  // each [1, heads, time, keyDim|valueDim]
    const steps = attentionSteps(qkv.query, qkv.key, qkv.value, {causal: layer.causal});
    const perHead = (t: tf.Tensor, h: number) => matrix(t.slice([0, h], [1, 1]));
    for (let h = 0; h < heads; h++) {
      const of = heads > 1 ? ` (head ${h + 1} of ${heads})` : '';
      const push = (step: number, name: string, t: tf.Tensor, caption: string, columns: string[]) =>
          matrices.push({step, name, head: h, caption: caption + of, rowLabels: words,
                         columnLabels: columns, values: perHead(t, h)});
      const cols = (letter: string, size: number) => range(size).map(i => `${letter}${i + 1}`);
      push(2, 'Q', qkv.query, 'Q = embeddings · W_q: what each word looks for', cols('q', keyDim));
      push(2, 'K', qkv.key, 'K = embeddings · W_k: what each word offers to be found by',
           cols('k', keyDim));
      push(2, 'V', qkv.value, 'V = embeddings · W_v: what each word passes on', cols('v', valueDim));
      push(3, 'scores', steps.scores, 'raw scores Q · Kᵀ: row = query word, column = key word',
           words);
      push(4, 'scaled', steps.scaled, `scaled scores: Q · Kᵀ / √dk = Q · Kᵀ / √${keyDim} = Q · Kᵀ / ${
          formatNumber(Math.sqrt(keyDim))}`, words);
      push(5, 'weights', steps.weights,
           `attention weights: softmax of each row${layer.causal ? ' (causal: later words masked)' : ''
           }; each row sums to 1`, words);
      push(6, 'output', steps.output,
           'weighted sums of V rows = contextual embeddings', cols('o', valueDim));
    }
    const merged = layer.mergeHeads(steps.output);  // [1, time, outputDim]
    const projected = layer.getWeights().length > (layer.useBias ? 6 : 3);
    if (heads > 1 || projected) {
      matrices.push({step: 7, name: 'layer output', caption: `the layer's output: heads concatenated${
          projected ? ', times the output kernel W_o' : ''}`,
                     rowLabels: words, columnLabels: range(merged.shape[2]!).map(i => `o${i + 1}`),
                     values: matrix(merged)});
    }
    const applied = layer.apply(x);
    const layerOutput = matrix((Array.isArray(applied) ? applied[0] : applied) as tf.Tensor);
    const last = matrices[matrices.length - 1]!.values;
    const maxAbsDiffFromLayer = Math.max(
        ...layerOutput.flatMap((row, i) => row.map((v, j) => Math.abs(v - last[i]![j]!))));
    result = {
      tokens: words, weightsSource, embeddingDim: dim, numHeads: heads, keyDim, valueDim,
      scale: steps.scale, divisor: Math.sqrt(keyDim), causal: layer.causal, matrices, layerOutput,
      maxAbsDiffFromLayer,
    };
  });
  embedding.dispose();
  if (options.layer == null) {
    layer.dispose();
  }
  return result;
}

/** Numbers with up to 4 decimals, trailing zeros dropped: 2, 1.4142. */
export function formatNumber(x: number): string {
  return String(Number(x.toFixed(4)));
}

/** [queryFeatures, contextFeatures] of a built SelfAttention layer, from its kernels. */
function layerInputShapes(layer: SelfAttention): [number, number] {
  if (!layer.built) {
    throw new Error(`the layer must be built (from a model or by apply). Received: layer '${
        layer.name}' not built`);
  }
  const [wq, wk] = layer.getWeights();
  return [wq!.shape[0]!, wk!.shape[0]!];
}

/** The last two axes of a tensor whose leading axes are all 1, as nested arrays. */
function matrix(t: tf.Tensor): number[][] {
  const rows = t.shape[t.rank - 2]!;
  const cols = t.shape[t.rank - 1]!;
  return t.reshape([rows, cols]).arraySync() as number[][];
}

function range(n: number): number[] {
  return Array.from({length: n}, (_, i) => i);
}

/** FNV-1a, 32 bits. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

