/**
 * One save per folder at a time, across processes: a save holds the lock file
 * `<parent>/.<name>.lock` while it replaces `<parent>/<name>`. The file is created exclusively
 * and holds who made it: process id, host, the process's start time (so that a reused pid is
 * not mistaken for the holder) and a random token. A second save to the same folder, in this
 * process or another, gets "another save to X is in progress"; a lock left by a process that
 * died (killed mid-save) is taken over by the next save.
 *
 * Taking over a stale lock removes it only if it still holds what was read as stale, then
 * creates a new one exclusively; two processes taking over the same stale lock at the same
 * instant could, in a window of microseconds, both succeed. Loads never take the lock.
 */
import {code, NodeModules, nodeModules, nodeProcess} from './node_fs';

/** What a lock file holds. */
interface LockInfo {
  pid: number;
  host: string;
  /** The process's start time as the OS counts it (Linux: /proc/<pid>/stat), or null. */
  started: string|null;
  token: string;
  time: string;
}

/** A lock left unreadable (its writer died between creating and writing it) is stale after this. */
const UNREADABLE_STALE_MS = 10_000;


/** The start time of process `pid` (field 22 of /proc/<pid>/stat), null where unknown. */
async function processStart(node: NodeModules, pid: number|'self'): Promise<string|null> {
  try {
    const text = await node.fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (name) state ppid …": the name may hold spaces and parentheses; fields after it are
    // plain. starttime is field 22, the 20th after the name.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote `info` may still be running (true when it cannot be told). */
async function mayBeRunning(node: NodeModules, info: LockInfo): Promise<boolean> {
  const proc = nodeProcess()!;
  if (info.host !== node.os.hostname()) {
    return true;  // another machine sharing the folder: its processes cannot be seen from here
  }
  if (info.pid === proc.pid) {
    return info.started === (await processStart(node, 'self'));
  }
  try {
    proc.kill(info.pid, 0);
  } catch (e) {
    if (code(e) !== 'EPERM') {  // EPERM: it exists, owned by another user
      return false;
    }
  }
  const started = await processStart(node, info.pid);
  return info.started == null || started == null || started === info.started;
}

async function readLock(node: NodeModules, path: string):
    Promise<{info: LockInfo|null, text: string, ageMs: number}|null> {
  try {
    const text = await node.fs.readFile(path, 'utf8');
    const ageMs = Date.now() - (await node.fs.stat(path)).mtimeMs;
    try {
      const info = JSON.parse(text) as LockInfo;
      return {info: typeof info?.pid === 'number' ? info : null, text, ageMs};
    } catch {
      return {info: null, text, ageMs};
    }
  } catch (e) {
    if (code(e) === 'ENOENT') {
      return null;  // released meanwhile
    }
    throw e;
  }
}

/**
 * Creates `path` holding `text`, failing with EEXIST if it exists, without a moment in which
 * it exists empty: written as `draft`, then hard-linked to `path`. Where the file system has no
 * hard links, an exclusive create and a write (the lock is then briefly empty; see
 * UNREADABLE_STALE_MS).
 */
async function createWhole(node: NodeModules, path: string, draft: string, text: string):
    Promise<void> {
  await writeNew(node, draft, text);
  let linked = false;
  try {
    await node.fs.link(draft, path);
    linked = true;
  } catch (e) {
    if (code(e) === 'EEXIST') {
      throw e;
    }
  } finally {
    await node.fs.unlink(draft).catch(() => undefined);
  }
  if (!linked) {
    await writeNew(node, path, text);
  }
}

/** Creates `path` (failing with EEXIST if it exists) and writes `text` into it. */
async function writeNew(node: NodeModules, path: string, text: string): Promise<void> {
  const handle = await node.fs.open(path, 'wx');
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * Takes the lock for saving to `<parent>/<name>`; returns the function that releases it.
 * `label` is how errors name the target (the path the user gave).
 */
export async function lockFolder(parent: string, name: string, label: string):
    Promise<() => Promise<void>> {
  const node = await nodeModules();
  const path = node.path.join(parent, `.${name}.lock`);
  const proc = nodeProcess()!;
  const mine: LockInfo = {
    pid: proc.pid, host: node.os.hostname(), started: await processStart(node, 'self'),
    token: Math.random().toString(36).slice(2), time: new Date().toISOString(),
  };
  const text = JSON.stringify(mine);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await createWhole(node, path, node.path.join(parent, `.${name}.tmp-${proc.pid}-${mine.token}`),
                        text);
      return async () => {
        const now = await readLock(node, path);
        if (now?.text === text) {
          await node.fs.unlink(path);
        }
      };
    } catch (e) {
      if (code(e) !== 'EEXIST') {
        throw e;
      }
    }
    const held = await readLock(node, path);
    if (held === null) {
      continue;  // released between our two looks: try again
    }
    const running = held.info != null ? await mayBeRunning(node, held.info) :
                                        held.ageMs < UNREADABLE_STALE_MS;
    if (running) {
      const who = held.info == null ? 'a save that is starting' :
          `process ${held.info.pid}${held.info.host !== node.os.hostname() ? ` on ${held.info.host}` : ''}` +
          `, since ${held.info.time}`;
      throw Object.assign(new Error(
          `Cannot save to ${label}: another save to ${label} is in progress (${who}). Wait for ` +
          `it to finish; if no such save is running, delete ${path}.`), {code: 'ELOCKED'});
    }
    // Stale: its process is gone. Remove it only if it is still the one we judged.
    const again = await readLock(node, path);
    if (again?.text === held.text) {
      await node.fs.unlink(path).catch(e => {
        if (code(e) !== 'ENOENT') throw e;
      });
    }
  }
  throw Object.assign(new Error(`Cannot save to ${label}: could not take the lock ${path}; ` +
                                'other saves keep taking it.'), {code: 'ELOCKED'});
}
