/**
 * The implementations behind keras_file.ts's public functions, loaded on first use with the
 * formats (keras_file_codec.ts): where a Keras file goes or comes from (paths, URLs, bytes,
 * Blobs, browser downloads) and which exporters the package's layers use.
 */
import * as tf from '@tensorflow/tfjs';

import {readUserFile} from '../io/model_files';
import {isNode, nodeModules} from '../io/node_fs';


import {DecodedArchive, decodeKerasArchive, encodeKerasModel, encodeKerasWeights, kerasConfigOf, layoutOf,
        readWeightsInto} from './keras_file_codec';
import type {KerasObject, KerasWeightSlot} from './h5_layout';
import type {KerasFileDestination, KerasFileSink, KerasFileSource, KerasSaveResult} from './keras_file';
import {PACKAGE_LAYER_EXPORTERS} from './save_layers';
import {writeFileAtomically} from '../io/atomic_directory';
import {kerasOriginOf} from './save_origin';

/** The Keras version written into metadata.json (what Keras 3.9+ files look like). */
const KERAS_VERSION = '3.15.1';

/** See keras_file.ts. */
export async function saveKerasModel(model: tf.LayersModel, destination: KerasFileDestination):
    Promise<KerasSaveResult> {
  checkModel(model, 'saveKerasModel');
  const target = parseDestination(destination, '.keras', 'saveKerasModel');
  const bytes = encodeKerasModel(model, PACKAGE_LAYER_EXPORTERS, {
    keras_version: KERAS_VERSION,
    date_saved: kerasDate(new Date()),
  }, kerasOriginOf(model));
  return write(target, bytes);
}

/** See keras_file.ts. */
export async function saveKerasWeights(model: tf.LayersModel, destination: KerasFileDestination):
    Promise<KerasSaveResult> {
  checkModel(model, 'saveKerasWeights');
  const target = parseDestination(destination, '.weights.h5', 'saveKerasWeights');
  return write(target, encodeKerasWeights(model, PACKAGE_LAYER_EXPORTERS, kerasOriginOf(model)));
}

/** See keras_file.ts. */
export async function loadKerasWeights(model: tf.LayersModel, source: KerasFileSource):
    Promise<void> {
  checkModel(model, 'loadKerasWeights');
  const {bytes, name} = await readSource(source, 'loadKerasWeights');
  readWeightsInto(model, PACKAGE_LAYER_EXPORTERS, bytes, name, kerasOriginOf(model));
}

/** The `load()` of keras_file.ts's kerasArchiveHandler. */
export async function loadKerasArchive(source: KerasFileSource): Promise<tf.io.ModelArtifacts> {
  return (await decodeKerasFile(source)).artifacts;
}

/** A `.keras` file read (keras_file.ts's loadKerasArchiveModel uses all of it). */
export async function decodeKerasFile(source: KerasFileSource): Promise<DecodedArchive> {
  const {bytes, name} = await readSource(source, 'loadKerasModel');
  return decodeKerasArchive(bytes, name);
}

/** See keras_file.ts. */
export async function kerasWeightLayout(model: tf.LayersModel|KerasObject):
    Promise<KerasWeightSlot[]> {
  return layoutOf(model, PACKAGE_LAYER_EXPORTERS,
                  model instanceof tf.LayersModel ? kerasOriginOf(model) : undefined);
}

/** See keras_file.ts. */
export async function kerasConfig(model: tf.LayersModel): Promise<KerasObject> {
  checkModel(model, 'kerasConfig');
  return kerasConfigOf(model, PACKAGE_LAYER_EXPORTERS, kerasOriginOf(model));
}

// ---- destinations and sources -------------------------------------------------------------

type Target = {kind: 'file', path: string}|{kind: 'download', name: string}|
    {kind: 'sink', sink: KerasFileSink, name: string};

const FILE = 'file://';
const DOWNLOADS = 'downloads://';

function checkModel(model: unknown, fn: string): void {
  if (!(model instanceof tf.LayersModel)) {
    throw new Error(`${fn}: model must be a tf.LayersModel (tf.model or tf.sequential). ` +
                    `Received: ${describe(model)}`);
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? String(value);
  }
  return `an object of class ${value.constructor?.name ?? 'Object'}`;
}

function parseDestination(destination: KerasFileDestination, suffix: string, fn: string): Target {
  if (destination !== null && typeof destination === 'object' &&
      typeof (destination as KerasFileSink).write === 'function') {
    return {kind: 'sink', sink: destination, name: `model${suffix}`};
  }
  if (typeof destination !== 'string' || destination.length === 0) {
    throw new Error(`${fn}: destination must be a path ending in '${suffix}', ` +
                    `'downloads://name${suffix}', or an object with a write(bytes, name) method. ` +
                    `Received: destination=${describe(destination)}`);
  }
  const endsRight = (name: string) => {
    const base = name.split(/[\\/]/).pop()!;
    if (!base.endsWith(suffix) || base.length === suffix.length) {
      throw new Error(`${fn}: the file name must end in '${suffix}' (Keras requires it). ` +
                      `Received: destination=${JSON.stringify(destination)}`);
    }
  };
  if (destination.startsWith(DOWNLOADS)) {
    const name = destination.slice(DOWNLOADS.length);
    endsRight(name);
    if (name.includes('/')) {
      throw new Error(`${fn}: a download is named without folders. Received: destination=${
          JSON.stringify(destination)}`);
    }
    return {kind: 'download', name};
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination) && !destination.startsWith(FILE)) {
    throw new Error(`${fn}: saving to ${destination.split('://')[0]}:// is not supported; ` +
                    `use a path (Node), 'downloads://name${suffix}' (browser), or an object with ` +
                    `a write(bytes, name) method. Received: destination=${JSON.stringify(destination)}`);
  }
  const path = destination.startsWith(FILE) ? destination.slice(FILE.length) : destination;
  endsRight(path);
  return {kind: 'file', path};
}

async function write(target: Target, bytes: Uint8Array): Promise<KerasSaveResult> {
  switch (target.kind) {
    case 'sink':
      await target.sink.write(bytes, target.name);
      return {path: target.name, bytes: bytes.length};
    case 'download':
      download(bytes, target.name);
      return {path: `${DOWNLOADS}${target.name}`, bytes: bytes.length};
    case 'file': {
      if (!isNode()) {
        throw new Error(`Saving to a path needs Node.js. In a browser, save to ` +
                        `'downloads://${target.path.split('/').pop()}' or pass an object with a ` +
                        `write(bytes, name) method. Received: ${target.path}`);
      }
      const node = await nodeModules();
      const path = node.path.resolve(target.path);
      await writeFileAtomically(path, bytes);
      return {path, bytes: bytes.length};
    }
  }
}

function download(bytes: Uint8Array, name: string): void {
  const doc = (globalThis as {document?: Document}).document;
  if (doc === undefined || typeof URL.createObjectURL !== 'function') {
    throw new Error(`downloads://${name} needs a browser page (document and ` +
                    'URL.createObjectURL); in Node, save to a path.');
  }
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], {type: 'application/octet-stream'}));
  const link = doc.createElement('a');
  link.download = name;
  link.href = url;
  link.style.display = 'none';
  doc.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The bytes of `source` and a name for errors. */
export async function readSource(source: KerasFileSource, fn: string):
    Promise<{bytes: Uint8Array, name: string}> {
  if (source instanceof Uint8Array) {
    return {bytes: source, name: 'the given bytes'};
  }
  if (source instanceof ArrayBuffer) {
    return {bytes: new Uint8Array(source), name: 'the given bytes'};
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as {name?: string}).name ?? 'the given Blob';
    return {bytes: new Uint8Array(await source.arrayBuffer()), name};
  }
  if (typeof source !== 'string' || source.length === 0) {
    throw new Error(`${fn}: source must be a path, a URL, bytes (Uint8Array or ArrayBuffer) or a ` +
                    `Blob. Received: source=${describe(source)}`);
  }
  const remote = /^https?:\/\//i.test(source) || (!isNode() && !source.startsWith(FILE));
  if (remote) {
    let response: Response;
    try {
      response = await tf.util.fetch(source);
    } catch (e) {
      throw new Error(`Cannot load ${source}: ${(e as Error).message}`, {cause: e});
    }
    if (!response.ok) {
      throw new Error(`Cannot load ${source}: the server answered ${response.status} ${
          response.statusText}.`);
    }
    return {bytes: new Uint8Array(await response.arrayBuffer()), name: source};
  }
  if (!isNode()) {
    throw new Error(`${fn}: file:// paths need Node.js; in a browser, load over http(s) or pass ` +
                    `the bytes or a File. Received: source=${source}`);
  }
  const node = await nodeModules();
  const path = node.path.resolve(source.startsWith(FILE) ? source.slice(FILE.length) : source);
  return {bytes: await readUserFile(path), name: path};
}

/** Keras's metadata date: '2026-12-01@12:52:42' (local time, as Python's datetime.now()). */
function kerasDate(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}@${
      p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}
