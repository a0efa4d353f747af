/** The part of jsfive (a pure-JavaScript HDF5 reader, no types of its own) that h5_read.ts uses. */
declare module 'jsfive' {
  export class Group {
    /** The names of the group's members. */
    readonly keys: string[];
    readonly attrs: Record<string, unknown>;
    get(path: string): Group|Dataset|null;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
  export class Dataset {
    /** The values, row-major (an array of numbers for numeric types). */
    readonly value: unknown;
    readonly shape: number[];
    /** A numpy-style type string such as '<f4', or an array for compound and vlen types. */
    readonly dtype: unknown;
    readonly attrs: Record<string, unknown>;
  }
}
