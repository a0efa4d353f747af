/**
 * The examples' command-line parsing (examples/shared/cli.ts): defaults, `--x v` and `--x=v`,
 * booleans, numbers and choices checked with errors that name the option and the value,
 * unknown options, help text, and input lines without blank ones. The commands themselves
 * (exit codes, stderr) are run as processes in their own suites.
 */
import {Command, helpText, inputLines, parseCommandLine, UsageError} from '../../../examples/shared/cli';

const COMMAND = {
  name: 'npm run thing --',
  summary: 'Does a thing.',
  positionals: '[word …]',
  examples: ['npm run thing -- a b'],
  options: {
    model: {default: 'models/x', help: 'model folder'},
    json: {default: false, help: 'print JSON'},
    batchSize: {default: 128, help: 'examples per step', integer: true, min: 1},
    rate: {default: 3e-3, help: 'learning rate', min: 0, max: 1},
    clock: {default: 'cpu', help: 'what to count', choices: ['cpu', 'wall']},
  },
} satisfies Command;

describe('parseCommandLine', () => {
  it('fills in defaults and reads both --x v and --x=v', () => {
    expect(parseCommandLine(COMMAND, [])).toEqual({
      options: {model: 'models/x', json: false, batchSize: 128, rate: 3e-3, clock: 'cpu'},
      positionals: [], help: false,
    });
    const p = parseCommandLine(COMMAND, ['--model', 'm', '--batchSize=64', 'a', '--json', 'b',
                                         '--clock', 'wall', '--rate', '0.5']);
    expect(p.options).toEqual({model: 'm', json: true, batchSize: 64, rate: 0.5, clock: 'wall'});
    expect(p.positionals).toEqual(['a', 'b']);
  });

  it('--help (or -h) wins over everything else', () => {
    expect(parseCommandLine(COMMAND, ['--frobnicate', '--help']).help).toBe(true);
    expect(parseCommandLine(COMMAND, ['-h']).help).toBe(true);
  });

  it('names the option and the value it rejects', () => {
    const error = (argv: string[]) => {
      try {
        parseCommandLine(COMMAND, argv);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`no error for ${argv.join(' ')}`);
    };
    expect(error(['--frobnicate'])).toBe(
        'Unknown option "--frobnicate". Options: --model --json --batchSize --rate --clock (see --help).');
    expect(error(['--model'])).toBe('Option --model needs a value (see --help).');
    expect(error(['--json=yes'])).toBe('Option --json takes no value (see --help).');
    expect(error(['--batchSize', 'four'])).toBe('--batchSize must be an integer ≥ 1. Received: --batchSize "four"');
    expect(error(['--batchSize', '2.5'])).toBe('--batchSize must be an integer ≥ 1. Received: --batchSize "2.5"');
    expect(error(['--batchSize', '0'])).toBe('--batchSize must be an integer ≥ 1. Received: --batchSize "0"');
    expect(error(['--batchSize='])).toBe('--batchSize must be an integer ≥ 1. Received: --batchSize ""');
    expect(error(['--rate', '2'])).toBe('--rate must be a number from 0 to 1. Received: --rate "2"');
    expect(error(['--rate', 'NaN'])).toBe('--rate must be a number from 0 to 1. Received: --rate "NaN"');
    expect(error(['--clock', 'sundial'])).toBe('--clock must be one of cpu, wall. Received: --clock "sundial"');
  });

  it('refuses positional arguments when the command takes none', () => {
    const none = {...COMMAND, positionals: undefined};
    expect(() => parseCommandLine(none, ['stray'])).toThrow(
        'Unexpected argument "stray": npm run thing -- takes options only. See --help.');
  });
});

describe('helpText', () => {
  it('lists every option with its default, the usage and the examples', () => {
    const text = helpText(COMMAND);
    expect(text.split('\n').slice(0, 3)).toEqual(['Does a thing.', '', 'Usage: npm run thing -- [options] [word …]']);
    expect(text).toMatch(/--model <value> +model folder \(default: models\/x\)/);
    expect(text).toMatch(/--json +print JSON\n/);
    expect(text).toMatch(/--batchSize <number> +examples per step \(default: 128\)/);
    expect(text).toMatch(/--clock <cpu\|wall> +what to count \(default: cpu\)/);
    expect(text).toMatch(/--help +print this help and exit/);
    expect(text).toMatch(/Examples:\n {2}npm run thing -- a b\n$/);
  });
});

describe('inputLines', () => {
  it('skips blank lines, drops \\r, and keeps line numbers', () => {
    expect(inputLines('a\r\n\n  \nb c\n\t\nd')).toEqual([
      {text: 'a', where: 'line 1'}, {text: 'b c', where: 'line 4'}, {text: 'd', where: 'line 6'},
    ]);
    expect(inputLines('\n\n')).toEqual([]);
  });
});
