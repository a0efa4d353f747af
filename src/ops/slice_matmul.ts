/**
 * sliceMatMul: `[s, m, k] · [s, k, n] → [s, m, n]`, the value and gradient of `tf.matMul(a, b)`
 * for rank-3 tensors, computed on the wasm backend as one fast 2-D product per slice with no
 * copy of any slice.
 *
 * tfjs-backend-wasm 4.22 sends a matMul to its fast kernel (XNNPACK's fully connected operator,
 * ~40 GFLOP/s here) only when both operands are single 2-D matrices without transpose flags;
 * a batched product runs a scalar loop (~3 GFLOP/s). Cutting the batch apart with
 * `tf.unstack` and joining it with `tf.stack` costs more than it saves at small sizes: on wasm
 * every `Slice` copies its whole input out of the heap first, and `stack` copies every slice
 * again. Here one kernel allocates the `[s, m, n]` output once and, per slice, registers three
 * *views* with the wasm module (tensor ids pointing into the middle of `a`, `b` and the output:
 * no bytes move) and runs the backend's own `BatchMatMul` on them, which takes the fast kernel
 * because each view is a single 2-D matrix. The views are unregistered at once (that also frees
 * the XNNPACK operator cached on the `b` view); the memory stays owned by the real tensors.
 *
 * On every other backend, and for dtypes other than float32, it is `tf.matMul(a, b)`.
 * The kernel is registered for wasm on first use, under a name of this package's own, with a
 * gradient written in sliceMatMul itself, so the backward pass takes the fast kernel too.
 */
import * as tf from '@tensorflow/tfjs';

/** The kernel's name: this package's own, so that it never replaces a kernel of tfjs. */
export const SLICE_MATMUL_KERNEL = 'TfjsSelfAttentionSliceMatMul';

/** The parts of tfjs-backend-wasm 4.x's `BackendWasm` the kernel uses. */
interface WasmBackendParts {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: {get(dataId: object): {id: number, memoryOffset: number}|undefined};
  dataIdNextNumber: number;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: {registerTensor(id: number, size: number, offset: number): void,
           disposeData(id: number): void};
  };
}

function isWasmBackend(b: unknown): b is WasmBackendParts {
  const w = b as Partial<WasmBackendParts>| null;
  return w != null && typeof w.makeOutput === 'function' && w.dataIdMap != null &&
      typeof w.dataIdNextNumber === 'number' && typeof w.wasm?.cwrap === 'function' &&
      typeof w.wasm.tfjs?.registerTensor === 'function' &&
      typeof w.wasm.tfjs?.disposeData === 'function';
}

/** The module's BatchMatMul entry (the same signature tfjs-backend-wasm's kernel wraps). */
let batchMatMul2d: ((...args: unknown[]) => void)|null = null;

function sliceMatMulWasm(args: {inputs: tf.NamedTensorInfoMap, backend: unknown}):
    tf.TensorInfo {
  const {a, b} = args.inputs as {a: tf.TensorInfo, b: tf.TensorInfo};
  const backend = args.backend;
  if (!isWasmBackend(backend)) {
    throw new Error('sliceMatMul (wasm): needs the tfjs-backend-wasm 4.x backend object.');
  }
  const [s, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const out = backend.makeOutput([s, m, n], 'float32');
  if (s * m * n === 0) {
    return out;
  }
  if (k === 0) {
    // An empty inner dimension: the product is zeros (makeOutput's memory is not cleared).
    const info = backend.dataIdMap.get(out.dataId)!;
    new Float32Array((backend.wasm as unknown as {HEAPU8: Uint8Array}).HEAPU8.buffer,
                     info.memoryOffset, s * m * n).fill(0);
    return out;
  }
  batchMatMul2d ??= backend.wasm.cwrap('BatchMatMul', null, [
    'number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const [aAt, bAt, outAt] = [offset(a), offset(b), offset(out)];
  const aShape = new Uint8Array(new Int32Array([1, m, k]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, k, n]).buffer);
  const {registerTensor, disposeData} = backend.wasm.tfjs;
  for (let i = 0; i < s; i++) {
    // Fresh ids each time: the backend caches an XNNPACK operator per `b` id.
    const aId = backend.dataIdNextNumber++;
    const bId = backend.dataIdNextNumber++;
    const outId = backend.dataIdNextNumber++;
    registerTensor(aId, m * k, aAt + 4 * i * m * k);    // views: no copy
    registerTensor(bId, k * n, bAt + 4 * i * k * n);
    registerTensor(outId, m * n, outAt + 4 * i * m * n);
    try {
      batchMatMul2d(aId, aShape, 3, bId, bShape, 3, false, false, outId);
    } finally {
      // Unregisters the ids only (the memory belongs to a, b and out) and frees the operator.
      disposeData(aId);
      disposeData(bId);
      disposeData(outId);
    }
  }
  return out;
}

let registered = false;

function registerOnce(): void {
  if (registered) {
    return;
  }
  registered = true;
  if (tf.getKernel(SLICE_MATMUL_KERNEL, 'wasm') == null) {
    tf.registerKernel({kernelName: SLICE_MATMUL_KERNEL, backendName: 'wasm',
                       kernelFunc: sliceMatMulWasm as unknown as tf.KernelFunc});
  }
  if (tf.getGradient(SLICE_MATMUL_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SLICE_MATMUL_KERNEL,
      inputsToSave: ['a', 'b'],
      gradFunc: (dy: tf.Tensor|tf.Tensor[], saved: tf.Tensor[]) => {
        const [a, b] = saved as [tf.Tensor3D, tf.Tensor3D];
        const g = dy as tf.Tensor3D;
        return {
          a: () => sliceMatMul(g, tf.transpose(b, [0, 2, 1])),  // [s, m, n]·[s, n, k]
          b: () => sliceMatMul(tf.transpose(a, [0, 2, 1]), g),  // [s, k, m]·[s, m, n]
        };
      },
    });
  }
}

/**
 * `a · b` slice by slice: `[s, m, k] · [s, k, n]` → `[s, m, n]`, the value and gradients of
 * `tf.matMul(a, b)`, as one fast 2-D product per slice on wasm without copying any slice (see
 * the module comment); `tf.matMul(a, b)` on other backends.
 *
 * ```ts
 * const q = tf.randomNormal([64, 256, 8]);   // 64 slices [256, 8]
 * const kT = tf.randomNormal([64, 8, 256]);
 * const scores = sliceMatMul(q, kT);         // [64, 256, 256]
 * ```
 */
export function sliceMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor3D {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`sliceMatMul needs a [s, m, k] and b [s, k, n]. Received: a with shape [${
        a.shape}], b with shape [${b.shape}]`);
  }
  if (tf.getBackend() !== 'wasm' || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
  }
  registerOnce();
  return tf.engine().runKernel(SLICE_MATMUL_KERNEL, {a, b}, {}) as tf.Tensor3D;
}
