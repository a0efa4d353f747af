/**
 * Picking a backend once, at the start of an application: `await useBestBackend()`.
 *
 * In Node it tries `tensorflow` (tfjs-node, when the user installed it), then `wasm` (from the
 * installed @tensorflow/tfjs-backend-wasm, its .wasm files read from disk, no network), then
 * `cpu`. In a browser it tries `webgpu`, `webgl`, `wasm`, `cpu` among the backends the page has
 * registered (import '@tensorflow/tfjs-backend-wasm' or '-webgpu' yourself; call their
 * `setWasmPaths` yourself there). The layer never picks a backend itself.
 *
 * This file has no static Node-only import, so it is safe in the browser bundle: Node modules are
 * loaded through a `require` obtained at run time, only when running in Node.
 */
import * as tf from '@tensorflow/tfjs';

/** Arguments of {@link useBestBackend}. All optional. */
export interface UseBestBackendArgs {
  /**
   * Backends to try, best first. Default: in Node `['tensorflow', 'wasm', 'cpu']`, in a browser
   * `['webgpu', 'webgl', 'wasm', 'cpu']`.
   */
  order?: string[];
  /**
   * Node only: the folder (ending in `/`) holding the wasm backend's `.wasm` files. Default: the
   * `dist/` folder of the installed @tensorflow/tfjs-backend-wasm.
   */
  wasmPaths?: string;
  /** Receives one line naming the chosen backend and why the better ones were not used. Default: none. */
  log?: (line: string) => void;
}

/** What {@link useBestBackend} chose. */
export interface BackendChoice {
  /** The backend now active (`tf.getBackend()`). */
  backend: string;
  /** The backends tried before it, each with the reason it was not used. */
  skipped: Array<{
    /** A backend tried before the chosen one. */
    backend: string,
    /** Why it was not used: not installed, not registered, or the error it failed with. */
    reason: string,
  }>;
}

export const NODE_ORDER = ['tensorflow', 'wasm', 'cpu'];
export const BROWSER_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Activates the best available backend and says which one it chose. Never throws for a missing
 * optional backend: it moves on to the next one. Throws only if none of `order` works.
 *
 * ```ts
 * const {backend, skipped} = await useBestBackend({log: console.log});
 * // Node with @tensorflow/tfjs-backend-wasm installed: backend 'wasm',
 * // skipped [{backend: 'tensorflow', reason: '@tensorflow/tfjs-node is not installed'}]
 * await useBestBackend({order: ['webgl', 'cpu']});  // a browser page that prefers WebGL
 * ```
 */
export async function useBestBackend(args: UseBestBackendArgs = {}): Promise<BackendChoice> {
  const req = nodeRequire();
  const order = args.order ?? (isNode() ? NODE_ORDER : BROWSER_ORDER);
  if (!Array.isArray(order) || order.length === 0) {
    throw new Error(`useBestBackend: order must be a non-empty array of backend names. ` +
                    `Received: order=${JSON.stringify(args.order)}`);
  }
  const skipped: BackendChoice['skipped'] = [];
  for (const backend of order) {
    const reason = await tryBackend(backend, req, args.wasmPaths);
    if (reason == null) {
      const line = `tfjs-self-attention: using the '${backend}' backend` +
          (skipped.length ? ` (${skipped.map(s => `${s.backend}: ${s.reason}`).join('; ')})` : '');
      args.log?.(line);
      return {backend, skipped};
    }
    skipped.push({backend, reason});
  }
  throw new Error(`useBestBackend: no backend of [${order}] could be started: ${
      skipped.map(s => `${s.backend}: ${s.reason}`).join('; ')}`);
}

/** null when `backend` is now active, else why not. */
async function tryBackend(backend: string, req: NodeRequireLike|null,
                          wasmPaths: string|undefined): Promise<string|null> {
  try {
    if (tf.findBackendFactory(backend) == null) {
      const loaded = req == null ? null : loadNodeBackend(backend, req, wasmPaths);
      if (loaded != null) {
        return loaded;
      }
      if (tf.findBackendFactory(backend) == null) {
        return `not registered (${req == null ? 'import its package first' : 'not installed'})`;
      }
    }
    const ok = await tf.setBackend(backend);
    await tf.ready();
    return ok && tf.getBackend() === backend ? null : 'failed to initialize';
  } catch (e) {
    return `failed: ${(e as Error).message ?? String(e)}`;
  }
}

/** Node: requires the package that registers `backend`; a reason string if it is not there. */
function loadNodeBackend(backend: string, req: NodeRequireLike,
                         wasmPaths: string|undefined): string|null {
  const packages: Record<string, string> = {
    tensorflow: '@tensorflow/tfjs-node',
    wasm: '@tensorflow/tfjs-backend-wasm',
  };
  const name = packages[backend];
  if (name == null) {
    return null;
  }
  let main: string;
  try {
    main = req.resolve(name);
  } catch {
    return `${name} is not installed`;
  }
  const module = req(name) as {setWasmPaths?: (prefix: string) => void};
  if (backend === 'wasm') {
    // The package's main file sits in its dist/ folder, next to the .wasm files.
    module.setWasmPaths!(wasmPaths ?? main.replace(/[^/\\]*$/, ''));
  }
  return null;
}

// The CommonJS build's own `require` (undefined in ES modules and browsers).
declare const require: NodeRequireLike|undefined;

interface NodeRequireLike {
  (id: string): unknown;
  resolve(id: string): string;
}

interface NodeProcessLike {
  versions?: {node?: string};
  cwd(): string;
  getBuiltinModule?(id: string): {createRequire(from: string): NodeRequireLike}|undefined;
}

function nodeProcess(): NodeProcessLike|null {
  const proc = (globalThis as {process?: NodeProcessLike}).process;
  return proc?.versions?.node != null ? proc : null;
}

export function isNode(): boolean {
  return nodeProcess() != null;
}

/**
 * A `require` in Node, null in a browser: the module's own in the CommonJS build; in the ES
 * module build one resolving from the working directory (Node >= 20.16 has getBuiltinModule).
 */
function nodeRequire(): NodeRequireLike|null {
  const proc = nodeProcess();
  if (proc == null) {
    return null;
  }
  if (typeof require === 'function' && typeof require.resolve === 'function') {
    return require;
  }
  const moduleApi = proc.getBuiltinModule?.('module');
  return moduleApi == null ? null : moduleApi.createRequire(`${proc.cwd()}/`);
}
