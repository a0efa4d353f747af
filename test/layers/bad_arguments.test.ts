/** Bad input gets a clear error that names the argument and the value received. */
import * as tf from '@tensorflow/tfjs';

import {attention, attentionSteps, encoderBlock, fastCpuAttention, feedForward, FeedForward, LayerNorm, layerNorm,
        memoryEfficientAttention, PositionalEmbedding, positionalEmbedding, scaledDotProductAttention, SelfAttention,
        selfAttention, SelfAttentionArgs, TokenEmbedding, tokenEmbedding} from '../../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('SelfAttention arguments', () => {
  const bad: Array<[SelfAttentionArgs, RegExp]> = [
    [{numHeads: 0}, /numHeads must be a positive integer\. Received: numHeads=0/],
    [{numHeads: 1.5}, /numHeads must be a positive integer\. Received: numHeads=1\.5/],
    [{numHeads: -2}, /numHeads must be a positive integer\. Received: numHeads=-2/],
    [{numHeads: '2' as unknown as number}, /numHeads must be a positive integer\. Received: numHeads="2"/],
    [{keyDim: 0}, /keyDim must be a positive integer\. Received: keyDim=0/],
    [{keyDim: 2.5}, /keyDim must be a positive integer\. Received: keyDim=2\.5/],
    [{valueDim: -1}, /valueDim must be a positive integer\. Received: valueDim=-1/],
    [{outputDim: NaN}, /outputDim must be a positive integer\. Received: outputDim=NaN/],
    [{dropout: 1}, /dropout must be a number in \[0, 1\)\. Received: dropout=1/],
    [{dropout: -0.1}, /dropout must be a number in \[0, 1\)\. Received: dropout=-0\.1/],
    [{kernelInitializer: 'glorotUniformm'},
     /Unknown initializer name for kernelInitializer\. Received: kernelInitializer='glorotUniformm'/],
    [{biasInitializer: 'nope'}, /Unknown initializer name for biasInitializer\. Received: biasInitializer='nope'/],
    [{kernelRegularizer: 'l3'}, /Unknown regularizer name for kernelRegularizer\. Received: kernelRegularizer='l3'/],
    [{kernelConstraint: 'positive'},
     /Unknown constraint name for kernelConstraint\. Received: kernelConstraint='positive'/],
    [{kernelInitializer: {className: 'NoSuchInit', config: {}}},
     /Unknown initializer for kernelInitializer\. Received: kernelInitializer=\{"className":"NoSuchInit"/],
  ];
  it.each(bad)('%j is refused', (args, message) => {
    expect(() => selfAttention(args)).toThrow(message);
  });

  it('accepts Keras-style snake_case initializer names', () => {
    expect(() => selfAttention({kernelInitializer: 'glorot_uniform'})).not.toThrow();
  });
});

describe('SelfAttention inputs', () => {
  it('input of rank other than 3', () => {
    expect(() => selfAttention().apply(tf.zeros([2, 4])))
        .toThrow(/inputs must have rank 3 \[batch, time, features\]\. Received: input shape \[2,4\]/);
    expect(() => selfAttention().apply(tf.zeros([1, 2, 3, 4])))
        .toThrow(/Received: input shape \[1,2,3,4\]/);
  });

  it('feature size different from the one the layer was built with', () => {
    const layer = selfAttention();
    layer.apply(tf.zeros([1, 3, 4]));
    expect(() => layer.apply(tf.zeros([1, 3, 6])))
        .toThrow(/built for query with 4 features\. Received: query with shape \[1,3,6\]/);
    const cross = selfAttention();
    cross.apply([tf.zeros([1, 3, 4]), tf.zeros([1, 5, 6])]);
    expect(() => cross.apply([tf.zeros([1, 3, 4]), tf.zeros([1, 5, 7])]))
        .toThrow(/built for context with 6 features\. Received: context with shape \[1,5,7\]/);
  });

  it('feature size not divisible by numHeads without keyDim', () => {
    expect(() => selfAttention({numHeads: 3}).apply(tf.zeros([1, 2, 4])))
        .toThrow(/feature size 4 is not divisible by numHeads=3; pass keyDim/);
  });

  it('a list of other than 1, 2 or 3 inputs', () => {
    const x = tf.zeros([1, 2, 4]);
    expect(() => selfAttention().apply([x, x, tf.ones([1, 2]), x]))
        .toThrow(/takes 1 input \(self-attention\), \[query, context\] .*Received: 4 inputs/);
  });

  it('a mask whose shape does not fit', () => {
    const layer = selfAttention();
    const x = tf.zeros([2, 3, 4]);
    expect(() => layer.apply(x, {mask: tf.ones([2, 4], 'bool')}))
        .toThrow(/query mask must have shape \[batch, time\] = \[2,3\]\. Received: query mask with shape \[2,4\]/);
    expect(() => layer.apply(x, {attentionMask: tf.ones([2, 3, 2], 'bool')}))
        .toThrow(/attentionMask must have shape \[batch, timeQ, timeK\] = \[2, 3, 3\].*Received: attentionMask with shape \[2,3,2\]/);
    expect(() => layer.apply([x, x, tf.ones([2, 5])]))
        .toThrow(/contextMask \(the third input\) must have shape \[batch, timeK\] = \[2, 3\]\. Received: contextMask with shape \[2,5\]/);
  });
});

describe('scaledDotProductAttention arguments', () => {
  const q = tf.zeros([2, 3, 4]);
  it('rank, shapes and mask are checked', () => {
    expect(() => scaledDotProductAttention(tf.zeros([3, 4]), q, q))
        .toThrow(/query must have rank 3 .* or 4 .*Received: query with shape \[3,4\]/);
    expect(() => scaledDotProductAttention(q, tf.zeros([2, 3, 5]), tf.zeros([2, 3, 5])))
        .toThrow(/key must have the same last dimension as query/);
    expect(() => scaledDotProductAttention(q, q, tf.zeros([2, 4, 4])))
        .toThrow(/value must have as many time steps as key/);
    expect(() => scaledDotProductAttention(q, q, q, {mask: tf.ones([2, 3, 5], 'bool')}))
        .toThrow(/mask must broadcast to the attention scores \[2,3,3\].*Received: mask with shape \[2,3,5\]/);
    expect(() => scaledDotProductAttention(q, q, q, {dropout: 1.5}))
        .toThrow(/dropout must be in \[0, 1\)\. Received: dropout=1\.5/);
  });
});

describe('embedding layers', () => {
  it('name the bad argument', () => {
    expect(() => tokenEmbedding({vocabSize: 0, outputDim: 4}))
        .toThrow(/vocabSize must be a positive integer\. Received: vocabSize=0/);
    expect(() => positionalEmbedding({maxLength: -3}))
        .toThrow(/maxLength must be a positive integer\. Received: maxLength=-3/);
    expect(() => positionalEmbedding({maxLength: 4, kind: 'rotary' as 'learned'}))
        .toThrow(/kind must be 'learned' or 'sinusoidal'\. Received: kind="rotary"/);
    expect(() => positionalEmbedding({maxLength: 4}).apply(tf.zeros([1, 5, 2])))
        .toThrow(/sequence has 5 steps, more than maxLength=4/);
  });
});

/** Tensors and variables alive now (a failed call must leave both as they were). */
function alive(): {tensors: number, variables: number} {
  return {tensors: tf.memory().numTensors,
          variables: Object.keys(tf.engine().registeredVariables).length};
}

/** Every layer the package exports, made from an options object. */
const FACTORIES: Array<[string, (args: never) => tf.layers.Layer, Record<string, unknown>]> = [
  ['SelfAttention', selfAttention as (args: never) => tf.layers.Layer, {}],
  ['TokenEmbedding', tokenEmbedding as (args: never) => tf.layers.Layer, {vocabSize: 5, outputDim: 4}],
  ['PositionalEmbedding', positionalEmbedding as (args: never) => tf.layers.Layer, {maxLength: 6}],
  ['LayerNorm', layerNorm as (args: never) => tf.layers.Layer, {}],
  ['FeedForward', feedForward as (args: never) => tf.layers.Layer, {hiddenDim: 8}],
];

describe('options that are not known are refused, with the right name suggested', () => {
  const cases: Array<[string, (args: never) => unknown, Record<string, unknown>, RegExp]> = [
    ['SelfAttention', selfAttention, {numheads: 2},
     /SelfAttention: unknown argument 'numheads'\. Did you mean 'numHeads'\? Received: numheads=2/],
    ['SelfAttention', selfAttention, {num_heads: 2}, /unknown argument 'num_heads'\. Did you mean 'numHeads'\?/],
    ['SelfAttention', selfAttention, {key_dim: 4}, /unknown argument 'key_dim'\. Did you mean 'keyDim'\? Received: key_dim=4/],
    ['SelfAttention', selfAttention, {returnAttentionScores: true},
     /unknown argument 'returnAttentionScores'\. Did you mean 'returnAttentionWeights'\? Received: returnAttentionScores=true/],
    ['SelfAttention', selfAttention, {return_attention_scores: true},
     /unknown argument 'return_attention_scores'\. Did you mean 'returnAttentionWeights'\?/],
    ['SelfAttention', selfAttention, {useCausalMask: true}, /unknown argument 'useCausalMask'\. Did you mean 'causal'\?/],
    ['SelfAttention', selfAttention, {use_causal_mask: true}, /unknown argument 'use_causal_mask'\. Did you mean 'causal'\?/],
    ['SelfAttention', selfAttention, {caual: true}, /unknown argument 'caual'\. Did you mean 'causal'\? Received: caual=true/],
    ['SelfAttention', selfAttention, {useBais: true}, /Did you mean 'useBias'\?/],
    ['SelfAttention', selfAttention, {attentionAxes: [1]},
     /unknown argument 'attentionAxes': SelfAttention attends over the time axis \(axis 1\) only\. Received: attentionAxes=\[1\]/],
    ['SelfAttention', selfAttention, {mask: 1}, /unknown argument 'mask': not a constructor argument/],
    ['SelfAttention', selfAttention, {frobnicate: 1},
     /unknown argument 'frobnicate'\. Known arguments: numHeads, keyDim, .*\. Received: frobnicate=1/],
    ['TokenEmbedding', tokenEmbedding, {inputDim: 5, outputDim: 4},
     /TokenEmbedding: unknown argument 'inputDim'\. Did you mean 'vocabSize'\? Received: inputDim=5/],
    ['TokenEmbedding', tokenEmbedding, {vocabSize: 5, outputDim: 4, mask_zero: true}, /Did you mean 'maskZero'\?/],
    ['PositionalEmbedding', positionalEmbedding, {sequence_length: 4},
     /PositionalEmbedding: unknown argument 'sequence_length'\. Did you mean 'maxLength'\?/],
    ['LayerNorm', layerNorm, {eps: 1e-5}, /LayerNorm: unknown argument 'eps'\. Did you mean 'epsilon'\? Received: eps=0\.00001/],
    ['LayerNorm', layerNorm, {axis: -1}, /unknown argument 'axis': LayerNorm normalizes over the last axis only/],
    ['FeedForward', feedForward, {units: 8}, /FeedForward: unknown argument 'units'\. Did you mean 'hiddenDim'\? Received: units=8/],
  ];
  it.each(cases)('%s %j', (_name, make, args, message) => {
    expect(() => make(args as never)).toThrow(message);
  });
});

describe('values of the wrong type are refused, naming the argument and the value', () => {
  const cases: Array<[string, (args: never) => unknown, Record<string, unknown>, RegExp]> = [
    ['SelfAttention', selfAttention, {causal: 'false'},
     /SelfAttention: causal must be a boolean \(true or false\)\. Received: causal="false"/],
    ['SelfAttention', selfAttention, {useBias: 1}, /useBias must be a boolean.*Received: useBias=1/],
    ['SelfAttention', selfAttention, {returnAttentionWeights: 'yes'}, /returnAttentionWeights must be a boolean/],
    ['SelfAttention', selfAttention, {useOutputProjection: 0}, /useOutputProjection must be a boolean.*=0/],
    ['SelfAttention', selfAttention, {slidingWindow: 0}, /slidingWindow must be a positive integer\. Received: slidingWindow=0/],
    ['SelfAttention', selfAttention, {memoryBudgetBytes: Infinity},
     /memoryBudgetBytes must be a positive number of bytes\. Received: memoryBudgetBytes=Infinity/],
    ['TokenEmbedding', tokenEmbedding, {vocabSize: 5, outputDim: 4, maskZero: 'yes'},
     /TokenEmbedding: maskZero must be a boolean.*Received: maskZero="yes"/],
    ['TokenEmbedding', tokenEmbedding, {vocabSize: 5}, /outputDim must be a positive integer \(it is required\)\. Received: outputDim=undefined/],
    ['FeedForward', feedForward, {}, /FeedForward: hiddenDim must be a positive integer \(it is required\)/],
    ['LayerNorm', layerNorm, {epsilon: '1e-6'}, /LayerNorm: epsilon must be a positive number\. Received: epsilon="1e-6"/],
  ];
  it.each(cases)('%s %j', (_name, make, args, message) => {
    expect(() => make(args as never)).toThrow(message);
  });

  it('outputDim without an output projection is an error', () => {
    expect(() => selfAttention({outputDim: 8}))
        .toThrow(/SelfAttention: outputDim sets the size of the output projection, which this layer does not have \(numHeads=1 and no useOutputProjection\).*Received: outputDim=8/);
    expect(() => selfAttention({numHeads: 2, useOutputProjection: false, outputDim: 8}))
        .toThrow(/\(useOutputProjection=false\).*Received: outputDim=8/);
    expect(() => selfAttention({outputDim: 8, useOutputProjection: true})).not.toThrow();
    expect(() => selfAttention({numHeads: 2, outputDim: 8})).not.toThrow();
  });
});

describe('base layer arguments are checked on every layer', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{dtype: 'float64'}, /dtype must be ('int32' or )?'float32'.*Received: dtype="float64"/],
    [{name: 'two words'}, /name must be a string that is a valid tensor name.*Received: name="two words"/],
    [{name: 7}, /name must be a string.*Received: name=7/],
    [{trainable: 'no'}, /trainable must be a boolean.*Received: trainable="no"/],
    [{inputShape: [0, 4]}, /inputShape must be an array of positive integers or null\. Received: inputShape=\[0,4\]/],
    [{batchInputShape: 'x'}, /batchInputShape must be an array.*Received: batchInputShape="x"/],
    [{batchSize: -1}, /batchSize must be a positive integer\. Received: batchSize=-1/],
    [{weights: [1, 2]}, /weights must be an array of tf\.Tensors\. Received: weights=\[1,2\]/],
  ];
  for (const [className, make, required] of FACTORIES) {
    it.each(bad)(`${className} %j`, (args, message) => {
      expect(() => make({...required, ...args} as never)).toThrow(new RegExp(`^${className}: ${message.source}`));
    });
  }

  it('TokenEmbedding takes ids as int32 or float32, the other layers float32', () => {
    expect(() => tokenEmbedding({vocabSize: 5, outputDim: 4, dtype: 'float32'})).not.toThrow();
    expect(() => tokenEmbedding({vocabSize: 5, outputDim: 4, dtype: 'bool'}))
        .toThrow(/dtype must be 'int32' or 'float32'\. Received: dtype="bool"/);
    expect(() => selfAttention({dtype: 'int32'})).toThrow(/dtype must be 'float32'\. Received: dtype="int32"/);
  });

  it('options that are not an object get a clear error', () => {
    expect(() => selfAttention(null as never))
        .toThrow(/SelfAttention: args must be an object of options, e\.g\. \{numHeads: …, keyDim: …\}\. Received: args=null/);
    expect(() => selfAttention(4 as never)).toThrow(/args must be an object.*Received: args=4/);
    expect(() => selfAttention([] as never)).toThrow(/args must be an object.*Received: args=\[\]/);
    expect(() => layerNorm('x' as never)).toThrow(/LayerNorm: args must be an object.*Received: args="x"/);
    expect(() => tokenEmbedding(undefined as never)).toThrow(/TokenEmbedding: vocabSize must be a positive integer \(it is required\)/);
    expect(() => new SelfAttention()).not.toThrow();
  });

  it('what tfjs passes when it rebuilds a model stays accepted (every layer, JSON round trip)', async () => {
    const input = tf.input({shape: [4]});
    const ids = new TokenEmbedding({vocabSize: 6, outputDim: 8, maskZero: true, name: 'tokens'}).apply(input) as tf.SymbolicTensor;
    const pos = new PositionalEmbedding({maxLength: 4, name: 'positions'}).apply(ids) as tf.SymbolicTensor;
    const att = new SelfAttention({numHeads: 2, causal: true, slidingWindow: 3, useBias: true, name: 'sa',
                                   trainable: true}).apply(pos) as tf.SymbolicTensor;
    const norm = new LayerNorm({epsilon: 1e-5, name: 'norm'}).apply(att) as tf.SymbolicTensor;
    const out = new FeedForward({hiddenDim: 16, outputDim: 3, activation: 'gelu', name: 'ff'}).apply(norm) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: out});
    const x = tf.tensor2d([[1, 2, 3, 0], [4, 5, 0, 0]]);
    const expected = model.predict(x) as tf.Tensor;
    // modelFromJSON converts the snake_case keys back and adds customObjects to each config.
    const json = model.toJSON(undefined, false) as unknown as tf.io.ModelJSON['modelTopology'];
    const copy = await tf.models.modelFromJSON({modelTopology: json} as never);
    copy.setWeights(model.getWeights());
    const again = copy.predict(x) as tf.Tensor;
    expect(Array.from(again.dataSync())).toEqual(Array.from(expected.dataSync()));
    expect(copy.getLayer('sa').getConfig()).toEqual(model.getLayer('sa').getConfig());
    tf.dispose([x, expected, again]);
    model.dispose();
    copy.dispose();
  });
});

describe('call options are type-checked', () => {
  const x = tf.zeros([2, 3, 4]);
  const layer = selfAttention();
  beforeAll(() => {
    layer.apply(x);
  });
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['training as a string', {training: 'yes'}, /SelfAttention: training must be a boolean.*Received: training="yes"/],
    ['a mask as a plain array', {mask: [[1, 1, 0], [1, 0, 0]]},
     /SelfAttention: mask must be a tf\.Tensor of booleans or numbers \(a plain array: make it a tensor with tf\.tensor\(\.\.\.\)\)\. Received: mask=\[\[1,1,0\],\[1,0,0\]\]/],
    ['one of two masks as a plain array', {mask: [tf.ones([2, 3]), [1, 1, 0]]},
     /SelfAttention: mask\[1\] must be a tf\.Tensor of booleans or numbers \(a plain array.*Received: mask\[1\]=\[1,1,0\]/],
    ['a mask as a string tensor', {mask: tf.tensor2d([['a', 'b', 'c'], ['a', 'b', 'c']])},
     /mask must be a tf\.Tensor of booleans or numbers \(dtype 'string': use bool or numbers\)\. Received: mask=a tensor of shape \[2,3\] and dtype 'string'/],
    ['an attentionMask as a plain array', {attentionMask: [[[true]]]}, /attentionMask must be a tf\.Tensor.*plain array/],
    ['a Keras name', {attention_mask: tf.ones([2, 3, 3])}, /unknown argument 'attention_mask'\. Did you mean 'attentionMask'\?/],
    ['a constructor argument', {useCausalMask: true}, /unknown argument 'useCausalMask': causal attention is a constructor argument/],
  ];
  it.each(bad)('%s', (_n, kwargs, message) => {
    const before = alive();
    expect(() => layer.apply(x, kwargs)).toThrow(message);
    expect(alive()).toEqual(before);
  });

  it('the other layers check theirs too', () => {
    expect(() => layerNorm().apply(x, {training: 1})).toThrow(/LayerNorm: training must be a boolean.*=1/);
    expect(() => feedForward({hiddenDim: 3}).apply(x, {maskk: null}))
        .toThrow(/FeedForward: unknown argument 'maskk'\. Did you mean 'mask'\?/);
  });

  it('inputs that are not tensors name the input', () => {
    expect(() => layer.call([x, [[1]] as never], {})).toThrow(/SelfAttention: context must be a tf\.Tensor.*plain array/);
  });
});

describe('an error at the first call names the argument and leaks nothing', () => {
  it('an identity biasInitializer on a 1-D bias', () => {
    const x = tf.ones([1, 2, 4]);
    const before = alive();
    const layer = selfAttention({useBias: true, biasInitializer: 'identity'});
    expect(() => layer.apply(x)).toThrow(
        /SelfAttention: biasInitializer cannot initialize the weight 'query_bias' of shape \[4\]: Identity initializer needs a 2-D shape.*Received: biasInitializer=\{"className":"SelfAttentionIdentity"/);
    expect(alive()).toEqual(before);
    expect(layer.weights).toEqual([]);
    expect(layer.built).toBe(false);
    x.dispose();
  });

  it('a feature size the heads do not divide, and a call with the wrong features', () => {
    const before = alive();
    expect(() => selfAttention({numHeads: 3}).apply(tf.tidy(() => tf.ones([1, 2, 4])))).toThrow(/numHeads=3/);
    const layer = selfAttention();
    const x = tf.ones([1, 2, 4]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    const built = alive();
    expect(() => layer.apply(tf.tidy(() => tf.ones([1, 2, 5])))).toThrow(/built for query with 4 features/);
    expect(alive().variables).toBe(built.variables);
    layer.dispose();
    x.dispose();
    expect(alive().variables).toBe(before.variables);
  });
});

describe('functions check their options too', () => {
  const q = tf.zeros([2, 3, 4]);
  const fns: Array<[string, (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: never) => unknown]> = [
    ['scaledDotProductAttention', scaledDotProductAttention],
    ['attentionSteps', attentionSteps],
    ['fastCpuAttention', fastCpuAttention],
    ['memoryEfficientAttention', memoryEfficientAttention],
    ['attention', attention],
  ];
  const ones = tf.ones([2, 3, 3]);
  const int32 = tf.zeros([2, 3, 4], 'int32');
  it.each(fns)('%s', (name, fn) => {
    const before = alive();
    const call = (o: unknown) => () => fn(q, q, q, o as never);
    expect(call({causal: 'yes'})).toThrow(new RegExp(`^${name}: causal must be a boolean.*Received: causal="yes"`));
    expect(call({caual: true})).toThrow(new RegExp(`^${name}: unknown argument 'caual'\\. Did you mean 'causal'\\?`));
    expect(call({attentionMask: ones})).toThrow(/unknown argument 'attentionMask'\. Did you mean 'mask'\?/);
    expect(call({mask: [[true]]})).toThrow(/mask must be a tf\.Tensor of booleans or numbers \(a plain array/);
    expect(call({scale: NaN})).toThrow(/scale must be a finite number\. Received: scale=NaN/);
    expect(call({blockSize: 0})).toThrow(/blockSize must be a positive integer\. Received: blockSize=0/);
    expect(call(null)).toThrow(new RegExp(`^${name}: options must be an object.*Received: options=null`));
    expect(() => fn([[1]] as never, q, q, {} as never)).toThrow(/query must be a float32 tf\.Tensor\. Received: query=\[\[1\]\]/);
    expect(() => fn(q, int32, q, {} as never))
        .toThrow(/key must be a float32 tf\.Tensor\. Received: key=a tensor of shape \[2,3,4\] and dtype 'int32'/);
    expect(alive()).toEqual(before);
  });

  it('attention and choosePath options', () => {
    expect(() => attention(q, q, q, {path: 'quick' as never})).toThrow(/attention: path must be one of 'auto'/);
    expect(() => attention(q, q, q, {queryMask: [[1, 1, 1]] as never})).toThrow(/queryMask must be a tf\.Tensor.*plain array/);
    expect(() => attention(q, q, q, {attentionPath: 'fast'} as never)).toThrow(/Did you mean 'path'\?/);
  });

  it('the block builders', () => {
    const x = tf.input({shape: [3, 8]});
    expect(() => encoderBlock(x, null, {heads: 2} as never)).toThrow(/encoderBlock: unknown argument 'heads'\. Did you mean 'numHeads'\?/);
    expect(() => encoderBlock(x, null, {dropout: '0.1'} as never)).toThrow(/encoderBlock: dropout must be a number in \[0, 1\)\. Received: dropout="0\.1"/);
  });
});
