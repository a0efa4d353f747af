/**
 * The headline model's word vocabulary and tokenizer, saved beside the model as `vocab.json`.
 *
 * Text is lower-cased and split on spaces, with "," and "." as tokens of their own. A word that
 * is not in the vocabulary is an error that names it: it is never dropped or replaced.
 */

/** What `vocab.json` holds. */
export interface VocabJson {
  /** Every token; a token's id is its index. Ids 0, 1, 2 are PAD, START and END. */
  tokens: string[];
  /** Longest input the model takes, in tokens (punctuation included). */
  maxInputLength: number;
  /** Longest decoder sequence: START + headline, or headline + END. */
  maxOutputLength: number;
}

export const PAD = '<pad>';
export const START = '<start>';
export const END = '<end>';

/** One or more words of an input that the vocabulary does not hold. */
export class UnknownWordError extends Error {
  constructor(readonly words: string[], vocabularySize: number) {
    super(`Unknown word${words.length > 1 ? 's' : ''}: ${
        words.map(w => JSON.stringify(w)).join(', ')} (not in the model's vocabulary of ${
        vocabularySize} words; see vocab.json)`);
    this.name = 'UnknownWordError';
  }
}

/** Lower-cases and splits text into words and punctuation tokens. */
export function splitWords(text: string): string[] {
  if (typeof text !== 'string') {
    throw new Error(`splitWords: text must be a string. Received: text=${String(text)}`);
  }
  return text.toLowerCase().replace(/([,.])/g, ' $1 ').split(/\s+/).filter(w => w.length > 0);
}

export class Vocab {
  readonly tokens: string[];
  readonly maxInputLength: number;
  readonly maxOutputLength: number;
  private readonly ids: Map<string, number>;

  constructor(json: VocabJson) {
    if (json == null || !Array.isArray(json.tokens) || json.tokens[0] !== PAD ||
        json.tokens[1] !== START || json.tokens[2] !== END) {
      throw new Error(`Vocab: tokens must be an array starting with ${PAD}, ${START}, ${
          END}. Received: tokens=${JSON.stringify(json?.tokens?.slice(0, 3))}…`);
    }
    for (const name of ['maxInputLength', 'maxOutputLength'] as const) {
      if (!(Number.isInteger(json[name]) && json[name] > 0)) {
        throw new Error(`Vocab: ${name} must be a positive integer. Received: ${name}=${
            JSON.stringify(json[name])}`);
      }
    }
    this.tokens = [...json.tokens];
    this.maxInputLength = json.maxInputLength;
    this.maxOutputLength = json.maxOutputLength;
    this.ids = new Map(this.tokens.map((t, i) => [t, i]));
    if (this.ids.size !== this.tokens.length) {
      throw new Error(`Vocab: tokens must be distinct. Received: ${this.tokens.length} tokens, ${
          this.ids.size} distinct`);
    }
  }

  /** A vocabulary of PAD, START, END and `words`. */
  static fromWords(words: string[], maxInputLength: number, maxOutputLength: number): Vocab {
    return new Vocab({tokens: [PAD, START, END, ...words], maxInputLength, maxOutputLength});
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Token ids of `words`; throws {@link UnknownWordError} naming every unknown word. */
  encodeWords(words: string[]): number[] {
    const unknown = words.filter(w => !this.ids.has(w) || this.ids.get(w)! < 3);
    if (unknown.length > 0) {
      throw new UnknownWordError([...new Set(unknown)], this.size - 3);
    }
    return words.map(w => this.ids.get(w)!);
  }

  /** Text → ids for the encoder; throws on unknown words, empty or too long input. */
  encodeText(text: string): number[] {
    const words = splitWords(text);
    if (words.length === 0) {
      throw new Error(`The text is empty. Received: text=${JSON.stringify(text)}`);
    }
    if (words.length > this.maxInputLength) {
      throw new Error(`The text has ${words.length} tokens, more than the model's maximum of ${
          this.maxInputLength}. Received: text=${JSON.stringify(text.slice(0, 80))}…`);
    }
    return this.encodeWords(words);
  }

  /** Ids → tokens; stops at END and skips PAD and START. */
  decode(ids: ArrayLike<number>): string[] {
    const words: string[] = [];
    for (const id of Array.from(ids)) {
      const token = this.tokens[id];
      if (token == null) {
        throw new Error(`Vocab.decode: id ${id} is out of range [0, ${this.size}).`);
      }
      if (token === END) {
        break;
      }
      if (token !== PAD && token !== START) {
        words.push(token);
      }
    }
    return words;
  }

  id(token: string): number {
    const id = this.ids.get(token);
    if (id == null) {
      throw new UnknownWordError([token], this.size - 3);
    }
    return id;
  }

  toJSON(): VocabJson {
    return {tokens: [...this.tokens], maxInputLength: this.maxInputLength,
            maxOutputLength: this.maxOutputLength};
  }
}
