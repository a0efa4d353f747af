/**
 * `npm run translate`: translates dates to ISO with a trained model (the committed one by
 * default), saying when it does not know. See `--help`.
 *
 * Every input line gets one result line on stdout, in order: `input → YYYY-MM-DD (confidence
 * 0.99)`, or `input → flagged: <reason>` for one the model cannot translate or should not be
 * trusted with (see scope.ts); with --json, one JSON object per line instead:
 * `{"input", "output": "YYYY-MM-DD"|null, "confidence": 0…1, "flagged", "reason"}`. Blank
 * lines are skipped. The exit code is 0 when every line was translated, 1 when some line was
 * flagged (0 for --samples, some of which are meant to be), 2 for a wrong command line.
 */
import * as path from 'path';

import {useBackend} from '../shared/backend';
import {Command, readInputs, runCommand, UsageError} from '../shared/cli';
import {headHeatmaps, writeHeatmaps} from '../shared/heatmap';
import {attentionFor, attentionProbe} from './attention';
import {loadModel} from './model_files';
import {Assessment} from './scope';
import {Translator} from './translator';

/** What `npm start` shows: formats and variants it knows, and three it should flag. */
export const SAMPLES = ['Jan 20th 2019', '20.01.19', 'Sunday, January 20, 2019',
                        'the 3rd of May 1999', 'MARCH 3RD  2021', '12/31/1950', 'sept 9 49',
                        '1 apr 2000', 'tomorrow', 'December 31st, 1949', 'Monday, 20 Jan 2019'];

export const TRANSLATE_COMMAND = {
  name: 'npm run translate --',
  summary: 'Translates human-written dates (1950–2049, 34 formats and their variants) to ISO ' +
           'YYYY-MM-DD with the date model, with a confidence for each, and flags the inputs ' +
           'it cannot or should not translate (not a date, a year out of range, a wrong ' +
           'weekday, an unsure answer). Dates come as arguments, or one per line on stdin; ' +
           'blank lines are skipped. Exit code 1 when some line was flagged.',
  positionals: '[date …]',
  examples: ['npm run translate -- "Jan 20th 2019" "20.01.19"',
             "printf '20JAN2019\\ntomorrow\\n' | npm run translate -- --json",
             'npm run translate -- --heatmap out/ "Jan 20th 2019"'],
  options: {
    model: {default: 'models/dates', help: 'model folder (model.json, weights.bin, vocab.json, ' +
                                           'calibration.json)'},
    json: {default: false, help: 'print one JSON object per input line: {"input", "output", ' +
                                 '"confidence", "flagged", "reason"}'},
    samples: {default: false, help: 'translate a few sample dates (exit code 0)'},
    heatmap: {default: '', help: 'also write one SVG per attention layer and head into this ' +
                                 'folder (<dir>/1, <dir>/2, … for several dates)'},
    backend: {default: 'wasm', help: "tfjs backend ('best': the package's choice)"},
  },
} satisfies Command;

/** The text form of one result line. */
export function resultLine(a: Assessment): string {
  return a.flagged ? `${a.input} → flagged: ${a.reason}` :
                     `${a.input} → ${a.output} (confidence ${a.confidence.toFixed(2)})`;
}

/** The JSON form of one result line (confidence to 4 decimals). */
export function resultJson(a: Assessment): string {
  return JSON.stringify({input: a.input, output: a.output,
                         confidence: Math.round(a.confidence * 1e4) / 1e4, flagged: a.flagged,
                         reason: a.reason});
}

/** One SVG per attention layer and head for every translated line (see the option's help). */
async function writeAttentionHeatmaps(translator: Translator, results: Assessment[],
                                      dir: string): Promise<void> {
  const probe = await attentionProbe(translator.model);
  const done = results.filter(r => !r.flagged);
  for (const [k, r] of done.entries()) {
    const {output, maps} = attentionFor(probe, translator.vocab, r.input,
                                        translator.decode([r.input]).ids);
    const named = maps.flatMap(m => headHeatmaps(m.weights, m.rowLabels, m.columnLabels, {
      prefix: m.layer, title: `${m.kind} (${m.layer}): ${r.input} → ${output}`,
      rowAxis: m.rowAxis, columnAxis: m.columnAxis}));
    const target = done.length > 1 ? path.join(dir, String(k + 1)) : dir;
    const files = writeHeatmaps(target, named, 'svg');
    process.stderr.write(`${files.length} heatmaps of ${JSON.stringify(r.input)} (${
        maps.length} layers × ${maps[0]!.weights.length} heads) in ${target}\n`);
  }
  probe.model.dispose();
}

if (require.main === module) {
  runCommand(TRANSLATE_COMMAND, async ({options: o, positionals}) => {
    if (o.samples && positionals.length > 0) {
      throw new UsageError('--samples takes no dates. Received: ' + positionals.join(' '));
    }
    const inputs = o.samples ? SAMPLES : (await readInputs(positionals, 'dates')).map(l => l.text);
    if (inputs.length === 0) {
      throw new UsageError('No dates given: every input line was blank (see --help).');
    }
    await useBackend(o.backend);
    const {model, vocab, calibration} = await loadModel(o.model);
    const translator = new Translator(model, vocab, calibration);
    const results = translator.assess(inputs);
    process.stdout.write(results.map(o.json ? resultJson : resultLine).join('\n') + '\n');
    if (o.heatmap !== '') {
      await writeAttentionHeatmaps(translator, results, o.heatmap);
    }
    return o.samples || results.every(r => !r.flagged) ? 0 : 1;
  });
}
