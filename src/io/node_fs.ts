/**
 * Node's `fs/promises` and `path`, reached only when a file is actually read or written, so that
 * the package still loads in a browser and its ESM bundle has no top-level `import 'fs'`.
 *
 * Node ≥ 20.16 hands built-ins out synchronously through `process.getBuiltinModule`; older Node
 * gets them through a dynamic `import()` whose specifier is a variable, which bundlers (esbuild,
 * webpack, vite) leave alone instead of trying to resolve `fs` for the browser.
 */

/** The part of `fs/promises` this package uses. */
export interface NodeFsPromises {
  readFile(path: string): Promise<Uint8Array>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  open(path: string, flags: string): Promise<NodeFileHandle>;
  mkdir(path: string, options?: {recursive?: boolean}): Promise<string|undefined>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options?: {recursive?: boolean, force?: boolean}): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<NodeStats>;
  link(existing: string, created: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  cp(from: string, to: string, options: {recursive: boolean}): Promise<void>;
}

/** The part of `fs.promises.FileHandle` this package uses. */
export interface NodeFileHandle {
  writeFile(data: Uint8Array|string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The part of `fs.Stats` this package uses. */
export interface NodeStats {
  isFile(): boolean;
  isDirectory(): boolean;
  size: number;
  ino: number;
  dev: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

/** The part of `path` this package uses. */
export interface NodePath {
  resolve(...paths: string[]): string;
  join(...paths: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
}

export interface NodeModules {
  fs: NodeFsPromises;
  path: NodePath;
}

interface NodeProcess {
  versions?: {node?: string};
  getBuiltinModule?: (name: string) => unknown;
  pid: number;
  kill(pid: number, signal: number): boolean;
}

/** `process` when running under Node, else undefined. */
export function nodeProcess(): NodeProcess|undefined {
  const p = (globalThis as {process?: NodeProcess}).process;
  return p?.versions?.node != null ? p : undefined;
}

/** True under Node.js (also Electron's main process, Deno/Bun in Node mode). */
export function isNode(): boolean {
  return nodeProcess() !== undefined;
}

let cached: Promise<NodeModules>|undefined;

/** Node's `fs/promises` and `path`; rejects with a clear message outside Node. */
export function nodeModules(): Promise<NodeModules> {
  cached ??= load();
  return cached;
}

async function load(): Promise<NodeModules> {
  const proc = nodeProcess();
  if (proc === undefined) {
    throw new Error('file:// paths need Node.js (the fs module). In a browser, save to ' +
                    `'indexeddb://name', 'localstorage://name' or 'downloads://name', and load ` +
                    'over http(s).');
  }
  if (typeof proc.getBuiltinModule === 'function') {
    const fs = proc.getBuiltinModule('fs') as {promises: NodeFsPromises};
    return {fs: fs.promises, path: proc.getBuiltinModule('path') as NodePath};
  }
  // A variable specifier: bundlers do not follow it. TypeScript's CommonJS output turns this
  // into require(); in the ESM bundle it stays a real dynamic import.
  const fsName = 'fs';
  const pathName = 'path';
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsName);
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ pathName);
  return {fs: (fs.promises ?? fs.default.promises) as NodeFsPromises,
          path: (path.default ?? path) as NodePath};
}
