import type { Dtype, FloatArray, Storage } from '../storage.js';

/** Scalars shared by every variable in one step, computed once by the optimizer. */
export interface StepScalars {
  /** lr * sqrt(1 - beta2^t) / (1 - beta1^t) */
  readonly alpha: number;
  /** The epsilon added to sqrt(v): epsilon, or epsilon * sqrt(1 - beta2^t) when adaptive. */
  readonly epsilon: number;
  readonly oneMinusBeta1: number;
  readonly oneMinusBeta2: number;
  readonly amsgrad: boolean;
  /** When > 0, each (scaled) gradient element is clamped to [-clipValue, clipValue]. */
  readonly clipValue: number;
  /** EMA momentum, or null when the optimizer keeps no average. */
  readonly emaMomentum: number | null;
  /** After the EMA update, copy each average into its variable. */
  readonly emaOverwrite: boolean;
}

/** One variable's part in a dense step. All storages share the variable's dtype. */
export interface DenseSlotSet {
  readonly param: Storage;
  /** The raw gradient (never written to). May be a view into kernel memory. */
  readonly grad: FloatArray;
  readonly m: Storage;
  readonly v: Storage;
  readonly vhat: Storage | null;
  readonly average: Storage | null;
  /** Norm-clipping factor applied to every gradient element (1 when not norm-clipped). */
  readonly gradScale: number;
  /** lr * weight_decay, or 0 when this variable is not decayed. */
  readonly decay: number;
  /**
   * An array of the variable's dtype and length that the new values are also written to before
   * `denseStep` returns, or null (absent: null). Kernels may fill it as they go (the compiled ones
   * copy each tile out while it is still in cache), each part after that part of the gradient was
   * read, so it may be the gradient's array, but not a slot or the variable's own.
   */
  readonly copyTo?: FloatArray | null;
}

/** One variable's part in a sparse step: rows already clipped and de-duplicated. */
export interface SparseSlotSet {
  readonly param: Storage;
  readonly m: Storage;
  readonly v: Storage;
  readonly vhat: Storage | null;
  readonly average: Storage | null;
  readonly decay: number;
  /** Unique row indices, each in [0, rowCount). */
  readonly indices: Int32Array;
  /** indices.length * rowSize values, row-major. */
  readonly rows: FloatArray;
  readonly rowSize: number;
}

/**
 * The arithmetic of one Adam step, and the memory it runs in. The optimizer owns the rules and
 * their order; a kernel set only computes. Per element, in this order:
 *   decay:  p -= p * decay
 *   update: g = clip(g * gradScale); m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
 *           vhat = max(vhat, v) if amsgrad; p -= alpha * m / (sqrt(v or vhat) + eps)
 *   EMA:    avg = mom * avg + (1 - mom) * p; p = avg if overwrite
 */
export interface AdamKernels {
  readonly name: 'reference' | 'compiled';
  /**
   * Zero-filled storage of `length` elements in this kernel set's memory; with `near` (a storage
   * from {@link place}), in the same memory as it, where kernel memory spans several.
   */
  allocate(dtype: Dtype, length: number, near?: Storage): Storage;
  /**
   * Storage holding a copy of `values` in this kernel set's memory, or `values` itself if it is
   * already there. `companions`: how many storages of the same dtype and length the caller will
   * allocate `near` it (a variable's slots), so that room for all of them is kept in one memory.
   */
  place(values: FloatArray, companions?: number): Storage;
  /** Sum of squares of the elements (accumulated in float64). */
  sumOfSquares(values: FloatArray): number;
  /** `out[i] = sumOfSquares(values[i])` for every array, in as few kernel calls as possible. */
  sumsOfSquares(values: readonly FloatArray[], out: Float64Array): void;
  /** One fused dense step over many variables of the same dtype. */
  denseStep(sets: readonly DenseSlotSet[], scalars: StepScalars): void;
  /** One sparse step: whole-slot decay, row updates, whole-variable update. */
  sparseStep(set: SparseSlotSet, scalars: StepScalars): void;
  /**
   * Takes every block the coming step's `denseStep` calls (one per list of `dense`) and
   * `sparseStep` calls (one per set of `sparse`) will need, so that none of them can run out of
   * memory after an earlier one has changed variables. Throws, having changed nothing, when memory
   * is short. Optional: kernels that take no memory during a step leave it out.
   */
  reserveStep?(dense: readonly (readonly DenseSlotSet[])[], sparse: readonly SparseSlotSet[], scalars: StepScalars): void;
  /**
   * A gradient buffer for a variable of this dtype and length that lives in kernel memory, so that a
   * step reads it without a copy. Reference kernels return an ordinary array.
   */
  gradientBuffer(dtype: Dtype, length: number, near?: Storage): Storage;
  /** Gives a storage's memory back (optimizer state on dispose); the storage is unusable afterwards. */
  release(storage: Storage): void;
}
