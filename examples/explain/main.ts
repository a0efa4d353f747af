/**
 * `npm run explain -- "the cat sat"`: the six steps of self-attention on the given words, every
 * matrix printed with token labels. Options:
 *   --dim N          embedding size (default 4, as in the seed)
 *   --seed N         seed of the embedding table and of --random (default 1)
 *   --random         random W_q, W_k, W_v in [-1, 1] instead of the identity
 *   --model FILE     take the layer (its W_q, W_k, W_v, heads, W_o) from a saved model.json
 *   --layer NAME     with --model: which SelfAttention layer (default the first self-attention one)
 *   --digits N       decimals printed (default 3)
 *   --json           print the same as JSON
 *   --heatmap FILE   draw the attention weights to FILE (.svg or .png); one file per head
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import {parseArgs} from 'util';

import {explain, ExplainOptions} from './explain';
import {formatExplanation} from './format';
import {headHeatmaps, writeHeatmap} from './heatmap';
import {findAttentionLayer, loadModelFile} from './load_model';

export async function main(argv: string[]): Promise<string> {
  const {values, positionals} = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dim: {type: 'string'}, seed: {type: 'string'}, random: {type: 'boolean'},
      model: {type: 'string'}, layer: {type: 'string'}, digits: {type: 'string'},
      json: {type: 'boolean'}, heatmap: {type: 'string'},
    },
  });
  const words = positionals.join(' ').split(/\s+/).filter(w => w !== '');
  if (words.length === 0) {
    throw new Error('give some words, e.g. npm run explain -- "the cat sat". Received: no words');
  }
  if (values.heatmap != null && !/\.(svg|png)$/i.test(values.heatmap)) {
    throw new Error(`--heatmap must name a .svg or .png file. Received: --heatmap ${values.heatmap}`);
  }
  const options: ExplainOptions = {
    dim: integer(values.dim, 'dim'), seed: integer(values.seed, 'seed'), random: values.random,
  };
  let model: tf.LayersModel|null = null;
  if (values.model != null) {
    if (values.random) {
      throw new Error('--random and --model exclude each other. Received: both');
    }
    model = await loadModelFile(values.model);
    options.layer = findAttentionLayer(model, values.layer);
    options.layerSource = `model ${values.model}, layer ${options.layer.name}`;
  } else if (values.layer != null) {
    throw new Error(`--layer needs --model. Received: --layer ${values.layer}`);
  }
  let e;
  try {
    e = explain(words, options);
  } finally {
    model?.dispose();  // frees the loaded model's weights
  }
  let text = values.json ? JSON.stringify(e, null, 1) + '\n' :
      formatExplanation(e, {digits: integer(values.digits, 'digits')});
  if (values.heatmap != null) {
    const weights = e.matrices.filter(m => m.name === 'weights').map(m => m.values);
    const maps = headHeatmaps(weights, e.tokens, e.tokens, {
      title: `Attention weights, W_q/W_k/W_v: ${e.weightsSource}`, rowAxis: 'query word', columnAxis: 'key word'});
    const ext = path.extname(values.heatmap);
    const files = maps.map((_, h) => maps.length === 1 ? values.heatmap! :
        values.heatmap!.slice(0, values.heatmap!.length - ext.length) + `-head${h + 1}${ext}`);
    maps.forEach((map, h) => writeHeatmap(files[h]!, map));
    if (!values.json) {
      text += `Heatmap written: ${files.join(', ')}\n`;
    }
  }
  return text;
}

function integer(value: string|undefined, name: string): number|undefined {
  if (value == null) {
    return undefined;
  }
  const n = Number(value);
  if (!Number.isInteger(n)) {
    throw new Error(`--${name} must be an integer. Received: --${name} ${value}`);
  }
  return n;
}

if (require.main === module) {
  tf.enableProdMode();  // no "install tfjs-node" banner on stderr
  main(process.argv.slice(2)).then(text => process.stdout.write(text), (err: Error) => {
    process.stderr.write(`explain: ${err.message}\n`);
    process.exit(1);
  });
}
