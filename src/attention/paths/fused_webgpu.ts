/**
 * Fused attention on the WebGPU backend: flash attention as compute shaders, run through the
 * backend's own program API (`WebGPUBackend.runWebGPUProgram`, one `WebGPUProgram` each). No
 * `[timeQ, timeK]` tensor is ever stored, forward or backward.
 *
 * Forward, one program: a workgroup takes a block of query rows (one row per invocation) of one
 * slice (batch×head) and walks the keys in tiles that the workgroup loads into shared memory
 * together. Each invocation keeps its row of scale·Q, its running maximum m, sum l and output
 * sums in registers; per tile it computes the tile's scores, rescales what it has by
 * exp(m − m') once, and adds exp(s − m')·V (an online softmax). It writes O = sums / l and the
 * row's log-sum-exp L = m + log l side by side, `[slices, timeQ, dv + 1]`; O is sliced off that
 * (a copy of the output, one more program) and L stays for the backward pass.
 *
 * Backward, with D = rowsum(dO ⊙ O) and P = exp(scale·q·kᵀ − L) recomputed per tile:
 *   dQ_i = scale · Σ_j P_ij (M_ij dO_i·V_j − D_i) K_j                  (a program per query row)
 *   dK_j = scale · Σ_i P_ij (M_ij dO_i·V_j − D_i) Q_i,
 *   dV_j = Σ_i P_ij M_ij dO_i                                           (one program per key row,
 *                                                                        `[slices, timeK, dk+dv]`)
 * and dK, dV are sliced off the second (two copies). M is the dropout multiplier (0 or
 * 1/(1 − rate)) from the seed's hash (fused_common.ts); without dropout its code is left out.
 * Causal masks and sliding windows are computed from the positions, and tiles they mask wholly
 * are skipped. Masks (boolean, stored as int32 by this
 * backend) are read where an entry is needed; a row with no allowed key gets O = 0 and no
 * gradient. Weights, when asked for, are one more program: P from Q, K and L.
 *
 * Nothing here imports @tensorflow/tfjs-backend-webgpu: a program is a plain object the backend
 * compiles, and the backend is the active one, reached through `tf.backend()`. Users without
 * that package never load anything of it.
 */
import * as tf from '@tensorflow/tfjs';

import {PathOptions, PathResult} from '../options';
import {FusedPlan, FusedPrograms, runFused} from './fused_common';

/**
 * softmax(query · keyᵀ · scale) · value as {@link scaledDotProductAttention}, computed by the
 * fused WebGPU programs. Inputs `[batch, (heads,) time, d]`; the same options and results as
 * the other paths (weights, when `needWeights`, carry no gradient). Runs only on the 'webgpu'
 * backend (from `@tensorflow/tfjs-backend-webgpu`, imported by the application).
 *
 * ```ts
 * import '@tensorflow/tfjs-backend-webgpu';
 * await tf.setBackend('webgpu');
 * const q = tf.randomNormal([2, 4, 16, 8]);           // [batch, heads, time, dk]
 * const {output} = fusedWebGPUAttention(q, q, q, {causal: true, needWeights: false});
 * ```
 */
export function fusedWebGPUAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                     options: PathOptions = {}): PathResult {
  return runFused(WEBGPU_PROGRAMS, query, key, value, options);
}

/** Why the fused WebGPU programs cannot run on the active backend, or null when they can. */
export function fusedWebGPUUnsupported(): string|null {
  const backend = tf.getBackend();
  return backend === 'webgpu' ? null : `the active backend is '${backend}', not 'webgpu'`;
}

/** What this module uses of the WebGPU backend (structurally; its package is not imported). */
interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType,
                   uniforms?: Array<{type: string, data: number[]}>): tf.TensorInfo;
  device: {limits: {maxComputeWorkgroupStorageSize: number}};
}

/** The fields of tfjs-backend-webgpu's `WebGPUProgram` these programs set. */
interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[], y?: number[], z?: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  getUserCode(): string;
}

/** Invocations per workgroup. */
const WORKGROUP = 64;
/**
 * Rows (queries, or keys) each invocation computes: every value it reads from a shared tile
 * serves that many rows. Two ran about twice as fast as one on SwiftShader; four, no faster.
 */
const ROWS = 2;
/** The rows of a workgroup: invocation `lane` has rows first + lane + r·WORKGROUP, r < ROWS. */
const BLOCK = WORKGROUP * ROWS;

const WEBGPU_PROGRAMS: FusedPrograms = {
  backend: 'webgpu',
  forward(plan, q, k, v, needWeights) {
    const masks = plan.mask ? [plan.mask] : [];
    const both = run(new ForwardProgram(plan), [q, k, v, ...masks], plan);  // [slices, timeQ, dv+1]
    const output = tf.slice(both, [0, 0, 0], [plan.slices, plan.timeQ, plan.dv]) as tf.Tensor3D;
    const weights = needWeights ? run(new WeightsProgram(plan), [q, k, both, ...masks], plan) : null;
    return {output, weights, saved: [both, ...masks]};
  },
  backward(plan, dy, q, k, v, _output, saved) {
    const [both, ...masks] = saved as [tf.Tensor3D, ...tf.Tensor3D[]];
    const inputs = [q, k, v, dy, both, ...masks];
    const dq = run(new GradQueryProgram(plan), inputs, plan);
    const dkv = run(new GradKeyValueProgram(plan), inputs, plan);     // [slices, timeK, dk+dv]
    const dk = tf.slice(dkv, [0, 0, 0], [plan.slices, plan.timeK, plan.dk]) as tf.Tensor3D;
    const dv = tf.slice(dkv, [0, 0, plan.dk], [plan.slices, plan.timeK, plan.dv]) as tf.Tensor3D;
    tf.dispose(dkv);
    return [dq, dk, dv];
  },
};

/** Runs one program on the WebGPU backend and wraps its result as a tensor. */
function run(program: WebGPUProgramLike, inputs: tf.Tensor[], plan: FusedPlan): tf.Tensor3D {
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  const uniforms = plan.dropout > 0 ? [
    {type: 'uint32', data: [plan.seedMix]}, {type: 'float32', data: [plan.dropout]},
    {type: 'float32', data: [1 / (1 - plan.dropout)]},
  ] : undefined;
  const info = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor3D;
}

/** Floats of shared memory a workgroup may use: half the device's limit, at most 4096. */
function sharedFloats(): number {
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  const limit = backend.device?.limits?.maxComputeWorkgroupStorageSize ?? 16384;
  return Math.min(4096, Math.floor(limit / 8));
}

/** Rows per shared tile so that a tile of `floatsPerRow` fits: a power of 2, 1 to 64. */
function tileRows(floatsPerRow: number): number {
  let rows = 64;
  while (rows > 1 && rows * floatsPerRow > sharedFloats()) {
    rows /= 2;
  }
  return rows;
}

/** A float as a WGSL literal. */
function wgslFloat(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * WGSL shared by the programs: `allowed(s, i, j)` (causal, window, mask, in range), and with dropout
 * `keep(s, i, j)` (the multiplier M: the hash of fused_common.ts, bit for bit).
 */
function commonCode(plan: FusedPlan): string {
  const {timeQ, timeK, causal, slidingWindow, mask, maskDims, heads, dropout} = plan;
  let maskTest = '';
  if (mask != null) {
    const [mb, mh, mq, mk] = maskDims;
    const slice = `${mb === 1 ? '0' : `(s / ${heads})`} * ${mh} + ${mh === 1 ? '0' : `(s % ${heads})`}`;
    maskTest = ` && maskIn[((${slice}) * ${mq} + ${mq === 1 ? '0' : 'i'}) * ${mk} + ${mk === 1 ? '0' : 'j'}] != 0`;
  }
  return `
    fn allowed(s : i32, i : i32, j : i32) -> bool {
      return i < ${timeQ} && j < ${timeK}${causal ? ' && j <= i' : ''}${
          slidingWindow == null ? '' : ` && abs(i - j) < ${slidingWindow}`}${maskTest};
    }
    ${dropout > 0 ? `
    fn fusedHash(x0 : u32) -> u32 {
      var x = x0;
      x = x ^ (x >> 16u);
      x = x * 0x7feb352du;
      x = x ^ (x >> 15u);
      x = x * 0x846ca68bu;
      return x ^ (x >> 16u);
    }
    fn keep(s : i32, i : i32, j : i32) -> f32 {
      let h = fusedHash(u32((s * ${timeQ} + i) * ${timeK} + j) ^ uniforms.seedMix);
      return select(0.0, uniforms.invKeep, f32(h >> 8u) * (1.0 / 16777216.0) >= uniforms.rate);
    }` : ''}
  `;
}

/** WGSL repeated for each of an invocation's rows r = 0 … ROWS − 1. */
function perRow(code: (r: number) => string): string {
  return [...Array(ROWS).keys()].map(code).join('\n');
}

/**
 * WGSL: copies rows `start …` of a `[slices, rows, d]` input into a shared `tile` of `tileRows`
 * rows (rows past the end repeat the last one; the programs never use them), times `factor`.
 */
function loadTile(o: {tile: string, src: string, start: string, tileRows: number, d: number,
                      rows: number, factor?: string}): string {
  const {tile, src, start, tileRows, d, rows, factor} = o;
  return `
    for (var e = lane; e < ${tileRows * d}; e += ${WORKGROUP}) {
      let row = min(${start} + e / ${d}, ${rows - 1});
      ${tile}[e] = ${src}[(s * ${rows} + row) * ${d} + e % ${d}]${factor ? ` * ${factor}` : ''};
    }`;
}

/** Fields every program here shares. */
abstract class FusedWebGPUProgram implements WebGPUProgramLike {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract shaderKey: string;
  dispatchLayout = {x: [1], y: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms?: string;
  protected readonly plan: FusedPlan;

  /** `items`: what the workgroups split per slice, `perWorkgroup` each. */
  constructor(plan: FusedPlan, items: number, perWorkgroup = BLOCK) {
    this.plan = plan;
    this.dispatch = [Math.ceil(items / perWorkgroup), plan.slices, 1];
    if (plan.dropout > 0) {
      this.uniforms = 'seedMix : u32, rate : f32, invKeep : f32,';
    }
  }

  /** What the generated code depends on, for the backend's cache of compiled pipelines. */
  protected key(name: string, extra: number): string {
    const p = this.plan;
    return [name, p.slices, p.timeQ, p.timeK, p.dk, p.dv, p.heads, wgslFloat(p.scale), p.causal,
            p.slidingWindow ?? 'nowindow',
            p.mask ? p.maskDims.join('x') : 'nomask', p.dropout > 0, ROWS, extra].join('_');
  }

  abstract getUserCode(): string;

  /**
   * WGSL: whether the shared tile from `start` (`tile` positions) has anything this workgroup's
   * rows may attend; false when the causal mask or the sliding window masks it wholly.
   * `rowsAreQueries`: the workgroup's rows are queries and the tile keys (else the reverse).
   */
  protected tileNeeded(start: string, tile: number, rowsAreQueries: boolean): string {
    const {causal, slidingWindow: w} = this.plan;
    const tests: string[] = [];
    if (causal) {
      // Keys j <= queries i.
      tests.push(rowsAreQueries ? `${start} <= first + ${BLOCK - 1}` : `${start} + ${tile - 1} >= first`);
    }
    if (w != null) {
      tests.push(`${start} <= first + ${BLOCK - 1 + w - 1}`, `${start} + ${tile - 1} >= first - ${w - 1}`);
    }
    return tests.length ? tests.join(' && ') : 'true';
  }

  /** The start of `main`: slice, lane, this invocation's rows (`name`0 …). */
  protected header(name: string): string {
    return `
        _ = uniforms.outShape;  // a use, so the pipeline's layout keeps the uniforms
        let s = i32(workgroupId.y);
        let first = i32(workgroupId.x) * ${BLOCK};
        let lane = i32(localId.x);
        ${perRow(r => `let ${name}${r} = first + lane + ${r * WORKGROUP};`)}`;
  }
}

/**
 * O and L, `[slices, timeQ, dv + 1]`: ROWS query rows per invocation, key and value tiles
 * shared by the workgroup.
 */
class ForwardProgram extends FusedWebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  private readonly tile: number;

  constructor(plan: FusedPlan) {
    super(plan, plan.timeQ);
    this.variableNames = ['q', 'k', 'v', ...(plan.mask ? ['maskIn'] : [])];
    this.outputShape = [plan.slices, plan.timeQ, plan.dv + 1];
    this.tile = tileRows(plan.dk + plan.dv);
    this.shaderKey = this.key('fusedAttentionForward', this.tile);
  }

  getUserCode(): string {
    const {timeQ, timeK, dk, dv, scale, dropout} = this.plan;
    const T = this.tile;
    return `
      ${commonCode(this.plan)}
      var<workgroup> kTile : array<f32, ${T * dk}>;
      var<workgroup> vTile : array<f32, ${T * dv}>;

      fn main() {
        ${this.header('i')}
        ${perRow(r => `
        var q${r} : array<f32, ${dk}>;        // scale · this row of Q
        var acc${r} : array<f32, ${dv}>;      // Σ exp(s − m) · V
        var scores${r} : array<f32, ${T}>;    // this tile's scores (−3e38: masked)
        var m${r} = -3.0e38;                   // running maximum
        var l${r} = 0.0;                       // Σ exp(s − m)
        if (i${r} < ${timeQ}) {
          for (var d = 0; d < ${dk}; d++) {
            q${r}[d] = q[(s * ${timeQ} + i${r}) * ${dk} + d] * ${wgslFloat(scale)};
          }
        }`)}
        for (var t = 0; t < ${Math.ceil(timeK / T)}; t++) {
          let j0 = t * ${T};
          workgroupBarrier();
          ${loadTile({tile: 'kTile', src: 'k', start: 'j0', tileRows: T, d: dk, rows: timeK})}
          ${loadTile({tile: 'vTile', src: 'v', start: 'j0', tileRows: T, d: dv, rows: timeK})}
          workgroupBarrier();
          if (${this.tileNeeded('j0', T, true)}) {
            ${perRow(r => `var tileMax${r} = -3.0e38;`)}
            for (var jj = 0; jj < ${T}; jj++) {
              ${perRow(r => `var x${r} = 0.0;`)}
              for (var d = 0; d < ${dk}; d++) {
                let kd = kTile[jj * ${dk} + d];
                ${perRow(r => `x${r} += q${r}[d] * kd;`)}
              }
              ${perRow(r => `
              if (allowed(s, i${r}, j0 + jj)) {
                tileMax${r} = max(tileMax${r}, x${r});
              } else {
                x${r} = -3.0e38;
              }
              scores${r}[jj] = x${r};`)}
            }
            // Rescale what each row has to its new maximum, once per tile.
            ${perRow(r => `
            let mNew${r} = select(m${r}, max(m${r}, tileMax${r}), tileMax${r} > -1.0e38);
            let correction${r} = exp(m${r} - mNew${r});
            m${r} = mNew${r};
            l${r} *= correction${r};`)}
            for (var c = 0; c < ${dv}; c++) {
              ${perRow(r => `acc${r}[c] *= correction${r};`)}
            }
            for (var jj = 0; jj < ${T}; jj++) {
              ${perRow(r => `
              var p${r} = 0.0;
              if (scores${r}[jj] > -1.0e38) {
                p${r} = exp(scores${r}[jj] - m${r});
                l${r} += p${r};
                ${dropout > 0 ? `p${r} *= keep(s, i${r}, j0 + jj);` : ''}
              }`)}
              for (var c = 0; c < ${dv}; c++) {
                let vc = vTile[jj * ${dv} + c];
                ${perRow(r => `acc${r}[c] += p${r} * vc;`)}
              }
            }
          }
        }
        ${perRow(r => `
        if (i${r} < ${timeQ}) {
          let base = (s * ${timeQ} + i${r}) * ${dv + 1};
          let inv = select(0.0, 1.0 / l${r}, l${r} > 0.0);
          for (var c = 0; c < ${dv}; c++) {
            result[base + c] = acc${r}[c] * inv;
          }
          result[base + ${dv}] = select(0.0, m${r} + log(l${r}), l${r} > 0.0);
        }`)}
      }
    `;
  }
}

/** P = exp(scale·q·kᵀ − L) on allowed entries, else 0: the weights `[slices, timeQ, timeK]`. */
class WeightsProgram extends FusedWebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;

  constructor(plan: FusedPlan) {
    super(plan, plan.timeQ * plan.timeK, WORKGROUP);
    this.variableNames = ['q', 'k', 'lse', ...(plan.mask ? ['maskIn'] : [])];
    this.outputShape = [plan.slices, plan.timeQ, plan.timeK];
    this.shaderKey = this.key('fusedAttentionWeights', 0);
  }

  getUserCode(): string {
    const {timeQ, timeK, dk, dv, scale} = this.plan;
    return `
      ${commonCode(this.plan)}
      fn main() {
        _ = uniforms.outShape;  // a use, so the pipeline's layout keeps the uniforms
        let s = i32(workgroupId.y);
        let e = i32(workgroupId.x) * ${WORKGROUP} + i32(localId.x);
        if (e >= ${timeQ * timeK}) {
          return;
        }
        let i = e / ${timeK};
        let j = e % ${timeK};
        var w = 0.0;
        if (allowed(s, i, j)) {
          var x = 0.0;
          for (var d = 0; d < ${dk}; d++) {
            x += q[(s * ${timeQ} + i) * ${dk} + d] * k[(s * ${timeK} + j) * ${dk} + d];
          }
          w = exp(x * ${wgslFloat(scale)} - lse[(s * ${timeQ} + i) * ${dv + 1} + ${dv}]);
        }
        result[(s * ${timeQ} + i) * ${timeK} + j] = w;
      }
    `;
  }
}

/** dQ `[slices, timeQ, dk]`: ROWS query rows per invocation, key and value tiles shared. */
class GradQueryProgram extends FusedWebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  private readonly tile: number;

  constructor(plan: FusedPlan) {
    super(plan, plan.timeQ);
    this.variableNames = ['q', 'k', 'v', 'dy', 'o', ...(plan.mask ? ['maskIn'] : [])];
    this.outputShape = [plan.slices, plan.timeQ, plan.dk];
    this.tile = tileRows(plan.dk + plan.dv);
    this.shaderKey = this.key('fusedAttentionGradQuery', this.tile);
  }

  getUserCode(): string {
    const {timeQ, timeK, dk, dv, scale, dropout} = this.plan;
    const T = this.tile;
    return `
      ${commonCode(this.plan)}
      var<workgroup> kTile : array<f32, ${T * dk}>;
      var<workgroup> vTile : array<f32, ${T * dv}>;

      fn main() {
        ${this.header('i')}
        ${perRow(r => `
        var q${r} : array<f32, ${dk}>;      // scale · this row of Q
        var dy${r} : array<f32, ${dv}>;     // this row of dO
        var dq${r} : array<f32, ${dk}>;
        var lse${r} = 0.0;
        var delta${r} = 0.0;                 // D = dO · O
        if (i${r} < ${timeQ}) {
          for (var d = 0; d < ${dk}; d++) {
            q${r}[d] = q[(s * ${timeQ} + i${r}) * ${dk} + d] * ${wgslFloat(scale)};
          }
          let oBase = (s * ${timeQ} + i${r}) * ${dv + 1};
          for (var c = 0; c < ${dv}; c++) {
            dy${r}[c] = dy[(s * ${timeQ} + i${r}) * ${dv} + c];
            delta${r} += dy${r}[c] * o[oBase + c];
          }
          lse${r} = o[oBase + ${dv}];
        }`)}
        for (var t = 0; t < ${Math.ceil(timeK / T)}; t++) {
          let j0 = t * ${T};
          workgroupBarrier();
          ${loadTile({tile: 'kTile', src: 'k', start: 'j0', tileRows: T, d: dk, rows: timeK})}
          ${loadTile({tile: 'vTile', src: 'v', start: 'j0', tileRows: T, d: dv, rows: timeK})}
          workgroupBarrier();
          if (${this.tileNeeded('j0', T, true)}) {
            for (var jj = 0; jj < ${T}; jj++) {
              let j = j0 + jj;
              ${perRow(r => `var x${r} = 0.0; var dp${r} = 0.0;`)}
              for (var d = 0; d < ${dk}; d++) {
                let kd = kTile[jj * ${dk} + d];
                ${perRow(r => `x${r} += q${r}[d] * kd;`)}
              }
              for (var c = 0; c < ${dv}; c++) {
                let vc = vTile[jj * ${dv} + c];
                ${perRow(r => `dp${r} += dy${r}[c] * vc;`)}
              }
              // g = P (M·dP − D), 0 where not allowed.
              ${perRow(r => `
              var g${r} = 0.0;
              if (allowed(s, i${r}, j)) {
                g${r} = exp(x${r} - lse${r}) *
                        (dp${r}${dropout > 0 ? ` * keep(s, i${r}, j)` : ''} - delta${r});
              }`)}
              for (var d = 0; d < ${dk}; d++) {
                let kd = kTile[jj * ${dk} + d];
                ${perRow(r => `dq${r}[d] += g${r} * kd;`)}
              }
            }
          }
        }
        ${perRow(r => `
        if (i${r} < ${timeQ}) {
          for (var d = 0; d < ${dk}; d++) {
            result[(s * ${timeQ} + i${r}) * ${dk} + d] = dq${r}[d] * ${wgslFloat(scale)};
          }
        }`)}
      }
    `;
  }
}

/**
 * dK and dV side by side, `[slices, timeK, dk + dv]`: ROWS key rows per invocation, tiles of
 * queries (scale·Q, dO, L, D) shared by the workgroup.
 */
class GradKeyValueProgram extends FusedWebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  private readonly tile: number;

  constructor(plan: FusedPlan) {
    super(plan, plan.timeK);
    this.variableNames = ['q', 'k', 'v', 'dy', 'o', ...(plan.mask ? ['maskIn'] : [])];
    this.outputShape = [plan.slices, plan.timeK, plan.dk + plan.dv];
    // A tile's D and L are computed by one invocation per query row.
    this.tile = Math.min(WORKGROUP, tileRows(plan.dk + plan.dv + 2));
    this.shaderKey = this.key('fusedAttentionGradKeyValue', this.tile);
  }

  getUserCode(): string {
    const {timeQ, timeK, dk, dv, scale, dropout} = this.plan;
    const T = this.tile;
    return `
      ${commonCode(this.plan)}
      var<workgroup> qTile : array<f32, ${T * dk}>;
      var<workgroup> dyTile : array<f32, ${T * dv}>;
      var<workgroup> lseTile : array<f32, ${T}>;
      var<workgroup> deltaTile : array<f32, ${T}>;

      fn main() {
        ${this.header('j')}
        ${perRow(r => `
        var k${r} : array<f32, ${dk}>;      // this row of K
        var v${r} : array<f32, ${dv}>;      // this row of V
        var dk${r} : array<f32, ${dk}>;
        var dv${r} : array<f32, ${dv}>;
        if (j${r} < ${timeK}) {
          for (var d = 0; d < ${dk}; d++) {
            k${r}[d] = k[(s * ${timeK} + j${r}) * ${dk} + d];
          }
          for (var c = 0; c < ${dv}; c++) {
            v${r}[c] = v[(s * ${timeK} + j${r}) * ${dv} + c];
          }
        }`)}
        for (var t = 0; t < ${Math.ceil(timeQ / T)}; t++) {
          let i0 = t * ${T};
          workgroupBarrier();
          ${loadTile({tile: 'qTile', src: 'q', start: 'i0', tileRows: T, d: dk, rows: timeQ,
                      factor: wgslFloat(scale)})}
          ${loadTile({tile: 'dyTile', src: 'dy', start: 'i0', tileRows: T, d: dv, rows: timeQ})}
          if (lane < ${T}) {
            let i = min(i0 + lane, ${timeQ - 1});
            let oBase = (s * ${timeQ} + i) * ${dv + 1};
            var delta = 0.0;
            for (var c = 0; c < ${dv}; c++) {
              delta += dy[(s * ${timeQ} + i) * ${dv} + c] * o[oBase + c];
            }
            deltaTile[lane] = delta;
            lseTile[lane] = o[oBase + ${dv}];
          }
          workgroupBarrier();
          if (${this.tileNeeded('i0', T, false)}) {
            for (var ii = 0; ii < ${T}; ii++) {
              let i = i0 + ii;
              ${perRow(r => `var x${r} = 0.0; var dp${r} = 0.0;`)}
              for (var d = 0; d < ${dk}; d++) {
                let qd = qTile[ii * ${dk} + d];
                ${perRow(r => `x${r} += qd * k${r}[d];`)}
              }
              for (var c = 0; c < ${dv}; c++) {
                let dyc = dyTile[ii * ${dv} + c];
                ${perRow(r => `dp${r} += dyc * v${r}[c];`)}
              }
              // w = P·M (into dV), g = P (M·dP − D) (into dK); 0 where not allowed.
              ${perRow(r => `
              var w${r} = 0.0;
              var g${r} = 0.0;
              if (allowed(s, i, j${r})) {
                let p = exp(x${r} - lseTile[ii]);
                ${dropout > 0 ? `let mult = keep(s, i, j${r});` : 'let mult = 1.0;'}
                w${r} = p * mult;
                g${r} = p * (dp${r} * mult - deltaTile[ii]);
              }`)}
              for (var d = 0; d < ${dk}; d++) {
                let qd = qTile[ii * ${dk} + d];
                ${perRow(r => `dk${r}[d] += g${r} * qd;`)}
              }
              for (var c = 0; c < ${dv}; c++) {
                let dyc = dyTile[ii * ${dv} + c];
                ${perRow(r => `dv${r}[c] += w${r} * dyc;`)}
              }
            }
          }
        }
        ${perRow(r => `
        if (j${r} < ${timeK}) {
          let base = (s * ${timeK} + j${r}) * ${dk + dv};
          for (var d = 0; d < ${dk}; d++) {
            result[base + d] = dk${r}[d];
          }
          for (var c = 0; c < ${dv}; c++) {
            result[base + ${dk} + c] = dv${r}[c];
          }
        }`)}
      }
    `;
  }
}
