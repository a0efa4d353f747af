/**
 * Writes an {@link H5Group} tree as an HDF5 file, in the same classic form that h5py writes for
 * Keras by default (HDF5's "earliest" format, readable by every HDF5 1.8 and later):
 *
 * - superblock version 0, 8-byte addresses and lengths;
 * - every group an "old-style" group: a version-1 object header whose symbol-table message
 *   points at a version-1 B-tree (group leaf node K 4, internal node K 16) of symbol-table nodes
 *   (SNOD, up to 8 sorted entries each) and a local heap of the children's names;
 * - every dataset contiguous and little-endian (float32 or int32), with version-1 dataspace, a
 *   version-1 datatype, a version-2 fill-value and a version-3 layout message;
 * - attributes as fixed-length UTF-8 strings (h5py writes variable-length ones, which need a
 *   global heap; Keras never reads them back).
 *
 * Everything is written once, front to back: children before their parent (a parent's entries
 * need its children's addresses), the superblock patched last with the root's addresses and the
 * file's length. The reader (h5_read.ts) is an independent implementation, and the project's
 * Keras fixture script reads these files with h5py.
 */
import {compareBytes, H5Dataset, H5Group, utf8} from './h5_tree';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const SUPERBLOCK_SIZE = 96;
const LEAF_K = 4;                 // a symbol-table node holds up to 2K entries
const INTERNAL_K = 16;            // a B-tree node has up to 2K children
const ENTRY_SIZE = 40;            // a symbol-table entry with 8-byte addresses
const SNOD_SIZE = 8 + 2 * LEAF_K * ENTRY_SIZE;
const BTREE_SIZE = 24 + 2 * INTERNAL_K * 8 + (2 * INTERNAL_K + 1) * 8;
/** HDF5's "end of the local heap's free list" (no free block). */
const FREE_LIST_END = 1;

// Object header message types.
const MSG_DATASPACE = 0x0001;
const MSG_DATATYPE = 0x0003;
const MSG_FILL_VALUE = 0x0005;
const MSG_LAYOUT = 0x0008;
const MSG_ATTRIBUTE = 0x000c;
const MSG_SYMBOL_TABLE = 0x0011;
const FLAG_CONSTANT = 0x01;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A growing byte buffer; `alloc` hands out zeroed space at the end. */
class FileBuffer {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  alloc(size: number): number {
    const at = this.length;
    if (at + size > this.bytes.length) {
      let capacity = this.bytes.length;
      while (capacity < at + size) {
        capacity *= 2;
      }
      const grown = new Uint8Array(capacity);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += size;
    return at;
  }

  u8(at: number, value: number): void {
    this.bytes[at] = value;
  }
  u16(at: number, value: number): void {
    this.view.setUint16(at, value, true);
  }
  u32(at: number, value: number): void {
    this.view.setUint32(at, value, true);
  }
  /** An address or length (below 2^53). */
  u64(at: number, value: number): void {
    this.view.setUint32(at, value % 2 ** 32, true);
    this.view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
  }
  /** HDF5's undefined address: all bits set. */
  undefinedAddress(at: number): void {
    this.view.setUint32(at, 0xffffffff, true);
    this.view.setUint32(at + 4, 0xffffffff, true);
  }
  set(at: number, data: ArrayLike<number>): void {
    this.bytes.set(data, at);
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Where a written group lives, for its parent's symbol-table entry (the "scratch pad"). */
interface GroupAddresses {
  header: number;
  btree: number;
  heap: number;
}

interface Message {
  type: number;
  flags: number;
  body: Uint8Array;
}

/** The HDF5 file of `root` (its attributes are the file's root attributes). */
export function writeH5(root: H5Group): Uint8Array {
  const file = new FileBuffer();
  file.alloc(SUPERBLOCK_SIZE);
  const rootAddresses = writeGroup(file, root, '/');
  file.set(0, SIGNATURE);
  // Versions (superblock, free space, root entry, reserved, shared header) all 0; sizes of
  // offsets and lengths 8.
  file.set(8, [0, 0, 0, 0, 0, 8, 8, 0]);
  file.u16(16, LEAF_K);
  file.u16(18, INTERNAL_K);
  file.u32(20, 0);                 // file consistency flags
  file.u64(24, 0);                 // base address
  file.undefinedAddress(32);       // free-space info: none
  file.u64(40, file.length);       // end-of-file address
  file.undefinedAddress(48);       // driver info: none
  writeEntry(file, 56, 0, rootAddresses);
  return file.result();
}

/** A symbol-table entry at `at`: a child's name (heap offset) and where its header is. */
function writeEntry(file: FileBuffer, at: number, nameOffset: number,
                    child: GroupAddresses|number): void {
  file.u64(at, nameOffset);
  if (typeof child === 'number') {
    file.u64(at + 8, child);
    file.u32(at + 16, 0);          // cache type 0: nothing cached (a dataset)
  } else {
    file.u64(at + 8, child.header);
    file.u32(at + 16, 1);          // cache type 1: the group's B-tree and heap addresses
    file.u64(at + 24, child.btree);
    file.u64(at + 32, child.heap);
  }
}

function writeGroup(file: FileBuffer, group: H5Group, path: string): GroupAddresses {
  const names = [...group.children.keys()].sort(compareBytes);
  for (const name of names) {
    if (name.length === 0 || name.includes('/') || name === '.') {
      throw new Error(`HDF5: a name must be non-empty and hold no '/'. Received: ${
          JSON.stringify(name)} in ${path}`);
    }
  }
  const children = names.map(name => {
    const child = group.children.get(name)!;
    const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
    return child.kind === 'group' ? writeGroup(file, child, childPath) :
                                    writeDataset(file, child, childPath);
  });

  // The local heap: offset 0 holds the empty string (the B-tree's first key), then each name,
  // NUL-terminated and padded to 8 bytes.
  const encoded = names.map(utf8);
  const offsets: number[] = [];
  let heapSize = 8;
  for (const bytes of encoded) {
    offsets.push(heapSize);
    heapSize += pad8(bytes.length + 1);
  }
  const heap = file.alloc(32 + heapSize);
  file.set(heap, utf8('HEAP'));
  file.u8(heap + 4, 0);            // version
  file.u64(heap + 8, heapSize);
  file.u64(heap + 16, FREE_LIST_END);
  file.u64(heap + 24, heap + 32);  // the data segment follows the header
  encoded.forEach((bytes, i) => file.set(heap + 32 + offsets[i]!, bytes));

  // Symbol-table nodes, 2K sorted entries each; their right keys are their last names.
  const leaves: Array<{address: number, lastName: number}> = [];
  for (let first = 0; first < names.length; first += 2 * LEAF_K) {
    const count = Math.min(2 * LEAF_K, names.length - first);
    const node = file.alloc(SNOD_SIZE);
    file.set(node, utf8('SNOD'));
    file.u8(node + 4, 1);          // version
    file.u16(node + 6, count);
    for (let i = 0; i < count; i++) {
      writeEntry(file, node + 8 + i * ENTRY_SIZE, offsets[first + i]!, children[first + i]!);
    }
    leaves.push({address: node, lastName: offsets[first + count - 1]!});
  }
  const btree = writeBtree(file, leaves);

  const messages: Message[] = [{type: MSG_SYMBOL_TABLE, flags: 0, body: addresses(btree, heap)}];
  messages.push(...attributeMessages(group.attrs, path));
  const header = writeObjectHeader(file, messages);
  return {header, btree, heap};
}

/**
 * The group's B-tree over its symbol-table nodes: level-0 nodes point at the SNODs, each higher
 * level at the one below, up to a single root. Keys are heap offsets: a node's first key is the
 * previous node's last (the empty string's 0 for the leftmost), key i+1 the last name under child
 * i. Nodes of one level are chained through their sibling addresses (HDF5 1.8 walks them).
 */
function writeBtree(file: FileBuffer, leaves: Array<{address: number, lastName: number}>): number {
  let children = leaves;
  let level = 0;
  for (;;) {
    const nodes: Array<{address: number, lastName: number}> = [];
    const count = Math.max(1, Math.ceil(children.length / (2 * INTERNAL_K)));
    for (let n = 0; n < count; n++) {
      const part = children.slice(n * 2 * INTERNAL_K, (n + 1) * 2 * INTERNAL_K);
      const node = file.alloc(BTREE_SIZE);
      file.set(node, utf8('TREE'));
      file.u8(node + 4, 0);        // node type 0: group nodes
      file.u8(node + 5, level);
      file.u16(node + 6, part.length);
      file.u64(node + 24, nodes.length === 0 ? 0 : nodes[nodes.length - 1]!.lastName);
      part.forEach((child, i) => {
        file.u64(node + 32 + i * 16, child.address);
        file.u64(node + 40 + i * 16, child.lastName);
      });
      nodes.push({address: node, lastName: part.length > 0 ? part[part.length - 1]!.lastName : 0});
    }
    nodes.forEach((node, i) => {
      const left = nodes[i - 1];
      const right = nodes[i + 1];
      if (left === undefined) file.undefinedAddress(node.address + 8);
      else file.u64(node.address + 8, left.address);
      if (right === undefined) file.undefinedAddress(node.address + 16);
      else file.u64(node.address + 16, right.address);
    });
    if (nodes.length === 1) {
      return nodes[0]!.address;
    }
    children = nodes;
    level += 1;
  }
}

function writeDataset(file: FileBuffer, dataset: H5Dataset, path: string): number {
  const {shape, data} = dataset;
  const size = shape.reduce((a, b) => a * b, 1);
  if (!shape.every(d => Number.isInteger(d) && d >= 0) || size !== data.length) {
    throw new Error(`HDF5: the dataset ${path} has shape [${shape}] but ${data.length} values.`);
  }
  let address = -1;
  if (data.length > 0) {
    address = file.alloc(data.byteLength);
    if (LITTLE_ENDIAN_HOST) {
      file.set(address, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else {
      const view = new DataView(new ArrayBuffer(data.byteLength));
      data.forEach((v, i) => data instanceof Float32Array ? view.setFloat32(i * 4, v, true) :
                                                           view.setInt32(i * 4, v, true));
      file.set(address, new Uint8Array(view.buffer));
    }
  }
  const layout = new Uint8Array(24);
  const layoutView = new DataView(layout.buffer);
  layout[0] = 3;                   // version
  layout[1] = 1;                   // contiguous
  if (address < 0) {
    layoutView.setUint32(2, 0xffffffff, true);
    layoutView.setUint32(6, 0xffffffff, true);
  } else {
    setU64(layoutView, 2, address);
  }
  setU64(layoutView, 10, data.byteLength);
  const messages: Message[] = [
    {type: MSG_DATASPACE, flags: 0, body: dataspace(shape)},
    {type: MSG_DATATYPE, flags: FLAG_CONSTANT, body: dataset.dtype === 'int32' ? INT32 : FLOAT32},
    // Version 2; space allocated late; fill written if set; defined, of size 0 (HDF5's default).
    {type: MSG_FILL_VALUE, flags: FLAG_CONSTANT, body: new Uint8Array([2, 2, 2, 1, 0, 0, 0, 0])},
    {type: MSG_LAYOUT, flags: 0, body: layout.subarray(0, 18)},
    ...attributeMessages(dataset.attrs, path),
  ];
  return writeObjectHeader(file, messages);
}

/** IEEE float32, little-endian: class 1, sign bit 31, exponent 23..30 (bias 127), mantissa 0..22. */
const FLOAT32 = new Uint8Array([0x11, 0x20, 0x1f, 0x00, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23,
                                127, 0, 0, 0]);
/** Signed 32-bit integer, little-endian: class 0, signed flag, 32 bits at offset 0. */
const INT32 = new Uint8Array([0x10, 0x08, 0x00, 0x00, 4, 0, 0, 0, 0, 0, 32, 0]);

/** A version-1 dataspace message: rank, no maximum dims; rank 0 is a scalar. */
function dataspace(shape: number[]): Uint8Array {
  const body = new Uint8Array(8 + 8 * shape.length);
  const view = new DataView(body.buffer);
  body[0] = 1;
  body[1] = shape.length;
  shape.forEach((d, i) => setU64(view, 8 + 8 * i, d));
  return body;
}

function attributeMessages(attrs: Record<string, string>, path: string): Message[] {
  return Object.entries(attrs).map(([name, value]) => {
    if (typeof value !== 'string') {
      throw new Error(`HDF5: attribute ${name} of ${path} must be a string. Received: ${
          JSON.stringify(value)}`);
    }
    const nameBytes = utf8(name);
    const valueBytes = utf8(value);
    const size = Math.max(1, valueBytes.length);
    // Fixed-length string: class 3, null-padded, UTF-8.
    const datatype = new Uint8Array(8);
    datatype[0] = 0x13;
    datatype[1] = 0x11;
    new DataView(datatype.buffer).setUint32(4, size, true);
    const scalar = dataspace([]);
    const nameSize = pad8(nameBytes.length + 1);
    const body = new Uint8Array(8 + nameSize + 8 + 8 + size);
    const view = new DataView(body.buffer);
    body[0] = 1;                   // version
    view.setUint16(2, nameBytes.length + 1, true);
    view.setUint16(4, datatype.length, true);
    view.setUint16(6, scalar.length, true);
    body.set(nameBytes, 8);
    body.set(datatype, 8 + nameSize);
    body.set(scalar, 16 + nameSize);
    body.set(valueBytes, 24 + nameSize);
    return {type: MSG_ATTRIBUTE, flags: 0, body};
  });
}

/** A version-1 object header holding `messages`, each padded to 8 bytes. */
function writeObjectHeader(file: FileBuffer, messages: Message[]): number {
  const size = messages.reduce((n, m) => n + 8 + pad8(m.body.length), 0);
  if (messages.some(m => pad8(m.body.length) > 0xffff)) {
    throw new Error('HDF5: an object header message is over 64 KiB (an attribute too long).');
  }
  const at = file.alloc(16 + size);
  file.u8(at, 1);                  // version
  file.u16(at + 2, messages.length);
  file.u32(at + 4, 1);             // reference count
  file.u32(at + 8, size);
  let p = at + 16;
  for (const m of messages) {
    file.u16(p, m.type);
    file.u16(p + 2, pad8(m.body.length));
    file.u8(p + 4, m.flags);
    file.set(p + 8, m.body);
    p += 8 + pad8(m.body.length);
  }
  return at;
}

function addresses(a: number, b: number): Uint8Array {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  setU64(view, 0, a);
  setU64(view, 8, b);
  return body;
}

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % 2 ** 32, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
