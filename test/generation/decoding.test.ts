/**
 * startDecoding (src/generation/decoding.ts): models built from the package's blocks decoded
 * step by step give model.predict's rows, on cpu and wasm and both cache layouts; the encoder
 * runs once; layers that cannot be decoded step by step are named; no tensor is left behind.
 */
import * as tf from '@tensorflow/tfjs';

import {CacheLayout, decoderBlock, encoderBlock, layerNorm, multiHeadAttention, positionalEmbedding, SelfAttention, selfAttention, startDecoding, tokenEmbedding} from '../../src';
import {useBackend} from '../helpers/backends';
import {near} from '../helpers/tensors';

const VOCAB = 13;
const WIDTH = 8;
const TOLERANCE = 1e-5;

/** An encoder–decoder of the blocks: ids + mask → encoder; decoder ids → logits. */
function encoderDecoder(positions = 16): tf.LayersModel {
  const encoderIds = tf.input({shape: [null], dtype: 'int32', name: 'encoder_ids'});
  const encoderMask = tf.input({shape: [null], name: 'encoder_mask'});
  const decoderIds = tf.input({shape: [null], dtype: 'int32', name: 'decoder_ids'});
  const block = {numHeads: 2, ffDim: 16};
  let x = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH}).apply(encoderIds) as
      tf.SymbolicTensor;
  x = positionalEmbedding({maxLength: 16}).apply(x) as tf.SymbolicTensor;
  x = encoderBlock(x, encoderMask, {...block, name: 'encoder_0'});
  x = encoderBlock(x, encoderMask, {...block, name: 'encoder_1'});
  const encoded = layerNorm({name: 'encoder_norm'}).apply(x) as tf.SymbolicTensor;
  let y = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH}).apply(decoderIds) as
      tf.SymbolicTensor;
  y = positionalEmbedding({maxLength: positions, kind: 'sinusoidal'}).apply(y) as
      tf.SymbolicTensor;
  y = decoderBlock(y, encoded, encoderMask, {...block, name: 'decoder_0'});
  y = decoderBlock(y, encoded, encoderMask, {...block, name: 'decoder_1'});
  y = layerNorm({}).apply(y) as tf.SymbolicTensor;
  const logits = tf.layers.dense({units: VOCAB}).apply(y) as tf.SymbolicTensor;
  return tf.model({inputs: [encoderIds, encoderMask, decoderIds], outputs: logits});
}

/**
 * A decoder-only model whose padding (id 0) reaches the attention by mask propagation
 * (TokenEmbedding maskZero). No residual Add: tfjs 4.22's merge layers mangle masks.
 */
function maskedDecoder(): tf.LayersModel {
  const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
  let x = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH, maskZero: true}).apply(ids) as
      tf.SymbolicTensor;
  x = positionalEmbedding({maxLength: 16}).apply(x) as tf.SymbolicTensor;
  x = layerNorm({}).apply(x) as tf.SymbolicTensor;
  x = selfAttention({numHeads: 2, causal: true, useBias: true, kernelInitializer: 'glorotUniform'})
          .apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({units: VOCAB}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: ids, outputs: logits});
}

/** Steps `tokens` `[batch, time]` through a session in blocks; the outputs concatenated. */
function decodeInBlocks(model: tf.LayersModel, tokens: tf.Tensor, blocks: number[],
                        args: Omit<Parameters<typeof startDecoding>[1], 'maxLength'>,
                        maxLength = tokens.shape[1]!): tf.Tensor {
  const session = startDecoding(model, {maxLength, ...args});
  const outputs: tf.Tensor[] = [];
  let start = 0;
  for (const size of blocks) {
    const block = tokens.slice([0, start], [-1, size]);
    outputs.push(session.step(block) as tf.Tensor);
    block.dispose();
    start += size;
  }
  expect(session.position).toBe(start);
  session.dispose();
  const all = tf.concat(outputs, 1);
  tf.dispose(outputs);
  return all;
}

const ENCODER_IDS = [[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12]];
const ENCODER_MASK = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]];
const DECODER_IDS = [[1, 5, 2, 9, 4, 4, 7, 3], [1, 12, 11, 3, 3, 6, 2, 8]];

describe.each(['cpu', 'wasm'])('startDecoding on %s', backend => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['growing', 'preallocated'] as CacheLayout[])(
      'an encoder–decoder of the blocks (%s): every step equals model.predict\'s rows; the ' +
      'encoder runs once', layout => {
        const model = encoderDecoder();
        const ids = tf.tensor2d(ENCODER_IDS, undefined, 'int32');
        const mask = tf.tensor2d(ENCODER_MASK);
        const decoderIds = tf.tensor2d(DECODER_IDS, undefined, 'int32');
        const full = model.predict([ids, mask, decoderIds]) as tf.Tensor;  // [2, 8, VOCAB]
        const encoderAttention = model.getLayer('encoder_0_attention') as SelfAttention;
        const calls = jest.spyOn(encoderAttention, 'call');
        const before = tf.memory().numTensors;
        const cached = decodeInBlocks(model, decoderIds, [3, 1, 1, 2, 1],
                                      {inputs: {encoder_ids: ids, encoder_mask: mask}, layout},
                                      10);
        expect(calls).toHaveBeenCalledTimes(1);
        calls.mockRestore();
        near(cached, full, TOLERANCE);
        cached.dispose();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([ids, mask, decoderIds, full]);
        model.dispose();
      });

  it('a decoder-only model with padding masks from propagation (maskZero)', () => {
    const model = maskedDecoder();
    const ids = tf.tensor2d([[1, 4, 0, 6, 2, 0, 5], [1, 0, 0, 3, 9, 8, 4]], undefined, 'int32');
    const full = model.predict(ids) as tf.Tensor;
    const cached = decodeInBlocks(model, ids, [2, 1, 1, 1, 1, 1], {});
    near(cached, full, TOLERANCE);
    tf.dispose([ids, full, cached]);
  });

  it('MultiHeadAttention layers: causal self-attention and cross-attention to the encoder', () => {
    const encoderIn = tf.input({shape: [null, WIDTH], name: 'encoder_in'});
    const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
    let y = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH}).apply(ids) as tf.SymbolicTensor;
    y = positionalEmbedding({maxLength: 16}).apply(y) as tf.SymbolicTensor;
    const self = multiHeadAttention({numHeads: 2, keyDim: 4, useCausalMask: true,
                                     biasInitializer: 'randomNormal'});
    y = tf.layers.add({}).apply([y, self.apply(y) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const cross = multiHeadAttention({numHeads: 2, keyDim: 4, useGate: true});
    y = tf.layers.add({}).apply([y, cross.apply([y, encoderIn]) as tf.SymbolicTensor]) as
        tf.SymbolicTensor;
    const logits = tf.layers.dense({units: VOCAB}).apply(y) as tf.SymbolicTensor;
    const model = tf.model({inputs: [encoderIn, ids], outputs: logits});
    const encoded = tf.randomNormal([2, 5, WIDTH], 0, 1, 'float32', 1);
    const tokens = tf.tensor2d(DECODER_IDS, undefined, 'int32');
    const full = model.predict([encoded, tokens]) as tf.Tensor;
    const cached = decodeInBlocks(model, tokens, [1, 1, 4, 1, 1], {inputs: {encoder_in: encoded}});
    near(cached, full, TOLERANCE);
    tf.dispose([encoded, tokens, full, cached]);
  });

  it('several sequence inputs (ids and pointers), an attention-weights output', () => {
    const model = pointerDecoder();
    const encoded = tf.randomNormal([2, 6, WIDTH], 0, 1, 'float32', 2);
    const mask = tf.tensor2d(ENCODER_MASK);
    const ids = tf.tensor2d(DECODER_IDS, undefined, 'int32');
    const places = tf.tensor2d([[6, 0, 3, 2, 2, 1, 5, 4], [6, 5, 4, 4, 3, 0, 1, 2]], undefined,
                               'int32');
    const full = model.predict([ids, places, encoded, mask]) as tf.Tensor;  // [2, 1, 8, 6]
    const before = tf.memory().numTensors;
    const session = startDecoding(model, {maxLength: 8, sequenceInputs: ['ids', 'places'],
                                          inputs: {encoded, mask}});
    expect(session.sequenceInputs).toEqual(['ids', 'places']);
    const rows: tf.Tensor[] = [];
    for (const [start, size] of [[0, 2], [2, 1], [3, 1], [4, 4]] as const) {
      const step = [ids.slice([0, start], [-1, size]), places.slice([0, start], [-1, size])];
      rows.push(session.step(step) as tf.Tensor);  // [2, 1, size, 6]
      tf.dispose(step);
    }
    session.dispose();
    const cached = tf.concat(rows, 2);
    tf.dispose(rows);
    near(cached, full, TOLERANCE);
    cached.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([encoded, mask, ids, places, full]);
    model.dispose();
  });
});

/**
 * A decoder that reads two inputs per position (word ids and where each word was copied from)
 * and outputs the attention weights of a last cross-attention (a pointer over the encoder).
 */
function pointerDecoder(): tf.LayersModel {
  const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
  const places = tf.input({shape: [null], dtype: 'int32', name: 'places'});
  const encoded = tf.input({shape: [null, WIDTH], name: 'encoded'});
  const mask = tf.input({shape: [null], name: 'mask'});
  const words = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH}).apply(ids) as
      tf.SymbolicTensor;
  const where = tokenEmbedding({vocabSize: 7, outputDim: WIDTH}).apply(places) as
      tf.SymbolicTensor;
  let y = tf.layers.add({}).apply([words, where]) as tf.SymbolicTensor;
  y = positionalEmbedding({maxLength: 8}).apply(y) as tf.SymbolicTensor;
  y = decoderBlock(y, encoded, mask, {numHeads: 2, ffDim: 16, name: 'decoder_0'});
  const pointer = selfAttention({numHeads: 1, keyDim: WIDTH, valueDim: 1, useBias: true,
                                 useOutputProjection: false, returnAttentionWeights: true,
                                 kernelInitializer: 'glorotUniform'});
  const [, weights] = pointer.apply([y, encoded, mask]) as tf.SymbolicTensor[];
  return tf.model({inputs: [ids, places, encoded, mask], outputs: weights!, name: 'pointer'});
}

describe('startDecoding: what cannot be decoded step by step is named', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  const sequenceModel = (middle: (x: tf.SymbolicTensor) => tf.SymbolicTensor) => {
    const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
    const x = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH}).apply(ids) as
        tf.SymbolicTensor;
    return tf.model({inputs: ids, outputs: middle(x), name: 'm'});
  };

  it('a non-causal self-attention, a recurrent layer, a layer mixing positions', () => {
    const attention = sequenceModel(x => encoderBlock(x, null, {numHeads: 2, name: 'enc'}));
    expect(() => startDecoding(attention, {maxLength: 4}))
        .toThrow(/layer 'enc_attention' \(SelfAttention\) of model 'm' is a self-attention over the sequence that is not causal/);
    const lstm = sequenceModel(x => tf.layers.lstm({units: 4, returnSequences: true, name: 'rnn'})
                                        .apply(x) as tf.SymbolicTensor);
    expect(() => startDecoding(lstm, {maxLength: 4}))
        .toThrow(/layer 'rnn' \(LSTM\) of model 'm' is on the sequence's way and is not known to work on new positions alone.* Received: class LSTM/);
    const softmax = sequenceModel(x => tf.layers.softmax({axis: 1, name: 'sm'})
                                           .apply(x) as tf.SymbolicTensor);
    expect(() => startDecoding(softmax, {maxLength: 4}))
        .toThrow(/layer 'sm' \(Softmax\) .* works along an axis other than the last.* Received: axis=1/);
  });

  it('a sequence layer fed a fixed input, an output without the sequence', () => {
    const fixed = tf.input({shape: [3, WIDTH], name: 'fixed'});
    const ids = tf.input({shape: [null], dtype: 'int32', name: 'ids'});
    const x = tokenEmbedding({vocabSize: VOCAB, outputDim: WIDTH}).apply(ids) as tf.SymbolicTensor;
    const mixed = tf.model({inputs: [fixed, ids], name: 'mixed',
                            outputs: tf.layers.add({name: 'sum'}).apply([x, fixed]) as tf.SymbolicTensor});
    expect(() => startDecoding(mixed, {maxLength: 3, inputs: {fixed: tf.zeros([1, 3, WIDTH])}}))
        .toThrow(/layer 'sum' \(Add\) of model 'mixed' combines the sequence with a fixed input/);
    const two = tf.model({inputs: [fixed, ids], outputs: [x, fixed], name: 'two'});
    expect(() => startDecoding(two, {maxLength: 3, inputs: {fixed: tf.zeros([1, 3, WIDTH])}}))
        .toThrow(/output 'fixed' of model 'two' does not depend on the sequence input 'ids'/);
  });

  it('inputs: unknown names, none left for the sequence, batch sizes that disagree', () => {
    const model = encoderDecoder();
    const ids = tf.zeros([2, 4], 'int32');
    const mask = tf.ones([2, 4]);
    expect(() => startDecoding(model, {maxLength: 4, inputs: {encoder_ids: ids, encoder_mask: mask,
                                                              decoder_ids: ids}}))
        .toThrow(/every input of model .* but the sequence must be given .* leaving \[\]/);
    expect(() => startDecoding(model, {maxLength: 4, inputs: {encoder_ids: ids}}))
        .toThrow(/leaving \["encoder_mask","decoder_ids"\]/);
    expect(() => startDecoding(model, {maxLength: 4, inputs: {encoder_ids: ids, mask}}))
        .toThrow(/inputs.mask is not an input of model .* \(its inputs: encoder_ids, encoder_mask, decoder_ids\)/);
    expect(() => startDecoding(model, {maxLength: 4, batchSize: 3,
                                       inputs: {encoder_ids: ids, encoder_mask: mask}}))
        .toThrow(/must agree on the batch size. Received: batch sizes \[2,3\]/);
    expect(() => startDecoding(model, {maxLen: 4} as never))
        .toThrow(/unknown argument 'maxLen'. Did you mean 'maxLength'\?/);
    expect(() => startDecoding({} as tf.LayersModel, {maxLength: 4}))
        .toThrow(/model must be a tf.LayersModel/);
  });

  it('sequenceInputs: unknown or given names, one left out, tokens per input', () => {
    const model = pointerDecoder();
    const encoded = tf.zeros([2, 4, WIDTH]);
    const mask = tf.ones([2, 4]);
    expect(() => startDecoding(model, {maxLength: 4, sequenceInputs: ['ids', 'where'],
                                       inputs: {encoded, mask}}))
        .toThrow(/sequenceInputs must name inputs of model 'pointer' that inputs does not give .* Received: sequenceInputs=\["ids","where"\]/);
    expect(() => startDecoding(model, {maxLength: 4, sequenceInputs: ['ids', 'mask'],
                                       inputs: {encoded, mask}}))
        .toThrow(/sequenceInputs must name inputs .* Received: sequenceInputs=\["ids","mask"\]/);
    expect(() => startDecoding(model, {maxLength: 4, sequenceInputs: ['ids'],
                                       inputs: {encoded, mask}}))
        .toThrow(/but the sequence must be given .* leaving \["ids","places"\], sequenceInputs=\["ids"\]/);
    expect(() => startDecoding(model, {maxLength: 4, sequenceInputs: [], inputs: {encoded, mask}}))
        .toThrow(/sequenceInputs must be a non-empty list of distinct input names. Received: sequenceInputs=\[\]/);
    const session = startDecoding(model, {maxLength: 4, sequenceInputs: ['places', 'ids'],
                                          inputs: {encoded, mask}});
    const one = tf.zeros([2, 1], 'int32');
    expect(() => session.step(one))
        .toThrow(/tokens must be a list of 2 tensors, one per sequence input \(places, ids\)/);
    const three = tf.zeros([2, 3], 'int32');
    expect(() => session.step([one, three]))
        .toThrow(/every sequence input's tokens must have one \[batch, tNew\]. Received: shapes \[\[2,1\],\[2,3\]\]/);
    expect(() => session.step([one, tf.zeros([2, 1, 1], 'int32')]))
        .toThrow(/tokens\[1\] must have the rank of the model's input 'ids'/);
    expect(session.position).toBe(0);
    session.dispose();
    tf.dispose([encoded, mask, one, three]);
    model.dispose();
  });

  it('steps: past maxLength, a wrong batch, a disposed session, a failed step', () => {
    const model = encoderDecoder(3);  // the decoder's positions end at 3
    const inputs = {encoder_ids: tf.zeros([2, 4], 'int32'), encoder_mask: tf.ones([2, 4])};
    const before = tf.memory().numTensors;
    const session = startDecoding(model, {maxLength: 5, inputs});
    expect(() => session.step(tf.zeros([3, 1], 'int32')))
        .toThrow(/tokens must have batchSize=2 rows. Received: tokens with shape \[3,1\]/);
    expect(() => session.step(tf.zeros([2, 6], 'int32')))
        .toThrow(/maxLength=5 positions, 0 are filled, and tokens adds 6/);
    expect(() => session.step(tf.zeros([2, 1, 1], 'int32')))
        .toThrow(/tokens must have the rank of the model's input 'decoder_ids'/);
    tf.dispose(session.step(tf.zeros([2, 3], 'int32')));
    expect(() => session.step(tf.zeros([2, 1], 'int32')))
        .toThrow(/PositionalEmbedding: the sequence has 4 steps, more than maxLength=3/);
    expect(() => session.step(tf.zeros([2, 1], 'int32')))
        .toThrow(/an earlier step failed, so the caches are not consistent; start a new session. The failure was: PositionalEmbedding/);
    session.dispose();
    expect(() => session.step(tf.zeros([2, 1], 'int32')))
        .toThrow(/the session was disposed; start a new one with startDecoding\(\)/);
    // Only the tokens passed in above are left.
    expect(tf.memory().numTensors).toBe(before + 7);
  });
});
