/**
 * Replacing a folder of files so that a process killed at any moment leaves either the old
 * folder or the new one, complete, never a mixture or a half-written folder under the target
 * name.
 *
 * Names used beside the target `<parent>/<name>` (hidden, so they stay out of the way):
 * - `.<name>.tmp-<pid>-<id>`: the new folder while it is written. May be incomplete.
 * - `.<name>.old-<pid>-<id>`: the previous target, moved aside by one atomic rename. Always a
 *   complete folder: it is only ever created by renaming the committed target.
 * - `.<name>.trash-<pid>-<id>`: a folder being deleted. May be incomplete; never read.
 *
 * Save: write everything into `tmp` (fsync each file, then the folder); if the target exists,
 * rename target → `old`, rename `tmp` → target, rename `old` → `trash`, delete `trash`;
 * otherwise rename `tmp` → target. Each rename is atomic on one file system, and the parent
 * folder is fsynced after each, so the states a kill can leave are:
 *
 * | killed …                           | target   | beside it                   |
 * | ---------------------------------- | -------- | --------------------------- |
 * | while writing `tmp`                | old      | partial `tmp`               |
 * | between the two renames            | (absent) | complete `old` (+ `tmp`)    |
 * | after the new folder is in place   | new      | `old` or partial `trash`    |
 *
 * Readers take the target, or, when it is absent, the newest `old` beside it (the previous
 * model: the interrupted save never completed). The next save to the same target first puts that
 * `old` back (if the target is absent) and deletes what dead processes left behind.
 * One writer per target at a time; readers may run at any time.
 */
import {NodeModules, nodeModules, nodeProcess} from './node_fs';

/** One file of the folder. */
export interface FolderFile {
  name: string;
  data: Uint8Array|string;
}

/** Steps of an atomic save (`writeFolderAtomically`), reported to `onStep` / `onSaveStep` (kill tests). */
export type AtomicStep = 'cleaned'|'created-tmp'|'wrote-file'|'synced-tmp'|'moved-old'|
    'moved-new'|'trashed-old'|'done';

export interface AtomicWriteOptions {
  /**
   * Files or folders already in the target that the new folder keeps (hard-linked or copied
   * into it before the swap). Default: keep nothing.
   */
  keep?: ((name: string) => boolean)|undefined;
  /** Called after each step; tests use it to kill the process at an exact point. */
  onStep?: ((step: AtomicStep, detail?: string) => void)|undefined;
}

const TMP = 'tmp';
const OLD = 'old';
const TRASH = 'trash';

function siblingName(name: string, kind: string, pid: number, id: string): string {
  return `.${name}.${kind}-${pid}-${id}`;
}

interface Sibling {
  entry: string;
  kind: string;
  pid: number;
}

function parseSibling(name: string, entry: string): Sibling|null {
  const prefix = `.${name}.`;
  if (!entry.startsWith(prefix)) {
    return null;
  }
  const match = /^(tmp|old|trash)-(\d+)-[0-9a-z]+$/.exec(entry.slice(prefix.length));
  return match == null ? null : {entry, kind: match[1]!, pid: Number(match[2])};
}

function randomId(): string {
  return Math.floor(Math.random() * 2 ** 48).toString(36);
}

function isAlive(pid: number): boolean {
  const proc = nodeProcess()!;
  if (pid === proc.pid) {
    return true;
  }
  try {
    proc.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as {code?: string}).code === 'EPERM';  // exists, owned by someone else
  }
}

function code(e: unknown): string|undefined {
  return (e as {code?: string})?.code;
}

async function exists(node: NodeModules, path: string): Promise<boolean> {
  try {
    await node.fs.stat(path);
    return true;
  } catch (e) {
    if (code(e) === 'ENOENT') {
      return false;
    }
    throw e;
  }
}

/** fsync a folder so that renames in it survive a power cut (not possible on Windows). */
async function syncFolder(node: NodeModules, path: string): Promise<void> {
  let handle;
  try {
    handle = await node.fs.open(path, 'r');
    await handle.sync();
  } catch (e) {
    if (!['EPERM', 'EISDIR', 'EINVAL', 'EBADF', 'EACCES'].includes(code(e) ?? '')) {
      throw e;
    }
  } finally {
    await handle?.close();
  }
}

async function writeSynced(node: NodeModules, path: string, data: Uint8Array|string):
    Promise<void> {
  const handle = await node.fs.open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The committed folder for `target`: the target itself, or, when a save was interrupted between
 * its two renames, the previous folder kept beside it. Null when neither exists.
 */
export async function committedFolder(target: string):
    Promise<{folder: string, recovered: boolean}|null> {
  // A save that finishes between our two looks (target missing, then its old folder already
  // deleted) has put the new folder in place: look again before answering "none".
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = await lookForCommittedFolder(target);
    if (found !== undefined) {
      return found;
    }
  }
  return null;
}

/** The folder to read, null when there is certainly none, undefined when a save raced us. */
async function lookForCommittedFolder(target: string):
    Promise<{folder: string, recovered: boolean}|null|undefined> {
  const node = await nodeModules();
  try {
    const stats = await node.fs.stat(target);
    return stats.isDirectory() ? {folder: target, recovered: false} : null;
  } catch (e) {
    if (code(e) !== 'ENOENT') {
      throw e;
    }
  }
  const parent = node.path.dirname(target);
  const name = node.path.basename(target);
  let entries: string[];
  try {
    entries = await node.fs.readdir(parent);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') {
      return null;
    }
    throw e;
  }
  let best: {folder: string, mtime: number}|null = null;
  for (const entry of entries) {
    if (parseSibling(name, entry)?.kind !== OLD) {
      continue;
    }
    const folder = node.path.join(parent, entry);
    try {
      const stats = await node.fs.stat(folder);
      if (stats.isDirectory() && (best == null || stats.mtimeMs > best.mtime)) {
        best = {folder, mtime: stats.mtimeMs};
      }
    } catch (e) {
      if (code(e) !== 'ENOENT') {  // removed meanwhile by a finishing save
        throw e;
      }
    }
  }
  if (best != null) {
    return {folder: best.folder, recovered: true};
  }
  return (await exists(node, target)) ? undefined : null;
}

/**
 * Puts back an interrupted save's previous folder when the target is missing, and deletes the
 * temporary, old and trash folders that dead processes left beside `target`.
 */
async function tidyUp(node: NodeModules, target: string): Promise<void> {
  const parent = node.path.dirname(target);
  const name = node.path.basename(target);
  const siblings = (await node.fs.readdir(parent))
                       .map(entry => parseSibling(name, entry))
                       .filter((s): s is Sibling => s != null && !isAlive(s.pid));
  if (!(await exists(node, target))) {
    const committed = await committedFolder(target);
    if (committed?.recovered) {
      await node.fs.rename(committed.folder, target);
      await syncFolder(node, parent);
    }
  }
  for (const sibling of siblings) {
    let path = node.path.join(parent, sibling.entry);
    if (!(await exists(node, path))) {
      continue;  // the one just put back
    }
    if (sibling.kind !== TRASH) {  // first make it unreadable as a model, then delete it
      const trash = node.path.join(parent, siblingName(name, TRASH, nodeProcess()!.pid, randomId()));
      await node.fs.rename(path, trash);
      path = trash;
    }
    await node.fs.rm(path, {recursive: true, force: true});
  }
}

async function keepEntries(node: NodeModules, from: string, to: string,
                           keep: (name: string) => boolean): Promise<void> {
  for (const entry of await node.fs.readdir(from)) {
    if (!keep(entry)) {
      continue;
    }
    const source = node.path.join(from, entry);
    const destination = node.path.join(to, entry);
    const fs = node.fs;
    if ((await node.fs.stat(source)).isDirectory()) {
      await fs.cp(source, destination, {recursive: true});
    } else {
      try {
        await fs.link(source, destination);
      } catch {
        await fs.copyFile(source, destination);
      }
    }
  }
}

/**
 * Writes `files` as the folder `target`, replacing what is there atomically (see the module
 * comment). Entries of an existing target that `options.keep` accepts are carried over.
 */
export async function writeFolderAtomically(target: string, files: FolderFile[],
                                            options: AtomicWriteOptions = {}): Promise<void> {
  const node = await nodeModules();
  const step = options.onStep ?? (() => undefined);
  const parent = node.path.dirname(target);
  const name = node.path.basename(target);
  const pid = nodeProcess()!.pid;
  await node.fs.mkdir(parent, {recursive: true});
  try {
    const stats = await node.fs.stat(target);
    if (!stats.isDirectory()) {
      throw new Error(`Cannot save to ${target}: it exists and is not a folder.`);
    }
  } catch (e) {
    if (code(e) !== 'ENOENT') {
      throw e;
    }
  }
  await tidyUp(node, target);
  step('cleaned');

  const tmp = node.path.join(parent, siblingName(name, TMP, pid, randomId()));
  let old: string|null = null;
  try {
    await node.fs.mkdir(tmp);
    step('created-tmp');
    for (const file of files) {
      await writeSynced(node, node.path.join(tmp, file.name), file.data);
      step('wrote-file', file.name);
    }
    const hadTarget = await exists(node, target);
    if (hadTarget && options.keep != null) {
      await keepEntries(node, target, tmp, options.keep);
    }
    await syncFolder(node, tmp);
    step('synced-tmp');
    if (hadTarget) {
      old = node.path.join(parent, siblingName(name, OLD, pid, randomId()));
      await node.fs.rename(target, old);
      await syncFolder(node, parent);
      step('moved-old');
    }
    await node.fs.rename(tmp, target);
    await syncFolder(node, parent);
    step('moved-new');
    if (old != null) {
      const trash = node.path.join(parent, siblingName(name, TRASH, pid, randomId()));
      await node.fs.rename(old, trash);
      old = null;
      step('trashed-old');
      await node.fs.rm(trash, {recursive: true, force: true});
    }
    step('done');
  } catch (e) {
    // An ordinary error (disk full, permissions): undo what this call did.
    if (old != null && !(await exists(node, target))) {
      await node.fs.rename(old, target).catch(() => undefined);
    }
    await node.fs.rm(tmp, {recursive: true, force: true}).catch(() => undefined);
    throw e;
  }
}
