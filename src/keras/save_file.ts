/**
 * Replacing one file so that a process killed at any moment leaves the previous file or the new
 * one, complete, under the target name; never a half-written one.
 *
 * The bytes go to `.<name>.tmp-<pid>-<id>` beside the target (created exclusively, fsynced),
 * which is then renamed over the target (atomic on one file system) and the folder fsynced. A
 * kill while writing leaves the old target and a partial temporary file, which the next save to
 * the same target deletes once its process is gone. (The folder form of the same idea, for
 * model.json + weights.bin, is src/io/atomic_directory.ts.)
 */
import {nodeModules, nodeProcess} from '../io/node_fs';

function errorCode(e: unknown): string|undefined {
  return (e as {code?: string})?.code;
}

function alive(pid: number): boolean {
  try {
    nodeProcess()!.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) === 'EPERM';
  }
}

/** Writes `data` as the file `target` (its folder created if needed), replacing it atomically. */
export async function writeFileAtomically(target: string, data: Uint8Array): Promise<void> {
  const node = await nodeModules();
  const folder = node.path.dirname(target);
  const name = node.path.basename(target);
  await node.fs.mkdir(folder, {recursive: true});
  try {
    if ((await node.fs.stat(target)).isDirectory()) {
      throw new Error(`Cannot save to ${target}: it is a folder.`);
    }
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') {
      throw e;
    }
  }
  const prefix = `.${name}.tmp-`;
  for (const entry of await node.fs.readdir(folder)) {
    const pid = entry.startsWith(prefix) ? Number(entry.slice(prefix.length).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && pid !== nodeProcess()!.pid && !alive(pid)) {
      await node.fs.rm(node.path.join(folder, entry), {force: true});
    }
  }
  const tmp = node.path.join(folder, `${prefix}${nodeProcess()!.pid}-${
      Math.floor(Math.random() * 2 ** 48).toString(36)}`);
  try {
    const handle = await node.fs.open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await node.fs.rename(tmp, target);
  } catch (e) {
    await node.fs.rm(tmp, {force: true}).catch(() => undefined);
    throw e;
  }
  // The rename is durable once the folder is: fsync it where the platform allows.
  let folderHandle;
  try {
    folderHandle = await node.fs.open(folder, 'r');
    await folderHandle.sync();
  } catch (e) {
    if (!['EPERM', 'EISDIR', 'EINVAL', 'EBADF', 'EACCES'].includes(errorCode(e) ?? '')) {
      throw e;
    }
  } finally {
    await folderHandle?.close();
  }
}
