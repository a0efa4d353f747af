/**
 * Picks the tfjs backend for the date scripts: 'wasm' (default, fastest here) or 'cpu'.
 * A stand-in until the package has its own backend picker.
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import * as path from 'path';

export async function useBackend(name: string = 'wasm'): Promise<string> {
  if (name !== 'wasm' && name !== 'cpu') {
    throw new Error(`backend must be 'wasm' or 'cpu'. Received: backend=${JSON.stringify(name)}`);
  }
  if (name === 'wasm') {
    const wasm = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    setWasmPaths(path.dirname(wasm) + path.sep);
  }
  if (!(await tf.setBackend(name))) {
    throw new Error(`Could not start the ${name} backend.`);
  }
  await tf.ready();
  return tf.getBackend();
}
