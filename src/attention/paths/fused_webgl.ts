/**
 * Fused attention on the WebGL backend: four fragment-shader programs forward and five backward
 * (the standard path dispatches 15 and 15 at n = 256 with 8 heads of 64), run through the
 * backend's own program API (`MathBackendWebGL.runWebGLProgram`, a `GPGPUProgram` each).
 *
 * A fragment shader writes one texel, so a program cannot keep a running softmax across the
 * texels of a row the way a compute shader can; the scores are therefore kept, once, in a
 * texture and the softmax is split into its row statistics and the weights. Per slice
 * (batch×head), with every tensor in tfjs's packed layout (a texel holds a 2×2 block, so each
 * program computes four entries at once and reads its inputs four at a time):
 *
 *   forward   S  = scale·Q·Kᵀ, masked entries = MASK_FILL        [timeQ, timeK]   (scores)
 *             L  = log Σ_j exp S_ij over allowed j (0 if none)   [timeQ, 1]       (stats)
 *             P  = exp(S − L) on allowed entries, else 0          [timeQ, timeK]   (weights)
 *             O  = (P ⊙ M)·V                                      [timeQ, dv]      (output)
 *   backward  D  = rowsum(dO ⊙ O)                                  [timeQ, 1]
 *             G  = scale · P ⊙ (M ⊙ (dO·Vᵀ) − D)                   [timeQ, timeK]
 *             dQ = G·K,  dK = Gᵀ·Q,  dV = (P ⊙ M)ᵀ·dO
 *
 * M is the dropout multiplier (0 or 1/(1 − rate)), computed in the shaders from the seed (see
 * fused.ts); without dropout it is 1 and its code is left out. P is the attention weights, so
 * `needWeights` costs nothing, and the backward pass reads the masking from P (P = 0 wherever a
 * key is masked), so it needs no mask. An entry of S at or below MASK_FILL counts as masked (a
 * real score that low has weight 0 anyway). Causal masks and sliding windows are computed from
 * the positions, and the scores program skips the texels they mask wholly.
 * With float16 textures (`WEBGL_RENDER_FLOAT32_ENABLED` false) every stored tensor is rounded to
 * half precision, as the standard path's are; MASK_FILL is float16's lowest finite value.
 * Requires WebGL 2 (the dropout hash uses unsigned integers).
 */
import * as tf from '@tensorflow/tfjs';

import {MASK_FILL} from '../masks';
import {PathOptions, PathResult} from '../options';
import {FusedPlan, FusedPrograms, runFused} from './fused_common';

/**
 * softmax(query · keyᵀ · scale) · value as {@link scaledDotProductAttention}, computed by the
 * fused WebGL programs. Inputs `[batch, (heads,) time, d]`; the same options and results as the
 * other paths (weights, when `needWeights`, carry no gradient). Runs only on the 'webgl'
 * backend with WebGL 2.
 *
 * ```ts
 * await tf.setBackend('webgl');
 * const q = tf.randomNormal([2, 4, 16, 8]);           // [batch, heads, time, dk]
 * const {output} = fusedWebGLAttention(q, q, q, {causal: true, needWeights: false});
 * ```
 */
export function fusedWebGLAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                    options: PathOptions = {}): PathResult {
  const reason = fusedWebGLUnsupported();
  if (reason != null && tf.getBackend() === 'webgl') {
    throw new Error(`the fused WebGL attention path cannot run here: ${reason}`);
  }
  return runFused(WEBGL_PROGRAMS, query, key, value, options);
}

/** Why the fused WebGL programs cannot run on the active backend, or null when they can. */
export function fusedWebGLUnsupported(): string|null {
  if (tf.getBackend() !== 'webgl') {
    return `the active backend is '${tf.getBackend()}', not 'webgl'`;
  }
  const version = tf.env().getNumber('WEBGL_VERSION');
  return version === 2 ? null : `it needs WebGL 2, and WEBGL_VERSION is ${version}`;
}

/** `FILL` in the shaders: MASK_FILL as a GLSL float literal. */
const FILL = `${MASK_FILL}.0`;

const WEBGL_PROGRAMS: FusedPrograms = {
  backend: 'webgl',
  forward(plan, q, k, v, needWeights) {
    const scores = run(new ScoresProgram(plan), [q, k, ...(plan.mask ? [plan.mask] : [])]);
    const stats = run(new StatsProgram(plan), [scores]);
    const weights = run(new WeightsProgram(plan), [scores, stats]);
    const output = run(new OutputProgram(plan), [weights, v], dropoutUniforms(plan));
    tf.dispose([scores, stats]);
    return {output, weights: needWeights ? weights : null, saved: [weights]};
  },
  backward(plan, dy, q, k, v, output, saved) {
    const weights = saved[0]! as tf.Tensor3D;
    const delta = run(new DeltaProgram(plan), [dy, output]);
    const grad = run(new GradScoresProgram(plan), [dy, v, weights, delta], dropoutUniforms(plan));
    const dq = run(new GradQueryProgram(plan), [grad, k]);
    const dk = run(new GradKeyProgram(plan), [grad, q]);
    const dv = run(new GradValueProgram(plan), [weights, dy], dropoutUniforms(plan));
    tf.dispose([delta, grad]);
    return [dq, dk, dv];
  },
};

/** Runs one program on the WebGL backend and wraps its result as a tensor. */
function run(program: tf.GPGPUProgram, inputs: tf.Tensor[], uniforms?: number[][]): tf.Tensor3D {
  const backend = tf.backend() as tf.MathBackendWebGL;
  const info = backend.runWebGLProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor3D;
}

/** The dropout uniforms' values (programs without dropout declare none). */
function dropoutUniforms(plan: FusedPlan): number[][]|undefined {
  // seedMix travels as a signed int with the same bits; the shader reads it back as uint.
  return plan.dropout > 0 ? [[plan.seedMix | 0], [plan.dropout], [1 / (1 - plan.dropout)]] :
                            undefined;
}

/** The uniforms a program with dropout declares, in dropoutUniforms' order. */
const DROPOUT_UNIFORMS: NonNullable<tf.GPGPUProgram['customUniforms']> = [
  {name: 'seedMix', type: 'int'}, {name: 'rate', type: 'float'}, {name: 'invKeep', type: 'float'},
];

/**
 * GLSL: `keep4(s, i, j)`, the dropout multipliers of the texel (i..i+1, j..j+1) of slice s
 * (x = (i, j), y = (i, j+1), z = (i+1, j), w = (i+1, j+1)), each 0 or 1/(1 − rate): the
 * hash of fused.ts, bit for bit.
 */
function dropoutSnippet(plan: FusedPlan): string {
  return `
    uint fusedHash(uint x) {
      x = x ^ (x >> 16u);
      x = x * 0x7feb352du;
      x = x ^ (x >> 15u);
      x = x * 0x846ca68bu;
      return x ^ (x >> 16u);
    }
    float keep1(int index) {
      uint h = fusedHash(uint(index) ^ uint(seedMix));
      return float(h >> 8u) * (1.0 / 16777216.0) >= rate ? invKeep : 0.0;
    }
    vec4 keep4(int s, int i, int j) {
      int base = (s * ${plan.timeQ} + i) * ${plan.timeK} + j;
      return vec4(keep1(base), keep1(base + 1), keep1(base + ${plan.timeK}),
                  keep1(base + ${plan.timeK} + 1));
    }
  `;
}

/** Fields every program here shares: packed in, packed out, sizes written into the source. */
abstract class FusedWebGLProgram implements tf.GPGPUProgram {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract userCode: string;
  packedInputs = true;
  packedOutput = true;
  enableShapeUniforms = false;
  customUniforms?: NonNullable<tf.GPGPUProgram['customUniforms']>;
}

/**
 * The flat texel index of entry (s, r, c) of a packed `[slices, rows, cols]` tensor (r, c even):
 * tfjs's packed layout stores the 2×2 blocks row-major, block rows of every slice in turn.
 */
function texelIndex(rows: number, cols: number, s: string, r: string, c: string): string {
  return `((${s}) * ${Math.ceil(rows / 2)} + (${r}) / 2) * ${Math.ceil(cols / 2)} + (${c}) / 2`;
}

/**
 * GLSL that reads a packed input texel after texel along a line: `init` (before the loop)
 * places it at flat texel index `start`; `read(v)` declares `vec4 v` with the texel there and
 * moves `step` texels on. The texture is laid out row-major with its width from `textureSize`,
 * as tfjs's own samplers read it; `texelFetch` with a position moved by additions replaces
 * their index-to-coordinate arithmetic and normalised lookups in the inner loops (the inner
 * loops are most of the work, and this more than halved it on SwiftShader).
 */
function stream(name: string, start: string, step: number|string) {
  const w = `w_${name}`;
  const p = `p_${name}`;
  const d = `d_${name}`;
  return {
    init: `
      int ${w} = textureSize(${name}, 0).x;
      int i_${name} = ${start};
      ivec2 ${p} = ivec2(i_${name} - (i_${name} / ${w}) * ${w}, i_${name} / ${w});
      int s_${name} = ${step};
      ivec2 ${d} = ivec2(s_${name} - (s_${name} / ${w}) * ${w}, s_${name} / ${w});`,
    read: (v: string) => `
      vec4 ${v} = texelFetch(${name}, ${p}, 0);
      ${p} += ${d};
      if (${p}.x >= ${w}) { ${p} += ivec2(-${w}, 1); }`,
  };
}

/**
 * S = scale·Q·Kᵀ `[slices, timeQ, timeK]`, masked entries MASK_FILL. Each texel: rows i, i+1
 * and keys j, j+1, summed over dk two columns at a time.
 */
class ScoresProgram extends FusedWebGLProgram {
  variableNames = ['q', 'k'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {slices, timeQ, timeK, dk, scale, causal, slidingWindow: w, mask, maskDims, heads} = plan;
    this.outputShape = [slices, timeQ, timeK];
    // Texels wholly outside the allowed positions (past the diagonal, or out of the window's
    // band) are written as masked without computing anything.
    const outside = [
      ...(causal ? ['j > i + 1'] : []),
      ...(w == null ? [] : [`j - (i + 1) >= ${w}`, `i - (j + 1) >= ${w}`]),
    ];
    const pairs = Math.floor(dk / 2);
    const qs = stream('q', texelIndex(timeQ, dk, 's', 'i', '0'), 1);
    const ks = stream('k', texelIndex(timeK, dk, 's', 'j', '0'), 1);
    let maskCode = '';
    if (mask != null) {
      this.variableNames.push('mask');
      const [mb, mh, mq, mk] = maskDims;
      // Which mask slice, row and column this texel reads, and how its channels map onto
      // the texel's four entries when an axis broadcasts.
      const slice = `${mb === 1 ? '0' : `(s / ${heads})`} * ${mh} + ${mh === 1 ? '0' : `imod(s, ${heads})`}`;
      const swizzle = mq === 1 ? (mk === 1 ? 'xxxx' : 'xyxy') : (mk === 1 ? 'xxzz' : 'xyzw');
      maskCode = `
        vec4 m = getMask(${slice}, ${mq === 1 ? '0' : 'i'}, ${mk === 1 ? '0' : 'j'}).${swizzle};
        ok *= vec4(notEqual(m, vec4(0.0)));`;
    }
    this.userCode = `
      void main() {
        ivec3 rc = getOutputCoords();
        int s = rc.x;
        int i = rc.y;
        int j = rc.z;
        ${outside.length ? `if (${outside.join(' || ')}) { setOutput(vec4(${FILL})); return; }` : ''}
        vec4 acc = vec4(0.0);
        ${qs.init}
        ${ks.init}
        for (int d = 0; d < ${pairs}; d++) {
          ${qs.read('a')}
          ${ks.read('b')}
          acc += a.xxzz * b.xzxz + a.yyww * b.ywyw;
        }
        ${dk % 2 === 1 ? `{
          vec4 a = getQ(s, i, ${dk - 1});
          vec4 b = getK(s, j, ${dk - 1});
          acc += a.xxzz * b.xzxz;
        }` : ''}
        acc *= ${glslFloat(scale)};
        // ok: 1 where the entry may attend. Entries past the end of an odd-sized axis are
        // masked too, so nothing downstream reads what the texture holds there.
        vec4 ok = vec4(lessThan(ivec4(j, j + 1, j, j + 1), ivec4(${timeK}))) *
                  vec4(lessThan(ivec4(i, i, i + 1, i + 1), ivec4(${timeQ})));
        ${causal ? 'ok *= vec4(lessThanEqual(ivec4(j, j + 1, j, j + 1), ivec4(i, i, i + 1, i + 1)));' : ''}
        ${w == null ? '' : `ok *= vec4(lessThan(abs(ivec4(j, j + 1, j, j + 1) - ivec4(i, i, i + 1, i + 1)), ivec4(${w})));`}
        ${maskCode}
        setOutput(vec4(ok.x > 0.5 ? acc.x : ${FILL}, ok.y > 0.5 ? acc.y : ${FILL},
                       ok.z > 0.5 ? acc.z : ${FILL}, ok.w > 0.5 ? acc.w : ${FILL}));
      }
    `;
  }
}

/**
 * L = log Σ_j exp(S_ij) over the allowed entries of each row, `[slices, timeQ, 1]` (0 for a
 * row with none): two passes over the row, its maximum first.
 */
class StatsProgram extends FusedWebGLProgram {
  variableNames = ['scores'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {slices, timeQ, timeK, causal} = plan;
    this.outputShape = [slices, timeQ, 1];
    const texels = Math.ceil(timeK / 2);
    const stop = causal ? 'if (2 * jj > i + 1) { break; }' : '';
    const row = stream('scores', texelIndex(timeQ, timeK, 's', 'i', '0'), 1);
    this.userCode = `
      void main() {
        ivec3 rc = getOutputCoords();
        int s = rc.x;
        int i = rc.y;
        vec2 m = vec2(${FILL});
        ${row.init}
        ivec2 rowStart = p_scores;
        for (int jj = 0; jj < ${texels}; jj++) {
          ${stop}
          ${row.read('t')}
          m = max(m, max(t.xz, t.yw));
        }
        vec2 l = vec2(0.0);
        p_scores = rowStart;
        for (int jj = 0; jj < ${texels}; jj++) {
          ${stop}
          ${row.read('t')}
          vec4 e = exp(t - m.xxyy);
          e = vec4(t.x > ${FILL} ? e.x : 0.0, t.y > ${FILL} ? e.y : 0.0,
                   t.z > ${FILL} ? e.z : 0.0, t.w > ${FILL} ? e.w : 0.0);
          l += e.xz + e.yw;
        }
        vec2 lse = m + log(max(l, vec2(1e-30)));
        setOutput(vec4(l.x > 0.0 ? lse.x : 0.0, 0.0, l.y > 0.0 && i + 1 < ${timeQ} ? lse.y : 0.0, 0.0));
      }
    `;
  }
}

/** P = exp(S − L) on allowed entries, 0 elsewhere: the attention weights. */
class WeightsProgram extends FusedWebGLProgram {
  variableNames = ['scores', 'stats'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {slices, timeQ, timeK, causal} = plan;
    this.outputShape = [slices, timeQ, timeK];
    this.userCode = `
      void main() {
        ivec3 rc = getOutputCoords();
        int s = rc.x;
        int i = rc.y;
        int j = rc.z;
        ${causal ? 'if (j > i + 1) { setOutput(vec4(0.0)); return; }' : ''}
        vec4 t = getScores(s, i, j);
        vec4 e = exp(t - getStats(s, i, 0).xxzz);
        setOutput(vec4(t.x > ${FILL} ? e.x : 0.0, t.y > ${FILL} ? e.y : 0.0,
                       t.z > ${FILL} ? e.z : 0.0, t.w > ${FILL} ? e.w : 0.0));
      }
    `;
  }
}

/**
 * A product A·B of `[slices, rows, inner]` by `[slices, inner, cols]` over packed texels, with
 * `transposeA` reading A as `[slices, inner, rows]`. `a`/`b` name the inputs; `scaleA` is GLSL
 * applied to each A texel (given `s`, the output row `r` and the inner index `n`), e.g. the
 * dropout multipliers. `range` limits the inner loop (causal skipping): GLSL `lo`/`hi` texel
 * bounds from `r`. Odd inner sizes use only the first half of the last texel pair.
 */
function productCode(o: {a: string, b: string, inner: number, rows: number, cols: number,
                         transposeA: boolean,
                         scaleA?: ((n: string) => string)|undefined, from?: string|undefined,
                         to?: string|undefined,
                         scale?: number}): string {
  const {a, b, inner, transposeA} = o;
  const getA = `get${a[0]!.toUpperCase()}${a.slice(1)}`;
  const getB = `get${b[0]!.toUpperCase()}${b.slice(1)}`;
  const sampleA = (n: string) => (transposeA ? `${getA}(s, ${n}, r)` : `${getA}(s, r, ${n})`);
  const [sw1, sw2] = transposeA ? ['xxyy', 'zzww'] : ['xxzz', 'yyww'];
  const scaleA = o.scaleA ?? (() => '');
  const full = Math.floor(inner / 2);
  const from = o.from ?? '0';
  const to = o.to == null ? '' : `if (nn > ${o.to}) { break; }`;
  const streamA = transposeA ?
      stream(a, texelIndex(inner, o.rows, 's', `2 * (${from})`, 'r'), Math.ceil(o.rows / 2)) :
      stream(a, texelIndex(o.rows, inner, 's', 'r', `2 * (${from})`), 1);
  const streamB = stream(b, texelIndex(inner, o.cols, 's', `2 * (${from})`, 'c'),
                         Math.ceil(o.cols / 2));
  return `
    void main() {
      ivec3 rc = getOutputCoords();
      int s = rc.x;
      int r = rc.y;
      int c = rc.z;
      vec4 acc = vec4(0.0);
      ${streamA.init}
      ${streamB.init}
      for (int nn = ${from}; nn < ${full}; nn++) {
        ${to}
        ${streamA.read('xRaw')}
        vec4 x = xRaw${scaleA('2 * nn')};
        ${streamB.read('y')}
        acc += x.${sw1} * y.xyxy + x.${sw2} * y.zwzw;
      }
      ${inner % 2 === 1 ? `{
        vec4 x = ${sampleA(`${inner - 1}`)}${scaleA(`${inner - 1}`)};
        vec4 y = ${getB}(s, ${inner - 1}, c);
        acc += x.${sw1} * y.xyxy;
      }` : ''}
      // Entries past the end of an odd-sized axis are written as 0.
      acc *= vec4(lessThan(ivec4(c, c + 1, c, c + 1), ivec4(${o.cols}))) *
             vec4(lessThan(ivec4(r, r, r + 1, r + 1), ivec4(${o.rows})));
      setOutput(acc${o.scale == null ? '' : ` * ${glslFloat(o.scale)}`});
    }
  `;
}

/** O = (P ⊙ M)·V `[slices, timeQ, dv]`. */
class OutputProgram extends FusedWebGLProgram {
  variableNames = ['weights', 'v'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {slices, timeQ, timeK, dv, causal, dropout} = plan;
    this.outputShape = [slices, timeQ, dv];
    if (dropout > 0) {
      this.customUniforms = DROPOUT_UNIFORMS;
    }
    this.userCode = (dropout > 0 ? dropoutSnippet(plan) : '') + productCode({
      a: 'weights', b: 'v', inner: timeK, rows: timeQ, cols: dv, transposeA: false,
      scaleA: dropout > 0 ? n => ` * keep4(s, r, ${n})` : undefined,
      // Causal: weights of keys after row r + 1 are 0.
      to: causal ? '(r + 1) / 2' : undefined,
    });
  }
}

/** D = rowsum(dO ⊙ O) `[slices, timeQ, 1]`. */
class DeltaProgram extends FusedWebGLProgram {
  variableNames = ['dy', 'o'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {slices, timeQ, dv} = plan;
    this.outputShape = [slices, timeQ, 1];
    const dys = stream('dy', texelIndex(timeQ, dv, 's', 'i', '0'), 1);
    const os = stream('o', texelIndex(timeQ, dv, 's', 'i', '0'), 1);
    this.userCode = `
      void main() {
        ivec3 rc = getOutputCoords();
        int s = rc.x;
        int i = rc.y;
        vec2 d = vec2(0.0);
        ${dys.init}
        ${os.init}
        for (int cc = 0; cc < ${Math.floor(dv / 2)}; cc++) {
          ${dys.read('a')}
          ${os.read('b')}
          vec4 p = a * b;
          d += p.xz + p.yw;
        }
        ${dv % 2 === 1 ? `d += (getDy(s, i, ${dv - 1}) * getO(s, i, ${dv - 1})).xz;` : ''}
        setOutput(vec4(d.x, 0.0, i + 1 < ${timeQ} ? d.y : 0.0, 0.0));
      }
    `;
  }
}

/** G = scale · P ⊙ (M ⊙ (dO·Vᵀ) − D) `[slices, timeQ, timeK]`. */
class GradScoresProgram extends FusedWebGLProgram {
  variableNames = ['dy', 'v', 'weights', 'delta'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {slices, timeQ, timeK, dv, scale, causal, dropout} = plan;
    this.outputShape = [slices, timeQ, timeK];
    if (dropout > 0) {
      this.customUniforms = DROPOUT_UNIFORMS;
    }
    const dys = stream('dy', texelIndex(timeQ, dv, 's', 'i', '0'), 1);
    const vs = stream('v', texelIndex(timeK, dv, 's', 'j', '0'), 1);
    this.userCode = `
      ${dropout > 0 ? dropoutSnippet(plan) : ''}
      void main() {
        ivec3 rc = getOutputCoords();
        int s = rc.x;
        int i = rc.y;
        int j = rc.z;
        ${causal ? 'if (j > i + 1) { setOutput(vec4(0.0)); return; }' : ''}
        vec4 acc = vec4(0.0);
        ${dys.init}
        ${vs.init}
        for (int cc = 0; cc < ${Math.floor(dv / 2)}; cc++) {
          ${dys.read('a')}
          ${vs.read('b')}
          acc += a.xxzz * b.xzxz + a.yyww * b.ywyw;
        }
        ${dv % 2 === 1 ? `{
          vec4 a = getDy(s, i, ${dv - 1});
          vec4 b = getV(s, j, ${dv - 1});
          acc += a.xxzz * b.xzxz;
        }` : ''}
        ${dropout > 0 ? 'acc *= keep4(s, i, j);' : ''}
        vec4 p = getWeights(s, i, j);
        vec4 g = p * (acc - getDelta(s, i, 0).xxzz) * ${glslFloat(scale)};
        // Where P is 0 (masked, or past the end of an axis) G is 0, whatever the rest read.
        setOutput(vec4(p.x != 0.0 ? g.x : 0.0, p.y != 0.0 ? g.y : 0.0,
                       p.z != 0.0 ? g.z : 0.0, p.w != 0.0 ? g.w : 0.0));
      }
    `;
  }
}

/** dQ = G·K `[slices, timeQ, dk]`. */
class GradQueryProgram extends FusedWebGLProgram {
  variableNames = ['grad', 'k'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    this.outputShape = [plan.slices, plan.timeQ, plan.dk];
    this.userCode = productCode({a: 'grad', b: 'k', inner: plan.timeK, rows: plan.timeQ,
                                 cols: plan.dk, transposeA: false,
                                 to: plan.causal ? '(r + 1) / 2' : undefined});
  }
}

/** dK = Gᵀ·Q `[slices, timeK, dk]`. */
class GradKeyProgram extends FusedWebGLProgram {
  variableNames = ['grad', 'q'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    this.outputShape = [plan.slices, plan.timeK, plan.dk];
    // Causal: G is 0 for query rows before key r.
    this.userCode = productCode({a: 'grad', b: 'q', inner: plan.timeQ, rows: plan.timeK,
                                 cols: plan.dk, transposeA: true,
                                 from: plan.causal ? 'r / 2' : undefined});
  }
}

/** dV = (P ⊙ M)ᵀ·dO `[slices, timeK, dv]`. */
class GradValueProgram extends FusedWebGLProgram {
  variableNames = ['weights', 'dy'];
  outputShape: number[];
  userCode: string;

  constructor(plan: FusedPlan) {
    super();
    const {dropout} = plan;
    this.outputShape = [plan.slices, plan.timeK, plan.dv];
    if (dropout > 0) {
      this.customUniforms = DROPOUT_UNIFORMS;
    }
    // keep4 takes (slice, query row, key column): here the texel's rows are queries n, n+1
    // and its columns keys r, r+1, which is keep4(s, n, r) in the same channel order.
    this.userCode = (dropout > 0 ? dropoutSnippet(plan) : '') + productCode({
      a: 'weights', b: 'dy', inner: plan.timeQ, rows: plan.timeK, cols: plan.dv,
      transposeA: true,
      scaleA: dropout > 0 ? n => ` * keep4(s, ${n}, r)` : undefined,
      from: plan.causal ? 'r / 2' : undefined,
    });
  }
}

/** A JavaScript number as a GLSL float literal (always with a decimal point or exponent). */
function glslFloat(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return /[.e]/.test(s) ? s : `${s}.0`;
}
