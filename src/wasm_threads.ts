/**
 * Both cores in Node: starting tfjs-backend-wasm's threaded build, for
 * `useBestBackend({wasmThreads: N})` (src/backends.ts).
 *
 * tfjs-backend-wasm ships a threaded build (Web Workers over a shared wasm memory, XNNPACK's
 * thread pool) but never uses it in Node. Four things stand in the way, and each is handled here
 * for the duration of the backend's start only, without changing a file of the installed package:
 *
 * 1. The backend turns threads off in Node (its `WASM_HAS_MULTITHREAD_SUPPORT` flag is false
 *    there): we set the flag.
 * 2. It creates the workers' script, and the script each worker loads the wasm module from, as
 *    Blob URLs, which Node's `Worker` rejects (ERR_WORKER_PATH). While it starts, `Blob` records
 *    the text it is given and `URL.createObjectURL` writes that text to a file in a fresh temp
 *    folder and returns the file's path. The workers' script gets a few lines at its end that
 *    point its `load` message at the module's file instead of the Blob it carries.
 * 3. The module's source, cut out of the package's Node bundle, refers to a few names the bundle
 *    defines around it (its `require`s of fs, path, perf_hooks and os, `commonjsGlobal`, three
 *    TypeScript helpers): their definitions are copied from the same bundle in front of it. A
 *    bundle `require$$N` the list does not name stops the threaded start with its name as the
 *    reason.
 * 4. The wasm code caps its thread pool at half the logical cores it sees (`os.cpus()`; one on a
 *    two-core machine): while it starts, `os.cpus()` reports 2 × N, so the cap is N.
 *
 * After the start, every worker is `unref()`ed, so a process that is done exits. This was written
 * against, and is tested with, the versions in {@link TESTED_WASM_VERSIONS}; any other version,
 * and any failure to start, falls back to the plain (one-thread) build with the reason logged.
 * Results are bitwise equal to the plain build's (XNNPACK splits the work, not the sums; the
 * tests check it on the layer's forward and backward).
 *
 * Node-only modules are reached through the `require` src/backends.ts passes in, so this file is
 * safe in the browser bundle.
 */
import * as tf from '@tensorflow/tfjs';

/** The tfjs-backend-wasm versions the threaded start was written for and tested with. */
export const TESTED_WASM_VERSIONS: readonly string[] = ['4.22.0'];

/** The most threads: the threaded build creates 8 workers, and its thread pool takes at most 8. */
export const MAX_WASM_THREADS = 8;

/** Gives up on a threaded start that has not finished after this long (ms). */
const START_TIMEOUT_MS = 60_000;

/** The names the module's source uses from its bundle (their definitions are copied from it). */
const BUNDLE_NAMES = ['require$$0', 'require$$1', 'require$$3', 'require$$4', 'commonjsGlobal',
                      '__values', '__read', '__spreadArray'];

/** How the threaded module's source starts (the backend prefixes the factory with it). */
const MODULE_PREFIX = 'var WasmBackendModuleThreadedSimd';

/** The part of tfjs-backend-wasm's exports used here. */
export interface WasmModuleExports {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm: string;
}

interface NodeRequire {
  (id: string): unknown;
  resolve(id: string): string;
}

/** The parts of Node's fs, os and path used here. */
interface NodeModules {
  fs: {
    readFileSync(path: string, encoding: 'utf8'): string;
    writeFileSync(path: string, text: string): void;
    mkdtempSync(prefix: string): string;
    rmSync(path: string, options: {recursive: boolean, force: boolean}): void;
  };
  os: {cpus(): unknown[], tmpdir(): string};
  path: {join(...parts: string[]): string};
}

/** A worker of the Emscripten thread pool (a Node worker_threads Worker). */
interface PoolWorker {
  unref(): void;
}

/** The Emscripten module's thread pool. */
interface PThreadPool {
  unusedWorkers: PoolWorker[];
  runningWorkers: PoolWorker[];
  allocateUnusedWorker(): void;
}

/**
 * Starts the wasm backend with `threads` threads (> 1). Returns null when it is running, else
 * the reason the threaded build was not started; then nothing is left changed and the caller
 * starts the plain build as usual. `wasm` is the loaded package's exports.
 */
export async function startThreadedWasm(threads: number, req: NodeRequire,
                                        wasm: WasmModuleExports): Promise<string|null> {
  if (!TESTED_WASM_VERSIONS.includes(wasm.version_wasm)) {
    return `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm} is not a version the ` +
           `threaded start was tested with (${TESTED_WASM_VERSIONS.join(', ')})`;
  }
  if (tf.findBackend('wasm') != null) {
    return 'the wasm backend was already started in this process (threads are chosen ' +
           'when it starts: call useBestBackend({wasmThreads}) before anything uses wasm)';
  }
  if (!sharedMemorySupported()) {
    return 'this Node has no shared WebAssembly memory (SharedArrayBuffer, Atomics)';
  }
  const node = {fs: req('fs'), os: req('os'), path: req('path')} as NodeModules;
  const definitions = bundleDefinitions(node.fs.readFileSync(req.resolve('@tensorflow/tfjs-backend-wasm'), 'utf8'));
  if (definitions.missing != null) {
    return `the package's Node bundle has no definition of ${definitions.missing}`;
  }
  const folder = node.fs.mkdtempSync(node.path.join(node.os.tmpdir(), 'tfjs-wasm-threads-'));
  (globalThis as {process?: {once(event: 'exit', f: () => void): void}}).process!.once(
      'exit', () => node.fs.rmSync(folder, {recursive: true, force: true}));
  const flags = tf.env();
  const restore = patchForStart(threads, node, folder, definitions.text);
  flags.set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  let started: boolean|string;
  try {
    started = await withTimeout(tf.setBackend('wasm'), START_TIMEOUT_MS);
  } catch (e) {
    started = `failed: ${(e as Error)?.message ?? String(e)}`;
  } finally {
    restore.undo();
  }
  if (started !== true || tf.getBackend() !== 'wasm') {
    flags.set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(-1);
    const why = restore.problem ?? (typeof started === 'string' ? started : `tf.setBackend('wasm') returned false`);
    return `the threaded build did not start (${why})`;
  }
  unrefWorkers((tf.backend() as unknown as {wasm: {PThread: PThreadPool}}).wasm.PThread);
  return null;
}

/** Whether WebAssembly memory can be shared between threads here. */
function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') {
    return false;
  }
  try {
    // A module with one shared memory of 1 page (min 1, max 1): valid only where threads are.
    return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 3, 1, 1]));
  } catch {
    return false;
  }
}

/** The bundle's definitions of {@link BUNDLE_NAMES}, one after another, or the name it lacks. */
function bundleDefinitions(bundle: string): {text: string, missing?: never}|{missing: string} {
  const found: string[] = [];
  for (const name of BUNDLE_NAMES) {
    const escaped = name.replace(/\$/g, '\\$');
    // A one-line `var name = ...;`, or a `function name(...) {` up to its closing `}` line.
    const definition = new RegExp(`^var ${escaped} = [^\\n]*;$`, 'm').exec(bundle) ??
                       new RegExp(`^function ${escaped}\\([^]*?\\n\\}$`, 'm').exec(bundle);
    if (definition == null) {
      return {missing: name};
    }
    found.push(definition[0]);
  }
  return {text: found.join('\n')};
}

/**
 * Replaces `Blob`, `URL.createObjectURL` and `os.cpus` as the module describes, until `undo()`.
 * `problem` says what went wrong in them, if anything did.
 */
function patchForStart(threads: number, node: NodeModules, folder: string, definitions: string):
    {undo(): void, readonly problem: string|null} {
  const {fs, os, path} = node;
  const OriginalBlob = globalThis.Blob;
  const originalCreate = URL.createObjectURL;
  const originalCpus = os.cpus;
  let problem: string|null = null;
  let modulePath: string|null = null;
  let workerPath: string|null = null;
  const recorded = new WeakMap<Blob, string>();

  class RecordingBlob extends OriginalBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      const text = parts != null && parts.every(p => typeof p === 'string') ? parts.join('') : null;
      if (text == null) {
        return;
      }
      recorded.set(this, text);
      if (text.startsWith(MODULE_PREFIX)) {
        const unknown = unknownBundleNames(text);
        if (unknown.length) {
          // Thrown inside the backend's start, before any worker loads the module: the start
          // fails and the plain build runs.
          problem = `its module uses names of the bundle not defined here: ${unknown.join(', ')}`;
          throw new Error(problem);
        }
        modulePath = path.join(folder, 'module.cjs');
        fs.writeFileSync(modulePath, `${definitions}\nvar _scriptDir = ${JSON.stringify(modulePath)};\n${text}\n`);
      }
    }
  }
  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = (blob: Blob) => {
    const text = recorded.get(blob);
    if (text == null || modulePath == null) {
      return originalCreate(blob);
    }
    if (workerPath != null) {
      // Asked once per worker: written once, since a rewrite could be read half-written by a
      // worker that is starting.
      return workerPath;
    }
    // The workers' script: its `load` message carries the module as a Blob; give it the file.
    workerPath = path.join(folder, 'worker.cjs');
    fs.writeFileSync(workerPath, `${text}\n;(function () {\n  var onLoad = self.onmessage;\n` +
        `  self.onmessage = function (e) {\n` +
        `    if (e.data && e.data.cmd === 'load' && typeof e.data.urlOrBlob !== 'string') {\n` +
        `      e.data.urlOrBlob = ${JSON.stringify(modulePath)};\n    }\n` +
        `    return onLoad(e);\n  };\n})();\n`);
    return workerPath;
  };
  os.cpus = () => {
    const cpus = originalCpus();
    return Array.from({length: 2 * threads}, (_, i) => cpus[i % Math.max(1, cpus.length)]);
  };
  return {
    get problem() {
      return problem;
    },
    undo() {
      globalThis.Blob = OriginalBlob;
      URL.createObjectURL = originalCreate;
      os.cpus = originalCpus;
    },
  };
}

/** Names like `require$$7` in the module's source that {@link BUNDLE_NAMES} does not define. */
function unknownBundleNames(source: string): string[] {
  const names = new Set(source.match(/require\$\$\d+/g) ?? []);
  return [...names].filter(n => !BUNDLE_NAMES.includes(n));
}

/** Lets the process exit while the pool's workers wait, now and for workers made later. */
function unrefWorkers(pool: PThreadPool): void {
  for (const worker of [...pool.unusedWorkers, ...pool.runningWorkers]) {
    worker.unref();
  }
  const allocate = pool.allocateUnusedWorker.bind(pool);
  pool.allocateUnusedWorker = () => {
    allocate();
    pool.unusedWorkers[pool.unusedWorkers.length - 1]?.unref();
  };
}

/**
 * `promise`'s value, or a reason string if it takes longer than `ms`. The timer also keeps the
 * process alive meanwhile: the start waits for messages from workers that do not hold the event
 * loop open, so without it Node may exit in the middle of the start, with nothing printed.
 */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T|string> {
  let timer: ReturnType<typeof setTimeout>|undefined;
  const late = new Promise<string>(resolve => {
    timer = setTimeout(() => resolve(`it had not started after ${ms / 1000} s`), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
