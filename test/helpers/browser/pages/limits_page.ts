/**
 * Runs in the test page: how long a sequence the layer handles on a backend, and what happens
 * beyond. `maxTextureSize` (WebGL only) lowers WEBGL_MAX_TEXTURE_SIZE so the boundary is cheap to
 * reach in tests; null keeps the device's own.
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

import {scaledDotProductAttention, selfAttention} from '../../../../src';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

export interface Attempt {
  n: number;
  ok: boolean;
  /** Forward and backward values all finite. */
  finite: boolean;
  error: string|null;
  ms: number;
}

export async function start(backend: string, maxTextureSize: number|null) {
  await tf.setBackend(backend);
  await tf.ready();
  if (maxTextureSize != null) {
    tf.env().set('WEBGL_MAX_TEXTURE_SIZE', maxTextureSize);
  }
  // WebGPU: one storage buffer binding must hold a whole tensor.
  const device = backend === 'webgpu' ?
      (tf.backend() as unknown as {device: {limits: Record<string, number>}}).device : null;
  return {backend: tf.getBackend(),
          maxTextureSize: backend === 'webgl' ? tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE') : null,
          ...(device == null ? {} : {
            maxStorageBufferBindingSize: device.limits['maxStorageBufferBindingSize'],
            maxBufferSize: device.limits['maxBufferSize']})};
}

/**
 * Forward + backward at sequence length n: through the layer (`via: 'layer'`, batch `batch`,
 * `heads` heads, 4 features per head) or through the bare functional form (no size check).
 */
export async function attempt(via: 'layer'|'functional', n: number, batch: number,
                              heads: number): Promise<Attempt> {
  const started = performance.now();
  const features = 4 * heads;
  const layer = selfAttention({numHeads: heads});
  let result: Attempt;
  try {
    const values = tf.tidy(() => {
      const x = tf.randomNormal([batch, n, features], 0, 1, 'float32', 1);
      if (via === 'layer') {
        const g = tf.grad(v => tf.sum(layer.apply(v) as tf.Tensor))(x);
        return [tf.sum(tf.abs(g)), tf.sum(tf.abs(layer.apply(x) as tf.Tensor))];
      }
      const q = x.reshape([batch, n, heads, 4]).transpose([0, 2, 1, 3]);
      const g = tf.grad(v => tf.sum(scaledDotProductAttention(v, v, v).output))(q);
      return [tf.sum(tf.abs(g))];
    });
    const data = await Promise.all(values.map(v => v.data()));
    tf.dispose(values);
    result = {n, ok: true, finite: data.every(d => Array.from(d).every(Number.isFinite)),
              error: null, ms: 0};
  } catch (e) {
    result = {n, ok: false, finite: false, error: String((e as Error).message ?? e), ms: 0};
  }
  try {
    if (layer.built) {
      layer.dispose();
    }
  } catch (e) {
    // After an out-of-memory failure the wasm backend's heap may be unusable: say so.
    result.error = `${result.error ?? ''} (then disposing the layer failed: ${
        String((e as Error).message ?? e)})`;
    result.ok = false;
  }
  result.ms = Math.round(performance.now() - started);
  return result;
}
