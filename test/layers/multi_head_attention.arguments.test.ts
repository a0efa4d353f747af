/** MultiHeadAttention refuses bad arguments and bad calls with errors that name them. */
import * as tf from '@tensorflow/tfjs';

import {multiHeadAttention, MultiHeadAttentionArgs} from '../../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('constructor arguments', () => {
  const base = {numHeads: 2, keyDim: 3};
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{keyDim: 3}, /MultiHeadAttention: numHeads must be a positive integer \(it is required\)\. Received: numHeads=undefined/],
    [{numHeads: 2}, /keyDim must be a positive integer \(it is required\)\. Received: keyDim=undefined/],
    [{...base, numHeads: 0}, /MultiHeadAttention: numHeads must be a positive integer\. Received: numHeads=0/],
    [{...base, numHeads: 1.5}, /numHeads must be a positive integer\. Received: numHeads=1\.5/],
    [{...base, numHeads: '2'}, /numHeads must be a positive integer\. Received: numHeads="2"/],
    [{...base, keyDim: -1}, /keyDim must be a positive integer\. Received: keyDim=-1/],
    [{...base, valueDim: 0}, /valueDim must be a positive integer\. Received: valueDim=0/],
    [{...base, dropout: 1}, /dropout must be a number in \[0, 1\)\. Received: dropout=1/],
    [{...base, dropout: -0.5}, /dropout must be a number in \[0, 1\)\. Received: dropout=-0\.5/],
    [{...base, useBias: 'yes'}, /useBias must be a boolean \(true or false\)\. Received: useBias="yes"/],
    [{...base, useGate: 1}, /useGate must be a boolean \(true or false\)\. Received: useGate=1/],
    [{...base, outputShape: 0}, /outputShape must be a positive integer or a list of positive integers\. Received: outputShape=0/],
    [{...base, outputShape: []}, /Received: outputShape=\[\]/],
    [{...base, outputShape: [2, 0]}, /Received: outputShape=\[2,0\]/],
    [{...base, attentionAxes: [1, 2]},
     /attentionAxes must be Keras's default only, attention over the time axis .*not supported\. Received: attentionAxes=\[1,2\]/],
    [{...base, attentionAxes: 2}, /Received: attentionAxes=2/],
    [{...base, slidingWindow: 0}, /slidingWindow must be a positive integer\. Received: slidingWindow=0/],
    [{...base, slidingWindow: 2.5}, /Received: slidingWindow=2\.5/],
    [{...base, seed: 0.5}, /seed must be an integer\. Received: seed=0\.5/],
    [{...base, fullyMaskedRows: 'uniform'},
     /fullyMaskedRows must be one of 'keras3', 'average', 'zeros'\. Received: fullyMaskedRows="uniform"/],
    [{...base, attentionPath: 'fastest'}, /attentionPath must be one of .*Received: attentionPath="fastest"/],
    [{...base, memoryBudgetBytes: -1}, /memoryBudgetBytes must be a positive number of bytes\. Received: memoryBudgetBytes=-1/],
    [{...base, inputOrder: ['value', 'query']}, /must be a list that starts with 'query'.*Received: inputOrder=\["value","query"\]/],
    [{...base, inputOrder: ['query', 'query']}, /Received: inputOrder=\["query","query"\]/],
    [{...base, inputOrder: ['query', 'key']}, /\('key' only with 'value'\)\. Received: inputOrder=\["query","key"\]/],
    [{...base, inputOrder: ['query', 'mask']}, /Received: inputOrder=\["query","mask"\]/],
    [{...base, kernelInitializer: 'nope'}, /Unknown initializer name for kernelInitializer\. Received: kernelInitializer='nope'/],
    [{...base, activityRegularizer: 'l3'}, /Unknown regularizer name for activityRegularizer\. Received: activityRegularizer='l3'/],
    [{...base, flashAttention: true},
     /unknown argument 'flashAttention': a speed switch of Keras's backends; here the path is attentionPath\. Received: flashAttention=true/],
    [{...base, causal: true}, /unknown argument 'causal'\. Did you mean 'useCausalMask'\? Received: causal=true/],
    [{...base, num_heads: 2}, /unknown argument 'num_heads'\. Did you mean 'numHeads'\? Received: num_heads=2/],
    [{...base, value: 'x'}, /unknown argument 'value': it is a call argument: layer\.apply\(query, \{value, attentionMask, \.\.\.\}\)/],
    [{...base, dtype: 'float16'}, /dtype must be 'float32'\. Received: dtype="float16"/],
    [{...base, buildConfig: {inputShape: [null, 3, 4]}},
     /buildConfig must be \{shapesDict: \{queryShape, valueShape, keyShape\?\}\}.*Received: buildConfig=\{"inputShape":\[null,3,4\]\}/],
    [{...base, queryShape: [null, 3, 4]}, /queryShape and valueShape go together\. Received: queryShape=\[null,3,4\], valueShape=undefined/],
    [{...base, queryShape: [null, 3], valueShape: [null, 3, 4]},
     /query must have shape \[batch, time, features\] with a known feature size\. Received: query shape \[null,3\]/],
    [{...base, queryShape: [null, 3, 4], valueShape: [null, 5, 4], keyShape: [null, 6, 4]},
     /value and key must have the same time steps\. Received: value shape \[null,5,4\], key shape \[null,6,4\]/],
  ];
  it.each(bad)('%j is refused', (args, message) => {
    expect(() => multiHeadAttention(args as unknown as MultiHeadAttentionArgs)).toThrow(message);
  });

  it('accepts the default attention axes in each of their forms, and Keras names of initializers', () => {
    for (const attentionAxes of [null, 1, [1], -2, [-2]]) {
      expect(() => multiHeadAttention({...base, attentionAxes})).not.toThrow();
    }
    expect(() => multiHeadAttention({...base, kernelInitializer: 'glorot_uniform'})).not.toThrow();
  });
});

describe('calls', () => {
  const x = () => tf.zeros([2, 3, 4]);
  const built = () => {
    const layer = multiHeadAttention({numHeads: 2, keyDim: 3, name: 'att'});
    tf.dispose(layer.apply([x(), tf.zeros([2, 5, 6])]) as tf.Tensor);
    return layer;
  };

  it('both a list and keyword tensors', () => {
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2}).apply([x(), x()], {value: x()}))
        .toThrow(/either as a list or as query plus keyword tensors, not both\. Received: a list of 2 and value/);
  });

  it('too many inputs, or not the number inputOrder names', () => {
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2}).apply([x(), x(), x(), x(), x()]))
        .toThrow(/takes query, \[query, value\].*Received: 5 inputs/);
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2, inputOrder: ['query', 'value']})
                     .apply([x(), x(), x()]))
        .toThrow(/inputOrder \[query,value\] names 2 inputs\. Received: 3 inputs/);
  });

  it('an unknown call argument', () => {
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2}).apply(x(), {useCausal: true} as never))
        .toThrow(/unknown argument 'useCausal'\. Known arguments: value, key, attentionMask, .*Received: useCausal=true/);
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2}).apply(x(), {causal: true} as never))
        .toThrow(/unknown argument 'causal'\. Did you mean 'useCausalMask'\? Received: causal=true/);
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2}).apply(x(), {value: [[1]]} as never))
        .toThrow(/value must be a tf\.Tensor of booleans or numbers \(a plain array: make it a tensor/);
  });

  it('inputs that do not fit what the layer was built for', () => {
    const layer = built();
    expect(() => layer.apply([tf.zeros([2, 3, 5]), tf.zeros([2, 5, 6])]))
        .toThrow(/built for query with 4 features\. Received: query with shape \[2,3,5\]/);
    expect(() => layer.apply([x(), tf.zeros([2, 5])]))
        .toThrow(/value must have rank 3 \[batch, time, features\]\. Received: value with shape \[2,5\]/);
    expect(() => layer.apply([x(), tf.zeros([3, 5, 6])]))
        .toThrow(/must share the batch size.*Received: query \[2,3,4\], value \[3,5,6\]/);
    expect(() => layer.apply([x(), tf.zeros([2, 5, 6]), tf.zeros([2, 4, 6])]))
        .toThrow(/and key and value the time steps\. Received: query \[2,3,4\], value \[2,5,6\], key \[2,4,6\]/);
  });

  it('masks of the wrong shape', () => {
    const layer = built();
    const v = tf.zeros([2, 5, 6]);
    expect(() => layer.apply(x(), {value: v, attentionMask: tf.ones([2, 3, 4])}))
        .toThrow(/attentionMask must broadcast to the attention scores \[batch, numHeads, timeQ, timeK\] = \[2,2,3,5\].*Received: attentionMask with shape \[2,3,4\]/);
    expect(() => layer.apply(x(), {value: v, attentionMask: tf.ones([5])}))
        .toThrow(/attentionMask must have shape \[batch, timeQ, timeK\].*Received: attentionMask with shape \[5\]/);
    expect(() => layer.apply(x(), {value: v, queryMask: tf.ones([2, 4])}))
        .toThrow(/query mask must have shape \[batch, time\] = \[2,3\]\. Received: query mask with shape \[2,4\]/);
    expect(() => layer.apply(x(), {value: v, valueMask: tf.ones([2, 3])}))
        .toThrow(/key mask must have shape \[batch, time\] = \[2,5\]\. Received: key mask with shape \[2,3\]/);
  });

  it('a symbolic call with a constant that is not a boolean', () => {
    const input = tf.input({shape: [3, 4]});
    expect(() => multiHeadAttention({numHeads: 1, keyDim: 2})
                     .apply(input, {useCausalMask: 'yes' as unknown as boolean}))
        .toThrow(/useCausalMask must be a boolean \(true or false\)\. Received: useCausalMask="yes"/);
  });

  it('leaks no tensor when a call fails', () => {
    const layer = built();
    const before = tf.memory().numTensors;
    const q = x();
    const v = tf.zeros([2, 5, 6]);
    const m = tf.ones([2, 3, 4]);
    expect(() => layer.apply(q, {value: v, attentionMask: m})).toThrow();
    tf.dispose([q, v, m]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
