/**
 * How close each backend must come to the float64 reference, in one place. A value passes when
 * |actual - expected| <= atol + rtol·|expected|; for gradients atol is multiplied by
 * max(1, largest |expected| of that gradient tensor), since some gradients are exactly 0 in
 * exact arithmetic (the key bias: softmax ignores a constant added to a row of scores) and come
 * out as float32 rounding noise.
 */

export interface Bound {
  atol: number;
  rtol: number;
}

export interface Tolerance {
  output: Bound;
  attention: Bound;
  gradient: Bound;
  /** Why these numbers. */
  reason: string;
}

/**
 * float32 backends: the reference is float64 and the inputs are the same float32 numbers, so
 * what remains is float32 rounding (2^-24 ≈ 6e-8 per operation) through a few matMuls, a softmax
 * and its gradient, summed in a backend-specific order: ~1e-6 seen; 1e-5 leaves room.
 */
const FLOAT32: Tolerance = {
  output: {atol: 1e-5, rtol: 1e-5},
  attention: {atol: 1e-5, rtol: 1e-5},
  gradient: {atol: 1e-5, rtol: 1e-4},
  reason: 'float32 arithmetic (the tensor store and every kernel)',
};

/**
 * WebGL with `WEBGL_RENDER_FLOAT32_ENABLED=false`, as on many phones: every intermediate tensor
 * is stored in a float16 texture (10-bit mantissa, 2^-11 ≈ 4.9e-4 relative per store) and an op
 * chain of ~10 stores forward and ~20 backward compounds it; half-float exp() also loses bits.
 */
const FLOAT16: Tolerance = {
  output: {atol: 1e-2, rtol: 1e-2},
  attention: {atol: 1e-2, rtol: 1e-2},
  gradient: {atol: 3e-2, rtol: 3e-2},
  reason: 'float16 render targets: tensors stored at half precision between ops',
};

/** Keyed by the backend name, or 'webgl-float16' for WebGL without float32 rendering. */
export const TOLERANCES: Record<string, Tolerance> = {
  'cpu': FLOAT32,
  'wasm': FLOAT32,
  'tensorflow': FLOAT32,
  'webgl': FLOAT32,
  'webgpu': FLOAT32,
  'webgl-float16': FLOAT16,
};

export function toleranceFor(backend: string): Tolerance {
  const t = TOLERANCES[backend];
  if (t == null) {
    throw new Error(`no conformance tolerance for backend '${backend}'; add it to ` +
                    `test/helpers/conformance/tolerances.ts`);
  }
  return t;
}
