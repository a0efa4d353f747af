/**
 * useBestBackend({wasmThreads}) in Node (src/wasm_threads.ts): the threaded wasm build starts
 * with the threads asked for, gives bitwise the same results as one thread (a 2-D matMul, and a
 * SelfAttention layer's output and every gradient on both attention paths), and the process
 * ends by itself (its pool's workers do not keep it alive). When it cannot start, the plain
 * build runs and the log says why. Each start is a child process: a process starts wasm once.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import * as esbuild from 'esbuild';
import * as tf from '@tensorflow/tfjs';

import {BackendChoice, useBestBackend} from '../../src';

let childScript: string;

beforeAll(() => {
  const repo = path.resolve(__dirname, '..', '..');
  childScript = path.join(repo, '.tmp', `wasm_threads_child_${process.pid}.js`);
  esbuild.buildSync({entryPoints: [path.join(__dirname, '..', 'helpers', 'wasm_threads_child.ts')],
                     bundle: true, platform: 'node', format: 'cjs', external: ['@tensorflow/*'],
                     outfile: childScript, logLevel: 'warning'});
});

afterAll(() => fs.rmSync(childScript, {force: true}));

interface ChildResult {
  choice: BackendChoice;
  lines: string[];
  results: Record<string, string>;
  numTensors: number;
}

/** Runs the child; fails unless it exits by itself, with status 0, within 90 s. */
function runChild(...args: string[]): ChildResult {
  const child = spawnSync(process.execPath, [childScript, ...args], {encoding: 'utf8', timeout: 90_000});
  if (child.status !== 0) {
    throw new Error(`child ${args.join(' ')} ended with status ${child.status}, signal ${child.signal} ` +
                    `(a timeout means its workers kept it alive): ${child.stderr}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildResult;
}

describe('useBestBackend({wasmThreads}) in Node', () => {
  let one: ChildResult;
  let two: ChildResult;

  beforeAll(() => {
    one = runChild('1');
    two = runChild('2');
  });

  it('starts the threaded build with 2 threads, and says so', () => {
    expect(one.choice).toEqual({backend: 'wasm', skipped: [], wasmThreads: 1});
    expect(two.choice).toEqual({backend: 'wasm', skipped: [], wasmThreads: 2});
    expect(two.lines).toEqual(["tfjs-self-attention: using the 'wasm' backend with 2 threads"]);
  });

  it('gives bitwise the same matMul, layer outputs and gradients as one thread', () => {
    const names = Object.keys(one.results);
    expect(names).toEqual(expect.arrayContaining(
        ['matMul', 'standard output', 'fast output', 'standard input gradient', 'fast gradient 3', 'fast input gradient']));
    expect(Object.keys(two.results)).toEqual(names);
    for (const name of names) {
      expect({name, bytes: two.results[name]}).toEqual({name, bytes: one.results[name]});
    }
    // The results are real numbers, not zeros or NaN.
    const output = new Float32Array(Buffer.from(two.results['fast output']!, 'base64').buffer.slice(0));
    expect(output.every(Number.isFinite)).toBe(true);
    expect(Math.max(...output.map(Math.abs))).toBeGreaterThan(0.1);
    expect(two.numTensors).toBe(one.numTensors);
  });

  it('falls back to the plain build, and logs why, when wasm was started before', () => {
    const late = runChild('2', '--start-plain-first');
    expect(late.choice.backend).toBe('wasm');
    expect(late.choice.wasmThreads).toBe(1);
    expect(late.choice.wasmThreadsNote).toMatch(/^wasmThreads: 2 not used: the wasm backend was already started/);
    expect(late.lines).toEqual([`tfjs-self-attention: using the 'wasm' backend (${late.choice.wasmThreadsNote})`]);
    expect(late.results['matMul']).toBe(one.results['matMul']);
  });
});

describe('useBestBackend({wasmThreads}) arguments', () => {
  it.each([0, 1.5, 9, -2, '2', null])('refuses wasmThreads=%p, naming it', async threads => {
    await expect(useBestBackend({order: ['cpu'], wasmThreads: threads as number}))
        .rejects.toThrow(/wasmThreads must be an integer from 1 to 8\. Received: wasmThreads=/);
  });

  it('says when a backend other than wasm is chosen', async () => {
    const lines: string[] = [];
    const choice = await useBestBackend({order: ['cpu'], wasmThreads: 2, log: l => lines.push(l)});
    expect(choice).toEqual({backend: 'cpu', skipped: [],
                            wasmThreadsNote: "wasmThreads: 2 not used: the chosen backend is 'cpu', not wasm"});
    expect(lines).toEqual([`tfjs-self-attention: using the 'cpu' backend (${choice.wasmThreadsNote})`]);
    expect(tf.getBackend()).toBe('cpu');
  });
});
