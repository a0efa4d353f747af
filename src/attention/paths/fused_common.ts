/**
 * What the fused WebGL and WebGPU paths share (fused.ts picks one; their programs are in
 * fused_webgl.ts and fused_webgpu.ts): checking the inputs once, the `[slices, time, d]` view
 * the programs read, one custom gradient around a backend's forward and backward programs, and
 * the dropout hash.
 *
 * Contract (the same as the other paths, see options.ts): masks (explicit, causal, sliding
 * window; the programs compute the position rules themselves, no mask tensor), `scale`,
 * rows with no allowed key get output 0 and weights exactly 0, `needWeights: false` never
 * builds the `[..., timeQ, timeK]` weights for the caller. Weights, when asked for, come from
 * the programs' own softmax and carry no gradient (gradients flow through `output`).
 *
 * Dropout is drawn inside the programs from a counter-based hash of (seed, slice, query row,
 * key column), so no random tensor is made or stored and the backward pass recomputes the same
 * pattern from the seed. It drops each weight with probability `dropout`, as `tf.dropout` does,
 * but it is not the standard path's pattern (that one comes from `tf.randomUniform` over the
 * whole tensor); {@link fusedDropoutKeeps} reproduces it exactly on the CPU.
 */
import * as tf from '@tensorflow/tfjs';

import {toBool} from '../masks';
import {emptyAttention, isEmpty, PathOptions, PathResult, resolve} from '../options';
import {customGrad3, toSlices} from './common';

/** Sizes and settings the programs of both backends are built from. */
export interface FusedPlan {
  /** batch×heads slices; the programs see `[slices, time, d]` tensors. */
  slices: number;
  /** Heads per batch entry (1 for rank-3 inputs), to find a slice's mask. */
  heads: number;
  timeQ: number;
  timeK: number;
  dk: number;
  dv: number;
  scale: number;
  causal: boolean;
  /** Query i attends only keys with |i − j| < slidingWindow; null for no window. */
  slidingWindow: number|null;
  /**
   * The boolean mask as `[maskBatch·maskHeads, maskQ, maskK]` with each of its sizes either the
   * full size or 1 (broadcast), or null for none.
   */
  mask: tf.Tensor3D|null;
  /** Sizes of the mask's batch, heads, query and key axes (each full or 1). */
  maskDims: [number, number, number, number];
  /** Dropout rate that applies (0 unless training). */
  dropout: number;
  /** {@link fusedSeedMix} of the seed, for the programs' dropout hash. */
  seedMix: number;
}

/** What one backend's programs compute. */
export interface FusedPrograms {
  /** Backend name the programs run on ('webgl', 'webgpu'). */
  backend: string;
  /**
   * Forward pass on `[slices, time, d]` inputs: the output `[slices, timeQ, dv]`, the weights
   * `[slices, timeQ, timeK]` when `needWeights` (or null), and what the backward pass needs.
   */
  forward(plan: FusedPlan, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, needWeights: boolean):
      {output: tf.Tensor3D, weights: tf.Tensor3D|null, saved: tf.Tensor[]};
  /** Gradients of q, k, v (`[slices, time, d]`) from dy `[slices, timeQ, dv]`. */
  backward(plan: FusedPlan, dy: tf.Tensor3D, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D,
           output: tf.Tensor3D, saved: tf.Tensor[]): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
}

/**
 * softmax(query · keyᵀ · scale) · value with the active backend's fused programs (`programs`),
 * as {@link scaledDotProductAttention} computes it. Called by the WebGL and WebGPU entry points.
 */
export function runFused(programs: FusedPrograms, query: tf.Tensor, key: tf.Tensor,
                         value: tf.Tensor, options: PathOptions): PathResult {
  if (tf.getBackend() !== programs.backend) {
    throw new Error(`the fused ${programs.backend} attention path runs only on the ` +
                    `'${programs.backend}' backend. Received: active backend '${tf.getBackend()}'`);
  }
  const r = resolve(query, key, value, options, 'fusedAttention');
  if (isEmpty(r)) {
    return emptyAttention(query, key, value, r);  // no program over a size-0 texture or buffer
  }
  const [output, weights] = tf.tidy(() => {
    const plan = makePlan(r, query, options);
    let weights3: tf.Tensor3D|null = null;
    const attend = customGrad3((q3, k3, v3, save) => {
      const out = programs.forward(plan, q3 as tf.Tensor3D, k3 as tf.Tensor3D, v3 as tf.Tensor3D,
                                   r.needWeights);
      // The custom gradient's forward runs in its own tidy: keep the weights past it.
      weights3 = out.weights == null ? null : tf.keep(out.weights);
      save([q3, k3, v3, out.output, ...out.saved]);
      const gradFunc = (dy: tf.Tensor, kept: tf.Tensor[]) => {
        const [q, k, v, o, ...rest] = kept as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D,
                                                tf.Tensor3D, ...tf.Tensor[]];
        return programs.backward(plan, dy as tf.Tensor3D, q, k, v, o, rest);
      };
      return {value: out.output, gradFunc};
    });
    const out3 = attend(toSlices(query, r.slices), toSlices(key, r.slices),
                        toSlices(value, r.slices));                   // [slices, timeQ, dv]
    const out = out3.reshape([...r.lead, r.timeQ, r.dv]);
    const w = weights3 as tf.Tensor3D|null;
    if (w == null) {
      return [out];
    }
    const weights = w.reshape([...r.lead, r.timeQ, r.timeK]);  // tracked by this tidy again
    w.dispose();
    return [out, weights];
  });
  return {output: output!, weights: weights ?? null};
}

function makePlan(r: ReturnType<typeof resolve>, query: tf.Tensor, options: PathOptions): FusedPlan {
  const heads = query.rank === 4 ? query.shape[1]! : 1;
  let mask: tf.Tensor3D|null = null;
  let maskDims: [number, number, number, number] = [1, 1, 1, 1];
  const explicit = r.mask;
  if (explicit != null) {
    // Right-align the mask against [batch, heads, timeQ, timeK] (rank-3 inputs have no heads).
    const full = [...new Array<number>(query.rank - explicit.rank).fill(1), ...explicit.shape];
    const dims = query.rank === 4 ? full : [full[0]!, 1, full[1]!, full[2]!];
    maskDims = dims as [number, number, number, number];
    mask = toBool(explicit).reshape([dims[0]! * dims[1]!, dims[2]!, dims[3]!]) as tf.Tensor3D;
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  return {
    slices: r.slices, heads, timeQ: r.timeQ, timeK: r.timeK, dk: r.dk, dv: r.dv, scale: r.scale,
    causal: r.causal, slidingWindow: r.slidingWindow, mask, maskDims, dropout: r.dropout,
    seedMix: fusedSeedMix(seed),
  };
}

/**
 * The integer hash the programs draw dropout from (a 32-bit avalanche mix: xor-shift and
 * multiply, as in Wang's and Jenkins' integer hashes). GLSL, WGSL and this function compute
 * the same bits.
 */
export function fusedHash(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The seed as the programs get it: the hash of its integer part's low 32 bits, cut to 31 bits
 * (it travels to WebGL as a signed int).
 */
export function fusedSeedMix(seed: number): number {
  if (!Number.isFinite(seed)) {
    throw new Error(`seed must be a finite number. Received: seed=${seed}`);
  }
  return fusedHash(Math.floor(Math.abs(seed)) % 2 ** 32) & 0x7fffffff;
}

/**
 * Which weights the fused programs keep under dropout, computed on the CPU: entry
 * `[slice][i][j]` is true when weight (i, j) of that slice survives. The programs keep it when
 * `u ≥ rate` for u = (hash(index ⊕ seedMix) >> 8) / 2²⁴, index = (slice·timeQ + i)·timeK + j
 * (a uniform draw on [0, 1) with 24 bits, exact in float32), and scale kept weights by
 * 1 / (1 − rate) as `tf.dropout` does.
 */
export function fusedDropoutKeeps(slices: number, timeQ: number, timeK: number, rate: number,
                                  seed: number): boolean[][][] {
  const mix = fusedSeedMix(seed);
  const threshold = Math.fround(rate);
  const out: boolean[][][] = [];
  for (let s = 0; s < slices; s++) {
    const rows: boolean[][] = [];
    for (let i = 0; i < timeQ; i++) {
      const row: boolean[] = [];
      for (let j = 0; j < timeK; j++) {
        const index = ((s * timeQ + i) * timeK + j) >>> 0;
        row.push((fusedHash((index ^ mix) >>> 0) >>> 8) / 2 ** 24 >= threshold);
      }
      rows.push(row);
    }
    out.push(rows);
  }
  return out;
}
