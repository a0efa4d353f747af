/**
 * Making a folder's contents impossible to delete, for the tests of saves whose clean-up fails.
 * Permissions do not stop root, so the way depends on who runs the tests:
 * - root: `chattr +i` on each file in the folder (immutable: it cannot be deleted, renamed or
 *   linked, and the folder holding it cannot be removed); needs a file system with the flag
 *   (ext4, xfs, btrfs) and the CAP_LINUX_IMMUTABLE capability;
 * - any other user: `chmod 555` on the folder (its entries cannot be removed).
 * Either way `undo()` puts things back so that the test's temporary folder can be deleted. If
 * neither works here, `lockDown` throws: the tests fail rather than skip.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const RUNNING_AS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** How lockDown makes things undeletable here, for test names. */
export const LOCK_DOWN_METHOD = RUNNING_AS_ROOT ? 'immutable files (chattr +i, as root)' :
                                                  'a read-only folder (chmod 555)';

/** Makes the entries of `folder` undeletable; returns the function that undoes it. */
export function lockDown(folder: string): () => void {
  if (!RUNNING_AS_ROOT) {
    fs.chmodSync(folder, 0o555);
    return () => fs.chmodSync(folder, 0o755);
  }
  const files = fs.readdirSync(folder).map(f => path.join(folder, f))
                    .filter(f => fs.lstatSync(f).isFile());
  if (files.length === 0) {
    throw new Error(`lockDown: ${folder} has no file to make immutable`);
  }
  try {
    execFileSync('chattr', ['+i', ...files], {stdio: 'pipe'});
  } catch (e) {
    throw new Error(`lockDown: chattr +i failed on ${folder} (${(e as Error).message.trim()}); ` +
                    'as root, these tests need a file system with the immutable flag and the ' +
                    'CAP_LINUX_IMMUTABLE capability', {cause: e});
  }
  return () => execFileSync('chattr', ['-i', ...files.filter(f => fs.existsSync(f))]);
}

/**
 * Makes a save to `folder` fail: as root `chattr +i` on the folder (it cannot be renamed, nor
 * anything created in it), as any other user `chmod 555` on its parent (nothing can be created
 * beside it). Returns the function that undoes it.
 */
export function unwritable(folder: string): () => void {
  if (!RUNNING_AS_ROOT) {
    const parent = path.dirname(folder);
    fs.chmodSync(parent, 0o555);
    return () => fs.chmodSync(parent, 0o755);
  }
  execFileSync('chattr', ['+i', folder], {stdio: 'pipe'});
  return () => execFileSync('chattr', ['-i', folder]);
}

/** Undoes every lockDown below `root` that a test left (root's chattr flags; others' modes). */
export function unlockAll(root: string): void {
  if (!fs.existsSync(root)) {
    return;
  }
  // Every file and folder (not links: chattr cannot read their flags, chmod would follow them).
  const paths: string[] = [];
  const walk = (dir: string) => {
    paths.push(dir);
    for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile()) {
        paths.push(full);
      }
    }
  };
  if (!RUNNING_AS_ROOT) {
    fs.chmodSync(root, 0o755);  // to read it
  }
  walk(root);
  if (RUNNING_AS_ROOT) {
    execFileSync('chattr', ['-i', ...paths], {stdio: 'pipe'});
  } else {
    paths.forEach(p => fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644));
  }
}
