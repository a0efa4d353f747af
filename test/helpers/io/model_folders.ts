/**
 * Model folders for the io suites: a small model with SelfAttention saved to a folder, edits of
 * its model.json, the backends the suites run on, and a load that must fail cleanly.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {selfAttention} from '../../../src';

/** The backends every io suite runs on in Node. */
export const BACKENDS = ['cpu', 'wasm'];

/** Switches to `name` (wasm: its .wasm files from the installed package) and checks it took. */
export {useBackend} from '../backends';

/** SelfAttention (2 heads, biases) then a dense layer: [batch, 5, 6] → [batch, 5, 3]. */
export function smallModel(seed = 1): tf.LayersModel {
  const input = tf.input({shape: [5, 6]});
  const attended = selfAttention({numHeads: 2, useBias: true,
                                  kernelInitializer: tf.initializers.glorotUniform({seed})})
                       .apply(input) as tf.SymbolicTensor;
  const output = tf.layers.dense({units: 3, kernelInitializer: tf.initializers.glorotUniform({seed})})
                     .apply(attended) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: output});
}

/** Saves `smallModel(seed)` to `folder` through file:// and returns the folder. */
export async function savedModel(folder: string, seed = 1): Promise<string> {
  const model = smallModel(seed);
  await model.save(`file://${folder}`);
  model.dispose();
  return folder;
}

export function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Reads `folder/model.json`, lets `edit` change it, writes it back. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit model.json's fields freely
export function editModelJson(folder: string, edit: (json: any) => void): void {
  const file = path.join(folder, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

/** The maximum |a - b| over all elements. */
export function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/**
 * Loads `source`, expecting it to fail with a message containing each of `parts` and leaving
 * no tensor or variable behind; returns the message.
 */
export async function expectLoadError(source: string|tf.io.IOHandler, parts: Array<string|RegExp>,
                                      options?: tf.io.LoadOptions): Promise<string> {
  const before = tf.memory().numTensors;
  const variables = Object.keys(tf.engine().registeredVariables).length;
  let message = '(it loaded)';
  try {
    const model = await tf.loadLayersModel(source, options);
    model.dispose();
  } catch (e) {
    message = (e as Error).message;
  }
  for (const part of parts) {
    expect(message).toMatch(part);
  }
  expect(tf.memory().numTensors).toBe(before);
  expect(Object.keys(tf.engine().registeredVariables).length).toBe(variables);
  return message;
}

/**
 * Node's fetch, with the JSON parsed in this realm: jest runs tests in a vm context, where arrays
 * that Node's own `response.json()` makes fail tfjs's `instanceof Array` checks. For tfjs's own
 * http loader (`{fetchFunc: inRealmFetch}`).
 */
export const inRealmFetch = (async (url: string, init?: RequestInit) => {
  const response = await fetch(url, init);
  return {ok: response.ok, status: response.status, url: response.url,
          json: async () => JSON.parse(await response.text()),
          arrayBuffer: () => response.arrayBuffer()};
}) as unknown as typeof fetch;
