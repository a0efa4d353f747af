/**
 * The `UnsortedSegmentSum` kernel for the wasm backend, which tfjs 4.22 lacks.
 *
 * The gradient of `tf.gather`, so of every trainable `tf.layers.embedding`, is an unsorted
 * segment sum: each row of the incoming gradient is added to the row of the table its id picked.
 * Without this kernel, `fit` of the usual `tf.layers.embedding` → `selfAttention` model fails on
 * wasm with "Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'", and wasm is what
 * `useBestBackend()` picks in Node when @tensorflow/tfjs-backend-wasm is installed.
 *
 * The kernel is plain JavaScript over the wasm backend's own memory: it allocates the output on
 * the wasm heap (`makeOutput`), views inputs and output as typed arrays on that heap
 * (`typedArrayFromHeap`), and adds each input row into its segment's row. It computes what the
 * cpu backend's kernel computes (test/ops/unsorted_segment_sum_wasm.test.ts compares them):
 * `output[s, …] = Σ x[i, …]` over the positions `i` whose id is `s`; ids outside
 * `[0, numSegments)` add nothing. Integer inputs give an int32 sum, as on webgl (the cpu kernel
 * returns float32 there).
 *
 * It is registered when the package is imported, and only if tfjs has no such kernel for wasm at
 * that moment, so a tfjs whose wasm backend brings its own keeps it (registered later, tfjs's own
 * replaces this one).
 */
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'UnsortedSegmentSum';
const BACKEND = 'wasm';

type TypedArray = Float32Array|Int32Array|Uint8Array;

/** The part of tfjs-backend-wasm's `BackendWasm` this kernel uses. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): TypedArray;
}

function isWasmHeapBackend(backend: unknown): backend is WasmHeapBackend {
  const b = backend as Partial<WasmHeapBackend>| null;
  return b != null && typeof b.makeOutput === 'function' &&
      typeof b.typedArrayFromHeap === 'function';
}

/** The kernel function: `x [n, ...inner]` (ids `[n]`, or any shape that is a prefix of x's). */
function unsortedSegmentSum(
    args: {inputs: tf.NamedTensorInfoMap, backend: unknown, attrs?: tf.NamedAttrMap}):
    tf.TensorInfo {
  const {x, segmentIds} = args.inputs as {x: tf.TensorInfo, segmentIds: tf.TensorInfo};
  const numSegments = (args.attrs as {numSegments: number}).numSegments;
  const backend = args.backend;
  if (!isWasmHeapBackend(backend)) {
    throw new Error(
        `UnsortedSegmentSum (wasm): the active backend has no makeOutput/typedArrayFromHeap; ` +
        `this version of @tensorflow/tfjs-backend-wasm is not supported. Received: backend=${
            tf.getBackend()}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
    throw new Error(
        `UnsortedSegmentSum (wasm): x must be float32, int32 or bool. Received: x.dtype=${
            x.dtype}`);
  }
  const idsRank = segmentIds.shape.length;
  if (x.shape.slice(0, idsRank).some((d, i) => d !== segmentIds.shape[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds' shape must be a prefix of x's. Received: x [${
        x.shape}], segmentIds [${segmentIds.shape}]`);
  }
  const innerShape = x.shape.slice(idsRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  // Allocate first: growing the heap detaches every typed array viewed on it before.
  // As tf.sum and the webgl kernel: float32 stays float32, int32 and bool sum to int32.
  const out =
      backend.makeOutput([numSegments, ...innerShape], x.dtype === 'float32' ? 'float32' : 'int32');
  const result = backend.typedArrayFromHeap(out);
  const values = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  result.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const to = segment * inner;
    const from = i * inner;
    for (let j = 0; j < inner; j++) {
      result[to + j] = result[to + j]! + values[from + j]!;
    }
  }
  return out;
}

/**
 * Registers the kernel for wasm unless tfjs already has one; returns whether it registered it.
 * The package calls it once when imported; calling it again does nothing.
 */
export function registerWasmUnsortedSegmentSum(): boolean {
  if (tf.getKernel(KERNEL, BACKEND) != null) {
    return false;
  }
  tf.registerKernel(
      {kernelName: KERNEL, backendName: BACKEND, kernelFunc: unsortedSegmentSum as tf.KernelFunc});
  return true;
}
