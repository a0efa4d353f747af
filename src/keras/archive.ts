/**
 * The `.keras` archive: a zip holding `config.json` (the model), `metadata.json` (Keras's version
 * and the save date) and `model.weights.h5` (the weights, see h5_layout.ts), as Keras 3's
 * `model.save('x.keras')` writes it (members stored, not compressed).
 *
 * Zip comes from fflate (MIT, a few KB, no dependencies, the same code in Node and browsers).
 * fflate does not check a member's CRC-32; Python's zipfile (what Keras reads with) does, so the
 * reader here checks it too, against the central directory, and refuses members whose declared
 * size is far above what the archive stores (zip bombs), as Keras does.
 */
import {unzipSync, zipSync} from 'fflate';

export const CONFIG_JSON = 'config.json';
export const METADATA_JSON = 'metadata.json';
export const WEIGHTS_H5 = 'model.weights.h5';
const KNOWN = [CONFIG_JSON, METADATA_JSON, WEIGHTS_H5];

/** The members of a `.keras` archive. */
export interface KerasArchive {
  /** config.json, parsed. */
  config: Record<string, unknown>;
  /** metadata.json, parsed ({} when absent: Keras never reads it). */
  metadata: Record<string, unknown>;
  /** model.weights.h5, the bytes. */
  weights: Uint8Array;
}

/** True when `bytes` start like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 &&
      bytes[3] === 0x04;
}

/** Members above this many bytes must be stored with a ratio below MAX_EXPANSION. */
const BOMB_FLOOR_BYTES = 1 << 28;
const MAX_EXPANSION = 100;

/**
 * Reads a `.keras` archive; `fileName` names it in errors. Throws, naming the file and the
 * member, when the bytes are not a complete zip, a member fails its CRC, `config.json` or
 * `model.weights.h5` is missing, the archive holds members other than Keras's three (assets,
 * `.npz` weights), or a JSON member does not parse.
 */
export function readKerasArchive(bytes: Uint8Array, fileName: string): KerasArchive {
  if (!isZip(bytes)) {
    throw new Error(`${fileName} is not a .keras archive: it does not start with a zip header ` +
                    `(${bytes.length} bytes).`);
  }
  const entries = centralDirectory(bytes, fileName);
  const unknown = [...entries.keys()].filter(name => !KNOWN.includes(name));
  if (unknown.length > 0) {
    throw new Error(`${fileName} holds ${unknown.map(n => JSON.stringify(n)).join(', ')} besides ` +
                    `Keras's ${KNOWN.join(', ')}; only those three are supported (no assets, ` +
                    'no .npz weights).');
  }
  for (const name of [CONFIG_JSON, WEIGHTS_H5]) {
    if (!entries.has(name)) {
      throw new Error(`${fileName} has no ${name}: it is not a complete .keras archive (it holds ` +
                      `${[...entries.keys()].join(', ') || 'nothing'}).`);
    }
  }
  for (const [name, entry] of entries) {
    if (entry.size > BOMB_FLOOR_BYTES && entry.size > MAX_EXPANSION * entry.storedSize) {
      throw new Error(`${fileName}: the member ${name} declares ${entry.size} bytes but stores ` +
                      `only ${entry.storedSize}; refusing a possible zip bomb.`);
    }
  }
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${fileName} is not a readable zip archive: ${(e as Error).message}`, {cause: e});
  }
  for (const [name, entry] of entries) {
    const data = members[name];
    if (data === undefined || data.length !== entry.size) {
      throw new Error(`${fileName}: the member ${name} should have ${entry.size} bytes but has ` +
                      `${data?.length ?? 0}: the archive is corrupt or truncated.`);
    }
    if (crc32(data) !== entry.crc) {
      throw new Error(`${fileName}: the member ${name} fails its CRC-32 check: the archive is ` +
                      'corrupt.');
    }
  }
  return {
    config: parseJson(members[CONFIG_JSON]!, fileName, CONFIG_JSON),
    metadata: members[METADATA_JSON] === undefined ? {} :
        parseJson(members[METADATA_JSON], fileName, METADATA_JSON),
    weights: members[WEIGHTS_H5]!,
  };
}

/** A `.keras` archive of the three members, stored (as Keras does), with fixed member dates. */
export function writeKerasArchive(config: Record<string, unknown>,
                                  metadata: Record<string, unknown>,
                                  weights: Uint8Array): Uint8Array {
  const encoder = new TextEncoder();
  // Local 1980-01-01, the earliest zip date (as Keras's JSON members): the same model gives
  // the same bytes.
  const options = {level: 0 as const, mtime: new Date(1980, 0, 1)};
  return zipSync({
    [METADATA_JSON]: [encoder.encode(JSON.stringify(metadata)), options],
    [CONFIG_JSON]: [encoder.encode(JSON.stringify(config)), options],
    [WEIGHTS_H5]: [weights, options],
  });
}

interface Entry {
  crc: number;
  storedSize: number;
  size: number;
}

/** The members listed in the zip's central directory, checked to lie inside the bytes. */
function centralDirectory(bytes: Uint8Array, fileName: string): Map<string, Entry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === 0x06054b50) {
      end = at;
      break;
    }
  }
  const truncated = `${fileName} is truncated or corrupt: `;
  if (end < 0) {
    throw new Error(truncated + 'the zip central directory is missing (the archive does not end ' +
                    'like a zip).');
  }
  const count = u16(end + 10);
  let at = u32(end + 16);
  if (count === 0xffff || at === 0xffffffff) {
    throw new Error(`${fileName}: zip64 archives (over 4 GiB or 65535 members) are not supported.`);
  }
  const decoder = new TextDecoder();
  const entries = new Map<string, Entry>();
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || u32(at) !== 0x02014b50) {
      throw new Error(truncated + `zip central directory entry ${i} is damaged.`);
    }
    const nameLength = u16(at + 28);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const entry = {crc: u32(at + 16), storedSize: u32(at + 20), size: u32(at + 24)};
    const local = u32(at + 42);
    if (local + 30 > bytes.length || u32(local) !== 0x04034b50) {
      throw new Error(truncated + `the member ${name}'s local header is missing.`);
    }
    const dataStart = local + 30 + u16(local + 26) + u16(local + 28);
    if (dataStart + entry.storedSize > bytes.length) {
      throw new Error(truncated + `the member ${name} ends past the end of the file.`);
    }
    if (entries.has(name)) {
      throw new Error(`${fileName} lists the member ${name} twice.`);
    }
    entries.set(name, entry);
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
  }
  return entries;
}

function parseJson(data: Uint8Array, fileName: string, member: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (e) {
    throw new Error(`${fileName}: ${member} is not valid JSON: ${(e as Error).message}`, {cause: e});
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${fileName}: ${member} must hold a JSON object. Received: ${
        JSON.stringify(parsed).slice(0, 80)}`);
  }
  return parsed as Record<string, unknown>;
}

let crcTable: Uint32Array|undefined;

/** CRC-32 (the zip polynomial 0xEDB88320). */
export function crc32(data: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) {
        c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
