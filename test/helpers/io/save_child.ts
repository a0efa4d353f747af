/**
 * Child processes that save models (kill_child.ts, bundled to plain JavaScript so that they start
 * fast): for the tests that kill a save, and those that run two saves at once.
 */
import {ChildProcess, spawn} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import * as esbuild from 'esbuild';

export interface Child {
  process: ChildProcess;
  /** Versions reported saved, in order. */
  saved: number[];
  /** fit mode: epoch → checksum of the weights after it. */
  epochs: Map<number, string>;
  ready: Promise<void>;
  /** Resolves when the child reports "holding" (hold:<step> mode), or exits. */
  holding: Promise<void>;
  exited: Promise<number|null>;
  stderr: () => string;
}

/** Bundles kill_child.ts next to node_modules; returns the script and a function deleting it. */
export function bundleChild(): {script: string, remove: () => void} {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const script = path.join(repo, '.tmp', `kill_child_${process.pid}_${Math.random().toString(36).slice(2)}.js`);
  esbuild.buildSync({entryPoints: [path.join(__dirname, 'kill_child.ts')], bundle: true,
                     platform: 'node', format: 'cjs', external: ['@tensorflow/*'],
                     outfile: script, logLevel: 'warning'});
  return {script, remove: () => fs.rmSync(script, {force: true})};
}

/** Starts `script` saving to `folder` (see kill_child.ts for the arguments). */
export function startChild(script: string, folder: string, first: number|'fit', dieAt?: string): Child {
  const args = [script, folder, String(first), ...(dieAt ? [dieAt] : [])];
  const child = spawn(process.execPath, args, {stdio: ['ignore', 'pipe', 'pipe']});
  const saved: number[] = [];
  const epochs = new Map<number, string>();
  let err = '';
  let out = '';
  let onReady: () => void = () => undefined;
  let onHolding: () => void = () => undefined;
  const ready = new Promise<void>(resolve => onReady = resolve);
  const holding = new Promise<void>(resolve => onHolding = resolve);
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let newline: number;
    while ((newline = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, newline);
      out = out.slice(newline + 1);
      if (line === 'ready') {
        onReady();
      } else if (line === 'holding') {
        onHolding();
      } else if (line.startsWith('saved ')) {
        saved.push(Number(line.slice(6)));
      } else if (line.startsWith('epoch ')) {
        const [, epoch, sum] = line.split(' ');
        epochs.set(Number(epoch), sum!);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => err += chunk.toString());
  const exited = new Promise<number|null>(resolve => child.on('exit', (code, signal) => {
    onReady();
    onHolding();
    resolve(signal === 'SIGKILL' ? null : code);
  }));
  // tfjs's "install tfjs-node" banner is not an error.
  const stderr = () => err.split('\n')
                          .filter(l => l.trim() !== '' && !l.includes('looks like you are running') &&
                                       !/^=+$/.test(l.trim()))
                          .join('\n');
  return {process: child, saved, epochs, ready, holding, exited, stderr};
}
