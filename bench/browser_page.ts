/**
 * Runs in the browser page for `npm run bench -- --browser`: `start(backend)` picks the backend,
 * then `measure(label, case, options)` measures one case with bench/measure.ts, exactly as in
 * Node, and returns its row as JSON.
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

import {Case} from './cases';
import {measureCase, MeasureOptions} from './measure';
import type {Row} from './report';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

export interface PageBackend {
  backend: string;
  /** What the backend runs on, e.g. WebGL's renderer or WebGPU's adapter; null when unknown. */
  device: string|null;
}

export async function start(backend: string): Promise<PageBackend> {
  if (!(await tf.setBackend(backend))) {
    throw new Error(`the page could not start the '${backend}' backend`);
  }
  await tf.ready();
  return {backend: tf.getBackend(), device: await deviceName(backend)};
}

export function measure(label: string, c: Case, o: MeasureOptions): Promise<Row> {
  return measureCase(label, c, o);
}

/** What `backend` runs on in this page (WebGL's renderer, WebGPU's adapter), or null. */
export async function deviceName(backend: string): Promise<string|null> {
  try {
    if (backend === 'webgl') {
      const gl = document.createElement('canvas').getContext('webgl2');
      const debug = gl?.getExtension('WEBGL_debug_renderer_info');
      return gl && debug ? String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL)) : null;
    }
    if (backend === 'webgpu') {
      const gpu = (navigator as unknown as {gpu?: {requestAdapter(): Promise<{
        info?: {vendor: string, architecture: string, description: string}}|null>}}).gpu;
      const info = (await gpu?.requestAdapter())?.info;
      return info ? [info.vendor, info.architecture, info.description].filter(s => s).join(' ') : null;
    }
  } catch {
    // Only a label: the run does not depend on it.
  }
  return null;
}
