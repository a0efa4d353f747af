/**
 * Size limits of backends, checked before any kernel runs so that a too-long sequence gives a
 * clear error instead of a failure deep inside a shader.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * On WebGL every tensor lives in one 2-D texture of at most WEBGL_MAX_TEXTURE_SIZE² texels, and
 * the element-wise and softmax kernels store one score per texel, so the scores
 * `[batch·heads, timeQ, timeK]` must hold at most WEBGL_MAX_TEXTURE_SIZE² values. Throws a clear
 * error otherwise (starting with `layerName`); does nothing on other backends.
 */
export function checkScoresFitBackend(batchHeads: number, timeQ: number, timeK: number,
                                      layerName = 'SelfAttention'): void {
  if (tf.getBackend() !== 'webgl') {
    return;
  }
  const maxSize = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
  const values = batchHeads * timeQ * timeK;
  if (values > maxSize * maxSize) {
    const longest = Math.floor(maxSize / Math.sqrt(batchHeads));
    throw new Error(
        `${layerName}: the attention scores [batch·heads, timeQ, timeK] = [${batchHeads}, ${
            timeQ}, ${timeK}] (${values} values) do not fit in one WebGL texture: ` +
        `WEBGL_MAX_TEXTURE_SIZE is ${maxSize} on this device, so at most ${maxSize}² = ${
            maxSize * maxSize} values. With batch·heads = ${batchHeads} that is sequences of ` +
        `about ${longest} (timeQ = timeK); use shorter sequences, a smaller batch or fewer ` +
        `heads, or the wasm or cpu backend.`);
  }
}
