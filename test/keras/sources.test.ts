/**
 * Where loadKerasModel reads from: an http(s) URL (tfjs's fetch, or the caller's with its
 * request options), an IOHandler (here tf.io.fromMemory with a converter file's artifacts), a
 * fileSystem() handler; and what it refuses: weights outside the model's URL folder, a failed
 * request, a source that is none of these.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem, loadKerasModel, useBestBackend} from '../../src';
import {startServer, StaticServer} from '../helpers/browser/harness';
import {census, FIXTURES, predictErrors, readReference} from '../helpers/keras_models';

const TOLERANCE = 1e-5;
let server: StaticServer;

beforeAll(async () => {
  await useBestBackend({order: ['cpu']});
  server = await startServer(FIXTURES);
});
afterAll(() => server.close());

const folder = path.join(FIXTURES, 'text_encoder');
const ref = readReference(folder);

test('an http URL of the model.json', async () => {
  const model = await loadKerasModel(`${server.origin}/text_encoder/model.json`);
  expect(Math.max(...predictErrors(model, ref))).toBeLessThanOrEqual(TOLERANCE);
  model.dispose();
});

test('the caller\'s fetch gets every request with the request options', async () => {
  const seen: Array<{url: string, init?: RequestInit|undefined}> = [];
  const model = await loadKerasModel(`${server.origin}/text_encoder/model.json`, {
    requestInit: {headers: {'x-test': '1'}},
    fetchFunc: (url, init) => {
      seen.push({url, init});
      return fetch(url, init);
    },
  });
  expect(seen.map(s => s.url)).toEqual([`${server.origin}/text_encoder/model.json`,
                                        `${server.origin}/text_encoder/group1-shard1of1.bin`]);
  expect(seen.every(s => (s.init?.headers as Record<string, string>)['x-test'] === '1')).toBe(true);
  model.dispose();
});

test('weights outside the model.json\'s folder are not fetched', async () => {
  const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8'));
  json.weightsManifest[0].paths = ['../masked_rnn/group1-shard1of1.bin'];
  const fetched: string[] = [];
  const before = census();
  const error = await loadKerasModel(`${server.origin}/text_encoder/model.json`, {
    fetchFunc: async url => {
      fetched.push(url);
      return new Response(JSON.stringify(json));
    },
  }).catch((e: Error) => e);
  expect((error as Error).message).toMatch(
      /lists the file "\.\.\/masked_rnn\/group1-shard1of1\.bin", which is outside the model's folder http:\/\/127\.0\.0\.1:\d+\/text_encoder\//);
  expect(fetched.length).toBe(1);
  expect(census()).toEqual(before);
});

test('a failed request names the URL and the status', async () => {
  await expect(loadKerasModel(`${server.origin}/nothing/model.json`))
      .rejects.toThrow(`${server.origin}/nothing/model.json (the model.json): HTTP 404`);
});

test('an IOHandler with the artifacts of a converter file', async () => {
  const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8'));
  const data = fs.readFileSync(path.join(folder, 'group1-shard1of1.bin'));
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)});
  const model = await loadKerasModel(handler);
  expect(Math.max(...predictErrors(model, ref))).toBeLessThanOrEqual(TOLERANCE);
  model.dispose();
});

test('an IOHandler whose weights are fewer bytes than its specs say', async () => {
  const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8'));
  const handler = tf.io.fromMemory({modelTopology: json.modelTopology,
                                    weightSpecs: json.weightsManifest[0].weights,
                                    weightData: new ArrayBuffer(12)});
  const before = census();
  await expect(loadKerasModel(handler)).rejects.toThrow(/12 bytes, not the \d+ its weightsManifest/);
  expect(census()).toEqual(before);
});

test('a fileSystem() handler is read as its path', async () => {
  const model = await loadKerasModel(fileSystem(folder));
  expect(Math.max(...predictErrors(model, ref))).toBeLessThanOrEqual(TOLERANCE);
  model.dispose();
});

test('a source that is none of these', async () => {
  for (const bad of ['', 42, null, {path: 'x'}]) {
    await expect(loadKerasModel(bad as unknown as string)).rejects.toThrow(
        /source must be a file:\/\/ or http\(s\) URL, a path, or an IOHandler. Received/);
  }
});
