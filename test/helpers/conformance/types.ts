/** The shape of test/helpers/conformance/fixtures.json. */

/** A tensor as a flat row-major list of numbers and its shape. */
export interface FixtureTensor {
  shape: number[];
  values: number[];
}

export interface NamedFixtureTensor extends FixtureTensor {
  name: string;
}

/** MultiHeadAttention args of a Keras-layout case (attentionPath is added by the runner). */
export interface MhaConformanceArgs {
  numHeads: number;
  keyDim: number;
  valueDim?: number;
  outputShape?: number|number[];
  useBias?: boolean;
  useGate?: boolean;
  slidingWindow?: number;
  useCausalMask?: boolean;
  returnAttentionScores?: boolean;
  fullyMaskedRows?: 'keras3'|'average'|'zeros';
}

export interface ConformanceCase {
  name: string;
  /** The layer under test. Default 'SelfAttention'. */
  layer?: 'SelfAttention'|'MultiHeadAttention';
  /** SelfAttention args (returnAttentionWeights is added by the runner). */
  args: {numHeads?: number, keyDim?: number, valueDim?: number, outputDim?: number,
         useOutputProjection?: boolean, useBias?: boolean, causal?: boolean};
  /**
   * MultiHeadAttention (Keras layout): its args, and the call's tensors beyond `query` and
   * `context` (the value): a key `[batch, timeK, keyFeatures]` and an attention mask
   * `[batch, 1|heads, timeQ, timeK]` (1 = may attend). `tokenMask` masks the query (and, in
   * self-attention, the value); `contextMask` masks the value. Weights are named by Keras's
   * paths without the layer ('query/kernel', ...).
   */
  mha?: {args: MhaConformanceArgs, key?: FixtureTensor, attentionMask?: FixtureTensor};
  /** [batch, timeQ, features]. */
  query: FixtureTensor;
  /** Cross-attention context [batch, timeK, contextFeatures]; absent = self-attention. */
  context?: FixtureTensor;
  /** Self-attention padding mask [batch, time], 1 = real token, passed as the call's `mask`. */
  tokenMask?: FixtureTensor;
  /** Cross-attention key mask [batch, timeK], passed as the third input. */
  contextMask?: FixtureTensor;
  /** The layer's weights in its own order, by name. */
  weights: NamedFixtureTensor[];
  /** loss = Σ output ⊙ cotangent. */
  cotangent: FixtureTensor;
  expected: {
    output: FixtureTensor;
    /** [batch, numHeads, timeQ, timeK]; absent for a MultiHeadAttention case without scores. */
    attention?: FixtureTensor;
    /** d loss / d query, (context,) (key,) and every weight, by name. */
    gradients: NamedFixtureTensor[];
  };
}

export interface ConformanceFixtures {
  about: string;
  cases: ConformanceCase[];
}
