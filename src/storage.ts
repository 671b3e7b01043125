/** Element types a variable can hold. */
export type Dtype = 'float32' | 'float64';

/** A typed array of one of the supported dtypes. */
export type FloatArray = Float32Array | Float64Array;

/**
 * Where a variable's numbers live. `array` is a getter because kernel memory may grow and detach
 * earlier views: read it again after anything that can allocate.
 */
export interface Storage {
  readonly dtype: Dtype;
  readonly length: number;
  readonly array: FloatArray;
  /** Gives the memory back where that means something (kernel memory); afterwards `array` is unusable. */
  release?(): void;
}

/** Storage in an ordinary JavaScript typed array (the reference kernels' memory). */
export class HeapStorage implements Storage {
  readonly dtype: Dtype;
  constructor(readonly array: FloatArray) {
    this.dtype = dtypeOf(array);
  }
  get length(): number {
    return this.array.length;
  }
}

export function dtypeOf(array: FloatArray): Dtype {
  return array instanceof Float64Array ? 'float64' : 'float32';
}

export function newFloatArray(dtype: Dtype, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

export function isFloatArray(x: unknown): x is FloatArray {
  return x instanceof Float32Array || x instanceof Float64Array;
}
