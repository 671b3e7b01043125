import * as tf from '@tensorflow/tfjs-core';

/** The part of the wasm backend used here (a public method of `BackendWasm`). */
interface HeapBackend {
  typedArrayFromHeap(info: { shape: number[]; dtype: tf.DataType; dataId: object }): ArrayBufferView;
}

/**
 * The float32 values of `t`, without a copy where the backend allows it: on `cpu`, the backend's
 * own array; on `wasm`, a view of the wasm heap. Elsewhere (or if that fails) `dataSync()`.
 * Read-only, and valid only until TensorFlow.js next allocates (the wasm heap may grow).
 */
export function viewFloat32(t: tf.Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new TypeError(`${what} must be float32, got ${t.dtype}`);
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as unknown as Partial<HeapBackend>;
    if (typeof backend.typedArrayFromHeap === 'function') {
      try {
        const view = backend.typedArrayFromHeap({ shape: t.shape, dtype: t.dtype, dataId: t.dataId });
        if (view instanceof Float32Array && view.length === t.size) return view;
      } catch {
        // The tensor lives on another backend; dataSync moves it.
      }
    }
  }
  return t.dataSync() as Float32Array;
}

/**
 * Whether the active backend copies the values a new tensor is made from. The cpu backend (and
 * webgl, until upload) keeps the array itself, so an array we keep writing to must be copied first.
 */
function backendCopiesOnWrite(): boolean {
  return tf.getBackend() === 'wasm';
}

/** A new float32 tensor holding a copy of `values` (which the caller may go on changing), with one copy at most. */
export function tensorFrom(values: Float32Array, shape: readonly number[]): tf.Tensor {
  const data = backendCopiesOnWrite() ? values : values.slice();
  return tf.tensor(data, shape as number[], 'float32');
}

/** A float32 copy of a tensor's values that outlives the tensor (for state handed in by `setWeights`). */
export async function copyOut(t: tf.Tensor): Promise<Float32Array> {
  const data = await t.data();
  return Float32Array.from(data as ArrayLike<number>);
}
