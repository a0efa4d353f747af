/**
 * Runs in the browser page for `npm run bench:programs`: the program counts of the fused-path
 * tests (test/helpers/browser/pages/fused_page.ts, so the bench and the tests count the same
 * way), the device the backend runs on, and `timePaths`, wall-clock times of attention alone on
 * each path.
 */
import * as tf from '@tensorflow/tfjs';

import {attention, AttentionPath} from '../src';
import {onDevice} from '../test/helpers/browser/pages/fused_page';

export {programCounts, start} from '../test/helpers/browser/pages/fused_page';
export {deviceName} from './browser_page';

export interface PathTimes {
  /** Median ms of the forward pass, output read back. */
  forwardMs: number;
  /** Median ms of the gradients of q, k and v (forward included), all three read back. */
  bothMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Times attention (steps 3–6, `needWeights: false`) on `[batch, heads, time, dh]` inputs on each
 * path: one warm-up of each (shaders compile), then `runs` rounds, the paths interleaved within
 * a round so that they share the machine's state. Each time ends when the results are read back.
 */
export async function timePaths(batch: number, heads: number, time: number, dh: number,
                                paths: AttentionPath[], runs: number): Promise<Record<string, PathTimes>> {
  const [q, k, v, dy] = [1, 2, 3, 4].map(seed => onDevice([batch, heads, time, dh], seed)) as
      [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  await Promise.all([q, k, v, dy].map(t => t.data()));
  const forward = async (path: AttentionPath) => {
    const t0 = performance.now();
    const out = attention(q, k, v, {path, needWeights: false}).output;  // [batch, heads, time, dh]
    await out.data();
    out.dispose();
    return performance.now() - t0;
  };
  const both = async (path: AttentionPath) => {
    const t0 = performance.now();
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        attention(a, b, c, {path, needWeights: false}).output)([q, k, v], dy);
    await Promise.all(grads.map(g => g.data()));
    tf.dispose(grads);
    return performance.now() - t0;
  };
  const times: Record<string, {forward: number[], both: number[]}> = {};
  try {
    for (const path of paths) {
      await forward(path);
      await both(path);
      times[path] = {forward: [], both: []};
    }
    for (let r = 0; r < runs; r++) {
      for (const path of paths) {
        times[path]!.forward.push(await forward(path));
        times[path]!.both.push(await both(path));
      }
    }
  } finally {
    tf.dispose([q, k, v, dy]);
  }
  return Object.fromEntries(Object.entries(times).map(
      ([path, t]) => [path, {forwardMs: median(t.forward), bothMs: median(t.both)}]));
}
