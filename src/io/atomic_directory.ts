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
 * `old` back (if the target is absent) and deletes what earlier saves left behind.
 *
 * Around that:
 * - One writer per target at a time: a save holds `.<name>.lock` beside it (save_lock.ts); a
 *   second save gets "another save to X is in progress". Readers may run at any time.
 * - Clean-up is best effort: a leftover that cannot be deleted (a read-only or immutable file
 *   in it, another user's folder) gives a warning, once per process, and never fails a save.
 * - The target is resolved first: a symbolic link to a folder is saved through (the folder it
 *   points to is replaced, the link stays a link); the working directory, and any folder above
 *   it, is refused (replacing it would pull the folder out from under the process); a file
 *   where a folder of the path should be is "not a folder".
 * - Errors name the target as the caller gave it (`label`), never the temporary folders.
 */
import {code, NodeModules, nodeModules, nodeProcess, NodeStats} from './node_fs';
import {lockFolder} from './save_lock';

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
  /** How errors and warnings name the target: the path as the user gave it. Default: `target`. */
  label?: string|undefined;
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

/**
 * Whether the process that made a leftover may still be using it. This process is not: the
 * lock keeps its own saves to one target apart, so what it left there is from a finished save.
 */
function isAlive(pid: number): boolean {
  const proc = nodeProcess()!;
  if (pid === proc.pid) {
    return false;
  }
  try {
    proc.kill(pid, 0);
    return true;
  } catch (e) {
    return code(e) === 'EPERM';  // exists, owned by someone else
  }
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

async function writeSynced(node: NodeModules, path: string, data: Uint8Array|string,
                           flags = 'w'): Promise<void> {
  const handle = await node.fs.open(path, flags);
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

const warned = new Set<string>();

/** Warns once per process about `key`. */
function warnOnce(key: string, message: string): void {
  if (!warned.has(key)) {
    warned.add(key);
    console.warn(`tfjs-self-attention: ${message}`);
  }
}

/** Node's "CODE: what happened, syscall 'path'" without the path (a temporary folder's, often). */
function reasonOf(e: unknown): string {
  const message = (e as Error)?.message ?? String(e);
  return message.replace(/, \w+ '.*$/s, '');
}

/** An Error for a save to `label` that failed `while` doing something; keeps the code. */
function saveError(e: unknown, label: string, doing: string): Error {
  if ((e as {saveLabel?: string})?.saveLabel === label) {
    return e as Error;
  }
  return Object.assign(new Error(`Cannot save to ${label}: ${reasonOf(e)} (while ${doing}).`),
                       {code: code(e), cause: e, saveLabel: label});
}

function refuse(label: string, problem: string): Error {
  return Object.assign(new Error(`Cannot save to ${label}: ${problem}`), {saveLabel: label});
}

/**
 * The folder (`kind` 'folder') or file a save to `target` replaces, with links resolved, after
 * checking the path: every existing part above it is a folder (a link to one is followed), the
 * target itself is of its kind if it exists, and a folder target is not the working directory or
 * a folder above it. Creates the missing parent folders.
 */
async function resolveTarget(node: NodeModules, target: string, label: string,
                             kind: 'folder'|'file' = 'folder'): Promise<string> {
  const absolute = node.path.resolve(target);
  // The deepest part of the path that exists, and the names below it.
  let existing = absolute;
  const below: string[] = [];
  for (;;) {
    let stats: NodeStats|null = null;
    try {
      stats = await node.fs.stat(existing);
    } catch (e) {
      if (code(e) !== 'ENOENT' && code(e) !== 'ENOTDIR') {
        throw saveError(e, label, `looking at ${existing}`);
      }
    }
    if (stats !== null) {
      if (existing === absolute && kind === 'file') {
        if (!stats.isFile()) {
          throw refuse(label, `it exists and is ${stats.isDirectory() ? 'a folder' : 'not a file'}.`);
        }
      } else if (!stats.isDirectory()) {
        throw refuse(label, existing === absolute ? 'it exists and is not a folder.' :
                                                    `${existing} is not a folder.`);
      }
      break;
    }
    if (existing === absolute &&
        (await node.fs.lstat(absolute).then(s => s.isSymbolicLink(), () => false))) {
      throw refuse(label, `it is a symbolic link to a ${kind} that does not exist. Create the ` +
                          `${kind} or remove the link.`);
    }
    const up = node.path.dirname(existing);
    if (up === existing) {
      break;
    }
    below.unshift(node.path.basename(existing));
    existing = up;
  }
  const real = node.path.join(await node.fs.realpath(existing), ...below);
  const cwd = await node.fs.realpath(nodeProcess()!.cwd());
  const sep = node.path.sep;
  if (kind === 'folder' &&
      (real === node.path.dirname(real) || cwd === real || cwd.startsWith(real + sep))) {
    throw refuse(label, `it is the working directory${cwd === real ? '' : ' or a folder above it'}. ` +
                        'A save replaces the whole folder: give the model a folder of its own, ' +
                        `e.g. ${node.path.join(label, 'model')}.`);
  }
  try {
    await node.fs.mkdir(node.path.dirname(real), {recursive: true});
  } catch (e) {
    throw saveError(e, label, `creating the folder ${node.path.dirname(real)}`);
  }
  return real;
}

/**
 * Puts back an interrupted save's previous folder when the target is missing, and deletes the
 * temporary, old and trash folders that earlier saves left beside `target`. Best effort: what
 * cannot be done is warned about (once) and left, and never fails the save.
 */
async function tidyUp(node: NodeModules, target: string, label: string): Promise<void> {
  const parent = node.path.dirname(target);
  const name = node.path.basename(target);
  const siblings = (await node.fs.readdir(parent))
                       .map(entry => parseSibling(name, entry))
                       .filter((s): s is Sibling => s != null && !isAlive(s.pid));
  if (!(await exists(node, target))) {
    const committed = await committedFolder(target);
    if (committed?.recovered) {
      try {
        await node.fs.rename(committed.folder, target);
        await syncFolder(node, parent);
      } catch (e) {
        warnOnce(committed.folder, `could not put ${committed.folder} back as ${label} ` +
                 `(${reasonOf(e)}); the new save replaces it.`);
      }
    }
  }
  for (const sibling of siblings) {
    let path = node.path.join(parent, sibling.entry);
    try {
      if (!(await exists(node, path))) {
        continue;  // the one just put back
      }
      if (sibling.kind !== TRASH) {  // first make it unreadable as a model, then delete it
        const trash = node.path.join(parent, siblingName(name, TRASH, nodeProcess()!.pid, randomId()));
        await node.fs.rename(path, trash);
        path = trash;
      }
      await node.fs.rm(path, {recursive: true, force: true});
    } catch (e) {
      warnOnce(path, `could not delete ${path}, left by an earlier save to ${label} ` +
               `(${reasonOf(e)}). Saves to ${label} go on; delete it by hand to free the space.`);
    }
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
    if ((await node.fs.lstat(source)).isDirectory()) {
      await fs.cp(source, destination, {recursive: true});
    } else {
      try {
        await fs.link(source, destination);  // a symbolic link is linked as itself, not followed
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
  const label = options.label ?? target;
  const real = await resolveTarget(node, target, label);
  await underLock(node, real, label, async () => {
    (options.onStep ?? (() => undefined))('cleaned');
    await replaceFolder(node, real, files, options, label);
  });
}

/**
 * Runs `work` holding the lock of `target` (resolved), after tidying up what earlier saves left
 * beside it; releases the lock however `work` ends.
 */
async function underLock(node: NodeModules, target: string, label: string,
                         work: () => Promise<void>): Promise<void> {
  let release: () => Promise<void>;
  try {
    release = await lockFolder(node.path.dirname(target), node.path.basename(target), label);
  } catch (e) {
    throw code(e) === 'ELOCKED' ? e : saveError(e, label, 'taking the lock beside it');
  }
  try {
    try {
      await tidyUp(node, target, label);
    } catch (e) {
      throw saveError(e, label, 'looking for what earlier saves left');
    }
    await work();
  } finally {
    await release();
  }
}

/** The swap itself, under the lock. */
async function replaceFolder(node: NodeModules, target: string, files: FolderFile[],
                             options: AtomicWriteOptions, label: string): Promise<void> {
  const step = options.onStep ?? (() => undefined);
  const parent = node.path.dirname(target);
  const name = node.path.basename(target);
  const pid = nodeProcess()!.pid;
  const tmp = node.path.join(parent, siblingName(name, TMP, pid, randomId()));
  let old: string|null = null;
  let doing = 'creating a temporary folder beside it';
  try {
    await node.fs.mkdir(tmp);
    step('created-tmp');
    for (const file of files) {
      doing = `writing ${file.name}`;
      await writeSynced(node, node.path.join(tmp, file.name), file.data);
      step('wrote-file', file.name);
    }
    const hadTarget = await exists(node, target);
    if (hadTarget && options.keep != null) {
      doing = 'carrying over the other files of the folder';
      await keepEntries(node, target, tmp, options.keep);
    }
    doing = 'syncing the new folder';
    await syncFolder(node, tmp);
    step('synced-tmp');
    if (hadTarget) {
      doing = 'moving the previous folder aside';
      old = node.path.join(parent, siblingName(name, OLD, pid, randomId()));
      await node.fs.rename(target, old);
      await syncFolder(node, parent);
      step('moved-old');
    }
    doing = 'moving the new folder into place';
    await node.fs.rename(tmp, target);
    await syncFolder(node, parent);
    step('moved-new');
  } catch (e) {
    // An ordinary error (disk full, permissions): undo what this call did.
    if (old != null && !(await exists(node, target))) {
      await node.fs.rename(old, target).catch(() => undefined);
    }
    await node.fs.rm(tmp, {recursive: true, force: true}).catch(() => undefined);
    throw saveError(e, label, doing);
  }
  if (old != null) {  // the save is complete: what follows only frees space
    let leftover = old;
    try {
      const trash = node.path.join(parent, siblingName(name, TRASH, pid, randomId()));
      await node.fs.rename(old, trash);
      leftover = trash;
      step('trashed-old');
      await node.fs.rm(trash, {recursive: true, force: true});
    } catch (e) {
      warnOnce(leftover, `saved to ${label}, but could not delete its previous version ` +
               `${leftover} (${reasonOf(e)}); the next save tries again.`);
    }
  }
  step('done');
}

/**
 * The one-file form (a `.keras` archive): writes `data` as the file `target`, replacing it
 * atomically, with the same care around it as writeFolderAtomically: the target's folders are
 * checked and created, a link to a file is saved through, one save per target at a time
 * (`.<name>.lock`), leftovers of earlier saves deleted at best effort, errors naming `label`.
 * The bytes go to `.<name>.tmp-<pid>-<id>` beside the target (created exclusively, fsynced),
 * then renamed over it, and the folder is fsynced: a kill leaves the old file or the new one.
 */
export async function writeFileAtomically(target: string, data: Uint8Array|string,
                                          options: {label?: string} = {}): Promise<void> {
  const node = await nodeModules();
  const label = options.label ?? target;
  const real = await resolveTarget(node, target, label, 'file');
  const parent = node.path.dirname(real);
  const name = node.path.basename(real);
  await underLock(node, real, label, async () => {
    const tmp = node.path.join(parent, siblingName(name, TMP, nodeProcess()!.pid, randomId()));
    let doing = `writing ${name}`;
    try {
      await writeSynced(node, tmp, data, 'wx');
      doing = `moving ${name} into place`;
      await node.fs.rename(tmp, real);
      await syncFolder(node, parent);
    } catch (e) {
      await node.fs.rm(tmp, {force: true}).catch(() => undefined);
      throw saveError(e, label, doing);
    }
  });
}
