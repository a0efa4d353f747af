/**
 * The toy summarisation example (examples/headlines): the grammar and its split, the tokenizer,
 * the model pieces (built from the package's blocks only), the committed model's accuracy, its
 * greedy decoding on the caches against the decoder re-run per word (cpu and wasm), and the
 * summarize command line.
 */
import * as tf from '@tensorflow/tfjs';
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {batchInputs, makeBatch, taskVocab} from '../../../examples/headlines/data';
import {clausesOf, Clause, detokenize, Example, headlineOf, headlinePositions, isHeldOut,
        NOUNS, renderExample, sampleSplit, triplesOf, VERBS, wordCount} from
    '../../../examples/headlines/grammar';
import {buildHeadlineModel, splitForInference} from '../../../examples/headlines/model';
import {loadModel, saveModel} from '../../../examples/headlines/model_files';
import {rouge1F1, score} from '../../../examples/headlines/report';
import {decodeHeadlines, maskOf, padBatch, Summarizer} from '../../../examples/headlines/summarizer';
import {splitWords, UnknownWordError, Vocab} from '../../../examples/headlines/vocab';
import {useBackend} from '../../../examples/shared/backend';
import {decodeHeadlinesUncached} from '../../helpers/uncached_decoders';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MODEL_DIR = path.join(ROOT, 'models/headlines');

const verb = (base: string) => VERBS.find(v => v.base === base)!;
const the = (noun: string, ...adjectives: string[]) => ({det: 'the', adjectives, noun});

/** Subjects, verb and objects read back from a headline's words, without the grammar. */
function parseHeadline(words: string[]): {subjects: string[], verb: string, objects: string[]} {
  const at = words.findIndex(w => w === 'did' || VERBS.some(v => v.past === w));
  if (at <= 0) {
    throw new Error(`no subject and verb in the headline ${JSON.stringify(words.join(' '))}`);
  }
  const negated = words[at] === 'did';
  const base = negated ? words[at + 2]! : VERBS.find(v => v.past === words[at])!.base;
  const v = verb(base);
  const rest = words.slice(at + (negated ? 3 : 1) + (v.prep == null ? 0 : 1));
  return {subjects: words.slice(0, at).filter(w => w !== 'and'), verb: base,
          objects: rest.filter(w => w !== 'and')};
}

const headlineTriples = (words: string[]) => {
  const {subjects, verb: v, objects} = parseHeadline(words);
  return subjects.flatMap(s => (objects.length ? objects : ['-']).map(o => `${s}|${v}|${o}`));
};

describe('headline grammar', () => {
  const cases: Array<[string, Example, string, string]> = [
    ['the issue example', {
      timeFront: ['yesterday'],
      main: {subjects: [the('cat', 'small', 'brown')], verb: verb('sit'),
             adverbBefore: 'quietly', objects: [the('mat', 'old')],
             place: {prep: 'near', np: the('door')}},
      trailing: {subordinator: 'while', clause: {subjects: [the('dog')], verb: verb('sleep')}},
    }, 'yesterday the small brown cat quietly sat on the old mat near the door, while the dog ' +
       'slept.', 'cat sat on mat'],
    ['negation', {main: {subjects: [the('dog')], verb: verb('eat'), negated: true,
                         objects: [the('fish')]}},
     'the dog did not eat the fish.', 'dog did not eat fish'],
    ['coordination', {main: {subjects: [the('cat'), the('dog')], verb: verb('eat')}},
     'the cat and the dog ate.', 'cat and dog ate'],
    ['leading clause, relative clause, second sentence', {
      leading: {subordinator: 'because', clause: {subjects: [the('cat')], verb: verb('bark')}},
      main: {subjects: [{...the('cat'), relative: {subjects: [the('cat')], verb: verb('chase'),
                                                   objects: [{noun: 'tom'}]}}],
             verb: verb('open'), negated: true, objects: [the('door'), the('box', 'red')]},
      timeBack: ['last', 'night'], second: ['it', 'was', 'very', 'happy'],
    }, 'because the cat barked, the cat that chased tom did not open the door and the red box ' +
       'last night. it was very happy.', 'cat did not open door and box'],
  ];
  for (const [name, example, text, headline] of cases) {
    it(`renders ${name} and derives its headline`, () => {
      const tokens = renderExample(example);
      expect(detokenize(tokens)).toBe(text);
      expect(headlineOf(example.main).join(' ')).toBe(headline);
      // The positions are the main clause's own words, not an equal word elsewhere.
      const positions = headlinePositions(example);
      expect(positions.map(i => tokens[i]).join(' ')).toBe(headline);
    });
  }
  it('points at the main clause even when a word repeats', () => {
    const example = cases[3]![1];
    const tokens = renderExample(example);
    const cat = headlinePositions(example)[0]!;
    expect(tokens.indexOf('cat')).toBeLessThan(cat);  // the first "cat" is the leading clause's
    expect(tokens.slice(cat - 1, cat + 2)).toEqual(['the', 'cat', 'that']);
  });

  const train = sampleSplit('train', 2000, 11);
  const test = sampleSplit('test', 1000, 12);

  it('samples 8–40 words whose headline is the marked subsequence', () => {
    const bad = [...train, ...test].filter(s => {
      const words = wordCount(s.input);
      const marked = s.positions.map(i => s.input[i]).join(' ');
      const ordered = s.positions.every((p, i) => i === 0 || p > s.positions[i - 1]!);
      return words < 8 || words > 40 || marked !== s.headline.join(' ') || !ordered;
    });
    expect(bad.map(s => detokenize(s.input))).toEqual([]);
    // Every shape of the task is there: negation, coordination, subordinate clauses.
    expect(train.some(s => s.headline.includes('not'))).toBe(true);
    expect(train.some(s => s.headline.includes('and'))).toBe(true);
    expect(train.some(s => s.input.includes(','))).toBe(true);
    for (const [lo, hi] of [[8, 15], [16, 23], [24, 31], [32, 40]] as const) {
      const n = train.filter(s => wordCount(s.input) >= lo && wordCount(s.input) <= hi).length;
      expect(n).toBeGreaterThan(train.length * 0.03);
    }
  });

  it('keeps every held-out combination out of training, in every clause', () => {
    const leaked = train.flatMap(s => [
      ...headlineTriples(s.headline),
      ...clausesOf(s.example).flatMap((c: Clause) => triplesOf(c)),
    ].filter(isHeldOut));
    expect(leaked).toEqual([]);
  });

  it('gives every test sentence a main event with a held-out combination', () => {
    const combos = new Set(train.flatMap(s => headlineTriples(s.headline)));
    const seen = test.filter(s => !headlineTriples(s.headline).some(isHeldOut) ||
                                  headlineTriples(s.headline).every(t => combos.has(t)));
    expect(seen.map(s => s.headline.join(' '))).toEqual([]);
  });

  it('holds out about 12% of all combinations, and every word still appears in training', () => {
    const all = NOUNS.flatMap(s => VERBS.flatMap(
        v => (v.kind === 'intransitive' ? ['-'] : NOUNS).map(o => `${s}|${v.base}|${o}`)));
    const fraction = all.filter(isHeldOut).length / all.length;
    expect(fraction).toBeGreaterThan(0.11);
    expect(fraction).toBeLessThan(0.13);
    const seen = new Set(train.flatMap(s => s.headline));
    expect(test.flatMap(s => s.headline).filter(w => !seen.has(w))).toEqual([]);
  });

  it('is reproducible from the seed and rejects a bad split name', () => {
    expect(sampleSplit('test', 5, 3).map(s => s.input)).toEqual(
        sampleSplit('test', 5, 3).map(s => s.input));
    expect(() => sampleSplit('dev' as 'test', 1, 1)).toThrow(/split=.*dev/);
  });
});

describe('headline tokenizer', () => {
  const vocab = taskVocab();

  it('has a few hundred words and round-trips every sampled text', () => {
    expect(vocab.size).toBeGreaterThan(200);
    expect(vocab.size).toBeLessThan(400);
    const samples = sampleSplit('train', 500, 5);
    const texts = samples.map(s => detokenize(s.input));
    expect(texts.map(t => vocab.decode(vocab.encodeText(t)))).toEqual(samples.map(s => s.input));
    expect(texts.map(t => detokenize(vocab.decode(vocab.encodeText(t))))).toEqual(texts);
    expect(new Vocab(JSON.parse(JSON.stringify(vocab.toJSON()))).tokens).toEqual(vocab.tokens);
  });

  it('lower-cases and splits off punctuation', () => {
    expect(splitWords('  The Cat sat,on the MAT.  ')).toEqual(
        ['the', 'cat', 'sat', ',', 'on', 'the', 'mat', '.']);
  });

  it('names unknown words instead of dropping them', () => {
    let error: unknown;
    try {
      vocab.encodeText('the zebra sat on the mat near the unicorn and the zebra');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnknownWordError);
    expect((error as UnknownWordError).words).toEqual(['zebra', 'unicorn']);
    expect((error as Error).message).toMatch(/"zebra", "unicorn"/);
    expect(() => vocab.encodeText('the <pad> sat')).toThrow(/"<pad>"/);
  });

  it('rejects empty and too long texts, and bad vocabularies', () => {
    expect(() => vocab.encodeText('   ')).toThrow(/empty/);
    expect(() => vocab.encodeText('the cat '.repeat(30))).toThrow(/60 tokens.*48/);
    expect(() => new Vocab({tokens: ['a'], maxInputLength: 4, maxOutputLength: 2}))
        .toThrow(/tokens must be an array starting with <pad>/);
    expect(() => Vocab.fromWords(['a', 'a'], 4, 2)).toThrow(/distinct/);
    expect(() => Vocab.fromWords(['a'], 0, 2)).toThrow(/maxInputLength=0/);
  });
});

describe('headline scores', () => {
  it('computes ROUGE-1 F1 from clipped unigram overlap', () => {
    expect(rouge1F1(['cat', 'sat'], ['cat', 'sat', 'on', 'mat'])).toBeCloseTo(2 / 3, 12);
    expect(rouge1F1(['cat', 'cat'], ['cat', 'and', 'dog'])).toBeCloseTo(0.4, 12);
    expect(rouge1F1(['dog'], ['cat'])).toBe(0);
    expect(rouge1F1([], [])).toBe(1);
  });
  it('groups by input length', () => {
    const samples = sampleSplit('test', 40, 9);
    const result = score(samples, samples.map((s, i) => (i % 4 === 0 ? ['x'] : s.headline)));
    expect(result.overall.exactMatch).toBeCloseTo(0.75, 12);
    expect(result.byLength.reduce((n, b) => n + b.count, 0)).toBe(40);
  });
});

describe('headline model', () => {
  const vocab = taskVocab();
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('makes batches whose targets point at the next headline word', () => {
    const samples = sampleSplit('train', 16, 21);
    const batch = makeBatch(samples, vocab);
    const enc = batch.encoderIds.arraySync();
    const dec = batch.decoderIds.arraySync();
    const pointers = batch.decoderPointers.arraySync();
    const targets = batch.targets.arraySync();
    const wrong: string[] = [];
    samples.forEach((s, i) => {
      expect(pointers[i]![0]).toBe(vocab.maxInputLength);  // START points nowhere
      for (let t = 0; t < dec[i]!.length; t++) {
        const target = targets[i]![0]![t]![0]!;
        const expected = t < s.headline.length ? vocab.id(s.headline[t]!) : vocab.id('<end>');
        if (enc[i]![target] !== expected) {
          wrong.push(`row ${i} step ${t}`);
        }
        // The next decoder input is the word pointed at now, and where it was.
        if (t + 1 < dec[i]!.length && t < s.headline.length &&
            (dec[i]![t + 1] !== expected || pointers[i]![t + 1] !== target)) {
          wrong.push(`row ${i} input ${t + 1}`);
        }
      }
    });
    expect(wrong).toEqual([]);
    tf.dispose([...batchInputs(batch), batch.targets]);
  });

  it('splits into encoder and decoder that compute the same as the whole model', () => {
    const model = buildHeadlineModel({vocabSize: vocab.size, maxInputLength: 48,
                                      maxOutputLength: 10, modelDim: 16, numHeads: 2});
    const {encoder, decoder} = splitForInference(model);
    const batch = makeBatch(sampleSplit('test', 8, 4), vocab);
    const whole = model.predict(batchInputs(batch)) as tf.Tensor;
    const [encoded, mask] = encoder.predict([batch.encoderIds, batch.encoderMask]) as tf.Tensor[];
    const parts =
        decoder.predict([batch.decoderIds, batch.decoderPointers, encoded!, mask!]) as tf.Tensor;
    expect(parts.shape).toEqual(whole.shape);
    expect(tf.max(tf.abs(tf.sub(parts, whole))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([whole, encoded!, mask!, parts, ...batchInputs(batch), batch.targets]);
    expect(() => buildHeadlineModel({vocabSize: 0, maxInputLength: 4, maxOutputLength: 2}))
        .toThrow(/vocabSize=0/);
  });

  it('saves and loads in the standard layout with the same outputs', async () => {
    const model = buildHeadlineModel({vocabSize: vocab.size, maxInputLength: 48,
                                      maxOutputLength: 10, modelDim: 16, numHeads: 2});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headlines-'));
    try {
      await saveModel(model, vocab, dir);
      expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'vocab.json', 'weights.bin']);
      const loaded = await loadModel(dir);
      expect(loaded.vocab.tokens).toEqual(vocab.tokens);
      const ids = padBatch([[5, 6, 7, 2], [8, 2]]);
      const inputs = [ids, maskOf(ids), padBatch([[1, 5], [1, 8]]), padBatch([[48, 0], [48, 0]])];
      const a = model.predict(inputs) as tf.Tensor;
      const b = loaded.model.predict(inputs) as tf.Tensor;
      expect(a.shape).toEqual([2, 1, 2, 4]);
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
      tf.dispose([...inputs, a, b]);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
    await expect(loadModel(path.join(os.tmpdir(), 'no-such-model'))).rejects.toThrow(
        /model\.json does not exist/);
  });

  it('committed model: the package\'s layers only; ≥ 90% exact match on a fixed held-out sample, no leaks', async () => {
    expect(fs.existsSync(path.join(MODEL_DIR, 'model.json'))).toBe(true);
    const topology = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8'));
    const classes = new Set<string>(topology.modelTopology.config.layers.map(
        (l: {class_name: string}) => l.class_name));
    expect([...classes].sort()).toEqual(['Add', 'FeedForward', 'InputLayer', 'LayerNorm',
                                         'PositionalEmbedding', 'SelfAttention', 'TokenEmbedding']);
    const {model, vocab: saved} = await loadModel(MODEL_DIR);
    expect(saved.tokens).toEqual(vocab.tokens);
    const summarizer = new Summarizer(model, saved);
    const samples = sampleSplit('test', 300, 77);
    const texts = samples.map(s => detokenize(s.input));
    await summarizer.summarize(texts.slice(0, 2));  // warm up (builds the split models)
    const before = tf.memory().numTensors;
    const predicted = await summarizer.summarize(texts);
    expect(tf.memory().numTensors).toBe(before);
    const result = score(samples, predicted.map(p => p.split(' ')));
    expect(result.overall.exactMatch).toBeGreaterThanOrEqual(0.9);
    expect(result.overall.rouge1).toBeGreaterThanOrEqual(0.95);
    await expect(summarizer.summarize(['the zebra sat.'])).rejects.toThrow(/"zebra"/);
  });
});

describe('npm run summarize', () => {
  const cli = (args: string[], input?: string) => spawnSync(
      process.execPath,
      [require.resolve('ts-node/dist/bin.js'), '--transpile-only',
       path.join(ROOT, 'examples/headlines/summarize.ts'), ...args],
      {cwd: ROOT, input, encoding: 'utf8', timeout: 120000});

  it('prints the headline of each argument', () => {
    const run = cli(['the small brown cat quietly sat on the old mat near the door, while the ' +
                         'dog slept.',
                     'Yesterday the dog did not eat the fish.']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('cat sat on mat\ndog did not eat fish\n');
  });

  it('reads stdin lines, skips blank ones, names an unknown word and its line, and exits with 1', () => {
    const run = cli([], 'the cat and the dog ate.\n\nthe zebra sat on the mat.\nthe dog slept.\n');
    expect(run.stdout).toBe('cat and dog ate\n\ndog slept\n');  // an empty line in the failed one's place
    expect(run.stderr).toMatch(/\(line 3\): Unknown word: "zebra"/);
    expect(run.status).toBe(1);
  });

  it('rejects an unknown option and empty input', () => {
    const bad = cli(['--temperature', '2', 'the cat slept.']);
    expect([bad.status, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toMatch(/^Unknown option "--temperature"\. Options: --model --backend/);
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Writes the headline of the main event/);
    const empty = cli([], '\n\n');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/No text given/);
  });
});

describe.each(['cpu', 'wasm'] as const)('headline decoding on the caches (%s)', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('equals the decoder re-run on every word so far: same words and positions, pointer probabilities to 1e-5, no leaks', async () => {
    const {model, vocab} = await loadModel(MODEL_DIR);
    const parts = splitForInference(model);
    const rows = sampleSplit('test', 12, 31).map(s => vocab.encodeWords(s.input));
    const reference = decodeHeadlinesUncached(parts, vocab, rows);
    decodeHeadlines(parts, vocab, rows.slice(0, 2));  // warm up (builds the decoding plan)
    const before = tf.memory().numTensors;
    const cached = decodeHeadlines(parts, vocab, rows);
    expect(tf.memory().numTensors).toBe(before);

    expect(cached.ids).toEqual(reference.ids);
    expect(cached.positions).toEqual(reference.positions);
    expect(cached.probabilities.length).toBe(reference.probabilities.length);
    expect(cached.probabilities.length).toBeGreaterThan(3);
    let worst = 0;
    let margin = Infinity;  // best minus second-best probability, over every row and step
    const timeIn = reference.probabilities[0]!.length / rows.length;
    reference.probabilities.forEach((step, k) => {
      step.forEach((p, i) => worst = Math.max(worst, Math.abs(p - cached.probabilities[k]![i]!)));
      for (let i = 0; i < rows.length; i++) {
        const sorted = Array.from(step.subarray(i * timeIn, (i + 1) * timeIn)).sort((a, b) => b - a);
        margin = Math.min(margin, sorted[0]! - sorted[1]!);
      }
    });
    expect(worst).toBeLessThan(1e-5);
    // No near-tie: probabilities that agree to 1e-5 cannot point elsewhere.
    expect(margin).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
