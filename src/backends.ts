/**
 * Picking a backend once, at the start of an application: `await useBestBackend()`.
 *
 * In Node it tries `tensorflow` (tfjs-node, when the user installed it), then `wasm` (from the
 * installed @tensorflow/tfjs-backend-wasm, its .wasm files read from disk, no network), then
 * `cpu`. In a browser it tries `webgpu`, `webgl`, `wasm`, `cpu` among the backends the page has
 * registered (import '@tensorflow/tfjs-backend-wasm' or '-webgpu' yourself; call their
 * `setWasmPaths` yourself there). The layer never picks a backend itself.
 *
 * `wasmThreads: N` starts the wasm backend's threaded build in Node (src/wasm_threads.ts).
 *
 * This file has no static Node-only import, so it is safe in the browser bundle: Node modules are
 * loaded through a `require` obtained at run time, only when running in Node.
 */
import * as tf from '@tensorflow/tfjs';

import {MAX_WASM_THREADS, startThreadedWasm, WasmModuleExports} from './wasm_threads';

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
  /**
   * Node only: threads for the wasm backend's kernels, 1 to 8. Above 1, the threaded build of
   * @tensorflow/tfjs-backend-wasm is started (tested with 4.22.0; matMul-heavy work gains most);
   * if it cannot start, the plain build runs with 1 thread and the reason is in the log line
   * and in `wasmThreadsNote`. Results are bitwise equal to 1 thread's. Only the first start of
   * wasm in a process can choose. Default 1.
   */
  wasmThreads?: number;
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
  /** In Node on wasm: the threads its kernels use. */
  wasmThreads?: number;
  /** Why `wasmThreads` is less than was asked for, when it is. */
  wasmThreadsNote?: string;
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
  const threads = args.wasmThreads === undefined ? 1 : args.wasmThreads;
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= MAX_WASM_THREADS)) {
    throw new Error(`useBestBackend: wasmThreads must be an integer from 1 to ${MAX_WASM_THREADS}. ` +
                    `Received: wasmThreads=${JSON.stringify(args.wasmThreads)}`);
  }
  const skipped: BackendChoice['skipped'] = [];
  const threading: Threading = {asked: threads, note: null};
  for (const backend of order) {
    const reason = await tryBackend(backend, req, args.wasmPaths, threading);
    if (reason == null) {
      const choice: BackendChoice = {backend, skipped};
      const inUse = backend === 'wasm' && req != null ? wasmThreadsInUse(req) : undefined;
      if (inUse != null) {
        choice.wasmThreads = inUse;
      }
      if (threads > 1 && choice.wasmThreads !== threads) {
        choice.wasmThreadsNote = `wasmThreads: ${threads} not used: ${threading.note ??
            (backend === 'wasm' ? `the wasm build started with ${choice.wasmThreads} thread(s)` :
                                  `the chosen backend is '${backend}', not wasm`)}`;
      }
      const notes = [...skipped.map(s => `${s.backend}: ${s.reason}`),
                     ...(choice.wasmThreadsNote != null ? [choice.wasmThreadsNote] : [])];
      const threadsText = choice.wasmThreads != null && choice.wasmThreads > 1 ? ` with ${choice.wasmThreads} threads` : '';
      args.log?.(`tfjs-self-attention: using the '${backend}' backend${threadsText}` +
                 (notes.length ? ` (${notes.join('; ')})` : ''));
      return choice;
    }
    skipped.push({backend, reason});
  }
  throw new Error(`useBestBackend: no backend of [${order}] could be started: ${
      skipped.map(s => `${s.backend}: ${s.reason}`).join('; ')}`);
}

/** The wasm backend's threads, if the package `req` loads is the one that started it. */
function wasmThreadsInUse(req: NodeRequireLike): number|undefined {
  try {
    return wasmExports(req).getThreadsCount();
  } catch {
    return undefined;  // started from another copy (e.g. the page's own import)
  }
}

/** tfjs-backend-wasm's exports, as `req` loads them. */
function wasmExports(req: NodeRequireLike): WasmModuleExports {
  return req('@tensorflow/tfjs-backend-wasm') as WasmModuleExports;
}

/** Threads asked for the wasm backend, and why the threaded build was not used (if not). */
interface Threading {
  asked: number;
  note: string|null;
}

/** null when `backend` is now active, else why not. */
async function tryBackend(backend: string, req: NodeRequireLike|null, wasmPaths: string|undefined,
                          threading: Threading): Promise<string|null> {
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
    if (backend === 'wasm' && threading.asked > 1) {
      if (req == null) {
        threading.note = 'threads are started in Node only (in a browser tfjs-backend-wasm uses ' +
                         'them by itself on a cross-origin isolated page)';
      } else {
        threading.note = await startThreadedWasm(threading.asked, req, wasmExports(req));
        if (threading.note == null) {
          return null;
        }
        // Not started: the plain build, below.
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
