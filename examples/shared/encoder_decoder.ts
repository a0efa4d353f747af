/**
 * Decoding without redoing work: a trained encoder–decoder model, one functional graph in
 * training, split into an encoder model (run once per input) and a decoder model (run once per
 * output token on the encoder's stored output). Both share the trained model's layers, so no
 * weight is copied and the split of a loaded model is exact.
 *
 * The split is made by names: `boundary` lists the layers whose outputs the decoder reads from
 * the encoder's side (the encoder's last layer, and any input such as a padding mask that both
 * sides use), `decoderInputs` the decoder's own input layers. Every layer that depends only on
 * those is applied again to new inputs that stand for them.
 *
 *   const {encoder, decoder} = splitEncoderDecoder(model, {
 *     boundary: ['encoder_norm', 'encoder_mask'], decoderInputs: ['decoder_ids']});
 *   const [encoded, mask] = encoder.predict([ids, mask, fromEnd]) as tf.Tensor[];
 *   const logits = decoder.predict([decoderIds, encoded, mask]);  // per output step
 */
import * as tf from '@tensorflow/tfjs';

/** Arguments of {@link splitEncoderDecoder}. */
export interface SplitArgs {
  /**
   * Layers whose (first) output the decoder reads from the encoder's side, in the order the
   * encoder model outputs them and the decoder model takes them after its own inputs. Required.
   */
  boundary: string[];
  /** The decoder's own input layers, in the order the decoder model takes them first. Required. */
  decoderInputs: string[];
}

/** The two halves of a model; both use the trained model's layers. */
export interface EncoderDecoder {
  /** The model's other inputs (in the model's order) → the boundary tensors, in `boundary` order. */
  encoder: tf.LayersModel;
  /** `[...decoderInputs, ...boundary]` → the model's outputs. */
  decoder: tf.LayersModel;
}

function layerOutput(model: tf.LayersModel, name: string, what: string): tf.SymbolicTensor {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(name);
  } catch {
    throw new Error(`splitEncoderDecoder: ${what} names a layer that the model ${model.name} ` +
                    `does not have. Received: ${JSON.stringify(name)}`);
  }
  return layer.output as tf.SymbolicTensor;
}

/** Splits `model` into encoder and decoder (see the file comment). */
export function splitEncoderDecoder(model: tf.LayersModel, args: SplitArgs): EncoderDecoder {
  const boundary = args.boundary.map(n => layerOutput(model, n, 'boundary'));
  const decoderIn = args.decoderInputs.map(n => layerOutput(model, n, 'decoderInputs'));
  const decoderInputIds = new Set(decoderIn.map(t => t.id));
  const encoderInputs = model.inputs.filter(t => !decoderInputIds.has(t.id));
  if (encoderInputs.length + decoderIn.length !== model.inputs.length) {
    throw new Error(`splitEncoderDecoder: decoderInputs must name input layers of the model. ` +
                    `Received: ${JSON.stringify(args.decoderInputs)}; inputs are ${
                        model.inputNames.join(', ')}`);
  }
  let encoder: tf.LayersModel;
  try {
    encoder = tf.model({inputs: encoderInputs, outputs: boundary, name: `${model.name}_encoder`});
  } catch (e) {
    throw new Error(`splitEncoderDecoder: the boundary ${JSON.stringify(args.boundary)} cannot ` +
                    `be computed without the decoder inputs ${JSON.stringify(args.decoderInputs)} ` +
                    `(${(e as Error).message})`, {cause: e});
  }

  // New inputs standing for the decoder's inputs and for each boundary tensor.
  const replaced = new Map<number, tf.SymbolicTensor>();
  const newDecoderIn = decoderIn.map((t, i) => {
    const input = tf.input({shape: t.shape.slice(1), dtype: t.dtype,
                            name: `${args.decoderInputs[i]}_step`});
    replaced.set(t.id, input);
    return input;
  });
  const newBoundary = boundary.map((t, i) => {
    const input = tf.input({shape: t.shape.slice(1), dtype: t.dtype,
                            name: `${args.boundary[i]}_from_encoder`});
    replaced.set(t.id, input);
    return input;
  });
  // model.layers is in order of depth from the inputs, so each layer's inputs come first.
  for (const layer of model.layers) {
    for (const node of layer.inboundNodes) {
      const inputs = node.inputTensors;
      if (inputs.length === 0 || !inputs.every(t => replaced.has(t.id)) ||
          node.outputTensors.some(t => replaced.has(t.id))) {
        continue;  // an input layer, the encoder's side, or a boundary layer itself
      }
      const mapped = inputs.map(t => replaced.get(t.id)!);
      const outputs = layer.apply(mapped.length === 1 ? mapped[0]! : mapped);
      const list = (Array.isArray(outputs) ? outputs : [outputs]) as tf.SymbolicTensor[];
      node.outputTensors.forEach((t, i) => replaced.set(t.id, list[i]!));
    }
  }
  const outputs = model.outputs.map(t => replaced.get(t.id));
  if (outputs.some(t => t == null)) {
    throw new Error(`splitEncoderDecoder: the model's outputs do not depend on the decoder ` +
                    `inputs ${JSON.stringify(args.decoderInputs)} and the boundary ${
                        JSON.stringify(args.boundary)} alone`);
  }
  const decoder = tf.model({inputs: [...newDecoderIn, ...newBoundary],
                            outputs: outputs as tf.SymbolicTensor[],
                            name: `${model.name}_decoder`});
  return {encoder, decoder};
}
