/**
 * Backend set-up for the benchmark in Node: `cpu` (built in) and `wasm` (from
 * @tensorflow/tfjs-backend-wasm, whose .wasm files ship inside the package).
 */
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

/** Makes `name` ('cpu' | 'wasm') the active backend; throws if it cannot start. */
export async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
  }
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`Backend ${name} could not be started. Received: active backend ${tf.getBackend()}`);
  }
  await tf.ready();
}
