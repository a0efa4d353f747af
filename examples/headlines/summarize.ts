/**
 * `npm run summarize`: writes the headline of each text with a trained model (the committed one
 * by default). See `--help`.
 *
 * Texts come from the arguments, or else one per line from stdin (blank lines skipped). One
 * headline per text on stdout, in order. A text with a word outside the vocabulary gets an
 * error on stderr that names the word and where it was (argument 2, line 3), an empty line on
 * stdout in its place, and the exit code is 1; the others are still summarised.
 */
import * as path from 'path';

import {useBackend} from '../shared/backend';
import {Command, readInputs, runCommand, UsageError} from '../shared/cli';
import {loadModel} from './model_files';
import {Summarizer} from './summarizer';

export const SUMMARIZE_COMMAND = {
  name: 'npm run summarize --',
  summary: 'Writes the headline of the main event of each text (one or two sentences of the ' +
           "headline grammar's 270 words) with the headline model. Texts come as arguments, or " +
           'one per line on stdin; blank lines are skipped. Exit code 1 when a text had an ' +
           'unknown word.',
  positionals: '[text …]',
  examples: ['npm run summarize -- "the dog did not eat the fish."',
             "printf 'the cat and the dog ate.\\n' | npm run summarize"],
  options: {
    model: {default: path.join('models', 'headlines'), help: 'model folder'},
    backend: {default: 'wasm', help: "tfjs backend ('best': the package's choice)"},
  },
} satisfies Command;

if (require.main === module) {
  runCommand(SUMMARIZE_COMMAND, async ({options, positionals}) => {
    const texts = await readInputs(positionals, 'texts');
    if (texts.length === 0) {
      throw new UsageError('No text given: every input line was blank (see --help).');
    }
    await useBackend(options.backend);
    const {model, vocab} = await loadModel(options.model);
    const encoded = texts.map(({text, where}) => {
      try {
        return vocab.encodeText(text);
      } catch (err) {
        process.stderr.write(`Error (${where}): ${(err as Error).message}\n`);
        return null;
      }
    });
    const good = encoded.filter((ids): ids is number[] => ids != null);
    const headlines = await new Summarizer(model, vocab).summarizeIds(good);
    let k = 0;
    process.stdout.write(encoded.map(ids => ids == null ? '' : headlines[k++]!.join(' '))
                             .join('\n') + '\n');
    return good.length === texts.length ? 0 : 1;
  });
}
