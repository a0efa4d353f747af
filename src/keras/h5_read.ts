/**
 * Reads an HDF5 file into an {@link H5Group} tree with jsfive (a pure-JavaScript HDF5 reader,
 * public domain, from NIST's h5web family): any file h5py writes, old- or new-style groups,
 * contiguous or chunked and compressed datasets. Dataset values are read when first asked for.
 *
 * Around jsfive: the file is checked to be HDF5 and complete (its superblock's end-of-file
 * address within the bytes given) before anything is parsed, and every failure becomes an error
 * that names the file and, where there is one, the dataset. Floats become float32 (tfjs's weight
 * type), integers int32 when they fit.
 */
import * as hdf5 from 'jsfive';

import {H5Dataset, H5DType, H5Group} from './h5_tree';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` start with the HDF5 signature. */
export function isH5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * The tree of the HDF5 file `bytes`; `fileName` names it in errors. Throws when the bytes are
 * not HDF5, are cut short, or hold a structure jsfive cannot read.
 */
export function readH5(bytes: Uint8Array, fileName: string): H5Group {
  if (!isH5(bytes)) {
    throw new Error(`${fileName} is not an HDF5 file: it does not start with the HDF5 signature ` +
                    `(${bytes.length} bytes).`);
  }
  const end = endOfFile(bytes, fileName);
  if (end > bytes.length) {
    throw new Error(`${fileName} is truncated: its HDF5 superblock says the file has ${end} ` +
                    `bytes, but there are ${bytes.length}.`);
  }
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ?
      bytes.buffer as ArrayBuffer :
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let file: hdf5.Group;
  try {
    file = new hdf5.File(buffer, fileName);
  } catch (e) {
    throw new Error(`${fileName} is not a readable HDF5 file: ${describe(e)}`, {cause: e});
  }
  return convertGroup(file, '', fileName);
}

/** The superblock's end-of-file address (versions 0–3). */
function endOfFile(bytes: Uint8Array, fileName: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8];
  let at: number;
  if (version === 0 || version === 1) {
    at = 40 + (version === 1 ? 4 : 0);
  } else if (version === 2 || version === 3) {
    at = 28;
  } else {
    throw new Error(`${fileName}: HDF5 superblock version ${String(version)} is not supported ` +
                    '(0 to 3 are).');
  }
  const sizeOfOffsets = version <= 1 ? bytes[13] : bytes[9];
  if (sizeOfOffsets !== 8) {
    throw new Error(`${fileName}: HDF5 files with ${String(sizeOfOffsets)}-byte addresses are not ` +
                    'supported (8-byte ones are).');
  }
  if (bytes.length < at + 8) {
    throw new Error(`${fileName} is truncated: ${bytes.length} bytes end inside the HDF5 superblock.`);
  }
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

function convertGroup(group: hdf5.Group, path: string, fileName: string): H5Group {
  const out: H5Group = {kind: 'group', children: new Map(), attrs: {}};
  let keys: string[];
  try {
    keys = group.keys;
    out.attrs = stringAttrs(group.attrs);
  } catch (e) {
    throw new Error(`${fileName}: cannot read the HDF5 group /${path}: ${describe(e)}`, {cause: e});
  }
  for (const key of keys) {
    const childPath = path === '' ? key : `${path}/${key}`;
    let child: hdf5.Group|hdf5.Dataset|null;
    try {
      child = group.get(key);
    } catch (e) {
      throw new Error(`${fileName}: cannot read /${childPath}: ${describe(e)}`, {cause: e});
    }
    if (child == null) {
      throw new Error(`${fileName}: /${childPath} is a link to nothing in the file.`);
    }
    out.children.set(key, child instanceof hdf5.Group ? convertGroup(child, childPath, fileName) :
                                                       convertDataset(child, childPath, fileName));
  }
  return out;
}

function convertDataset(dataset: hdf5.Dataset, path: string, fileName: string): H5Dataset {
  let shape: number[];
  let type: unknown;
  let attrs: Record<string, string>;
  try {
    shape = [...dataset.shape];
    type = dataset.dtype;
    attrs = stringAttrs(dataset.attrs);
  } catch (e) {
    throw new Error(`${fileName}: cannot read the HDF5 dataset /${path}: ${describe(e)}`, {cause: e});
  }
  if (attrs['dtype'] === 'bfloat16') {
    throw new Error(`${fileName}: the dataset /${path} holds bfloat16 values, which are not ` +
                    'supported; save the model in float32.');
  }
  const dtype = elementType(type);
  if (dtype === null) {
    throw new Error(`${fileName}: the dataset /${path} holds ${JSON.stringify(type)} values; ` +
                    'only numbers (floats and integers) are supported.');
  }
  let data: Float32Array|Int32Array|undefined;
  return {
    kind: 'dataset', shape, dtype, attrs,
    get data() {
      data ??= readValues(dataset, dtype, shape, path, fileName);
      return data;
    },
  };
}

/** float32 for any float, int32 for integers; null for anything else. */
function elementType(type: unknown): H5DType|null {
  if (typeof type !== 'string') {
    return null;
  }
  const match = /^[<>=|]?([fiu])(\d+)$/.exec(type);
  if (match == null) {
    return null;
  }
  return match[1] === 'f' ? 'float32' : 'int32';
}

function readValues(dataset: hdf5.Dataset, dtype: H5DType, shape: number[], path: string,
                    fileName: string): Float32Array|Int32Array {
  let values: ArrayLike<number>;
  try {
    values = dataset.value as ArrayLike<number>;
  } catch (e) {
    throw new Error(`${fileName}: cannot read the values of /${path}: ${describe(e)}`, {cause: e});
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (values == null || values.length !== size) {
    throw new Error(`${fileName}: /${path} has shape [${shape}] but ${values?.length} values.`);
  }
  if (dtype === 'float32') {
    return Float32Array.from(values);
  }
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const v = Number(values[i]);
    if (!(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) {
      throw new Error(`${fileName}: /${path} holds the integer ${v}, outside int32.`);
    }
    out[i] = v;
  }
  return out;
}

function stringAttrs(attrs: Record<string, unknown>|undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attrs ?? {})) {
    out[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** jsfive throws strings and odd TypeErrors; say what happened in one line. */
function describe(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return /outside the bounds|out of range|Offset is outside/i.test(text) ?
      `a structure points past the end of the file (${text})` : text;
}
