/**
 * The toy summarisation task: a grammar that writes one or two English-like sentences and,
 * from the same structure, the exact headline of the main event.
 *
 *   "yesterday the small brown cat quietly sat on the old mat near the door, while the dog
 *    slept."  →  "cat sat on mat"
 *
 * Headline = subject head noun(s) (joined by "and"), the verb ("did not" + base form when
 * negated), the verb's preposition if it has one, and the object head noun(s). Everything else
 * (determiners, adjectives, adverbs, time and place phrases, relative and subordinate clauses,
 * the second sentence) is dropped.
 *
 * The held-out split is by subject–verb–object combination: a fixed, hashed 12% of all
 * (subject, verb, object) triples never occur in any clause of a training example, and every
 * test example's main event contains at least one of them.
 */

/** A verb with its forms and how it takes an object. */
export interface Verb {
  past: string;
  base: string;
  kind: 'transitive'|'prepositional'|'intransitive';
  /** The preposition of a prepositional verb ("sat on"). */
  prep?: string;
}

/** `name` (no determiner, no adjectives) or `det adjectives* noun [that <clause>]`. */
export interface NounPhrase {
  noun: string;
  det?: string;
  adjectives?: string[];
  /** "that chased the mouse": a relative clause on this noun (its subject is the noun). */
  relative?: Clause;
}

/** One clause: subjects, verb, objects and the modifiers that the headline drops. */
export interface Clause {
  subjects: NounPhrase[];
  verb: Verb;
  negated?: boolean;
  /** Objects of a transitive verb (0–2) or of a prepositional verb (1); none otherwise. */
  objects?: NounPhrase[];
  /** Adverb before the verb ("quietly sat"); only without negation. */
  adverbBefore?: string;
  /** Place phrase after the verb phrase ("near the door"). */
  place?: {prep: string, np: NounPhrase};
  /** Adverb after the verb phrase and place ("sat on the mat slowly"). */
  adverbAfter?: string;
}

/** A whole input: the main clause with its surroundings. */
export interface Example {
  /** Time phrase at the very start ("yesterday", "last night"). */
  timeFront?: string[];
  /** "because the dog barked ," before the main clause. */
  leading?: {subordinator: string, clause: Clause};
  main: Clause;
  /** Time phrase at the end of the main clause. */
  timeBack?: string[];
  /** ", while the dog slept" after the main clause. */
  trailing?: {subordinator: string, clause: Clause};
  /** A second sentence, which never holds the main event. */
  second?: string[];
}

// ---- Lexicon ---------------------------------------------------------------------------

export const NOUNS = [
  'cat', 'dog', 'bird', 'fox', 'horse', 'cow', 'mouse', 'rabbit', 'duck', 'goat', 'sheep',
  'lion', 'tiger', 'bear', 'wolf', 'owl', 'frog', 'pig', 'boy', 'girl', 'man', 'woman',
  'farmer', 'teacher', 'doctor', 'baker', 'child', 'king', 'queen', 'sailor', 'pilot',
  'student', 'nurse', 'chef', 'artist', 'fish', 'ball', 'mat', 'box', 'hat', 'book', 'cake',
  'apple', 'bread', 'chair', 'table', 'door', 'window', 'fence', 'wall', 'car', 'boat',
  'tree', 'river', 'hill', 'bridge', 'letter', 'key', 'cup', 'bed', 'rock', 'kite',
];
export const NAMES = ['tom', 'anna', 'sam', 'lucy', 'max', 'mia', 'leo', 'emma'];
export const DETERMINERS = ['the', 'a', 'this', 'that', 'his', 'her', 'my', 'our', 'their',
                            'some'];
export const ADJECTIVES = [
  'small', 'big', 'old', 'young', 'brown', 'black', 'white', 'red', 'green', 'happy', 'sad',
  'tired', 'hungry', 'lazy', 'quick', 'clever', 'little', 'tall', 'noisy', 'quiet', 'angry',
  'shy', 'friendly', 'gentle', 'wet', 'dirty', 'shiny', 'heavy', 'round', 'wooden',
];
export const ADVERBS = [
  'quietly', 'quickly', 'slowly', 'suddenly', 'happily', 'loudly', 'carefully', 'gently',
  'finally', 'eagerly', 'calmly', 'bravely', 'softly', 'proudly', 'secretly',
];
export const TIMES = [
  'yesterday', 'today', 'last night', 'last week', 'this morning', 'this evening',
  'on monday', 'on friday', 'on sunday', 'at noon', 'at dawn', 'at midnight', 'after lunch',
  'in the evening', 'earlier today',
].map(t => t.split(' '));
export const PLACE_PREPS = ['near', 'behind', 'beside', 'inside', 'outside', 'around'];
export const SUBORDINATORS = ['while', 'because', 'after', 'before', 'when', 'although',
                              'as', 'until'];
/** Second-sentence adjectives follow "it was (very)" or "everyone was (very)". */
export const SECOND_SUBJECTS = ['it', 'everyone', 'nobody'];

const v = (past: string, base: string, kind: Verb['kind'], prep?: string): Verb =>
    prep == null ? {past, base, kind} : {past, base, kind, prep};

export const VERBS: Verb[] = [
  ...[['ate', 'eat'], ['chased', 'chase'], ['found', 'find'], ['saw', 'see'], ['took', 'take'],
      ['kicked', 'kick'], ['pushed', 'push'], ['carried', 'carry'], ['dropped', 'drop'],
      ['caught', 'catch'], ['painted', 'paint'], ['washed', 'wash'], ['bought', 'buy'],
      ['sold', 'sell'], ['opened', 'open'], ['closed', 'close'], ['broke', 'break'],
      ['fixed', 'fix'], ['hugged', 'hug'], ['followed', 'follow'], ['watched', 'watch'],
      ['lifted', 'lift'], ['pulled', 'pull'], ['climbed', 'climb']]
      .map(([p, b]) => v(p!, b!, 'transitive')),
  ...[['sat', 'sit', 'on'], ['jumped', 'jump', 'over'], ['looked', 'look', 'at'],
      ['waited', 'wait', 'for'], ['hid', 'hide', 'under'], ['ran', 'run', 'to'],
      ['walked', 'walk', 'into'], ['leaned', 'lean', 'against'], ['stood', 'stand', 'on'],
      ['talked', 'talk', 'to'], ['played', 'play', 'with'], ['laughed', 'laugh', 'at']]
      .map(([p, b, prep]) => v(p!, b!, 'prepositional', prep)),
  ...[['slept', 'sleep'], ['barked', 'bark'], ['smiled', 'smile'], ['sang', 'sing'],
      ['danced', 'dance'], ['cried', 'cry'], ['yawned', 'yawn'], ['fell', 'fall'],
      ['arrived', 'arrive'], ['waved', 'wave'], ['shouted', 'shout'], ['rested', 'rest']]
      .map(([p, b]) => v(p!, b!, 'intransitive')),
];

/** Function words used by the renderer. */
export const FUNCTION_WORDS = ['and', 'that', 'did', 'not', 'was', 'very', ',', '.'];

/** Every token the grammar can produce, sorted, without duplicates. */
export function grammarTokens(): string[] {
  const words = new Set<string>([
    ...NOUNS, ...NAMES, ...DETERMINERS, ...ADJECTIVES, ...ADVERBS, ...TIMES.flat(),
    ...PLACE_PREPS, ...SUBORDINATORS, ...SECOND_SUBJECTS, ...FUNCTION_WORDS,
    ...VERBS.flatMap(verb => [verb.past, verb.base, ...(verb.prep == null ? [] : [verb.prep])]),
  ]);
  return [...words].sort();
}

// ---- Rendering: structure → tokens ------------------------------------------------------

/** A rendered word, and whether it belongs to the headline (only in the main clause). */
type Marked = [word: string, head: boolean];

function nounPhraseMarked(np: NounPhrase, head: boolean): Marked[] {
  const words: Marked[] = np.det == null ? [] : [np.det, ...(np.adjectives ?? [])].map(
      w => [w, false] as Marked);
  words.push([np.noun, head]);
  if (np.relative != null) {
    words.push(['that', false], ...predicateMarked(np.relative, false));
  }
  return words;
}

function joinAnd(items: Marked[][], head: boolean): Marked[] {
  return items.flatMap((item, i) => (i === 0 ? item : [['and', head] as Marked, ...item]));
}

/** The clause without its subject: "quietly sat on the old mat near the door". */
function predicateMarked(c: Clause, head: boolean): Marked[] {
  const words: Marked[] = [];
  if (c.negated) {
    words.push(['did', head], ['not', head], [c.verb.base, head]);
  } else {
    if (c.adverbBefore != null) {
      words.push([c.adverbBefore, false]);
    }
    words.push([c.verb.past, head]);
  }
  if (c.verb.prep != null) {
    words.push([c.verb.prep, head]);
  }
  words.push(...joinAnd((c.objects ?? []).map(np => nounPhraseMarked(np, head)), head));
  if (c.place != null) {
    words.push([c.place.prep, false], ...nounPhraseMarked(c.place.np, false));
  }
  if (c.adverbAfter != null) {
    words.push([c.adverbAfter, false]);
  }
  return words;
}

function clauseMarked(c: Clause, head: boolean): Marked[] {
  return [...joinAnd(c.subjects.map(np => nounPhraseMarked(np, head)), head),
          ...predicateMarked(c, head)];
}

function exampleMarked(e: Example): Marked[] {
  const plain = (words: string[]) => words.map(w => [w, false] as Marked);
  const words: Marked[] = plain(e.timeFront ?? []);
  if (e.leading != null) {
    words.push([e.leading.subordinator, false], ...clauseMarked(e.leading.clause, false),
               [',', false]);
  }
  words.push(...clauseMarked(e.main, true), ...plain(e.timeBack ?? []));
  if (e.trailing != null) {
    words.push([',', false], [e.trailing.subordinator, false],
               ...clauseMarked(e.trailing.clause, false));
  }
  words.push(['.', false]);
  if (e.second != null) {
    words.push(...plain(e.second), ['.', false]);
  }
  return words;
}

export function renderNounPhrase(np: NounPhrase): string[] {
  return nounPhraseMarked(np, false).map(([w]) => w);
}

export function renderClause(c: Clause): string[] {
  return clauseMarked(c, false).map(([w]) => w);
}

/** The input as tokens (punctuation are tokens of their own). */
export function renderExample(e: Example): string[] {
  return exampleMarked(e).map(([w]) => w);
}

/**
 * Where the headline's words are in {@link renderExample}'s tokens: the headline is always a
 * subsequence of the input, and these are the positions of the main clause's own words (not an
 * equal word elsewhere in the sentence).
 */
export function headlinePositions(e: Example): number[] {
  return exampleMarked(e).flatMap(([, head], i) => (head ? [i] : []));
}

/** The headline of the main clause as tokens: "cat and dog did not eat fish". */
export function headlineOf(c: Clause): string[] {
  const nouns = (nps: NounPhrase[]) => nps.flatMap((np, i) => (i === 0 ? [np.noun] :
                                                                        ['and', np.noun]));
  return [...nouns(c.subjects), ...(c.negated ? ['did', 'not', c.verb.base] : [c.verb.past]),
          ...(c.verb.prep == null ? [] : [c.verb.prep]), ...nouns(c.objects ?? [])];
}

/** Tokens → text: spaces between words, none before "," and ".". */
export function detokenize(tokens: string[]): string {
  return tokens.join(' ').replace(/ ([,.])/g, '$1');
}

/** Number of words, punctuation not counted. */
export function wordCount(tokens: string[]): number {
  return tokens.filter(t => t !== ',' && t !== '.').length;
}

// ---- Combinations and the split ------------------------------------------------------

/** "subject|verb|object" keys of a clause (object "-" for intransitive verbs). */
export function triplesOf(c: Clause): string[] {
  const objects = c.objects == null || c.objects.length === 0 ? ['-'] :
                                                                c.objects.map(np => np.noun);
  return c.subjects.flatMap(s => objects.map(o => `${s.noun}|${c.verb.base}|${o}`));
}

/** Every clause of an example, relative clauses included (their subject is their noun). */
export function clausesOf(e: Example): Clause[] {
  const clauses: Clause[] = [];
  const visit = (c: Clause) => {
    clauses.push(c);
    for (const np of [...c.subjects, ...(c.objects ?? []), ...(c.place ? [c.place.np] : [])]) {
      if (np.relative != null) {
        visit(np.relative);
      }
    }
  };
  visit(e.main);
  if (e.leading != null) {
    visit(e.leading.clause);
  }
  if (e.trailing != null) {
    visit(e.trailing.clause);
  }
  return clauses;
}

/** Fraction of all triples held out for the test split. */
export const HELD_OUT_FRACTION = 0.12;

/** Whether a "subject|verb|object" combination belongs to the held-out (test) split. */
export function isHeldOut(triple: string): boolean {
  // FNV-1a, 32 bits: a fixed, platform-independent assignment.
  let h = 0x811c9dc5;
  for (let i = 0; i < triple.length; i++) {
    h ^= triple.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 10000) < HELD_OUT_FRACTION * 10000;
}

// ---- Random sampling ---------------------------------------------------------------------

/** Seeded pseudo-random numbers (mulberry32), so every split is reproducible. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

// `richness` scales how often each modifier appears: near 0 gives short plain sentences,
// 1 the default mix, 2 long ones.

function sampleNounPhrase(r: Random, richness: number, allowRelative: boolean): NounPhrase {
  if (r.chance(0.12)) {
    return {noun: r.pick(NAMES)};
  }
  const adjectives: string[] = [];
  const count = r.chance(0.55 * richness) ? (r.chance(0.4) ? 2 : 1) : 0;
  while (adjectives.length < count) {
    const adjective = r.pick(ADJECTIVES);
    if (!adjectives.includes(adjective)) {
      adjectives.push(adjective);
    }
  }
  const np: NounPhrase = {det: r.pick(DETERMINERS), adjectives, noun: r.pick(NOUNS)};
  if (allowRelative && r.chance(0.15 * richness)) {
    np.relative = sampleClause(r, richness, {subjects: 1, simple: true});
  }
  return np;
}

function sampleClause(r: Random, richness: number,
                      opts: {subjects?: number, simple?: boolean} = {}): Clause {
  const verb = r.pick(VERBS);
  const simple = opts.simple ?? false;
  const subjectCount = opts.subjects ?? (r.chance(0.2) ? 2 : 1);
  const subjects = Array.from({length: subjectCount},
                              () => sampleNounPhrase(r, richness, !simple));
  const c: Clause = {subjects, verb};
  if (r.chance(0.25)) {
    c.negated = true;
  }
  // A transitive verb may go without its object ("the cat and the dog ate").
  if (verb.kind === 'prepositional' || (verb.kind === 'transitive' && !r.chance(0.1))) {
    const objectCount = verb.kind === 'transitive' && !simple && r.chance(0.15) ? 2 : 1;
    c.objects = Array.from({length: objectCount}, () => sampleNounPhrase(r, richness, false));
  }
  if (!c.negated && r.chance(0.3 * richness)) {
    c.adverbBefore = r.pick(ADVERBS);
  }
  if (r.chance((simple ? 0.1 : 0.4) * richness)) {
    c.place = {prep: r.pick(PLACE_PREPS), np: sampleNounPhrase(r, richness, false)};
  }
  if (r.chance(0.15 * richness)) {
    c.adverbAfter = r.pick(ADVERBS);
  }
  return c;
}

function sampleSecond(r: Random, richness: number): string[] {
  if (r.chance(0.5)) {
    return [r.pick(SECOND_SUBJECTS), 'was', ...(r.chance(0.5) ? ['very'] : []),
            r.pick(ADJECTIVES)];
  }
  return renderClause(sampleClause(r, richness, {subjects: 1, simple: true}));
}

/** One example of any shape, before the split and length checks. */
export function sampleExample(r: Random, richness = 1): Example {
  const e: Example = {main: sampleClause(r, richness)};
  const front = r.chance(0.3 * richness);
  if (front && r.chance(0.5)) {
    e.timeFront = r.pick(TIMES);
  } else if (r.chance(0.2 * richness)) {
    e.timeBack = r.pick(TIMES);
  }
  const subordinate = r.chance(0.45 * richness);
  if (subordinate) {
    const clause = sampleClause(r, richness, {subjects: 1, simple: true});
    const part = {subordinator: r.pick(SUBORDINATORS), clause};
    if (r.chance(0.4)) {
      e.leading = part;
    } else {
      e.trailing = part;
    }
  }
  if (r.chance(0.3 * richness)) {
    e.second = sampleSecond(r, richness);
  }
  return e;
}

/** Inputs are 8–40 words. */
export const MIN_WORDS = 8;
export const MAX_WORDS = 40;

/** One sampled example with its rendered input and headline. */
export interface Sample {
  example: Example;
  input: string[];
  headline: string[];
  /** Positions of the headline's words in `input` ({@link headlinePositions}). */
  positions: number[];
}

/**
 * Samples `count` examples of a split: 'train' (no clause uses a held-out combination) or
 * 'test' (the main clause has at least one held-out combination). Each has 8–40 words; the
 * richness of each example is drawn from 0.2–2, so that lengths cover the whole range.
 */
export function sampleSplit(split: 'train'|'test', count: number, seed: number): Sample[] {
  if (split !== 'train' && split !== 'test') {
    throw new Error(`sampleSplit: split must be 'train' or 'test'. Received: split=${
        JSON.stringify(split)}`);
  }
  const r = new Random(seed);
  const samples: Sample[] = [];
  while (samples.length < count) {
    const example = sampleExample(r, 0.2 + 1.8 * r.next());
    const input = renderExample(example);
    const words = wordCount(input);
    if (words < MIN_WORDS || words > MAX_WORDS) {
      continue;
    }
    const fits = split === 'train' ?
        clausesOf(example).every(c => triplesOf(c).every(t => !isHeldOut(t))) :
        triplesOf(example.main).some(isHeldOut);
    if (fits) {
      samples.push({example, input, headline: headlineOf(example.main),
                    positions: headlinePositions(example)});
    }
  }
  return samples;
}
