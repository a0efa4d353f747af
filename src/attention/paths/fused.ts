/**
 * The fused path ('fused'): attention as a handful of custom GPU programs, forward and
 * backward, instead of the standard path's chain of tfjs kernels. It runs on the webgl backend
 * (fused_webgl.ts) and the webgpu backend (fused_webgpu.ts) and picks the one that is active;
 * on any other backend it throws. Both compute what `scaledDotProductAttention` computes and are
 * tested against the same float64 reference, on float16 WebGL textures too.
 */
import * as tf from '@tensorflow/tfjs';

import {PathOptions, PathResult} from '../options';
import {fusedWebGLAttention, fusedWebGLUnsupported} from './fused_webgl';
import {fusedWebGPUAttention, fusedWebGPUUnsupported} from './fused_webgpu';

/**
 * softmax(query · keyᵀ · scale) · value by the fused programs of the active backend (webgl or
 * webgpu). Inputs `[batch, (heads,) time, d]`; the same options and results as
 * `scaledDotProductAttention` (weights, when `needWeights`, carry no gradient).
 *
 * ```ts
 * await tf.setBackend('webgl');
 * const q = tf.randomNormal([2, 4, 16, 8]);           // [batch, heads, time, dk]
 * const {output} = fusedAttention(q, q, q, {causal: true, needWeights: false});
 * ```
 */
export function fusedAttention(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor,
                               options: PathOptions = {}): PathResult {
  const backend = tf.getBackend();
  if (backend === 'webgl') {
    return fusedWebGLAttention(query, key, value, options);
  }
  if (backend === 'webgpu') {
    return fusedWebGPUAttention(query, key, value, options);
  }
  throw new Error(`the fused attention path runs on the webgl and webgpu backends. ` +
                  `Received: active backend '${backend}'`);
}

/** Why the fused path cannot run on the active backend, or null when it can. */
export function fusedUnsupported(): string|null {
  const backend = tf.getBackend();
  if (backend === 'webgl') {
    return fusedWebGLUnsupported();
  }
  if (backend === 'webgpu') {
    return fusedWebGPUUnsupported();
  }
  return `the active backend is '${backend}'; the fused path runs on webgl and webgpu`;
}
