/**
 * Reading a model's own files, and nothing else. A model file names other files (the
 * `weightsManifest.paths` of a model.json, the shards of a converted model); those names come
 * from the file, not from the user, so each is checked before a byte is read:
 *
 * - it is a relative path that stays inside the model's folder (`../x`, `/etc/x`, `C:\x` and
 *   empty names are refused without looking at the disk, so nothing about other files leaks);
 * - no part of it inside the folder is a symbolic link (each folder on the way is lstat'ed, the
 *   file is opened with O_NOFOLLOW), and it is a regular file, not a folder, FIFO, device or
 *   socket (`/dev/zero` would read forever; O_NONBLOCK keeps a FIFO from hanging the open);
 * - its size, from fstat of the opened file, is the one the caller expects (e.g. what the
 *   manifest's shapes and dtypes imply), for every file before any is read;
 * - exactly that many bytes are read, and the file must not change meanwhile;
 * - when the caller has a SHA-256 for it, the bytes must have that hash.
 *
 * Any failure is an Error that names the entry as the model lists it and the folder.
 * The folder itself is the caller's (the user's) choice and may be a symbolic link.
 */
import {code, NodeFileHandle, NodeModules, nodeModules, NodeStats} from './node_fs';
import {isSha256Hex, sha256Mismatch} from './sha256';

/** What {@link readModelFiles} checks besides confinement. Every field is optional. */
export interface ReadModelFilesOptions {
  /**
   * Bytes each file must have, in the order of `names`; `null` (or a missing entry) checks
   * none for that file. Default: no per-file sizes.
   */
  sizes?: Array<number|null>|undefined;
  /**
   * Bytes the files must have together (a weights group split into shards knows only its
   * total). Checked from their sizes before any is read. Default: not checked.
   */
  totalBytes?: number|undefined;
  /**
   * Largest size accepted for any one file whose size is not otherwise known (e.g. a model.json,
   * or weights with string dtype). Default: no limit.
   */
  maxBytes?: number|undefined;
  /** SHA-256 (hex) each file must have, in the order of `names`; `null` checks none. */
  sha256?: Array<string|null>|undefined;
  /**
   * Where the names come from, for error messages, e.g. '/models/x/model.json'. Default: the
   * folder.
   */
  listedIn?: string|undefined;
  /** How errors describe the expected sizes, e.g. 'its weightsManifest describes'. Default 'expected'. */
  sizeSource?: string|undefined;
}

/** Error of {@link readModelFiles}: `entry` is the name as the model listed it. */
export class ModelFileError extends Error {
  readonly entry: string;
  readonly reason: 'outside'|'link'|'missing'|'not-a-file'|'size'|'changed'|'sha256';
  constructor(message: string, entry: string, reason: ModelFileError['reason']) {
    super(message);
    this.name = 'ModelFileError';
    this.entry = entry;
    this.reason = reason;
  }
}


function kindOf(stats: NodeStats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads files of a model, each confined to `folder` and checked as the module comment says,
 * and returns their bytes in the order of `names`. Nothing is read until every file has passed
 * the checks that need no reading (place, kind, sizes).
 *
 * @param folder The model's folder (the folder of its model.json, or of a `.keras` file).
 * @param names Paths relative to `folder`, as the model lists them ('weights.bin',
 *   'group1-shard1of2.bin', './x.bin', 'sub/x.bin').
 * @param options Expected sizes and hashes, and how errors name the source.
 *
 * ```ts
 * // A weights group of two shards holding 1000 float32 values:
 * const [a, b] = await readModelFiles('/models/x', ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
 *                                     {totalBytes: 4000, listedIn: '/models/x/model.json'});
 * ```
 */
export async function readModelFiles(folder: string, names: string[],
                                     options: ReadModelFilesOptions = {}): Promise<Uint8Array[]> {
  const node = await nodeModules();
  const root = await checkFolder(node, folder, options.listedIn);
  const listedIn = options.listedIn ?? root;
  const files: OpenFile[] = [];
  try {
    for (const name of names) {
      const path = confinedPath(node, root, name, listedIn);
      files.push(await openModelFile(node, root, name, path, listedIn));
    }
    checkSizes(files, options, listedIn);
    const data: Uint8Array[] = [];
    for (const [i, file] of files.entries()) {
      const bytes = await readExactly(file, listedIn);
      const expected = options.sha256?.[i];
      const mismatch = expected == null ? null :
          await sha256Mismatch(bytes, expected, listedIn, file.path);
      if (mismatch !== null) {
        throw new ModelFileError(mismatch, file.name, 'sha256');
      }
      data.push(bytes);
    }
    return data;
  } finally {
    await Promise.all(files.map(f => f.handle.close()));
  }
}

/**
 * Reads one file that the user named (a `.keras` archive, a model.json): symbolic links are
 * followed, since the user chose the path, but it must be a regular file (a FIFO or a device is
 * refused without blocking), at most `maxBytes` long when given, and is read exactly, as
 * {@link readModelFiles} reads.
 */
export async function readUserFile(path: string, options: {maxBytes?: number} = {}):
    Promise<Uint8Array> {
  const node = await nodeModules();
  const {O_RDONLY, O_NONBLOCK = 0} = node.constants;
  let handle: NodeFileHandle;
  try {
    handle = await node.fs.open(path, O_RDONLY | O_NONBLOCK);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') {
      throw new ModelFileError(`Cannot load ${path}: the file does not exist.`, path, 'missing');
    }
    throw e;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new ModelFileError(`Cannot load ${path}: it is ${kindOf(stats)}, not a file.`, path,
                               'not-a-file');
    }
    if (options.maxBytes !== undefined && stats.size > options.maxBytes) {
      throw new ModelFileError(`Cannot load ${path}: it has ${stats.size} bytes, more than the ` +
                               `${options.maxBytes} accepted.`, path, 'size');
    }
    return await readExactly({name: path, path, handle, stats}, path);
  } finally {
    await handle.close();
  }
}

/** A file opened for reading, with what fstat said when it was opened. */
interface OpenFile {
  /** As the model lists it. */
  name: string;
  path: string;
  handle: NodeFileHandle;
  stats: NodeStats;
}

/** `folder`, absolute; an error naming it when it is not a folder (it may be a link to one). */
async function checkFolder(node: NodeModules, folder: string, listedIn?: string): Promise<string> {
  const where = listedIn ?? folder;
  const root = node.path.resolve(folder);
  let stats: NodeStats;
  try {
    stats = await node.fs.stat(root);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') {
      throw new ModelFileError(`Cannot load ${where}: the folder ${folder} does not exist.`, folder,
                               'missing');
    }
    throw e;
  }
  if (!stats.isDirectory()) {
    throw new ModelFileError(`Cannot load ${where}: ${folder} is not a folder.`, folder,
                             'not-a-file');
  }
  return root;
}

/** The absolute path of `name` inside `root`, or an error when it would leave it. */
function confinedPath(node: NodeModules, root: string, name: string, listedIn: string): string {
  const outside = () => new ModelFileError(
      `${listedIn} lists the file ${JSON.stringify(name)}, which is outside the model's folder ` +
      `${root}. A model may only read files inside its own folder.`, name, 'outside');
  // Checked as text first: nothing outside the folder is looked at. Resolving removes every
  // "..", so the path opened below has none for the operating system to follow.
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0') ||
      node.path.isAbsolute(name) || /^[a-zA-Z]:/.test(name) || name.startsWith('\\')) {
    throw outside();
  }
  const path = node.path.resolve(root, name);
  const relative = node.path.relative(root, path);
  if (relative === '' || relative === '..' || relative.startsWith(`..${node.path.sep}`) ||
      node.path.isAbsolute(relative)) {
    throw outside();
  }
  return path;
}

/**
 * Opens `path` (inside `root`) for reading: no folder between `root` and it may be a link (lstat
 * each), the file itself is opened with O_NOFOLLOW (a link fails) and O_NONBLOCK (a FIFO does
 * not hang), and fstat must say it is a regular file. Where O_NOFOLLOW does not exist
 * (Windows), an lstat just before opening stands in for it.
 */
async function openModelFile(node: NodeModules, root: string, name: string, path: string,
                             listedIn: string): Promise<OpenFile> {
  const missing = () => new ModelFileError(
      `Cannot load ${listedIn}: the file ${path} that it lists as ${JSON.stringify(name)} does ` +
      'not exist.', name, 'missing');
  const link = (part: string) => new ModelFileError(
      `Cannot load ${listedIn}: ${part}, part of the file it lists as ${JSON.stringify(name)}, ` +
      'is a symbolic link. A model\'s files must be regular files inside its folder (link the ' +
      'whole folder instead).', name, 'link');
  const notFile = (part: string, stats: NodeStats) => new ModelFileError(
      `Cannot load ${listedIn}: ${part}, listed as ${JSON.stringify(name)}, is ` +
      `${kindOf(stats)}; a model's files must be regular files.`, name, 'not-a-file');
  const lstat = async (part: string) => {
    try {
      return await node.fs.lstat(part);
    } catch (e) {
      throw code(e) === 'ENOENT' || code(e) === 'ENOTDIR' ? missing() : e;
    }
  };
  let current = root;
  for (const part of node.path.relative(root, path).split(node.path.sep).slice(0, -1)) {
    current = node.path.join(current, part);
    const stats = await lstat(current);
    if (stats.isSymbolicLink()) {
      throw link(current);
    }
    if (!stats.isDirectory()) {
      throw notFile(current, stats);
    }
  }
  const {O_RDONLY, O_NOFOLLOW, O_NONBLOCK = 0} = node.constants;
  if (O_NOFOLLOW === undefined && (await lstat(path)).isSymbolicLink()) {
    throw link(path);
  }
  let handle: NodeFileHandle;
  try {
    handle = await node.fs.open(path, O_RDONLY | (O_NOFOLLOW ?? 0) | O_NONBLOCK);
  } catch (e) {
    if (code(e) === 'ELOOP') {
      throw link(path);
    }
    throw code(e) === 'ENOENT' || code(e) === 'ENOTDIR' ? missing() : e;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw notFile(path, stats);
    }
    return {name, path, handle, stats};
  } catch (e) {
    await handle.close();
    throw e;
  }
}

function checkSizes(files: OpenFile[], options: ReadModelFilesOptions, listedIn: string): void {
  const source = options.sizeSource ?? 'expected';
  const mismatch = (where: string, entry: string, actual: number, expected: number, together = false) =>
      new ModelFileError(
          `Cannot load ${listedIn}: ${where} ${together ? 'have' : 'has'} ${actual} bytes, ` +
          `${actual < expected ? 'shorter' : 'longer'} than the ` +
          `${Number.isFinite(expected) ? expected : 'more'} bytes ${source}.`, entry, 'size');
  files.forEach((file, i) => {
    const expected = options.sizes?.[i];
    if (expected != null && file.stats.size !== expected) {
      throw mismatch(file.path, file.name, file.stats.size, expected);
    }
    if (expected == null && options.totalBytes === undefined && options.maxBytes !== undefined &&
        file.stats.size > options.maxBytes) {
      throw new ModelFileError(`Cannot load ${listedIn}: ${file.path} has ${file.stats.size} ` +
                               `bytes, more than the ${options.maxBytes} accepted.`, file.name,
                               'size');
    }
  });
  if (options.totalBytes !== undefined) {
    const total = files.reduce((n, f) => n + f.stats.size, 0);
    if (total !== options.totalBytes) {
      const where = files.length === 1 ? files[0]!.path :
          `the files ${files.map(f => f.path).join(', ')} together`;
      throw mismatch(where, files.map(f => f.name).join(', '), total, options.totalBytes,
                     files.length > 1);
    }
  }
  options.sha256?.forEach((hash, i) => {
    if (hash != null && !isSha256Hex(hash)) {
      throw new ModelFileError(`${listedIn}: the SHA-256 recorded for ${files[i]?.path} must be ` +
                               `64 hex digits. Received: ${JSON.stringify(hash)}`,
                               files[i]?.name ?? '', 'sha256');
    }
  });
}

/** Reads exactly the size fstat gave when `file` was opened; an error if it changes meanwhile. */
async function readExactly(file: OpenFile, listedIn: string): Promise<Uint8Array> {
  const changed = () => new ModelFileError(
      `Cannot load ${listedIn}: ${file.path} changed while it was read; load again once it is ` +
      'complete.', file.name, 'changed');
  const data = new Uint8Array(file.stats.size);
  let offset = 0;
  while (offset < data.length) {
    const {bytesRead} = await file.handle.read(data, offset, data.length - offset, offset);
    if (bytesRead === 0) {
      throw changed();  // cut short meanwhile
    }
    offset += bytesRead;
  }
  const after = await file.handle.stat();
  if (after.size !== file.stats.size || after.mtimeMs !== file.stats.mtimeMs) {
    throw changed();
  }
  return data;
}
