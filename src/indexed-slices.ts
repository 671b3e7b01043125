import { describe } from './describe.js';
import { isFloatArray, type FloatArray } from './storage.js';

/**
 * A sparse gradient: rows of a variable whose first dimension counts rows (Keras / TensorFlow
 * `IndexedSlices`). `values` holds `indices.length` rows of `rowSize` values each, row-major;
 * repeated indices are summed before the update.
 */
export class IndexedSlices {
  readonly values: FloatArray | readonly number[];
  readonly indices: Int32Array;
  readonly denseShape: readonly number[];

  constructor(values: FloatArray | readonly number[], indices: ArrayLike<number>, denseShape: readonly number[]) {
    if (!isFloatArray(values) && !Array.isArray(values)) {
      throw new TypeError(`IndexedSlices: values must be a Float32Array, Float64Array or number[], got ${describe(values)}`);
    }
    if (!Array.isArray(denseShape) || denseShape.length < 1 || denseShape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new TypeError(`IndexedSlices: denseShape must be a non-empty array of non-negative integers, got ${describe(denseShape)}`);
    }
    const copied = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i];
      if (!Number.isInteger(index)) throw new TypeError(`IndexedSlices: index ${i} is not an integer: ${describe(index)}`);
      copied[i] = index;
    }
    this.values = values;
    this.indices = copied;
    this.denseShape = Object.freeze([...denseShape]);
  }

  /** Number of values in one row: the product of the dense shape after its first dimension. */
  get rowSize(): number {
    return this.denseShape.slice(1).reduce((a, b) => a * b, 1);
  }
}

/** Unique indices (in order of first appearance) with the rows of each index summed. */
export function deduplicateRows(
  indices: Int32Array,
  rows: FloatArray,
  rowSize: number,
): { indices: Int32Array; rows: FloatArray } {
  const slotOf = new Map<number, number>();
  for (const index of indices) if (!slotOf.has(index)) slotOf.set(index, slotOf.size);
  if (slotOf.size === indices.length) return { indices, rows };
  const unique = new Int32Array(slotOf.size);
  const summed = new (rows.constructor as { new (n: number): FloatArray })(slotOf.size * rowSize);
  for (const [index, slot] of slotOf) unique[slot] = index;
  for (let r = 0; r < indices.length; r++) {
    const base = slotOf.get(indices[r])! * rowSize;
    for (let j = 0; j < rowSize; j++) summed[base + j] += rows[r * rowSize + j];
  }
  return { indices: unique, rows: summed };
}
