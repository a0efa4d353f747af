/** The shape of test/helpers/conformance/fixtures.json. */

/** A tensor as a flat row-major list of numbers and its shape. */
export interface FixtureTensor {
  shape: number[];
  values: number[];
}

export interface NamedFixtureTensor extends FixtureTensor {
  name: string;
}

export interface ConformanceCase {
  name: string;
  /** SelfAttention args (returnAttentionWeights is added by the runner). */
  args: {numHeads?: number, keyDim?: number, valueDim?: number, outputDim?: number,
         useOutputProjection?: boolean, useBias?: boolean, causal?: boolean};
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
    /** [batch, numHeads, timeQ, timeK]. */
    attention: FixtureTensor;
    /** d loss / d query, (context,) and every weight, by name. */
    gradients: NamedFixtureTensor[];
  };
}

export interface ConformanceFixtures {
  about: string;
  cases: ConformanceCase[];
}
