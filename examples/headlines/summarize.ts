/**
 * Writes the headline of each text with the committed model.
 *
 *   npm run summarize -- "yesterday the small brown cat quietly sat on the old mat."
 *   printf 'the dog did not eat the fish.\nthe cat and the dog ate.\n' | npm run summarize
 *
 * Texts come from the arguments, or else one per line from stdin. One headline per line on
 * stdout. A text with a word outside the vocabulary gets an error on stderr that names the word
 * (and the line, for stdin); the others are still summarised, and the exit code is 1.
 */
import * as path from 'path';

import {useBackend} from '../backend';
import {loadModel} from './model_files';
import {Summarizer} from './summarizer';

/** Options; everything else on the command line is a text. */
export const SUMMARIZE_DEFAULTS = {
  model: path.resolve(__dirname, '../../models/headlines'),
  backend: 'wasm',
};

/** Splits argv into options (`--model dir`, `--backend wasm|cpu`) and texts. */
export function parseArgs(argv: string[]): {options: typeof SUMMARIZE_DEFAULTS, texts: string[]} {
  const options = {...SUMMARIZE_DEFAULTS};
  const texts: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      texts.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      if (!(name in options)) {
        throw new Error(`Unknown option ${JSON.stringify(arg)}. Options: --model <dir>, ` +
                        `--backend wasm|cpu; other arguments are texts.`);
      }
      const value = argv[++i];
      if (value == null) {
        throw new Error(`Option ${arg} needs a value.`);
      }
      options[name as keyof typeof options] = value;
    } else {
      texts.push(arg);
    }
  }
  return {options, texts};
}

async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
}

async function main(): Promise<number> {
  const {options, texts: args} = parseArgs(process.argv.slice(2));
  const fromStdin = args.length === 0;
  if (fromStdin && process.stdin.isTTY) {
    console.error('Usage: npm run summarize -- "text" ["text" …], or one text per line on stdin.');
    return 2;
  }
  // Stdin: remember each text's line number; skip blank lines.
  const lines = fromStdin ? await readStdinLines() : args;
  const texts = lines.map((text, i) => ({text, where: fromStdin ? `line ${i + 1}` : `text ${
                                            i + 1}`}))
                    .filter(t => !fromStdin || t.text.trim().length > 0);
  if (texts.length === 0) {
    console.error('No text given: pass texts as arguments or one per line on stdin.');
    return 2;
  }

  await useBackend(options.backend);
  const {model, vocab} = await loadModel(options.model);
  const summarizer = new Summarizer(model, vocab);
  const encoded: Array<number[]|null> = texts.map(({text, where}) => {
    try {
      return vocab.encodeText(text);
    } catch (err) {
      console.error(`Error (${where}): ${(err as Error).message}`);
      return null;
    }
  });
  const good = encoded.filter((ids): ids is number[] => ids != null);
  const headlines = await summarizer.summarizeIds(good);
  for (const words of headlines) {
    console.log(words.join(' '));
  }
  return good.length === texts.length ? 0 : 1;
}

if (require.main === module) {
  main().then(code => {
    process.exitCode = code;
  }, err => {
    console.error(`Error: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
