/**
 * The examples' `--backend` flag: a backend name ('wasm', 'cpu', 'tensorflow' when tfjs-node is
 * installed), or 'best' for the package's own choice (tfjs-node, then wasm, then cpu).
 */
import {useBestBackend} from '../../src';

export async function useBackend(name = 'wasm'): Promise<string> {
  const {backend} = await useBestBackend(name === 'best' ? {} : {order: [name]});
  return backend;
}
