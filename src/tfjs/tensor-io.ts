import * as tf from '@tensorflow/tfjs-core';

/** A backend's table of tensor data, keyed by `dataId` (tfjs-core's `DataStorage`). */
interface DataTable<R> {
  has(dataId: object): boolean;
  get(dataId: object): R;
  /** The WeakMap inside `DataStorage` (one lookup instead of its `has` + `get`). */
  data?: unknown;
}

/** What the cpu backend keeps per `dataId`. */
interface CpuRecord {
  values?: unknown;
  dtype?: tf.DataType;
  refCount?: number;
}

/** The part of the cpu backend used here. */
interface CpuBackend {
  data: DataTable<CpuRecord>;
  /** Registers `values` as a new tensor's data, keeping the array (what kernels do for their outputs). */
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
}

/** The part of the wasm backend used here (public members of `BackendWasm`). */
interface WasmBackend {
  dataIdMap: DataTable<unknown>;
  typedArrayFromHeap(info: { shape: number[]; dtype: tf.DataType; dataId: object }): ArrayBufferView;
  disposeData?(dataId: object): boolean;
  /** Allocates a tensor's memory on the heap (what kernels do for their outputs). */
  makeOutput?(shape: number[], dtype: tf.DataType): TensorInfo;
}

/** A backend's new tensor data: what its kernels return. */
interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** The engine method that wraps a backend's new data in a tensor (kernels' outputs go through it). */
interface TensorMaker {
  makeTensorFromTensorInfo?(info: TensorInfo, backend?: unknown): tf.Tensor;
}

/** A tensor over `backend`'s new data, made as the engine makes kernels' outputs; null where the engine has no such method. */
function kernelOutputTensor(backend: unknown): ((info: TensorInfo) => tf.Tensor) | null {
  const engine = tf.engine() as unknown as TensorMaker;
  if (typeof engine.makeTensorFromTensorInfo !== 'function') return null;
  return (info) => engine.makeTensorFromTensorInfo!(info, backend);
}

/**
 * Where a {@link TensorIo} remembers the array it made for one variable on cpu: only that array is
 * written in place later (the cpu backend keeps the very array a tensor was made from, so any other
 * array may still be the user's, or a view of another tensor's). Weak: a disposed variable's array
 * is not kept alive.
 */
export interface OwnedArray {
  owned: WeakRef<Float32Array> | null;
}

/**
 * Memory for a variable's next values, taken before a step writes them: the step writes `array`,
 * then {@link Output.commit} makes it the variable's value (or {@link Output.abort} gives it back).
 */
export interface Output {
  /**
   * Where the new values go. On wasm a view of the heap: read it only after every output of the
   * step is made, and use it before TensorFlow.js next allocates (the heap may grow).
   */
  readonly array: Float32Array;
  /** Makes `array` the variable's value: a new tensor over it, or nothing when it is the variable's own array. Inside `tf.tidy`. */
  commit(): void;
  /** Gives the memory back, when the step did not run. */
  abort(): void;
}

/**
 * How float32 values move between tensors and typed arrays on the active backend, resolved once
 * per step (the backend cannot change during a synchronous step).
 */
export interface TensorIo {
  /** The values of float32 `t` (the caller checked the dtype), without a copy where the backend allows it (see {@link viewFloat32}). */
  read(t: tf.Tensor): Float32Array;
  /**
   * Memory for the next values of `variable`. With `inPlace` (cpu only), its own array when no
   * other tensor can see it: its data lives on this backend, no other tensor shares its `dataId`
   * (refCount 1), and the array is one an earlier output made for it (`slot`). Otherwise new
   * memory for a new tensor, as a kernel makes its output (cpu: a new array, which `slot` then
   * remembers; wasm: new heap memory).
   */
  output(variable: tf.Variable, slot: OwnedArray, inPlace: boolean): Output;
}

/** An output that is the variable's own array: the step writes it, and nothing is left to do. */
class InPlaceOutput implements Output {
  constructor(readonly array: Float32Array) {}
  commit(): void {}
  abort(): void {}
}

/** Makes a float32 tensor over `array` (kept on cpu, copied elsewhere). */
type TensorOver = (array: Float32Array, shape: number[]) => tf.Tensor;

const plainTensor: TensorOver = (array, shape) => tf.tensor(array, shape, 'float32');

/** A new array, made into a tensor when committed. */
class NewArrayOutput implements Output {
  readonly array: Float32Array;
  constructor(
    private readonly variable: tf.Variable,
    private readonly makeTensor: TensorOver = plainTensor,
    private readonly onCommit?: (array: Float32Array) => void,
  ) {
    this.array = new Float32Array(variable.size);
  }
  commit(): void {
    this.variable.assign(this.makeTensor(this.array, this.variable.shape));
    this.onCommit?.(this.array);
  }
  abort(): void {}
}

/** A {@link TensorIo} for the active backend. */
export function tensorIo(): TensorIo {
  const name = tf.getBackend();
  const backend = tf.backend() as unknown;
  if (name === 'cpu' && isCpuBackend(backend)) return cpuIo(backend);
  if (name === 'wasm' && isWasmBackend(backend)) return wasmIo(backend);
  return { read: (t) => viewFloat32(t, 'a tensor'), output: (variable) => new NewArrayOutput(variable) };
}

/** A lookup in `table` that never moves data between backends (`DataStorage.get` would). */
function lookup<R>(table: DataTable<R>): (dataId: object) => R | undefined {
  const map = table.data;
  if (map instanceof WeakMap) return (id) => map.get(id) as R | undefined;
  return (id) => (table.has(id) ? table.get(id) : undefined);
}

function cpuIo(backend: CpuBackend): TensorIo {
  const recordOf = lookup(backend.data);
  // The way kernels make their outputs: no argument checks (the array is new and of the right
  // length), about 2 µs a tensor less than tf.tensor, which counts with thousands of variables.
  const wrap = kernelOutputTensor(backend);
  const makeTensor: TensorOver = typeof backend.makeTensorInfo === 'function' && wrap !== null
    ? (array, shape) => wrap(backend.makeTensorInfo!(shape, 'float32', array))
    : plainTensor;
  return {
    read(t) {
      const values = recordOf(t.dataId)?.values;
      return values instanceof Float32Array && values.length === t.size ? values : (t.dataSync() as Float32Array);
    },
    output(variable, slot, inPlace) {
      if (inPlace) {
        const record = recordOf(variable.dataId);
        const target = slot.owned?.deref();
        if (record?.refCount === 1 && target !== undefined && record.values === target && target.length === variable.size) {
          return new InPlaceOutput(target);
        }
      }
      // The cpu backend keeps the very array a tensor is made from: remember it, so that a later
      // step may write it in place.
      return new NewArrayOutput(variable, makeTensor, (array) => {
        slot.owned = recordOf(variable.dataId)?.values === array ? new WeakRef(array) : null;
      });
    },
  };
}

function wasmIo(backend: WasmBackend): TensorIo {
  const recordOf = lookup(backend.dataIdMap);
  const heapView = (dataId: object, shape: number[], size: number): Float32Array | null => {
    if (recordOf(dataId) === undefined) return null;
    const view = backend.typedArrayFromHeap({ shape, dtype: 'float32', dataId });
    return view instanceof Float32Array && view.length === size ? view : null;
  };
  const wrap = typeof backend.makeOutput === 'function' ? kernelOutputTensor(backend) : null;
  return {
    read(t) {
      return heapView(t.dataId, t.shape, t.size) ?? (t.dataSync() as Float32Array);
    },
    // Never in place: the wasm backend keeps what it derives from a tensor's data (XNNPACK's packed
    // weights, keyed by the tensor) on the understanding that the data never changes; a write in
    // place would leave those stale, and a model would go on computing with its old weights.
    output(variable) {
      if (wrap === null) return new NewArrayOutput(variable); // tf.tensor copies the array into the heap
      return new HeapOutput(backend, wrap, variable, heapView);
    },
  };
}

/** New wasm heap memory, as a kernel makes its output; the view is made on first use (see {@link Output.array}). */
class HeapOutput implements Output {
  private readonly info: TensorInfo;
  private view: Float32Array | null = null;

  constructor(
    private readonly backend: WasmBackend,
    private readonly wrap: (info: TensorInfo) => tf.Tensor,
    private readonly variable: tf.Variable,
    private readonly heapView: (dataId: object, shape: number[], size: number) => Float32Array | null,
  ) {
    this.info = backend.makeOutput!(variable.shape, 'float32');
  }

  get array(): Float32Array {
    if (this.view === null || this.view.length !== this.variable.size) {
      const view = this.heapView(this.info.dataId, this.info.shape, this.variable.size);
      if (view === null) throw new Error('adam-optimizer: the wasm backend gave no view of a new tensor\'s memory');
      this.view = view;
    }
    return this.view;
  }

  commit(): void {
    this.variable.assign(this.wrap(this.info));
  }

  abort(): void {
    this.backend.disposeData?.(this.info.dataId);
  }
}

function isTable(t: unknown): boolean {
  const table = t as Partial<DataTable<unknown>> | undefined;
  return typeof table?.has === 'function' && typeof table.get === 'function';
}

function isCpuBackend(b: unknown): b is CpuBackend {
  return isTable((b as Partial<CpuBackend> | null)?.data);
}

function isWasmBackend(b: unknown): b is WasmBackend {
  const w = b as Partial<WasmBackend> | null;
  return isTable(w?.dataIdMap) && typeof w?.typedArrayFromHeap === 'function';
}

function checkFloat32(t: tf.Tensor, what: string): void {
  if (t.dtype !== 'float32') throw new TypeError(`${what} must be float32, got ${t.dtype}`);
}

/**
 * The float32 values of `t`, without a copy where the backend allows it: on `cpu`, the backend's
 * own array; on `wasm`, a view of the wasm heap. Elsewhere (or if that fails) `dataSync()`.
 * Read-only, and valid only until TensorFlow.js next allocates (the wasm heap may grow).
 */
export function viewFloat32(t: tf.Tensor, what: string): Float32Array {
  checkFloat32(t, what);
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as unknown as Partial<WasmBackend>;
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
