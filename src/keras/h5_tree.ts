/**
 * The part of an HDF5 file that Keras weights files use, as plain data: groups holding groups
 * and datasets, datasets holding one typed array with a shape, and string attributes.
 *
 * h5_read.ts turns a file into this tree and h5_write.ts turns this tree into a file; the Keras
 * layout (h5_layout.ts) only ever sees the tree.
 */

/** Element types a dataset may hold here. Floats are read as float32, integers as int32. */
export type H5DType = 'float32'|'int32';

/** A dataset: `shape` (row-major) and its values. */
export interface H5Dataset {
  kind: 'dataset';
  shape: number[];
  dtype: H5DType;
  /** The values, row-major; read lazily from a file by h5_read.ts. */
  readonly data: Float32Array|Int32Array;
  attrs: Record<string, string>;
}

/** A group: named children (groups or datasets) and string attributes. */
export interface H5Group {
  kind: 'group';
  children: Map<string, H5Node>;
  attrs: Record<string, string>;
}

export type H5Node = H5Group|H5Dataset;

export function h5Group(attrs: Record<string, string> = {}): H5Group {
  return {kind: 'group', children: new Map(), attrs};
}

export function h5Dataset(shape: number[], data: Float32Array|Int32Array): H5Dataset {
  return {kind: 'dataset', shape: [...shape], dtype: data instanceof Int32Array ? 'int32' : 'float32',
          data, attrs: {}};
}

/** The node at `path` ('a/b/c', relative to `root`), or undefined. */
export function h5Get(root: H5Group, path: string): H5Node|undefined {
  let node: H5Node|undefined = root;
  for (const part of path.split('/').filter(p => p.length > 0)) {
    if (node?.kind !== 'group') {
      return undefined;
    }
    node = node.children.get(part);
  }
  return node;
}

/** The group at `path`, created (with its parents) when missing. */
export function h5MakeGroup(root: H5Group, path: string): H5Group {
  let group = root;
  for (const part of path.split('/').filter(p => p.length > 0)) {
    const child = group.children.get(part);
    if (child?.kind === 'dataset') {
      throw new Error(`HDF5: cannot make the group ${path}: ${part} is a dataset.`);
    }
    if (child === undefined) {
      const made = h5Group();
      group.children.set(part, made);
      group = made;
    } else {
      group = child;
    }
  }
  return group;
}

/** Every dataset under `group`, with its path relative to it, in name order. */
export function h5Datasets(group: H5Group, prefix = ''): Array<[string, H5Dataset]> {
  const out: Array<[string, H5Dataset]> = [];
  for (const [name, child] of [...group.children].sort(([a], [b]) => compareBytes(a, b))) {
    const path = prefix + name;
    if (child.kind === 'dataset') {
      out.push([path, child]);
    } else {
      out.push(...h5Datasets(child, path + '/'));
    }
  }
  return out;
}

/** HDF5 orders a group's names as C's strcmp does: by their UTF-8 bytes. */
export function compareBytes(a: string, b: string): number {
  const x = utf8(a);
  const y = utf8(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) {
      return x[i]! - y[i]!;
    }
  }
  return x.length - y.length;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
