/**
 * Command-line parsing for every example's command (`npm run translate`, `train:dates`,
 * `summarize`, …), so that they all behave the same way:
 *
 * - options are declared once, with their default, a type and a line of help; `--help` prints
 *   them (on stdout, exit code 0);
 * - `--name value` and `--name=value` both work; a boolean option takes no value; anything not
 *   declared, a missing value, a number that is not one, or a value outside `choices` is a usage
 *   error that names the option and the value received;
 * - errors go to stderr, never stdout: usage errors exit with 2, failures with 1;
 * - lines read from stdin skip blank lines, and remember their line numbers.
 *
 *   const COMMAND = {
 *     name: 'npm run translate --', summary: 'Translates dates to ISO.',
 *     positionals: '[date …]',
 *     options: {
 *       model: {default: 'models/dates', help: 'model folder'},
 *       json: {default: false, help: 'one JSON object per line'},
 *       batchSize: {default: 256, help: 'dates per forward pass', integer: true, min: 1},
 *     },
 *   } satisfies Command;
 *   runCommand(COMMAND, async ({options, positionals}) => { … return 0; });
 */
import {parseArgs} from 'util';

/** One declared option. Its type is its default's type. */
export interface OptionSpec {
  /** The value when the option is not given; also fixes its type. Required. */
  default: string|number|boolean;
  /** One line for `--help`. Required. */
  help: string;
  /** Allowed values of a string option. Default: any. */
  choices?: readonly string[];
  /** A number option must be an integer. Default false. */
  integer?: boolean;
  /** Smallest allowed value of a number option. Default 0. */
  min?: number;
  /** Largest allowed value of a number option. Default none. */
  max?: number;
}

/** A command's name, help and options. */
export interface Command {
  /** How a user runs it, e.g. 'npm run translate --'. Required. */
  name: string;
  /** What it does, a sentence or two for `--help`. Required. */
  summary: string;
  /** The positional arguments in the usage line, e.g. '[date …]'. Default: none allowed. */
  positionals?: string|undefined;
  /** Example command lines for `--help`. Default none. */
  examples?: string[];
  options: Record<string, OptionSpec>;
}

/** The parsed options of a command: each option's value, typed as its default. */
export type Options<C extends Command> = {
  [K in keyof C['options']]: C['options'][K]['default'] extends boolean ? boolean :
      C['options'][K]['default'] extends number ? number : string;
};

/** A wrong command line: printed on stderr with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What {@link parseCommandLine} returns. */
export interface ParsedCommandLine<C extends Command> {
  options: Options<C>;
  positionals: string[];
  /** True when `--help` was given (nothing else is checked then). */
  help: boolean;
}

/** Parses `argv` (without node and the script) by `command`; throws {@link UsageError}. */
export function parseCommandLine<C extends Command>(command: C, argv: string[]):
    ParsedCommandLine<C> {
  if (argv.includes('--help') || argv.includes('-h')) {
    return {options: defaults(command), positionals: [], help: true};
  }
  const declared = Object.entries(command.options);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: Object.fromEntries(declared.map(
          ([name, spec]) => [name, {type: typeof spec.default === 'boolean' ? 'boolean' : 'string'}])) as
          NonNullable<Parameters<typeof parseArgs>[0]>['options'],
    });
  } catch (e) {
    throw new UsageError(usageMessage(command, (e as Error).message));
  }
  const options: Record<string, string|number|boolean> = defaults(command);
  for (const [name, raw] of Object.entries(parsed.values)) {
    const spec = command.options[name]!;
    options[name] = convert(name, spec, raw as string|boolean);
  }
  if (command.positionals == null && parsed.positionals.length > 0) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(parsed.positionals[0])}: ${
        command.name} takes options only. See --help.`);
  }
  return {options: options as Options<C>, positionals: parsed.positionals, help: false};
}

function defaults<C extends Command>(command: C): Options<C> {
  return Object.fromEntries(Object.entries(command.options).map(([k, s]) => [k, s.default])) as
      Options<C>;
}

function convert(name: string, spec: OptionSpec, raw: string|boolean): string|number|boolean {
  if (typeof spec.default === 'boolean') {
    return raw as boolean;
  }
  const value = raw as string;
  if (typeof spec.default === 'number') {
    const n = value.trim() === '' ? NaN : Number(value);
    const min = spec.min ?? 0;
    if (!Number.isFinite(n) || (spec.integer === true && !Number.isInteger(n)) || n < min ||
        (spec.max != null && n > spec.max)) {
      const kind = spec.integer === true ? 'an integer' : 'a number';
      const range = spec.max != null ? `from ${min} to ${spec.max}` : `≥ ${min}`;
      throw new UsageError(`--${name} must be ${kind} ${range}. Received: --${name} ${
          JSON.stringify(value)}`);
    }
    return n;
  }
  if (spec.choices != null && !spec.choices.includes(value)) {
    throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}. Received: --${
        name} ${JSON.stringify(value)}`);
  }
  return value;
}

function usageMessage(command: Command, message: string): string {
  // Node's messages: "Unknown option '--x'. …", "Option '--model <value>' argument missing".
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown != null) {
    return `Unknown option ${JSON.stringify(unknown[1])}. Options: ${
        Object.keys(command.options).map(k => `--${k}`).join(' ')} (see --help).`;
  }
  const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(message);
  if (missing != null) {
    return `Option ${missing[1]} needs a value (see --help).`;
  }
  const unexpected = /Option '(--[^ ']+)' does not take an argument/.exec(message);
  if (unexpected != null) {
    return `Option ${unexpected[1]} takes no value (see --help).`;
  }
  return `${message} (see --help)`;
}

/** The `--help` text: summary, usage, every option with its default, examples. */
export function helpText(command: Command): string {
  const lines = [command.summary, '', `Usage: ${command.name} [options]${
      command.positionals != null ? ` ${command.positionals}` : ''}`, '', 'Options:'];
  const rows = Object.entries(command.options).map(([name, spec]) => {
    const value = typeof spec.default === 'boolean' ? '' :
        spec.choices != null ? ` <${spec.choices.join('|')}>` :
        typeof spec.default === 'number' ? ' <number>' : ' <value>';
    const shown = typeof spec.default === 'boolean' ? '' :
        ` (default: ${spec.default === '' ? 'none' : spec.default})`;
    return [`  --${name}${value}`, `${spec.help}${shown}`] as const;
  });
  rows.push(['  --help', 'print this help and exit']);
  const width = Math.max(...rows.map(r => r[0].length)) + 2;
  lines.push(...rows.map(([flag, help]) => flag.padEnd(width) + help));
  if (command.examples != null && command.examples.length > 0) {
    lines.push('', 'Examples:', ...command.examples.map(e => `  ${e}`));
  }
  return lines.join('\n') + '\n';
}

/** What a command's main function receives. */
export interface CommandInput<C extends Command> {
  options: Options<C>;
  positionals: string[];
}

/**
 * Runs `main` as the process's command: parses `argv` (default: the process's), prints help or
 * a usage error, and turns the result into the exit code (main's number, else 0). An error is
 * printed on stderr as one line (its message) and exits with 1 (2 for a {@link UsageError}).
 */
export function runCommand<C extends Command>(
    command: C, main: (input: CommandInput<C>) => Promise<number|void>|number|void,
    argv: string[] = process.argv.slice(2)): void {
  let parsed: ParsedCommandLine<C>;
  try {
    parsed = parseCommandLine(command, argv);
  } catch (e) {
    fail(e);
    return;
  }
  if (parsed.help) {
    process.stdout.write(helpText(command));
    return;
  }
  Promise.resolve()
      .then(() => main({options: parsed.options, positionals: parsed.positionals}))
      .then(code => {
        process.exitCode = code ?? 0;
      }, fail);
}

function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}

/** One line of input with where it came from, for messages ('line 3', 'argument 2'). */
export interface InputLine {
  text: string;
  where: string;
}

/** Splits text into lines, dropping blank ones (whitespace only) and each line's `\r`. */
export function inputLines(text: string): InputLine[] {
  return text.split('\n').map((line, i) => ({text: line.replace(/\r$/, ''), where: `line ${i + 1}`}))
      .filter(l => l.text.trim() !== '');
}

/**
 * The inputs of a command that reads texts: its positional arguments when there are any, else
 * the lines of stdin. Blank ones are skipped either way. Throws a {@link UsageError} when stdin
 * is a terminal and there are no arguments (nothing to read), naming `what`.
 */
export async function readInputs(positionals: string[], what: string,
                                 stdin: NodeJS.ReadStream = process.stdin): Promise<InputLine[]> {
  if (positionals.length > 0) {
    return positionals.map((text, i) => ({text, where: `argument ${i + 1}`}))
        .filter(l => l.text.trim() !== '');
  }
  if (stdin.isTTY) {
    throw new UsageError(`No ${what} given: pass them as arguments or one per line on stdin ` +
                         `(see --help).`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    chunks.push(chunk as Buffer);
  }
  return inputLines(Buffer.concat(chunks).toString('utf8'));
}
