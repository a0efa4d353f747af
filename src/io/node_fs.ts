/**
 * Node's `fs/promises`, `path`, `crypto` and `os`, reached only when a file is actually read or
 * written, so that the package still loads in a browser and its ESM bundle has no top-level
 * `import 'fs'`.
 *
 * Node ≥ 20.16 hands built-ins out synchronously through `process.getBuiltinModule`; older Node
 * gets them through a dynamic `import()` whose specifier is a variable, which bundlers (esbuild,
 * webpack, vite) leave alone instead of trying to resolve `fs` for the browser.
 */

/** The part of `fs/promises` this package uses. */
export interface NodeFsPromises {
  readFile(path: string): Promise<Uint8Array>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  open(path: string, flags: string|number, mode?: number): Promise<NodeFileHandle>;
  mkdir(path: string, options?: {recursive?: boolean}): Promise<string|undefined>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options?: {recursive?: boolean, force?: boolean}): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<NodeStats>;
  lstat(path: string): Promise<NodeStats>;
  realpath(path: string): Promise<string>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  link(existing: string, created: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  cp(from: string, to: string, options: {recursive: boolean}): Promise<void>;
}

/** The part of `fs.promises.FileHandle` this package uses. */
export interface NodeFileHandle {
  writeFile(data: Uint8Array|string): Promise<void>;
  read(buffer: Uint8Array, offset: number, length: number, position: number):
      Promise<{bytesRead: number}>;
  stat(): Promise<NodeStats>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The flags of `fs.constants` this package uses (O_NOFOLLOW and O_NONBLOCK are absent on Windows). */
export interface NodeFsConstants {
  O_RDONLY: number;
  O_NOFOLLOW?: number;
  O_NONBLOCK?: number;
}

/** The part of `fs.Stats` this package uses. */
export interface NodeStats {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
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
  relative(from: string, to: string): string;
  isAbsolute(path: string): boolean;
  sep: string;
}

/** The part of `crypto` this package uses. */
export interface NodeCrypto {
  createHash(algorithm: 'sha256'): {update(data: Uint8Array): unknown, digest(encoding: 'hex'): string};
}

/** The part of `os` this package uses. */
export interface NodeOs {
  hostname(): string;
}

export interface NodeModules {
  fs: NodeFsPromises;
  constants: NodeFsConstants;
  path: NodePath;
  crypto: NodeCrypto;
  os: NodeOs;
}

interface NodeProcess {
  versions?: {node?: string};
  getBuiltinModule?: (name: string) => unknown;
  pid: number;
  platform: string;
  cwd(): string;
  kill(pid: number, signal: number): boolean;
}

/** The `code` of a Node error ('ENOENT', 'EACCES', …), or undefined. */
export function code(e: unknown): string|undefined {
  return (e as {code?: string})?.code;
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

/** Node's `fs/promises`, `fs.constants`, `path`, `crypto` and `os`; rejects with a clear message outside Node. */
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
  type FsModule = {promises: NodeFsPromises, constants: NodeFsConstants};
  if (typeof proc.getBuiltinModule === 'function') {
    const fs = proc.getBuiltinModule('fs') as FsModule;
    return {fs: fs.promises, constants: fs.constants, path: proc.getBuiltinModule('path') as NodePath,
            crypto: proc.getBuiltinModule('crypto') as NodeCrypto,
            os: proc.getBuiltinModule('os') as NodeOs};
  }
  // A variable specifier: bundlers do not follow it. TypeScript's CommonJS output turns this
  // into require(); in the ESM bundle it stays a real dynamic import.
  const names = ['fs', 'path', 'crypto', 'os'];
  const [fsModule, path, crypto, os] = await Promise.all(
      names.map(name => import(/* webpackIgnore: true */ /* @vite-ignore */ name)));
  const fs = (fsModule.promises != null ? fsModule : fsModule.default) as FsModule;
  return {fs: fs.promises, constants: fs.constants, path: (path.default ?? path) as NodePath,
          crypto: (crypto.default ?? crypto) as NodeCrypto, os: (os.default ?? os) as NodeOs};
}
