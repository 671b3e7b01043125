import { describe } from './describe.js';
import type { AdamKernels } from './kernels/kernel.js';
import { HeapStorage, dtypeOf, isFloatArray, newFloatArray, type Dtype, type FloatArray, type Storage } from './storage.js';

/** Projects a variable's values after each step (Keras `constraint`); the result is assigned in place. */
export type Constraint = (value: FloatArray) => ArrayLike<number>;

/** Options of a {@link Variable}. */
export interface VariableOptions {
  /** Name used in messages, weight-decay exclusion by pattern and state names. */
  name?: string;
  /** Shape; its product must equal the number of values. Defaults to `[length]`. */
  shape?: readonly number[];
  /** Element type. Defaults to the typed array's type, or float32 for plain numbers. */
  dtype?: Dtype;
  /** Applied after every optimizer step that updated this variable. */
  constraint?: Constraint | null;
}

let nextVariableId = 0;

/**
 * A named, shaped array of float32 or float64 numbers that optimizers update in place.
 * A typed array of the variable's dtype is adopted without a copy, unless an optimizer with
 * compiled kernels must place it in kernel memory; read and write through `value` (a getter,
 * always the live array), never through a reference kept from before.
 */
export class Variable {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  readonly constraint: Constraint | null;
  /** Unique for the process; used to key optimizer state. */
  readonly id: number;
  private storage: Storage;

  constructor(initial: FloatArray | readonly number[] | number, options: VariableOptions = {}) {
    checkOptionKeys(options);
    this.id = nextVariableId++;
    this.name = options.name ?? `Variable_${this.id}`;
    if (typeof this.name !== 'string') throw new TypeError(`Variable: name must be a string, got ${describe(options.name)}`);
    const dtype = options.dtype ?? (isFloatArray(initial) ? dtypeOf(initial) : 'float32');
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new TypeError(`Variable '${this.name}': dtype must be 'float32' or 'float64', got ${describe(dtype)}`);
    }
    this.dtype = dtype;
    this.storage = new HeapStorage(toFloatArray(initial, dtype, this.name));
    this.shape = Object.freeze([...(options.shape ?? (typeof initial === 'number' ? [] : [this.storage.length]))]);
    checkShape(this.shape, this.storage.length, this.name);
    if (options.constraint !== undefined && options.constraint !== null && typeof options.constraint !== 'function') {
      throw new TypeError(`Variable '${this.name}': constraint must be a function, got ${describe(options.constraint)}`);
    }
    this.constraint = options.constraint ?? null;
  }

  private disposedFlag = false;

  /** The live values (Float32Array or Float64Array), row-major. */
  get value(): FloatArray {
    if (this.disposedFlag) throw new Error(`Variable '${this.name}' has been disposed`);
    return this.storage.array;
  }

  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this.disposedFlag;
  }

  /**
   * Gives the values' memory back (kernel memory, where an optimizer with compiled kernels placed
   * them). The variable is unusable afterwards: reading `value` and stepping it are errors.
   */
  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.storage.release?.();
  }

  /** Number of elements. */
  get size(): number {
    return this.storage.length;
  }

  /** Replaces the values in place. A wrong length is an error and changes nothing. */
  assign(values: ArrayLike<number>): void {
    if (this.disposedFlag) throw new Error(`Variable '${this.name}' has been disposed`);
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
      throw new TypeError(`Variable '${this.name}': assign expects an array of ${this.size} numbers, got ${describe(values)}`);
    }
    if (values.length !== this.size) {
      throw new RangeError(`Variable '${this.name}': assign expects ${this.size} values, got ${values.length}`);
    }
    const target = this.storage.array;
    if (isFloatArray(values)) target.set(values);
    else for (let i = 0; i < target.length; i++) target[i] = Number(values[i]);
  }

  /** A copy of the values. */
  read(): FloatArray {
    return this.value.slice();
  }

  /** @internal The storage behind `value`, for kernels. */
  get storageRef(): Storage {
    return this.storage;
  }

  /**
   * @internal Moves the values into a kernel set's memory (no copy when already there), with room
   * kept next to them for `companions` state arrays of the same size; returns the storage it had.
   */
  placeIn(kernels: AdamKernels, companions = 0): Storage {
    const previous = this.storage;
    this.storage = kernels.place(previous.array, companions);
    return previous;
  }

  /** @internal Puts back the storage {@link placeIn} returned (a build that failed). */
  restoreStorage(storage: Storage): void {
    this.storage = storage;
  }

  /** @internal A variable over storage the library allocated (optimizer state). */
  static fromStorage(storage: Storage, options: { name: string; shape: readonly number[] }): Variable {
    const variable = new Variable(storage.array, options);
    variable.storage = storage;
    return variable;
  }
}

const VARIABLE_OPTION_KEYS = new Set(['name', 'shape', 'dtype', 'constraint']);

function checkOptionKeys(options: VariableOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Variable: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!VARIABLE_OPTION_KEYS.has(key)) {
      throw new TypeError(`Variable: unknown option '${key}' (known: ${[...VARIABLE_OPTION_KEYS].join(', ')})`);
    }
  }
}

function toFloatArray(initial: FloatArray | readonly number[] | number, dtype: Dtype, name: string): FloatArray {
  if (typeof initial === 'number') {
    const out = newFloatArray(dtype, 1);
    out[0] = initial;
    return out;
  }
  if (isFloatArray(initial) && dtypeOf(initial) === dtype) return initial;
  if (isFloatArray(initial) || Array.isArray(initial)) {
    const out = newFloatArray(dtype, initial.length);
    for (let i = 0; i < out.length; i++) {
      const x = initial[i];
      if (typeof x !== 'number') throw new TypeError(`Variable '${name}': value ${i} is not a number: ${describe(x)}`);
      out[i] = x;
    }
    return out;
  }
  throw new TypeError(`Variable '${name}': initial value must be a Float32Array, Float64Array, number[] or number, got ${describe(initial)}`);
}

function checkShape(shape: readonly number[], length: number, name: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`Variable '${name}': shape [${shape.join(', ')}] has an invalid dimension ${describe(d)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== length) {
    throw new RangeError(`Variable '${name}': shape [${shape.join(', ')}] holds ${size} values, but ${length} were given`);
  }
}
