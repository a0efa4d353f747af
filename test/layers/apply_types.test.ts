/**
 * What `apply` is typed as returning, checked by the compiler (`npm run lint` type-checks this
 * file; a `@ts-expect-error` that stops erroring fails it) and at run time.
 */
import * as tf from '@tensorflow/tfjs';

import {SelfAttention, selfAttention} from '../../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

it('with returnAttentionWeights: true, apply gives [output, weights] without a cast', () => {
  const x = tf.ones([1, 3, 4]);
  const [output, weights] = selfAttention({numHeads: 2, returnAttentionWeights: true}).apply(x);
  const shapes: [number[], number[]] = [output.shape, weights.shape];  // both tf.Tensor
  expect(shapes).toEqual([[1, 3, 4], [1, 2, 3, 3]]);
  const [o2, w2] =
      new SelfAttention({returnAttentionWeights: true}).apply(x);  // the constructor too
  expect([o2.shape, w2.shape]).toEqual([[1, 3, 4], [1, 1, 3, 3]]);
  tf.dispose([x, output, weights, o2, w2]);
});

it('without it, apply gives one tensor; symbolic inputs give symbolic outputs', () => {
  const x = tf.ones([1, 3, 4]);
  const output: tf.Tensor = selfAttention({numHeads: 2}).apply(x);
  expect(output.shape).toEqual([1, 3, 4]);
  const single = selfAttention({numHeads: 2, returnAttentionWeights: false}).apply(x);
  expect(() => {
    // @ts-expect-error: one tensor, not a pair, and the compiler says so
    const [notAPair] = single;
    return notAPair;
  }).toThrow(/not iterable/);
  const input = tf.input({shape: [3, 4]});
  const symbolic: tf.SymbolicTensor = selfAttention().apply(input);
  const [out, weights]: [tf.SymbolicTensor, tf.SymbolicTensor] =
      selfAttention({returnAttentionWeights: true}).apply(input);
  expect([symbolic.shape, out.shape, weights.shape]).toEqual([
    [null, 3, 4], [null, 3, 4], [null, 1, 3, 3]
  ]);
  tf.dispose([x, output, single]);
});

it('when the option is only known at run time, apply gives either', () => {
  const flag: boolean = Math.random() < 2;  // true, but not known to the compiler
  const result = selfAttention({returnAttentionWeights: flag}).apply(tf.ones([1, 2, 4]));
  const either: tf.Tensor|[tf.Tensor, tf.Tensor] = result;
  expect(Array.isArray(either)).toBe(true);
  tf.dispose(result);
});
