/** Switching the active tfjs backend in Node tests: 'cpu', or 'wasm' with its files located. */
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';

/** Makes `name` the active backend; throws unless it started. */
export async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') {
    setWasmPaths(path.dirname(
        require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
  }
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) {
    throw new Error(`backend ${name} did not start`);
  }
}
