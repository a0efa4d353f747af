/**
 * The memory-efficient path: the same function as `scaledDotProductAttention`, computed over
 * blocks of queries × keys with an online softmax, so no `[timeQ, timeK]` tensor ever exists;
 * the largest temporary is one `[blockSize, blockSize]` block. A custom gradient keeps only the
 * output and, per query row and key block, the block's share of the row's softmax sum, and
 * recomputes each block's weights in the backward pass.
 *
 * Per slice (batch×head) and query block i, over key blocks j (masked entries of S → MASK_FILL):
 *   S = (scale·Q_i) · K_jᵀ,  P_j = softmax(S) ⊙ allowed,  lse_j = log Σ exp(S) (per row),
 *   O_j = (P_j ⊙ M) · V_j,  merged as  lse' = log(e^lse + e^lse_j),
 *   O = O·e^(lse − lse') + O_j·e^(lse_j − lse')
 * so O stays normalised (a row with no allowed key gets 0). The shares e^(lse_j − lse) are kept.
 * Backward, with D = rowsum(dO ⊙ O) and P = softmax(S) · share ⊙ allowed:
 *   dV_j += (P ⊙ M)ᵀ dO_i,  dS = P ⊙ ((dO_i V_jᵀ) ⊙ M − D),
 *   dQ_i += scale · dS K_j,  dK_j += dSᵀ (scale·Q_i).
 * The softmax kernel, not `exp`, does the block-sized work: on wasm `exp` is about 4× slower.
 * Causal attention skips key blocks that lie wholly after the query block, and needs no mask
 * on blocks wholly before it. Matrix products are 2-D without transpose flags (the fast kernel
 * on wasm, see fast_cpu.ts). Dropout draws a seeded pattern per block, the same in the
 * backward pass; it is not the standard path's pattern (that one is drawn for the whole tensor).
 */
import * as tf from '@tensorflow/tfjs';

import {andMasks, causalMask, MASK_FILL} from '../masks';
import {maskedSoftmax} from '../scaled_dot_product';
import {customGrad3, maskSlices, PathOptions, PathResult, resolve, Resolved, SliceGradients,
        stackSliceGradients, toSlices} from './common';

/**
 * softmax(query · keyᵀ · scale) · value as {@link scaledDotProductAttention}, in blocks of
 * `blockSize` (default 512) queries × keys. Weights are returned only when `needWeights`
 * (default true), computed by the standard formula: asking for them costs the memory this
 * path saves. They carry no gradient; the output does.
 */
export function memoryEfficientAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                                         options: PathOptions = {}): PathResult {
  const r = resolve(query, key, value, options);
  const {slices, timeQ, timeK, dk, dv, scale} = r;
  const [output, weights] = tf.tidy(() => {
    const masks = maskSlices(r);
    const blocks = blockPlan(r);
    const seed = r.dropout > 0 ? r.seed ?? Math.floor(Math.random() * 2 ** 30) : 0;

    const attend = customGrad3((q3, k3, v3, save) => {
      const qs = tf.mul(q3, scale);                                   // [slices, timeQ, dk]
      const kT = tf.transpose(k3, [0, 2, 1]);                         // [slices, dk, timeK]
      const outputs: tf.Tensor[] = [];
      const saved: tf.Tensor[] = [];
      for (let s = 0; s < slices; s++) {
        // One slice at a time; only its output rows and statistics outlive it.
        const [sliceOut, ...sliceStats] = tf.tidy(() => {
          const q2 = sliceOf(qs, s);
          const kT2 = sliceOf(kT, s);
          const v2 = sliceOf(v3, s);
          const rows: tf.Tensor[] = [];
          const stats: tf.Tensor[] = [];
          for (const qb of blocks) {
            const out = tf.tidy(() => {
              const qBlock = q2.slice([qb.start, 0], [qb.size, dk]);      // [bq, dk]
              let lse: tf.Tensor|null = null;                            // [bq, 1]
              let acc: tf.Tensor|null = null;                            // [bq, dv]
              const blockLse: tf.Tensor[] = [];                          // each [bq, 1]
              for (const kb of keyBlocks(r, qb)) {
                const next = tf.tidy(() => {
                  const allowed = blockMask(r, masks[s]!, qb, kb);
                  const scores = blockScores(qBlock, kT2, kb, allowed);  // [bq, bk]
                  const [p, lseB] = blockSoftmax(scores);
                  let weights = allowed ? tf.mul(p, tf.cast(allowed, 'float32')) : p;
                  if (r.dropout > 0) {
                    weights = tf.mul(weights, blockDropout(r, seed, s, qb, kb));
                  }
                  const o = tf.matMul(weights, v2.slice([kb.start, 0], [kb.size, dv]));
                  if (lse == null || acc == null) {
                    return {lse: tf.clone(lseB), acc: o, lseB};  // lse is disposed, lseB kept
                  }
                  // Merge two normalised partial results by their log-sum-exps.
                  const lseNew = logAddExp(lse, lseB);
                  return {
                    lse: lseNew,
                    acc: tf.add(tf.mul(acc, tf.exp(tf.sub(lse, lseNew))),
                                tf.mul(o, tf.exp(tf.sub(lseB, lseNew)))),
                    lseB,
                  };
                });
                tf.dispose([lse, acc].filter(t => t != null) as tf.Tensor[]);
                ({lse, acc} = next);
                blockLse.push(next.lseB);
              }
              // Each key block's share of the row's total: its softmax times this gives the
              // weights again in the backward pass.
              const shares = tf.exp(tf.sub(tf.concat(blockLse, 1), lse!));  // [bq, key blocks]
              return {o: acc!, shares};
            });
            rows.push(out.o);
            stats.push(out.shares);
          }
          return [rows.length === 1 ? rows[0]! : tf.concat(rows, 0), ...stats];
        });
        outputs.push(sliceOut!);
        saved.push(...sliceStats);
      }
      const value = tf.stack(outputs) as tf.Tensor3D;                 // [slices, timeQ, dv]
      // Masks are constants made outside this function: the backward pass gets them from save.
      const maskList = [...new Set(masks.filter(m => m != null))] as tf.Tensor2D[];
      const maskIndex = masks.map(m => (m == null ? -1 : maskList.indexOf(m)));
      save([qs, kT, v3, value, ...maskList, ...saved]);

      const gradFunc = (dy: tf.Tensor, kept: tf.Tensor[]) => {
        const [qsK, kTK, vK, oK, ...rest] = kept as [tf.Tensor, tf.Tensor, tf.Tensor,
                                                     tf.Tensor, ...tf.Tensor[]];
        const masksK = maskIndex.map(i => (i < 0 ? null : rest[i] as tf.Tensor2D));
        const statK = rest.slice(maskList.length);
        const perSlice: SliceGradients[] = [];
        let at = 0;
        for (let s = 0; s < slices; s++) {
          // One slice at a time; only its three gradients outlive it.
          const grads = tf.tidy((): SliceGradients => {
            const q2 = sliceOf(qsK, s);
            const qT2 = q2.transpose();                                  // [dk, timeQ]
            const kT2 = sliceOf(kTK, s);
            const k2 = kT2.transpose();                                  // [timeK, dk]
            const vT2 = sliceOf(vK, s).transpose();                      // [dv, timeK]
            const dy2 = sliceOf(dy, s);
            const dyT2 = dy2.transpose();                                // [dv, timeQ]
            const dRow = tf.sum(tf.mul(dy2, sliceOf(oK, s)), -1, true);  // [timeQ, 1]
            // Gradient accumulators per key block (transposed: [d, bk]) and per query block.
            const dkAcc = new Map<number, tf.Tensor>();
            const dvAcc = new Map<number, tf.Tensor>();
            const dqRows: tf.Tensor[] = [];
            for (const qb of blocks) {
              const shares = statK[at++]!;                               // [bq, key blocks]
              let dqBlock: tf.Tensor = tf.zeros([qb.size, dk]);
              for (const [j, kb] of keyBlocks(r, qb).entries()) {
                const next = tf.tidy(() => {
                  const allowed = blockMask(r, masksK[s]!, qb, kb);
                  const qBlock = q2.slice([qb.start, 0], [qb.size, dk]);
                  const scores = blockScores(qBlock, kT2, kb, allowed);
                  const share = shares.slice([0, j], [qb.size, 1]);
                  let p = tf.mul(tf.softmax(scores), share);                // [bq, bk] weights
                  if (allowed) {
                    p = tf.mul(p, tf.cast(allowed, 'float32'));
                  }
                  const multiplier = r.dropout > 0 ? blockDropout(r, seed, s, qb, kb) : null;
                  const dropped = multiplier ? tf.mul(p, multiplier) : p;
                  const dyTBlock = dyT2.slice([0, qb.start], [dv, qb.size]);
                  const dvPart = tf.matMul(dyTBlock, dropped);             // [dv, bk]
                  let dp = tf.matMul(dy2.slice([qb.start, 0], [qb.size, dv]),
                                     vT2.slice([0, kb.start], [dv, kb.size]));  // [bq, bk]
                  if (multiplier) {
                    dp = tf.mul(dp, multiplier);
                  }
                  const ds = tf.mul(p, tf.sub(dp, dRow.slice([qb.start, 0], [qb.size, 1])));
                  const dqPart = tf.matMul(ds, k2.slice([kb.start, 0], [kb.size, dk]));
                  const dkPart = tf.matMul(qT2.slice([0, qb.start], [dk, qb.size]), ds);  // [dk, bk]
                  const add = (acc: tf.Tensor|undefined, part: tf.Tensor) =>
                      acc == null ? part : tf.add(acc, part);
                  return {
                    dq: tf.add(dqBlock, dqPart),
                    dk: add(dkAcc.get(kb.start), dkPart),
                    dv: add(dvAcc.get(kb.start), dvPart),
                  };
                });
                tf.dispose([dqBlock, dkAcc.get(kb.start), dvAcc.get(kb.start)]
                               .filter(t => t != null) as tf.Tensor[]);
                dqBlock = next.dq;
                dkAcc.set(kb.start, next.dk);
                dvAcc.set(kb.start, next.dv);
              }
              dqRows.push(dqBlock);
            }
            const columns = (acc: Map<number, tf.Tensor>, d: number) => tf.concat(
                blocksOf(timeK, r.blockSize).map(kb => acc.get(kb.start) ?? tf.zeros([d, kb.size])),
                1);
            return [tf.concat(dqRows, 0), columns(dkAcc, dk), columns(dvAcc, dv)];
          });
          perSlice.push(grads);
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

/** `(scale·Q_i) · K_jᵀ` for one block, masked entries set to MASK_FILL. */
function blockScores(qBlock: tf.Tensor, kT: tf.Tensor, kb: Block, allowed: tf.Tensor|null): tf.Tensor {
  const dk = kT.shape[0]!;
  const scores = tf.matMul(qBlock, kT.slice([0, kb.start], [dk, kb.size]));
  return allowed ? tf.where(allowed, scores, tf.scalar(MASK_FILL)) : scores;
}

/**
 * softmax over one block's rows and the rows' log-sum-exp, `[bq, bk]` and `[bq, 1]`. The
 * softmax kernel is several times faster than `exp` on wasm; the log-sum-exp comes from it
 * for free: the largest weight of a row is exp(0)/sum = 1/sum, so lse = rowmax − log(max weight).
 */
function blockSoftmax(scores: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const p = tf.softmax(scores);
  return [p, tf.sub(tf.max(scores, -1, true), tf.log(tf.max(p, -1, true)))];
}

/** log(exp(a) + exp(b)), elementwise, without overflow. */
function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const m = tf.maximum(a, b);
  return tf.add(m, tf.log(tf.add(tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m)))));
}

interface Block {
  start: number;
  size: number;
}

/** Query blocks. Key blocks have the same size, so causal blocks line up with the diagonal. */
function blockPlan(r: Resolved): Block[] {
  return blocksOf(r.timeQ, r.blockSize);
}

/** `[0, length)` cut into blocks of `size` (the last one may be shorter). */
function blocksOf(length: number, size: number): Block[] {
  const out: Block[] = [];
  for (let start = 0; start < length; start += size) {
    out.push({start, size: Math.min(size, length - start)});
  }
  return out;
}

/** Key blocks a query block needs: all of them, or with `causal` those not wholly after it. */
function keyBlocks(r: Resolved, qb: Block): Block[] {
  const all = blocksOf(r.timeK, r.blockSize);
  return r.causal ? all.filter(kb => kb.start <= qb.start + qb.size - 1) : all;
}

/** Boolean `[bq|1, bk|1]` mask of one block, or null when every entry is allowed. */
function blockMask(r: Resolved, mask: tf.Tensor2D|null, qb: Block, kb: Block): tf.Tensor|null {
  let allowed: tf.Tensor|null = null;
  if (mask != null) {
    const [mq, mk] = mask.shape;
    allowed = mask.slice([mq === 1 ? 0 : qb.start, mk === 1 ? 0 : kb.start],
                         [mq === 1 ? 1 : qb.size, mk === 1 ? 1 : kb.size]);
  }
  // Causal: query i may attend key j when j <= i; a block wholly on or below the diagonal
  // needs no mask.
  if (r.causal && kb.start + kb.size - 1 > qb.start) {
    const rows = tf.range(qb.start, qb.start + qb.size, 1, 'int32').reshape([qb.size, 1]);
    const cols = tf.range(kb.start, kb.start + kb.size, 1, 'int32').reshape([1, kb.size]);
    const causal = tf.greaterEqual(rows, cols);
    allowed = allowed == null ? causal : tf.logicalAnd(allowed, causal);
  }
  return allowed;
}

/** The dropout multiplier of one block: `tf.dropout`'s formula with a per-block seed. */
function blockDropout(r: Resolved, seed: number, s: number, qb: Block, kb: Block): tf.Tensor {
  const blockSeed = seed + ((s * 7919 + qb.start) * 104729 + kb.start) % 2147483647;
  const keep = 1 - r.dropout;
  return tf.div(tf.floor(tf.add(
      tf.randomUniform([qb.size, kb.size], 0, 1, 'float32', blockSeed), keep)), keep);
}

/** Attention weights by the standard formula, slice by slice (only when asked for). */
function weightsOf(r: Resolved, query: tf.Tensor, key: tf.Tensor,
                   masks: Array<tf.Tensor2D|null>): tf.Tensor {
  return tf.tidy(() => {
    const q3 = toSlices(query, r.slices);
    const k3 = toSlices(key, r.slices);
    const causal = r.causal ? causalMask(r.timeQ, r.timeK) : null;
    const out: tf.Tensor[] = [];
    for (let s = 0; s < r.slices; s++) {
      const scores = tf.mul(tf.matMul(sliceOf(q3, s), sliceOf(k3, s).transpose()), r.scale);
      out.push(maskedSoftmax(scores, andMasks(masks[s]!, causal)));
    }
    return tf.stack(out).reshape([...r.lead, r.timeQ, r.timeK]);
  });
}

/** Slice `s` of a `[slices, rows, cols]` tensor, as `[rows, cols]`. */
function sliceOf(x: tf.Tensor, s: number): tf.Tensor2D {
  const [, rows, cols] = x.shape as [number, number, number];
  return x.slice([s, 0, 0], [1, rows, cols]).reshape([rows, cols]);
}
