/**
 * Types that let TypeScript know what an attention layer's `apply` returns, so that
 * `const [output, weights] = layer.apply(x)` needs no cast.
 *
 * tfjs types every `Layer.apply` as returning `Tensor|Tensor[]|SymbolicTensor|SymbolicTensor[]`.
 * An attention layer knows more: a tensor in gives a tensor out (a symbolic tensor, while a
 * model is being built), and with its option to return the attention weights, a pair
 * `[output, weights]`. The layer classes carry that option as a type parameter `W`, inferred from
 * the literal `true` or `false` passed to their factory or constructor.
 */
import * as tf from '@tensorflow/tfjs';

/** The keyword arguments of `apply`, as tfjs types them. */
export type ApplyKwargs = Parameters<tf.layers.Layer['apply']>[1];

/**
 * What `apply` returns for inputs of type `T` (`tf.Tensor` or `tf.SymbolicTensor`): the output,
 * or `[output, weights]` when `W` is `true`; either of the two when `W` is `boolean` (the option
 * not known while compiling).
 *
 * ```ts
 * const layer = selfAttention({returnAttentionWeights: true});  // SelfAttention<true>
 * const [output, weights] = layer.apply(tf.ones([1, 3, 4]));     // [tf.Tensor, tf.Tensor]
 * ```
 */
export type AttentionApplyResult<T extends tf.Tensor|tf.SymbolicTensor, W extends boolean> =
    W extends true ? [T, T] : T;
