import type { Dtype, FloatArray, Storage } from '../storage.js';

/** Where an array lives in the mesh's shared memory: a buffer id and the element range in it. */
export interface SharedRef {
  readonly id: number;
  readonly dtype: Dtype;
  /** First element (in elements of `dtype`). */
  readonly offset: number;
  readonly length: number;
}

/** A storage in its own SharedArrayBuffer, visible to every replica of the mesh. */
export class SharedStorage implements Storage {
  readonly array: FloatArray;
  constructor(readonly id: number, readonly buffer: SharedArrayBuffer, readonly dtype: Dtype, readonly length: number) {
    this.array = dtype === 'float64' ? new Float64Array(buffer, 0, length) : new Float32Array(buffer, 0, length);
  }
}

/**
 * The mesh's shared memory: one SharedArrayBuffer per allocation, each with an id that replicas
 * know it by. Buffers made since the last {@link takeNew} are handed to the replicas before use.
 */
export class SharedMemory {
  private nextId = 1;
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private fresh: [number, SharedArrayBuffer][] = [];

  allocate(dtype: Dtype, length: number): SharedStorage {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`mesh: cannot allocate ${length} elements`);
    const bytes = Math.max(length * (dtype === 'float64' ? 8 : 4), 8);
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(bytes);
    } catch (error) {
      throw new RangeError(`mesh: cannot allocate ${bytes} bytes of shared memory (${error instanceof Error ? error.message : String(error)})`);
    }
    const id = this.nextId++;
    this.ids.set(buffer, id);
    this.fresh.push([id, buffer]);
    return new SharedStorage(id, buffer, dtype, length);
  }

  /** The ref of a view into one of this memory's buffers, or null for any other array. */
  refOf(array: FloatArray): SharedRef | null {
    const buffer = array.buffer;
    if (typeof SharedArrayBuffer === 'undefined' || !(buffer instanceof SharedArrayBuffer)) return null;
    const id = this.ids.get(buffer);
    if (id === undefined) return null;
    return { id, dtype: array instanceof Float64Array ? 'float64' : 'float32', offset: array.byteOffset / array.BYTES_PER_ELEMENT, length: array.length };
  }

  /** Buffers the replicas have not been given yet. */
  takeNew(): [number, SharedArrayBuffer][] {
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }
}

/** A view of the array a ref names, over the replica's copy of the buffer table. */
export function viewOf(buffers: ReadonlyMap<number, SharedArrayBuffer>, ref: SharedRef): FloatArray {
  const buffer = buffers.get(ref.id);
  if (buffer === undefined) throw new Error(`mesh replica: unknown shared buffer ${ref.id}`);
  return ref.dtype === 'float64' ? new Float64Array(buffer, ref.offset * 8, ref.length) : new Float32Array(buffer, ref.offset * 4, ref.length);
}
