/**
 * The committed date model (models/dates) as `npm run translate` runs it, and the command line:
 * on held-out days in every format and variant it is right and unflagged at least 99.5% of
 * the time, flags at most 1% of its right answers and at least 95% of out-of-scope inputs; the
 * CLI prints one line (or one JSON object) per non-blank input line in order, flags what it
 * should, and keeps errors on stderr with the documented exit codes.
 */
import {spawnSync} from 'child_process';
import * as path from 'path';

import {FORMATS, splitDays, TEST_SEED, variantSet} from '../../../examples/dates/data';
import {loadModel} from '../../../examples/dates/model_files';
import {OUT_OF_SCOPE_KINDS, outOfScopeSet} from '../../../examples/dates/out_of_scope';
import {SAMPLES} from '../../../examples/dates/translate';
import {Translator} from '../../../examples/dates/translator';
import {useBackend} from '../../../examples/shared/backend';

const ROOT = path.join(__dirname, '..', '..', '..');
const MODEL_DIR = path.join(ROOT, 'models', 'dates');

beforeAll(async () => {
  expect(await useBackend('wasm')).toBe('wasm');
});

describe('committed date model, as translate runs it', () => {
  let translator: Translator;
  beforeAll(async () => {
    const {model, vocab, calibration} = await loadModel(MODEL_DIR);
    translator = new Translator(model, vocab, calibration);
  });
  afterAll(() => translator.model.dispose());

  it('≥ 99.5% right on 60 held-out days × every format, canonical and a variant; ≤ 1% false alarms', () => {
    // The last 60 test days (npm run evaluate:dates measures all 2,500).
    const test = variantSet(splitDays().test.slice(-60), 1, TEST_SEED);
    const assessed = translator.assess(test.map(e => e.input));
    const right = assessed.filter((a, i) => a.output === test[i]!.target).length;
    expect(right / test.length).toBeGreaterThanOrEqual(0.995);
    const modelRight = assessed.filter((a, i) => a.guess === test[i]!.target);
    expect(modelRight.filter(a => a.flagged).length / modelRight.length).toBeLessThanOrEqual(0.01);
    for (let f = 0; f < FORMATS.length; f++) {
      const picked = test.map((e, i) => [e, assessed[i]!] as const).filter(([e]) => e.format === f);
      expect(picked.filter(([e, a]) => a.output === e.target).length / picked.length)
          .toBeGreaterThanOrEqual(0.97);
    }
    for (const a of assessed.filter(x => !x.flagged)) {
      expect(a.confidence).toBeGreaterThanOrEqual(translator.calibration.threshold);
    }
  });

  it('flags ≥ 95% of out-of-scope inputs of every kind', () => {
    const set = outOfScopeSet(40, 99);  // not the evaluation's seed
    const assessed = translator.assess(set.map(e => e.input));
    const rates = OUT_OF_SCOPE_KINDS.map(kind => {
      const picked = assessed.filter((_, i) => set[i]!.kind === kind);
      return `${kind}: ${(100 * picked.filter(a => a.flagged).length / picked.length).toFixed(1)}%`;
    });
    // Named, so that a failure says which kind: every rate at least 95%.
    expect(rates.filter(r => Number(r.split(': ')[1]!.replace('%', '')) < 95)).toEqual([]);
    for (const a of assessed.filter(x => x.flagged)) {
      expect(a.output).toBeNull();
      expect(a.reason).toEqual(expect.any(String));
    }
  });

  it("the issue's examples", () => {
    const r = translator.assess(['March 3rd 2021', 'the 3rd of March 2099', 'December 31st, 1949',
                                 'tomorrow']);
    expect(r[0]).toMatchObject({output: '2021-03-03', flagged: false});
    expect(r[1]).toMatchObject({output: null, flagged: true});
    expect(r[1]!.reason).toMatch(/the year 2099 is outside the supported 1950–2049/);
    expect(r[2]!.reason).toMatch(/the year 1949 is outside the supported 1950–2049/);
    expect(r[3]!.reason).toMatch(/words no supported format uses: tomorrow/);
  });
});

describe('npm run translate', () => {
  const run = (args: string[], input?: string) => spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--transpile-only',
       path.join(ROOT, 'examples', 'dates', 'translate.ts'), ...args],
      {cwd: ROOT, input, encoding: 'utf8', timeout: 120000});

  it('translates arguments, skips blank ones, flags the rest, exit code 1', () => {
    const r = run(['Jan 20th 2019', '', 'tomorrow', 'December 31st, 1949', '20 Jan 2019 ~',
                   '20.01.19']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^Jan 20th 2019 → 2019-01-20 \(confidence (0\.9\d|1\.00)\)$/);
    expect(lines[1]).toMatch(/^tomorrow → flagged: the input has words no supported format uses: tomorrow/);
    expect(lines[2]).toMatch(/^December 31st, 1949 → flagged: the year 1949 is outside the supported 1950–2049/);
    expect(lines[3]).toBe('20 Jan 2019 ~ → flagged: character "~" not in the vocabulary');
    expect(lines[4]).toMatch(/^20\.01\.19 → 2019-01-20 \(confidence/);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
  });

  it('--json: one object per non-blank stdin line, in order, with exactly the documented fields', () => {
    const r = run(['--json'], 'the 3rd of May 1999\n\n  \r\n20JAN2019\r\nnot a date\n12/31/1950\n');
    const objects = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map(o => Object.keys(o))).toEqual(objects.map(() =>
        ['input', 'output', 'confidence', 'flagged', 'reason']));
    expect(objects.map(o => [o['input'], o['output'], o['flagged']])).toEqual([
      ['the 3rd of May 1999', '1999-05-03', false], ['20JAN2019', '2019-01-20', false],
      ['not a date', null, true], ['12/31/1950', '1950-12-31', false],
    ]);
    for (const o of objects) {
      expect(o['confidence']).toBeGreaterThanOrEqual(0);
      expect(o['confidence']).toBeLessThanOrEqual(1);
      expect(o['reason'] === null).toBe(o['flagged'] === false);
    }
    expect(r.status).toBe(1);
  });

  it('npm start: the samples, some flagged on purpose, exit code 0', () => {
    const r = run(['--samples']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(SAMPLES.length);
    expect(lines).toContain('Sunday, January 20, 2019 → 2019-01-20 (confidence 1.00)');
    expect(lines.filter(l => l.includes('→ flagged:'))).toHaveLength(3);
  });

  it('--help on stdout; a wrong command line or missing model on stderr, exit 2 and 1', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Translates human-written dates/);
    expect(help.stdout).toMatch(/--json +print one JSON object per input line/);
    const bad = run(['--frobnicate']);
    expect([bad.status, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toMatch(/^Unknown option "--frobnicate"\. Options: --model --json --samples --heatmap --backend/);
    const blank = run([], '\n  \n');
    expect([blank.status, blank.stdout]).toEqual([2, '']);
    expect(blank.stderr).toMatch(/No dates given/);
    const missing = run(['--model', '/nonexistent/dates', 'Jan 20 2019']);
    expect([missing.status, missing.stdout]).toEqual([1, '']);
    expect(missing.stderr).toMatch(/loadModel: \/nonexistent\/dates\/model.json does not exist/);
  });
});
