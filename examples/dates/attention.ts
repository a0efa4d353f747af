/**
 * What the date translator attends to: a probe model, rebuilt from the trained model's own
 * topology with `returnAttentionWeights: true` on every SelfAttention layer and the trained
 * weights copied in, whose outputs are the logits and then each layer's attention weights
 * `[batch, heads, timeQ, timeK]`. No Node-only import: the browser demo uses it too.
 */
import * as tf from '@tensorflow/tfjs';

import '../../src';  // registers SelfAttention for modelFromJSON
import {START, Vocab} from './vocab';

/** Label of the decoder's START token in heatmaps. */
export const START_LABEL = '▶';

/** One attention layer's weights for one translated text. */
export interface LayerAttention {
  /** The layer's name, e.g. 'encoder_0_attention', 'decoder_0_cross_attention'. */
  layer: string;
  /** 'encoder self-attention', 'decoder causal self-attention' or 'cross-attention'. */
  kind: string;
  /** `[heads][rows][columns]`. */
  weights: number[][][];
  rowLabels: string[];
  columnLabels: string[];
  /** What rows and columns are, for axis names. */
  rowAxis: string;
  columnAxis: string;
}

/** A probe model and the SelfAttention layers whose weights it outputs (in output order 1…). */
export interface AttentionProbe {
  model: tf.LayersModel;
  layers: Array<{name: string, causal: boolean, isCross: boolean}>;
}

type LayerJson = {class_name: string, name: string, config: Record<string, unknown>,
                  inbound_nodes: Array<Array<[string, number, number, unknown]>>};

/** Builds the probe of a trained date model (see the file comment). */
export async function attentionProbe(model: tf.LayersModel): Promise<AttentionProbe> {
  const topology = model.toJSON(null, false) as unknown as
      {config: {layers: LayerJson[], output_layers: Array<[string, number, number]>}};
  const layers: AttentionProbe['layers'] = [];
  for (const layer of topology.config.layers) {
    for (const key of ['dropout', 'rate']) {
      if (typeof layer.config[key] === 'number') {
        layer.config[key] = 0;  // the probe runs with training: true (see attentionFor)
      }
    }
    if (layer.class_name !== 'SelfAttention') {
      continue;
    }
    if (layer.inbound_nodes.length !== 1) {
      throw new Error(`attentionProbe: layer ${layer.name} is used ${layer.inbound_nodes.length} ` +
                      `times; expected once`);
    }
    layer.config['return_attention_weights'] = true;
    const inputs = layer.inbound_nodes[0]!;
    // Cross-attention: the context (second input) is another tensor than the query.
    const isCross = inputs.length > 1 && inputs[1]![0] !== inputs[0]![0];
    layers.push({name: layer.name, causal: layer.config['causal'] === true, isCross});
    topology.config.output_layers.push([layer.name, 0, 1]);
  }
  if (layers.length === 0) {
    throw new Error(`attentionProbe: the model ${model.name} has no SelfAttention layer`);
  }
  const probe = {
    model: await tf.models.modelFromJSON(
        {modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology']}),
    layers,
  };
  syncProbe(probe, model);
  return probe;
}

/**
 * Copies the weights of `model` into its probe again (after more training), so that the
 * probe's heatmaps show the model as it is now.
 */
export function syncProbe(probe: AttentionProbe, model: tf.LayersModel): void {
  for (const layer of model.layers) {
    probe.model.getLayer(layer.name).setWeights(layer.getWeights());
  }
}

/**
 * Runs the probe once on `text` and the ids its translation chose (`outputIds`, outputLength of
 * them, e.g. from `decode`): every layer's weights for that text and that output. An output
 * that is not yet a date (early in training) is shown as it is: `▶` for a START id, `·` for
 * padding.
 */
export function attentionFor(probe: AttentionProbe, vocab: Vocab, text: string,
                             outputIds: ArrayLike<number>): {output: string, maps: LayerAttention[]} {
  const problem = vocab.problem(text);
  if (problem != null) {
    throw new Error(`Cannot translate ${JSON.stringify(text)}: ${problem}`);
  }
  const L = vocab.outputLength;
  if (outputIds.length !== L) {
    throw new Error(`attentionFor: outputIds must hold ${L} ids. Received: ${outputIds.length}`);
  }
  const enc = vocab.encodeInputs([text]);
  const decoderIds = Int32Array.from({length: L}, (_, t) => t === 0 ? START : outputIds[t - 1]!);
  const shown = (id: number) => id === START ? START_LABEL : id === 0 ? '·' : vocab.decode([id]);
  const outputChars = Array.from(outputIds, shown);
  const output = outputChars.join('');
  const n = enc.length;
  const weights = tf.tidy(() => {
    // tfjs 4.22's executor runs a layer once per fetched output and counts a tensor passed to
    // one layer twice (query and context) as one use, so without `training` it disposes the
    // attention input before the second run. `training: true` turns that disposal off; the probe
    // has no dropout (see attentionProbe), so it computes exactly what inference does, and
    // tf.tidy frees every intermediate tensor.
    const outs = probe.model.apply([
      tf.tensor2d(enc.ids, [1, n], 'int32'), tf.tensor2d(enc.mask, [1, n]),
      tf.tensor2d(enc.fromEnd, [1, n], 'int32'), tf.tensor2d(decoderIds, [1, L], 'int32'),
    ], {training: true}) as tf.Tensor[];
    // outs[0]: logits; outs[1…]: [1, heads, timeQ, timeK] per layer.
    return outs.slice(1).map(w => (w.squeeze([0]) as tf.Tensor3D).arraySync());
  });
  const inputChars = [...text];
  const decoderInputs = [START_LABEL, ...outputChars.slice(0, L - 1)];
  const maps = probe.layers.map((layer, i): LayerAttention => {
    const encoderSide = layer.name.startsWith('encoder');
    if (layer.isCross) {
      return {layer: layer.name, kind: 'cross-attention', weights: weights[i]!,
              rowLabels: outputChars, columnLabels: inputChars,
              rowAxis: 'output character', columnAxis: 'input character'};
    }
    if (encoderSide) {
      return {layer: layer.name, kind: 'encoder self-attention', weights: weights[i]!,
              rowLabels: inputChars, columnLabels: inputChars,
              rowAxis: 'input character', columnAxis: 'input character'};
    }
    // Decoder self-attention: row t predicts output character t from the decoder inputs ≤ t.
    return {layer: layer.name, kind: `decoder ${layer.causal ? 'causal ' : ''}self-attention`,
            weights: weights[i]!, rowLabels: outputChars, columnLabels: decoderInputs,
            rowAxis: 'output character', columnAxis: 'decoder input'};
  });
  return {output, maps};
}
