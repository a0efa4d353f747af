/**
 * Translates dates to ISO with the committed model (no training needed).
 *
 *   npm run translate -- "Jan 20th 2019" "20.01.19"
 *   printf '20JAN2019\nthe 3rd of May 1999\n' | npm run translate
 *   npm start          (a few sample dates)
 *
 * Prints `input → YYYY-MM-DD` per line. A line the model cannot take (empty, too long, or with
 * characters outside the vocabulary) gets `input → error: <the problem>`; the other lines are
 * still translated, and the exit code is 1.
 * Options: --model <dir> (default models/dates), --backend wasm|cpu (default wasm), --samples,
 * --heatmap <dir>: also write one SVG heatmap per attention layer and head into <dir> (into
 * <dir>/1, <dir>/2, … for several dates), named `<layer>-head<h>.svg`.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';

import {headHeatmaps, writeHeatmaps} from '../explain/heatmap';
import {attentionFor, attentionProbe} from './attention';
import {useBackend} from '../backend';
import {translate} from './model';
import {loadModel} from './model_files';
import {Vocab} from './vocab';

export const SAMPLES = ['Jan 20th 2019', '20.01.19', 'Sunday, January 20, 2019',
                        'the 3rd of May 1999', '12/31/1950', '20490704', 'DEC 07, 41',
                        '1 apr 2000'];

/** One translated line: an output, or the reason there is none. */
export interface Translation {
  input: string;
  output?: string;
  error?: string;
}

/** Translates every valid line in one batch; invalid lines get their problem. */
export function translateLines(model: tf.LayersModel, vocab: Vocab, lines: string[]):
    Translation[] {
  const inputs = lines.map(l => l.trim());
  const problems = inputs.map(t => vocab.problem(t));
  const valid = inputs.filter((_, i) => problems[i] == null);
  const outputs = valid.length > 0 ? translate(model, vocab, valid) : [];
  let k = 0;
  return inputs.map((input, i) => {
    const problem = problems[i];
    if (problem != null) {
      return {input, error: problem};
    }
    const output = outputs[k++]!;
    return isRealDate(output) ? {input, output} :
                                {input, output, error: `the model's answer ${output} is not a real date`};
  });
}

/** Is `text` a YYYY-MM-DD that exists in the calendar? */
export function isRealDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m == null) {
    return false;
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

async function readStdin(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();  // the newline that ends the last line
  }
  return lines;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let modelDir = 'models/dates';
  let backend = 'wasm';
  let samples = false;
  let heatmapDir: string|null = null;
  const texts: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--model' || arg === '--backend' || arg === '--heatmap') {
      const value = args[++i];
      if (value === undefined) {
        throw new Error(`Option ${arg} needs a value.`);
      }
      if (arg === '--model') {
        modelDir = value;
      } else if (arg === '--backend') {
        backend = value;
      } else {
        heatmapDir = value;
      }
    } else if (arg === '--samples') {
      samples = true;
    } else if (arg.startsWith('--')) {
      throw new Error(`Unknown option ${JSON.stringify(arg)}. Options: --model <dir>, ` +
                      `--backend wasm|cpu, --samples, --heatmap <dir>; then dates, or dates on stdin.`);
    } else {
      texts.push(arg);
    }
  }
  if (samples) {
    texts.push(...SAMPLES);
  } else if (texts.length === 0) {
    if (process.stdin.isTTY) {
      console.log('No dates given: translating samples. Usage: npm run translate -- ' +
                  '"Jan 20th 2019" "20.01.19", or one date per line on stdin.');
      texts.push(...SAMPLES);
    } else {
      texts.push(...await readStdin());
    }
  }
  await useBackend(backend);
  const {model, vocab} = await loadModel(modelDir);
  const results = translateLines(model, vocab, texts);
  for (const r of results) {
    const shown = r.input === '' ? '""' : r.input;
    console.log(r.output != null && r.error == null ? `${shown} → ${r.output}` :
                r.output != null ? `${shown} → ${r.output} (warning: ${r.error})` :
                                   `${shown} → error: ${r.error}`);
  }
  if (heatmapDir != null) {
    await writeAttentionHeatmaps(model, vocab, results, heatmapDir);
  }
  return results.some(r => r.output == null) ? 1 : 0;
}

/** One SVG per attention layer and head for every translated line (see the file comment). */
async function writeAttentionHeatmaps(model: tf.LayersModel, vocab: Vocab, results: Translation[],
                                      dir: string): Promise<void> {
  const probe = await attentionProbe(model);
  const done = results.filter(r => r.output != null);
  for (const [k, r] of done.entries()) {
    const {output, maps} = attentionFor(model, probe, vocab, r.input);
    const named = maps.flatMap(m => headHeatmaps(m.weights, m.rowLabels, m.columnLabels, {
      prefix: m.layer, title: `${m.kind} (${m.layer}): ${r.input} → ${output}`,
      rowAxis: m.rowAxis, columnAxis: m.columnAxis}));
    const target = done.length > 1 ? path.join(dir, String(k + 1)) : dir;
    const files = writeHeatmaps(target, named, 'svg');
    console.log(`${files.length} heatmaps of ${JSON.stringify(r.input)} (${maps.length} layers × ${
        maps[0]!.weights.length} heads) in ${target}`);
  }
  probe.model.dispose();
}

if (require.main === module) {
  main().then(code => process.exit(code), e => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  });
}
