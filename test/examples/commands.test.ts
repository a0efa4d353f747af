/**
 * Every example command behaves the same way on the command line: `--help` describes it and
 * every option; a wrong option is a usage error on stderr, nothing on stdout, exit code 2, and
 * nothing is trained or written. (The translate and summarize suites run their commands with
 * real inputs; this one runs each command once, with a wrong option.)
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {COMPARE_COMMAND} from '../../examples/dates/compare';
import {CHART_COMMAND} from '../../examples/dates/chart';
import {EVALUATE_COMMAND} from '../../examples/dates/evaluate';
import {TRAIN_COMMAND as TRAIN_DATES} from '../../examples/dates/train';
import {TRANSLATE_COMMAND} from '../../examples/dates/translate';
import {MEASURE_COMMAND} from '../../examples/dates/web/measure';
import {DEMO_COMMAND} from '../../examples/dates/web/serve';
import {EXPLAIN_COMMAND} from '../../examples/explain/main';
import {KERAS_DEMO_COMMAND} from '../../examples/keras/demo';
import {FIRST_LAST_COMMAND} from '../../examples/first-last/train';
import {SUMMARIZE_COMMAND} from '../../examples/headlines/summarize';
import {TRAIN_COMMAND as TRAIN_HEADLINES} from '../../examples/headlines/train';
import {Command, helpText} from '../../examples/shared/cli';

const ROOT = path.join(__dirname, '..', '..');

/** Each npm script, its file and its command description. */
const COMMANDS: Array<[string, string, Command]> = [
  ['translate', 'examples/dates/translate.ts', TRANSLATE_COMMAND],
  ['train:dates', 'examples/dates/train.ts', TRAIN_DATES],
  ['evaluate:dates', 'examples/dates/evaluate.ts', EVALUATE_COMMAND],
  ['compare:dates', 'examples/dates/compare.ts', COMPARE_COMMAND],
  ['chart:dates', 'examples/dates/chart.ts', CHART_COMMAND],
  ['demo', 'examples/dates/web/serve.ts', DEMO_COMMAND],
  ['measure:demo', 'examples/dates/web/measure.ts', MEASURE_COMMAND],
  ['explain', 'examples/explain/main.ts', EXPLAIN_COMMAND],
  ['demo:first-last', 'examples/first-last/train.ts', FIRST_LAST_COMMAND],
  ['train:headlines', 'examples/headlines/train.ts', TRAIN_HEADLINES],
  ['summarize', 'examples/headlines/summarize.ts', SUMMARIZE_COMMAND],
  ['keras:demo', 'examples/keras/demo.ts', KERAS_DEMO_COMMAND],
];

describe('example commands', () => {
  it('--help describes each command and every option with its default', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as
                     {scripts: Record<string, string>}).scripts;
    for (const [script, file, command] of COMMANDS) {
      expect(scripts[script]).toContain(file);
      expect(command.name).toBe(`npm run ${script} --`);
      const text = helpText(command);
      expect(text.startsWith(command.summary)).toBe(true);
      for (const [name, spec] of Object.entries(command.options)) {
        expect(text).toContain(`--${name}`);
        if (typeof spec.default !== 'boolean') {
          expect(text).toContain(`(default: ${spec.default === '' ? 'none' : spec.default})`);
        }
      }
    }
  });

  it('a wrong option: stderr names it, stdout stays empty, exit code 2', () => {
    for (const [script, file] of COMMANDS) {
      const r = spawnSync(process.execPath,
                          [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'),
                           '--transpile-only', path.join(ROOT, file), '--no-such-option'],
                          {cwd: ROOT, encoding: 'utf8', timeout: 120000});
      expect([script, r.status, r.stdout]).toEqual([script, 2, '']);
      expect(r.stderr).toMatch(/^Unknown option "--no-such-option"\. Options: --\w+/);
    }
  }, 600_000);
});
