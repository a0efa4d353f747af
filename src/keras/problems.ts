/**
 * Collecting everything in a Keras file that this package cannot load, so that one error lists
 * all of it (each unsupported class, function or argument with the layers that use it) before
 * any weight is read.
 */

/** One unsupported thing and the layers that use it. */
export interface UnsupportedItem {
  /** What it is, e.g. "layer class 'ConvLSTM1D'" or "LSTM argument stateful=true". */
  what: string;
  /** The names of the layers using it, in the file's order. */
  layers: string[];
}

/**
 * A Keras model that uses classes, functions or arguments this package does not support.
 * `items` lists every one of them; `message` names the file and each item with its layers.
 *
 * ```ts
 * try {
 *   await loadKerasModel('file://models/from-keras/model.json');
 * } catch (e) {
 *   if (e instanceof KerasUnsupportedError) {
 *     for (const {what, layers} of e.items) console.log(what, 'used by', layers.join(', '));
 *   }
 * }
 * ```
 */
export class KerasUnsupportedError extends Error {
  /** Every unsupported class, function or argument, each with the layers that use it. */
  readonly items: UnsupportedItem[];

  constructor(source: string, items: UnsupportedItem[]) {
    const lines = items.map(i => `  - ${i.what}: ${i.layers.length === 1 ? 'layer' : 'layers'} ${
        i.layers.map(l => `'${l}'`).join(', ')}`);
    super(`${source} uses ${items.length === 1 ? 'something' : `${items.length} things`} this ` +
          `package cannot load (no weight was read):\n${lines.join('\n')}\n` +
          'See docs/keras.md for what is supported.');
    this.name = 'KerasUnsupportedError';
    this.items = items;
  }
}

/** Gathers unsupported items, grouping the layers of each. */
export class Problems {
  private readonly items = new Map<string, string[]>();

  add(what: string, layer: string): void {
    const layers = this.items.get(what) ?? [];
    if (!layers.includes(layer)) {
      layers.push(layer);
    }
    this.items.set(what, layers);
  }

  get size(): number {
    return this.items.size;
  }

  /** Throws a {@link KerasUnsupportedError} naming `source` when anything was gathered. */
  throwIfAny(source: string): void {
    if (this.items.size > 0) {
      throw new KerasUnsupportedError(
          source, [...this.items].map(([what, layers]) => ({what, layers})));
    }
  }
}
