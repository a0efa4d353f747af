/** Bad input gets a clear error that names the argument and the value received. */
import * as tf from '@tensorflow/tfjs';

import {positionalEmbedding, scaledDotProductAttention, selfAttention, SelfAttentionArgs, tokenEmbedding} from '../../src';

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
