/**
 * The committed date model (models/dates) and the translate command line: the model gets a
 * fixed sample of held-out dates right in every format, and the CLI translates good lines and
 * names the problem with bad ones, from arguments and from stdin.
 */
import {spawnSync} from 'child_process';
import * as path from 'path';

import {useBackend} from '../../../examples/backend';
import {allFormats, FORMATS, splitDays} from '../../../examples/dates/data';
import {evaluate, translate} from '../../../examples/dates/model';
import {loadModel} from '../../../examples/dates/model_files';
import {isRealDate} from '../../../examples/dates/translate';

const ROOT = path.join(__dirname, '..', '..', '..');
const MODEL_DIR = path.join(ROOT, 'models', 'dates');

beforeAll(async () => {
  expect(await useBackend('wasm')).toBe('wasm');
});

describe('committed date model', () => {
  it('gets at least 99.5% of 200 held-out dates × every format right', async () => {
    const {model, vocab} = await loadModel(MODEL_DIR);
    const test = splitDays().test;
    const examples = allFormats(test.slice(0, 200));
    const right = evaluate(model, vocab, examples);
    const accuracy = right.filter(Boolean).length / right.length;
    expect(examples.length).toBe(200 * FORMATS.length);
    expect(accuracy).toBeGreaterThanOrEqual(0.995);

    // Greedy decoding (what the CLI does) agrees with the one-pass measure on a subset.
    const some = allFormats(test.slice(200, 210));
    const greedy = translate(model, vocab, some.map(e => e.input));
    expect(greedy.map((g, i) => g === some[i]!.target)).toEqual(evaluate(model, vocab, some));
    model.dispose();
  });
});

describe('translate CLI', () => {
  const run = (args: string[], input?: string) => spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--transpile-only',
       path.join(ROOT, 'examples', 'dates', 'translate.ts'), ...args],
      {cwd: ROOT, input, encoding: 'utf8', timeout: 120000});

  it('translates arguments and names the problem with bad ones', () => {
    const long = '1'.repeat(40);
    const r = run(['Jan 20th 2019', '', '20 Jan 2019 ~', long, '20.01.19']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      'Jan 20th 2019 → 2019-01-20',
      '"" → error: the input is empty',
      '20 Jan 2019 ~ → error: character "~" not in the vocabulary',
      `${long} → error: the input has 40 characters, more than the model accepts (32)`,
      '20.01.19 → 2019-01-20',
    ]);
    expect(r.status).toBe(1);
  });

  it('reads one date per line from stdin', () => {
    const r = run([], 'the 3rd of May 1999\n20JAN2019\nnot a date?\n12/31/1950\n');
    expect(r.stdout.trim().split('\n')).toEqual([
      'the 3rd of May 1999 → 1999-05-03',
      '20JAN2019 → 2019-01-20',
      'not a date? → error: character "?" not in the vocabulary',
      '12/31/1950 → 1950-12-31',
    ]);
    expect(r.status).toBe(1);
  });

  it('npm start samples all translate, exit code 0', () => {
    const r = run(['--samples']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(8);
    for (const line of lines) {
      expect(isRealDate(line.split(' → ')[1]!)).toBe(true);
    }
    expect(lines).toContain('Sunday, January 20, 2019 → 2019-01-20');
  });

  it('rejects an unknown option', () => {
    const r = run(['--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown option "--frobnicate"/);
  });
});
