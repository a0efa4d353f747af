/**
 * Runs in the test page (bundled by the harness): the conformance runner on one backend, with
 * the package's browser build (src/ is mapped onto dist/esm by the harness).
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

import {AttentionPath, fastCpuAttention, memoryEfficientAttention, scaledDotProductAttention, useBestBackend} from '../../../../src';
import {runExtremeScores} from '../../conformance/extreme_scores';
import {runConformance, runFitCheck} from '../../conformance/runner';
import {toleranceFor} from '../../conformance/tolerances';
import {ConformanceFixtures} from '../../conformance/types';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

/**
 * `key` is a backend name, or 'webgl-float16' for WebGL with float16 render targets (call it in
 * a fresh page: the flag is read when the WebGL backend starts). `path` is the layer's
 * attentionPath; the fit check runs with 'auto' only.
 */
export async function runOn(key: string, path: AttentionPath = 'auto') {
  const backend = key === 'webgl-float16' ? 'webgl' : key;
  if (key === 'webgl-float16') {
    tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', false);
  }
  const choice = await useBestBackend({order: [backend]});
  const fixtures = await (await fetch('/test/helpers/conformance/fixtures.json')).json() as ConformanceFixtures;
  const report = await runConformance(fixtures, toleranceFor(key), path);
  // float16 textures flush Adam's default epsilon (1e-7) to 0: see runFitCheck.
  const fit = path === 'auto' ? await runFitCheck(6, key === 'webgl-float16' ? 1e-4 : 1e-7) : null;
  // Masks at extreme scores, on the path function itself ('auto' = the standard path here).
  const run = path === 'fast' ? fastCpuAttention :
      path === 'memoryEfficient' ?
      (...a: Parameters<typeof memoryEfficientAttention>) =>
          memoryEfficientAttention(a[0], a[1], a[2], {...a[3], blockSize: 2}) :
      scaledDotProductAttention;
  const extreme = await runExtremeScores(run, key === 'webgl-float16');
  return {
    choice, report, fit, extreme,
    renderFloat32: backend === 'webgl' ? tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') : null,
  };
}

/** What useBestBackend picks in this browser with its default order. */
export async function defaultChoice() {
  return useBestBackend();
}
