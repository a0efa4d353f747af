/**
 * `npm run explain -- "the cat sat"`: the six steps of self-attention on the given words, every
 * matrix printed with token labels. See `--help`.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';

import {Command, parseCommandLine, runCommand, UsageError} from '../shared/cli';
import {headHeatmaps, writeHeatmap} from '../shared/heatmap';
import {explain, ExplainOptions} from './explain';
import {formatExplanation} from './format';
import {findAttentionLayer, loadModelFile} from './load_model';

export const EXPLAIN_COMMAND = {
  name: 'npm run explain --',
  summary: 'Walks through the six steps of self-attention on the given words, computed by the ' +
           "package's own code, and prints every matrix with token labels.",
  positionals: '<word …>',
  examples: ['npm run explain -- "the cat sat"', 'npm run explain -- --random --seed 7 a dog barked',
             'npm run explain -- --model models/dates/model.json "1 2 3"',
             'npm run explain -- "the cat sat" --heatmap out.svg'],
  options: {
    dim: {default: 0, help: 'embedding size (0: 4 as in the seed, or the --model layer\'s)',
          integer: true},
    seed: {default: 1, help: 'seed of the embedding table and of --random', integer: true},
    random: {default: false, help: 'W_q, W_k, W_v uniform in [-1, 1] instead of the identity'},
    model: {default: '', help: "take the layer (W_q, W_k, W_v, heads, W_o) from a saved model.json"},
    layer: {default: '', help: 'with --model: which SelfAttention layer (default: the first ' +
                               'self-attention one)'},
    digits: {default: 3, help: 'decimals printed', integer: true, max: 12},
    json: {default: false, help: 'print the same as JSON'},
    heatmap: {default: '', help: 'draw the attention weights to this .svg or .png file (one ' +
                                 'file per head)'},
  },
} satisfies Command;

/** Runs the command on `argv`; returns what it prints. Throws on bad arguments. */
export async function main(argv: string[]): Promise<string> {
  const {options: o, positionals} = parseCommandLine(EXPLAIN_COMMAND, argv);
  const words = positionals.join(' ').split(/\s+/).filter(w => w !== '');
  if (words.length === 0) {
    throw new UsageError('give some words, e.g. npm run explain -- "the cat sat". Received: no words');
  }
  if (o.heatmap !== '' && !/\.(svg|png)$/i.test(o.heatmap)) {
    throw new UsageError(`--heatmap must name a .svg or .png file. Received: --heatmap ${o.heatmap}`);
  }
  const options: ExplainOptions = {dim: o.dim === 0 ? undefined : o.dim, seed: o.seed,
                                   random: o.random};
  let model: tf.LayersModel|null = null;
  if (o.model !== '') {
    if (o.random) {
      throw new UsageError('--random and --model exclude each other. Received: both');
    }
    model = await loadModelFile(o.model);
    options.layer = findAttentionLayer(model, o.layer === '' ? undefined : o.layer);
    options.layerSource = `model ${o.model}, layer ${options.layer.name}`;
  } else if (o.layer !== '') {
    throw new UsageError(`--layer needs --model. Received: --layer ${o.layer}`);
  }
  let e;
  try {
    e = explain(words, options);
  } finally {
    model?.dispose();  // frees the loaded model's weights
  }
  let text = o.json ? JSON.stringify(e, null, 1) + '\n' :
      formatExplanation(e, {digits: o.digits});
  if (o.heatmap !== '') {
    const weights = e.matrices.filter(m => m.name === 'weights').map(m => m.values);
    const maps = headHeatmaps(weights, e.tokens, e.tokens, {
      title: `Attention weights, W_q/W_k/W_v: ${e.weightsSource}`, rowAxis: 'query word',
      columnAxis: 'key word'});
    const ext = path.extname(o.heatmap);
    const files = maps.map((_, h) => maps.length === 1 ? o.heatmap :
        o.heatmap.slice(0, o.heatmap.length - ext.length) + `-head${h + 1}${ext}`);
    maps.forEach((map, h) => writeHeatmap(files[h]!, map));
    if (!o.json) {
      text += `Heatmap written: ${files.join(', ')}\n`;
    }
  }
  return text;
}

if (require.main === module) {
  tf.enableProdMode();  // no "install tfjs-node" banner on stderr
  runCommand(EXPLAIN_COMMAND, async () => {
    process.stdout.write(await main(process.argv.slice(2)));
  });
}
