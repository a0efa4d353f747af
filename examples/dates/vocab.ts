/**
 * The character vocabulary of the date translator, saved beside the model (vocab.json).
 *
 * Id 0 is padding, id 1 starts the decoder's output, ids 2… are characters. Inputs are padded
 * at the end; the models know padding by its id (the LSTM's `maskZero`) or by the mask input
 * (the Transformer).
 */
import {Example, MONTHS, WEEKDAYS} from './data';

export const PAD = 0;
export const START = 1;
/** Length of every output: `YYYY-MM-DD`. */
export const OUTPUT_LENGTH = 10;

/** What vocab.json holds. */
export interface VocabJson {
  /** The characters, in id order from id 2. */
  chars: string;
  /** Longest input the model accepts, in characters. */
  maxInputLength: number;
  /** Length of every output. */
  outputLength: number;
}

/** A batch of encoded inputs. */
export interface EncodedInputs {
  /** `[n * length]` ids, row-major. */
  ids: Int32Array;
  /** `[n * length]`, 1 for a character, 0 for padding. */
  mask: Float32Array;
  /** `[n * length]`, each character's place counted from the end (1 = last), 0 for padding. */
  fromEnd: Int32Array;
  n: number;
  length: number;
}

/** A batch of encoded targets for teacher forcing. */
export interface EncodedTargets {
  /** Decoder input `[n * outputLength]`: START then the target without its last character. */
  decoderIds: Int32Array;
  /** What the decoder must predict `[n * outputLength]`: the target's ids. */
  labels: Int32Array;
  n: number;
}

export class Vocab {
  readonly chars: string;
  readonly maxInputLength: number;
  readonly outputLength: number;
  private readonly ids: Map<string, number>;

  constructor(json: VocabJson) {
    if (typeof json?.chars !== 'string' || json.chars.length === 0 ||
        new Set(json.chars).size !== json.chars.length) {
      throw new Error(`Vocab: chars must be a non-empty string of distinct characters. ` +
                      `Received: chars=${JSON.stringify(json?.chars)}`);
    }
    for (const name of ['maxInputLength', 'outputLength'] as const) {
      if (!(Number.isInteger(json[name]) && json[name] > 0)) {
        throw new Error(`Vocab: ${name} must be a positive integer. Received: ${name}=${
            JSON.stringify(json[name])}`);
      }
    }
    this.chars = json.chars;
    this.maxInputLength = json.maxInputLength;
    this.outputLength = json.outputLength;
    this.ids = new Map([...json.chars].map((c, i) => [c, i + 2]));
  }

  /** PAD, START and the characters. */
  get size(): number {
    return this.chars.length + 2;
  }

  toJSON(): VocabJson {
    return {chars: this.chars, maxInputLength: this.maxInputLength,
            outputLength: this.outputLength};
  }

  /** Why `text` cannot be translated, or null if it can. */
  problem(text: string): string|null {
    if (text.trim().length === 0) {
      return 'the input is empty';
    }
    if (text.length > this.maxInputLength) {
      return `the input has ${text.length} characters, more than the model accepts (${
          this.maxInputLength})`;
    }
    const unknown = [...new Set([...text].filter(c => !this.ids.has(c)))];
    if (unknown.length > 0) {
      return `character${unknown.length > 1 ? 's' : ''} ${
          unknown.map(c => JSON.stringify(c)).join(', ')} not in the vocabulary`;
    }
    return null;
  }

  /** Encodes texts padded at the end to their longest (or `length`); throws on a text it cannot encode. */
  encodeInputs(texts: string[], length?: number): EncodedInputs {
    const longest = texts.reduce((m, t) => Math.max(m, t.length), 1);
    const width = length ?? longest;
    if (width < longest) {
      throw new Error(`encodeInputs: length=${width} is shorter than the longest text (${
          longest} characters)`);
    }
    const ids = new Int32Array(texts.length * width);
    const mask = new Float32Array(texts.length * width);
    const fromEnd = new Int32Array(texts.length * width);
    texts.forEach((text, row) => {
      const problem = this.problem(text);
      if (problem != null) {
        throw new Error(`Cannot encode ${JSON.stringify(text)}: ${problem}`);
      }
      const offset = row * width;
      for (let i = 0; i < text.length; i++) {
        ids[offset + i] = this.ids.get(text[i]!)!;
        mask[offset + i] = 1;
        fromEnd[offset + i] = text.length - i;
      }
    });
    return {ids, mask, fromEnd, n: texts.length, length: width};
  }

  /** Encodes ISO targets for teacher forcing. */
  encodeTargets(targets: string[]): EncodedTargets {
    const L = this.outputLength;
    const decoderIds = new Int32Array(targets.length * L);
    const labels = new Int32Array(targets.length * L);
    targets.forEach((target, row) => {
      if (target.length !== L) {
        throw new Error(`encodeTargets: every target must have ${L} characters. Received: ${
            JSON.stringify(target)}`);
      }
      decoderIds[row * L] = START;
      for (let i = 0; i < L; i++) {
        const id = this.ids.get(target[i]!);
        if (id == null) {
          throw new Error(`encodeTargets: character ${JSON.stringify(target[i])} of ${
              JSON.stringify(target)} is not in the vocabulary`);
        }
        labels[row * L + i] = id;
        if (i + 1 < L) {
          decoderIds[row * L + i + 1] = id;
        }
      }
    });
    return {decoderIds, labels, n: targets.length};
  }

  /** Ids → text; PAD and START are dropped. */
  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >= 2 && id < this.size) {
        text += this.chars[id - 2];
      }
    }
    return text;
  }
}

/** Longest input the date models accept (the longest variant has 42 characters). */
export const MAX_INPUT_LENGTH = 48;

/**
 * The vocabulary of every character a format or variant can write (and the targets'), sorted:
 * digits, ` ,-./`, and the letters of month and weekday names, `the`, `of` and ordinal
 * suffixes, in both cases.
 */
export function buildVocab(maxInputLength = MAX_INPUT_LENGTH): Vocab {
  const words = [...MONTHS, ...WEEKDAYS, 'the', 'of', 'st', 'nd', 'rd', 'th'].join('');
  const chars = new Set([...'0123456789 ,-./', ...words.toLowerCase(), ...words.toUpperCase()]);
  return new Vocab({chars: [...chars].sort().join(''), maxInputLength,
                    outputLength: OUTPUT_LENGTH});
}

/**
 * Groups examples into batches of similar input length (less padding, so less work): sorts
 * runs of `batchSize * 16` examples by length, cuts them into batches, and shuffles the batches.
 */
export function lengthBatches(examples: Example[], batchSize: number,
                              next: () => number): Example[][] {
  const batches: Example[][] = [];
  const run = batchSize * 16;
  for (let start = 0; start < examples.length; start += run) {
    const sorted = examples.slice(start, start + run).sort((a, b) => a.input.length - b.input.length);
    for (let i = 0; i < sorted.length; i += batchSize) {
      batches.push(sorted.slice(i, i + batchSize));
    }
  }
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}
