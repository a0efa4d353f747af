/**
 * The memory-efficient path: the same function as `scaledDotProductAttention`, computed over
 * blocks of queries × keys with an online softmax, so no `[timeQ, timeK]` tensor ever exists;
 * the largest temporary is one `[blockSize, blockSize]` block. A custom gradient keeps only the
 * output and, per query row and key block, the block's share of the row's softmax sum, and
 * recomputes each block's weights in the backward pass.
 *
 * Per slice (batch×head) and query block i, over key blocks j (softmax, row max and row sum
 * over the allowed entries only, by the masked softmax every path uses, `maskedSoftmaxWithStats`):
 *   S = (scale·Q_i) · K_jᵀ,  P_j = softmax(S) ⊙ allowed,  per row: m_j = max S, l_j = Σ e^(S − m_j),
 *   O_j = (P_j ⊙ M) · V_j,  merged as  m' = max(m, m_j),  a = l·e^(m − m'),  b = l_j·e^(m_j − m'),
 *   l' = a + b,  O = (O·a + O_j·b) / l'
 * so O stays normalised (max and sum kept apart, not as one log-sum-exp: at scores of 1e6 a
 * float32 log-sum-exp has lost the digits the weights depend on). A row with no allowed key in
 * block j has l_j = 0 and m_j = the lowest finite value, so it adds nothing (and with none in
 * any block, O = 0). The shares l_j·e^(m_j − m)/l are kept.
 * Backward, with D = rowsum(dO ⊙ O) and P = softmax(S) · share ⊙ allowed:
 *   dV_j += (P ⊙ M)ᵀ dO_i,  dS = P ⊙ ((dO_i V_jᵀ) ⊙ M − D),
 *   dQ_i += scale · dS K_j,  dK_j += dSᵀ (scale·Q_i).
 * The softmax kernel, not `exp`, does the block-sized work: on wasm `exp` is about 4× slower;
 * the log-sum-exp comes from the softmax's largest weight.
 * Causal attention and a sliding window skip key blocks they mask wholly, and need no mask on
 * blocks they allow wholly (masks.ts `positionCoverage`). Matrix products are 2-D without
 * transpose flags (the fast kernel on wasm, see fast_cpu.ts). Dropout draws a seeded pattern per block, the same in the
 * backward pass; it is not the standard path's pattern (that one is drawn for the whole tensor).
 *
 * Read top to bottom: the entry point and its custom gradient, the plan (blocks, dropout
 * seed), the forward pass (slice → query block → key block → merge), the backward pass (slice →
 * block), the weights when asked for.
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, blockMask, maskSlices, positionCoverage, positionMask, Span} from '../masks';
import {emptyAttention, isEmpty, PathOptions, PathResult, resolve, Resolved} from '../options';
import {maskedSoftmax, maskedSoftmaxWithStats} from '../scaled_dot_product';
import {customGrad3, SliceGradients, sliceOf, stackSliceGradients, toSlices} from './common';

/**
 * softmax(query · keyᵀ · scale) · value as {@link scaledDotProductAttention}, in blocks of
 * `blockSize` (default 512) queries × keys. Weights are returned only when `needWeights`
 * (default true), computed by the standard formula: asking for them costs the memory this
 * path saves. They carry no gradient; the output does.
 *
 * ```ts
 * const q = tf.randomNormal([1, 1, 8192, 64]);          // scores would take 256 MiB
 * const {output} = memoryEfficientAttention(q, q, q, {needWeights: false, blockSize: 512});
 * // output [1, 1, 8192, 64]; peak memory grows with n, not n²
 * ```
 */
export function memoryEfficientAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                         options: PathOptions = {}): PathResult {
  const r = resolve(query, key, value, options, 'memoryEfficientAttention');
  if (isEmpty(r)) {
    return emptyAttention(query, key, value, r);
  }
  const {slices, timeQ, dv, scale} = r;
  const [output, weights] = tf.tidy(() => {
    const plan = makePlan(r);
    const masks = maskSlices(r);

    const attend = customGrad3((q3, k3, v3, save) => {
      const qs = tf.mul(q3, scale);                                   // [slices, timeQ, dk]
      const kT = tf.transpose(k3, [0, 2, 1]);                         // [slices, dk, timeK]
      const outputs: tf.Tensor[] = [];
      const shares: tf.Tensor[] = [];                                 // per slice and query block
      for (let s = 0; s < slices; s++) {
        const slice = forwardSlice(plan, s, masks[s]!, sliceOf(qs, s), sliceOf(kT, s),
                                   sliceOf(v3, s));
        outputs.push(slice.output);
        shares.push(...slice.shares);
      }
      const value = tf.stack(outputs) as tf.Tensor3D;                 // [slices, timeQ, dv]
      // Masks are constants made outside this function: the backward pass gets them from save.
      const maskList = [...new Set(masks.filter(m => m != null))] as tf.Tensor2D[];
      const maskIndex = masks.map(m => (m == null ? -1 : maskList.indexOf(m)));
      save([qs, kT, v3, value, ...maskList, ...shares]);

      const gradFunc = (dy: tf.Tensor, kept: tf.Tensor[]) => {
        const [qsK, kTK, vK, oK, ...rest] = kept as [tf.Tensor, tf.Tensor, tf.Tensor,
                                                     tf.Tensor, ...tf.Tensor[]];
        const sharesK = rest.slice(maskList.length);
        const blocksPerSlice = plan.queryBlocks.length;
        const perSlice: SliceGradients[] = [];
        for (let s = 0; s < slices; s++) {
          const mask = maskIndex[s]! < 0 ? null : rest[maskIndex[s]!] as tf.Tensor2D;
          perSlice.push(backwardSlice(plan, s, mask, {
            q: sliceOf(qsK, s), kT: sliceOf(kTK, s), v: sliceOf(vK, s), o: sliceOf(oK, s),
            dy: sliceOf(dy, s),
            shares: sharesK.slice(s * blocksPerSlice, (s + 1) * blocksPerSlice),
          }));
        }
        return stackSliceGradients(perSlice, scale);
      };
      return {value, gradFunc};
    });

    const out3 = attend(toSlices(query, slices), toSlices(key, slices), toSlices(value, slices));
    const out = out3.reshape([...r.lead, timeQ, dv]);
    return r.needWeights ? [out, weightsOf(r, query, key, masks)] : [out];
  });
  return {output: output!, weights: weights ?? null};
}

// ---- The plan: blocks and the dropout seed, shared by the forward and the backward pass ----

/** What every block of one call shares. */
interface Plan {
  r: Resolved;
  /** Query blocks of `blockSize` rows (the last one may be shorter). */
  queryBlocks: Span[];
  /** Per query block, the key blocks it needs (see {@link keyBlocksFor}). */
  keyBlocks: Span[][];
  /** Every key block, `[0, timeK)` in steps of `blockSize`. */
  allKeyBlocks: Span[];
  /** Base seed of the per-block dropout patterns (0 without dropout). */
  seed: number;
}

function makePlan(r: Resolved): Plan {
  const queryBlocks = blocksOf(r.timeQ, r.blockSize);
  // Key blocks have the same size as query blocks, so causal blocks line up with the diagonal.
  const allKeyBlocks = blocksOf(r.timeK, r.blockSize);
  return {
    r, queryBlocks, allKeyBlocks,
    keyBlocks: queryBlocks.map(qb => keyBlocksFor(r, qb, allKeyBlocks)),
    seed: r.dropout > 0 ? r.seed ?? Math.floor(Math.random() * 2 ** 30) : 0,
  };
}

/** `[0, length)` cut into blocks of `size` (the last one may be shorter). */
function blocksOf(length: number, size: number): Span[] {
  const out: Span[] = [];
  for (let start = 0; start < length; start += size) {
    out.push({start, size: Math.min(size, length - start)});
  }
  return out;
}

/**
 * The key blocks query block `qb` needs: those the position rules (causal, sliding window) do
 * not mask wholly. At least one, so that rows with no allowed key get 0 by the same arithmetic.
 */
function keyBlocksFor(r: Resolved, qb: Span, all: Span[]): Span[] {
  const needed = all.filter(kb => positionCoverage(r, qb, kb) !== 'none');
  return needed.length > 0 ? needed : all.slice(0, 1);
}

/** The dropout multiplier of one block: `tf.dropout`'s formula with a per-block seed. */
function blockDropout(plan: Plan, s: number, qb: Span, kb: Span): tf.Tensor {
  const blockSeed = plan.seed + ((s * 7919 + qb.start) * 104729 + kb.start) % 2147483647;
  const keep = 1 - plan.r.dropout;
  return tf.div(tf.floor(tf.add(
      tf.randomUniform([qb.size, kb.size], 0, 1, 'float32', blockSeed), keep)), keep);
}

// ---- Forward --------------------------------------------------------------------------------

/**
 * One slice's output `[timeQ, dv]` and, per query block, each key block's share of the rows'
 * softmax sums `[bq, key blocks]`. `q` is already scaled: `[timeQ, dk]`; `kT` `[dk, timeK]`;
 * `v` `[timeK, dv]`. Only the results outlive the call.
 */
function forwardSlice(plan: Plan, s: number, mask: tf.Tensor2D|null, q: tf.Tensor2D,
                      kT: tf.Tensor2D, v: tf.Tensor2D): {output: tf.Tensor, shares: tf.Tensor[]} {
  return tf.tidy(() => {
    const rows: tf.Tensor[] = [];
    const shares: tf.Tensor[] = [];
    for (const [i, qb] of plan.queryBlocks.entries()) {
      const block = forwardQueryBlock(plan, s, mask, qb, plan.keyBlocks[i]!, q, kT, v);
      rows.push(block.output);
      shares.push(block.shares);
    }
    return {output: rows.length === 1 ? rows[0]! : tf.concat(rows, 0), shares};
  });
}

/**
 * Query block `qb` against its key blocks, merged one at a time by their log-sum-exps so that
 * only one `[bq, bk]` block exists at once: the block's output `[bq, dv]` and its shares.
 */
function forwardQueryBlock(plan: Plan, s: number, mask: tf.Tensor2D|null, qb: Span,
                           keyBlocks: Span[], q: tf.Tensor2D, kT: tf.Tensor2D, v: tf.Tensor2D):
    {output: tf.Tensor, shares: tf.Tensor} {
  return tf.tidy(() => {
    const qBlock = q.slice([qb.start, 0], [qb.size, plan.r.dk]);        // [bq, dk]
    let state: Partial|null = null;                                     // the blocks so far
    const blockMax: tf.Tensor[] = [];                                   // each [bq, 1]
    const blockSum: tf.Tensor[] = [];                                   // each [bq, 1]
    for (const kb of keyBlocks) {
      const part = forwardBlock(plan, s, mask, qb, kb, qBlock, kT, v);
      blockMax.push(part.max);
      blockSum.push(part.sum);
      if (state == null) {
        state = {max: tf.clone(part.max), sum: tf.clone(part.sum), output: part.output};
        continue;
      }
      const merged = mergeBlocks(state, part);
      tf.dispose([state.max, state.sum, state.output, part.output]);
      state = merged;
    }
    // Each key block's share of the row's total: its softmax times this gives the weights again
    // in the backward pass.  // [bq, key blocks]
    const shares = tf.div(
        tf.mul(tf.concat(blockSum, 1), tf.exp(tf.sub(tf.concat(blockMax, 1), state!.max))),
        atLeastOne(state!.sum));
    return {output: state!.output, shares};
  });
}

/**
 * A partial result over some key blocks, per query row: the normalised output `[bq, dv]`, the
 * largest allowed score `[bq, 1]` and Σ e^(score − max) over the allowed keys `[bq, 1]`.
 */
interface Partial {
  output: tf.Tensor;
  max: tf.Tensor;
  sum: tf.Tensor;
}

/** One block's partial result (dropout applied to its weights). Only that outlives the call. */
function forwardBlock(plan: Plan, s: number, mask: tf.Tensor2D|null, qb: Span, kb: Span,
                      qBlock: tf.Tensor, kT: tf.Tensor2D, v: tf.Tensor2D): Partial {
  return tf.tidy(() => {
    const allowed = blockMask(mask, plan.r, qb, kb);                    // [bq|1, bk|1] or null
    const scores = blockScores(qBlock, kT, kb);                         // [bq, bk]
    const {weights, rowMax, rowSum} = maskedSoftmaxWithStats(scores, allowed);
    const dropped = plan.r.dropout > 0 ? tf.mul(weights, blockDropout(plan, s, qb, kb)) : weights;
    return {
      output: tf.matMul(dropped, v.slice([kb.start, 0], [kb.size, plan.r.dv])),  // [bq, dv]
      max: rowMax!,
      sum: rowSum!,
    };
  });
}

/** Two partial results merged into one (see the module comment). */
function mergeBlocks(a: Partial, b: Partial): Partial {
  return tf.tidy(() => {
    const max = tf.maximum(a.max, b.max);
    const wa = tf.mul(a.sum, tf.exp(tf.sub(a.max, max)));              // [bq, 1]
    const wb = tf.mul(b.sum, tf.exp(tf.sub(b.max, max)));
    const sum = tf.add(wa, wb);
    return {
      max, sum,
      output: tf.div(tf.add(tf.mul(a.output, wa), tf.mul(b.output, wb)), atLeastOne(sum)),
    };
  });
}

/**
 * A merged row sum, safe to divide by: a row with an allowed key has sum >= 1 (its largest
 * score's block adds e^0 · l_j >= 1), a row with none has 0 (and output 0): max(sum, 1) is exact
 * for the first and avoids 0/0 for the second.
 */
function atLeastOne(sum: tf.Tensor): tf.Tensor {
  return tf.maximum(sum, 1);
}

/** `(scale·Q_i) · K_jᵀ` for one block.  // [bq, bk] */
function blockScores(qBlock: tf.Tensor, kT: tf.Tensor2D, kb: Span): tf.Tensor {
  const dk = kT.shape[0];
  return tf.matMul(qBlock, kT.slice([0, kb.start], [dk, kb.size]));
}

// ---- Backward -------------------------------------------------------------------------------

/** What the backward pass of one slice reads (each 2-D; `q` scaled, as in the forward pass). */
interface SliceSaved {
  q: tf.Tensor2D;       // [timeQ, dk]
  kT: tf.Tensor2D;      // [dk, timeK]
  v: tf.Tensor2D;       // [timeK, dv]
  o: tf.Tensor2D;       // [timeQ, dv], the forward output
  dy: tf.Tensor2D;      // [timeQ, dv], the output's gradient
  shares: tf.Tensor[];  // per query block, [bq, key blocks]
}

/** The transposes and row sums every block of one slice's backward pass reads. */
interface SliceBackward {
  q: tf.Tensor2D;     // [timeQ, dk]
  qT: tf.Tensor2D;    // [dk, timeQ]
  kT: tf.Tensor2D;    // [dk, timeK]
  k: tf.Tensor2D;     // [timeK, dk]
  vT: tf.Tensor2D;    // [dv, timeK]
  dy: tf.Tensor2D;    // [timeQ, dv]
  dyT: tf.Tensor2D;   // [dv, timeQ]
  dRow: tf.Tensor;    // [timeQ, 1], D = rowsum(dO ⊙ O)
}

/**
 * One slice's gradients (dq unscaled, dkᵀ, dvᵀ: see {@link SliceGradients}), block by block.
 * Only the three gradients outlive the call.
 */
function backwardSlice(plan: Plan, s: number, mask: tf.Tensor2D|null, saved: SliceSaved):
    SliceGradients {
  return tf.tidy((): SliceGradients => {
    const {dk, dv} = plan.r;
    const t: SliceBackward = {
      q: saved.q, qT: saved.q.transpose(), kT: saved.kT, k: saved.kT.transpose(),
      vT: saved.v.transpose(), dy: saved.dy, dyT: saved.dy.transpose(),
      dRow: tf.sum(tf.mul(saved.dy, saved.o), -1, true),
    };
    // Accumulators per key block (transposed: [d, bk]), by the block's start.
    const dkAcc = new Map<number, tf.Tensor>();
    const dvAcc = new Map<number, tf.Tensor>();
    const dqRows: tf.Tensor[] = [];
    for (const [i, qb] of plan.queryBlocks.entries()) {
      let dq: tf.Tensor|undefined;                                     // [bq, dk]
      for (const [j, kb] of plan.keyBlocks[i]!.entries()) {
        const share = saved.shares[i]!.slice([0, j], [qb.size, 1]);    // [bq, 1]
        const part = backwardBlock(plan, s, mask, qb, kb, share, t);
        share.dispose();
        dq = accumulate(dq, part.dq);
        dkAcc.set(kb.start, accumulate(dkAcc.get(kb.start), part.dkT));
        dvAcc.set(kb.start, accumulate(dvAcc.get(kb.start), part.dvT));
      }
      dqRows.push(dq!);
    }
    // Key blocks no query block needed (causal, window) get zero gradients.
    const columns = (acc: Map<number, tf.Tensor>, d: number) =>
        tf.concat(plan.allKeyBlocks.map(kb => acc.get(kb.start) ?? tf.zeros([d, kb.size])), 1);
    return [tf.concat(dqRows, 0), columns(dkAcc, dk), columns(dvAcc, dv)];
  });
}

/**
 * One block's gradient parts: dq `[bq, dk]`, dkᵀ `[dk, bk]`, dvᵀ `[dv, bk]`, with the weights
 * recomputed from the scores and the block's share.
 */
function backwardBlock(plan: Plan, s: number, mask: tf.Tensor2D|null, qb: Span, kb: Span,
                       share: tf.Tensor, t: SliceBackward):
    {dq: tf.Tensor, dkT: tf.Tensor, dvT: tf.Tensor} {
  return tf.tidy(() => {
    const {dk, dv} = plan.r;
    const allowed = blockMask(mask, plan.r, qb, kb);
    const qBlock = t.q.slice([qb.start, 0], [qb.size, dk]);             // [bq, dk]
    const scores = blockScores(qBlock, t.kT, kb);                       // [bq, bk]
    const p = tf.mul(maskedSoftmax(scores, allowed), share);            // [bq, bk] weights
    const multiplier = plan.r.dropout > 0 ? blockDropout(plan, s, qb, kb) : null;
    const dropped = multiplier ? tf.mul(p, multiplier) : p;
    const dvT = tf.matMul(t.dyT.slice([0, qb.start], [dv, qb.size]), dropped);  // [dv, bk]
    let dp = tf.matMul(t.dy.slice([qb.start, 0], [qb.size, dv]),
                       t.vT.slice([0, kb.start], [dv, kb.size]));         // [bq, bk]
    if (multiplier) {
      dp = tf.mul(dp, multiplier);
    }
    const ds = tf.mul(p, tf.sub(dp, t.dRow.slice([qb.start, 0], [qb.size, 1])));  // [bq, bk]
    return {
      dq: tf.matMul(ds, t.k.slice([kb.start, 0], [kb.size, dk])),        // [bq, dk]
      dkT: tf.matMul(t.qT.slice([0, qb.start], [dk, qb.size]), ds),      // [dk, bk]
      dvT,
    };
  });
}

/** acc + part, freeing both (the running sum of a gradient, so only one copy is alive). */
function accumulate(acc: tf.Tensor|undefined, part: tf.Tensor): tf.Tensor {
  if (acc == null) {
    return part;
  }
  const sum = tf.add(acc, part);
  tf.dispose([acc, part]);
  return sum;
}

// ---- Weights, only when asked for ------------------------------------------------------------

/** Attention weights by the standard formula, slice by slice.  // [...lead, timeQ, timeK] */
function weightsOf(r: Resolved, query: tf.Tensor, key: tf.Tensor,
                   masks: Array<tf.Tensor2D|null>): tf.Tensor {
  return tf.tidy(() => {
    const q3 = toSlices(query, r.slices);
    const k3 = toSlices(key, r.slices);
    const positions = positionMask(r, {start: 0, size: r.timeQ}, {start: 0, size: r.timeK});
    const out: tf.Tensor[] = [];
    for (let s = 0; s < r.slices; s++) {
      const scores = tf.mul(tf.matMul(sliceOf(q3, s), sliceOf(k3, s).transpose()), r.scale);
      out.push(maskedSoftmax(scores, andMasks(masks[s]!, positions)));
    }
    return tf.stack(out).reshape([...r.lead, r.timeQ, r.timeK]);
  });
}
