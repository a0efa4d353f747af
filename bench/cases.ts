/**
 * The three things the benchmark compares, for one case:
 * (a) the SelfAttention layer as users get it (default settings),
 * (b) the naive formulation: the same computation with batched matMuls, transpose flags and
 *     tf.softmax, the way one writes attention in tfjs by hand (or, with `--baseline standard`,
 *     the layer forced onto the standard path),
 * (c) one 2-D matMul without transpose flags with the same FLOP count: what the backend can
 *     reach.
 */
import * as tf from '@tensorflow/tfjs';

import {AttentionPath, SelfAttention, selfAttention} from '../src';

export interface Case {
  batch: number;
  time: number;
  heads: number;
  /** Model size (features); each head has model/heads dimensions. */
  model: number;
}

/** Floating-point operations of one forward pass (projections + attention + W_o). */
export function forwardFlops(c: Case): number {
  const rows = c.batch * c.time;
  const projections = 2 * rows * c.model * c.model * (c.heads > 1 ? 4 : 3);
  const attention = 4 * c.batch * c.time * c.time * c.model;  // Q·Kᵀ and P·V, all heads
  return projections + attention;
}

/** A forward and a forward+backward function of one variant, with what they need. */
export interface Variant {
  forward: () => tf.Tensor;
  /** Returns every gradient (weights, and the input for (a)/(b)). */
  both: () => tf.Tensor[];
  dispose: () => void;
}

/** (a) The layer with its default settings (or on `attentionPath`). */
export function layerVariant(c: Case, x: tf.Tensor3D, attentionPath: AttentionPath = 'auto'): Variant {
  const layer: SelfAttention = selfAttention({numHeads: c.heads, attentionPath});
  try {
    tf.dispose(layer.apply(x) as tf.Tensor);  // builds the weights
  } catch (e) {
    layer.dispose();  // e.g. too long a sequence for WebGL: the caller records the error
    throw e;
  }
  const vars = layer.trainableWeights.map(w => w.read() as tf.Variable);
  return {
    forward: () => layer.apply(x) as tf.Tensor,
    both: () => {
      const {grads} = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, vars);
      return vars.map(v => grads[v.name]!);
    },
    dispose: () => layer.dispose(),
  };
}

/** (b) Naive attention with the same weights' shapes: batched 3-D/4-D matMuls and softmax. */
export function naiveVariant(c: Case, x: tf.Tensor3D): Variant {
  const dh = c.model / c.heads;
  const w = () => tf.tidy(() => tf.variable(tf.randomNormal([c.model, c.model], 0, 0.05)));
  const [wq, wk, wv] = [w(), w(), w()];
  const wo = c.heads > 1 ? w() : null;
  const vars = [wq, wk, wv, ...(wo ? [wo] : [])];
  const split = (t: tf.Tensor) => t.reshape([c.batch, c.time, c.heads, dh]).transpose([0, 2, 1, 3]);
  const forward = () => {
    const flat = x.reshape([c.batch * c.time, c.model]);
    const q = split(tf.matMul(flat, wq));                            // [batch, heads, time, dh]
    const k = split(tf.matMul(flat, wk));
    const v = split(tf.matMul(flat, wv));
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
    const out = tf.matMul(tf.softmax(scores), v)                      // [batch, heads, time, dh]
                    .transpose([0, 2, 1, 3]).reshape([c.batch * c.time, c.model]);
    return (wo ? tf.matMul(out, wo) : out).reshape([c.batch, c.time, c.model]);
  };
  return {
    forward,
    both: () => {
      const {grads} = tf.variableGrads(() => tf.sum(forward()) as tf.Scalar, vars);
      return vars.map(v => grads[v.name]!);
    },
    dispose: () => tf.dispose(vars),
  };
}

/**
 * (c) One square 2-D matMul `[side, side] · [side, side]` without transpose flags, side chosen
 * so that it does (about) the forward pass's FLOPs: the speed this backend reaches on a product
 * of this size. Returns the variant and its exact FLOP count.
 */
export function matMulVariant(c: Case): {variant: Variant, flops: number} {
  const side = matMulSide(c);
  const a = tf.randomNormal([side, side]);
  const b = tf.randomNormal([side, side]);
  return {
    variant: {
      forward: () => tf.matMul(a, b),
      // fwd+bwd counts 3× the forward FLOPs (as for (a) and (b)): three products.
      both: () => [tf.matMul(a, b), tf.matMul(a, b), tf.matMul(a, b)],
      dispose: () => tf.dispose([a, b]),
    },
    flops: matMulFlops(c),
  };
}

/** The side of (c)'s square matMul: its FLOPs are about the case's forward FLOPs. */
function matMulSide(c: Case): number {
  return Math.max(1, Math.round(Math.cbrt(forwardFlops(c) / 2)));
}

/** The exact FLOPs of (c)'s forward product (known before anything is allocated). */
export function matMulFlops(c: Case): number {
  const side = matMulSide(c);
  return 2 * side * side * side;
}
