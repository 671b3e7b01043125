import type { Dtype, FloatArray, Storage } from '../../storage.js';

const PAGE = 65536;
/** SIMD loads and stores are 16 bytes; every allocation starts on, and is padded to, 16 bytes. */
export const ALIGN = 16;

/** Bytes per element of a dtype. */
export function bytesPer(dtype: Dtype): number {
  return dtype === 'float64' ? 8 : 4;
}

/** `bytes` rounded up to a multiple of 16. */
export function pad16(bytes: number): number {
  return (bytes + 15) & ~15;
}

/**
 * The library's WebAssembly memory and a simple allocator over it: a bump pointer plus free lists
 * keyed by (padded) size. Storage of a given shape is usually freed and re-requested with the same
 * shape (slots, gradient buffers, scratch), so exact-size reuse is enough and needs no coalescing.
 *
 * Growth doubles the memory (at least), bumps `generation`, and re-creates the typed-array views
 * over the new buffer; every {@link ArenaStorage} compares its generation on access and re-creates
 * its own view, so callers never see a detached array if they re-read `storage.array`.
 */
export class Arena {
  /** Increments whenever the memory grows (and, for an ordinary memory, old views detach). */
  generation = 0;
  u8!: Uint8Array;
  i32!: Int32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  private buffer!: ArrayBufferLike;
  /** Every buffer object this memory has had, for {@link owns}: growth of a shared memory hands out a new (longer) SharedArrayBuffer object, while older ones stay valid views of the same memory. */
  private readonly buffers: ArrayBufferLike[] = [];
  private top = ALIGN; // byte 0..15 unused, so that 0 never is a valid allocation
  private readonly limit: number;
  private readonly freeLists = new Map<number, number[]>();
  /** Live storages by address, so that `place()` of an allocation's own array can return it. */
  readonly live = new Map<number, ArenaStorage>();

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly shared: boolean,
    maximumPages: number,
  ) {
    // Keep the last 16 bytes of a 4 GiB memory unused: the kernels' loop bounds are u32 sums.
    this.limit = maximumPages * PAGE - ALIGN;
    this.refresh();
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    this.buffer = buffer;
    if (this.shared) this.buffers.push(buffer);
    else this.buffers[0] = buffer; // an ordinary memory's old buffers are detached: forget them
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.generation++;
  }

  /**
   * Counts storages given back; a cached table that points into storages compares it, since a
   * released block may be handed out again.
   */
  releases = 0;

  /** Gives a storage's block back for reuse; the storage is unusable afterwards. Idempotent. */
  release(storage: ArenaStorage): void {
    if (!storage.isLive || storage.arena !== this) return;
    this.live.delete(storage.ptr);
    storage.markReleased();
    this.free(storage.ptr, storage.bytes);
    this.releases++;
  }

  /** Whether `buffer` is (a view of) this memory. */
  owns(buffer: ArrayBufferLike): boolean {
    if (buffer === this.buffer) return true;
    if (!this.shared) return false;
    for (let i = this.buffers.length - 2; i >= 0; i--) if (this.buffers[i] === buffer) return true;
    return false;
  }

  /** Bytes the memory currently spans. */
  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /**
   * A zero-filled, 16-byte aligned block of at least `bytes` bytes (padded to 16, at least 16).
   * May grow the memory: re-read views and record offsets of kernel-memory arrays before calling.
   */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, pad16(bytes));
    const list = this.freeLists.get(size);
    if (list !== undefined && list.length > 0) {
      const ptr = list.pop()!;
      this.u8.fill(0, ptr, ptr + size);
      return ptr;
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > this.buffer.byteLength) this.grow(end);
    this.top = end;
    return ptr; // above the old top: never written, so still zero
  }

  /** Returns a block from {@link alloc} (with the same `bytes`) for reuse. */
  free(ptr: number, bytes: number): void {
    const size = Math.max(ALIGN, pad16(bytes));
    let list = this.freeLists.get(size);
    if (list === undefined) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  private grow(end: number): void {
    if (end > this.limit) {
      throw new RangeError(`adam-optimizer: kernel memory exhausted (${end} bytes requested)`);
    }
    const have = this.buffer.byteLength / PAGE;
    const need = Math.ceil(end / PAGE) - have;
    const most = Math.ceil(this.limit / PAGE) - have;
    // Doubling keeps the number of growths (and of view re-creations) logarithmic.
    const wish = Math.min(Math.max(need, have), most);
    try {
      this.memory.grow(wish);
    } catch (error) {
      try {
        if (wish === need) throw error;
        this.memory.grow(need); // not enough memory to double: take just what is needed
      } catch (cause) {
        throw new RangeError(`adam-optimizer: kernel memory could not grow to ${end} bytes`, { cause });
      }
    }
    this.refresh();
  }
}

/**
 * A storage in kernel memory. `array` re-creates its view whenever the memory has grown since the
 * view was made, so a caller that re-reads it never holds a detached (empty) array.
 */
export class ArenaStorage implements Storage {
  private view: FloatArray;
  private generation: number;
  private released = false;

  constructor(
    /** The memory this storage lives in. */
    readonly arena: Arena,
    readonly dtype: Dtype,
    readonly length: number,
    /** Byte offset in the memory. */
    readonly ptr: number,
    /** The size passed to the allocator. */
    readonly bytes: number,
  ) {
    this.view = this.makeView();
    this.generation = arena.generation;
  }

  private makeView(): FloatArray {
    const buffer = this.arena.u8.buffer;
    return this.dtype === 'float64'
      ? new Float64Array(buffer, this.ptr, this.length)
      : new Float32Array(buffer, this.ptr, this.length);
  }

  get array(): FloatArray {
    if (this.generation !== this.arena.generation) {
      if (this.released) throw new Error('adam-optimizer: this storage has been released');
      this.view = this.makeView();
      this.generation = this.arena.generation;
    }
    return this.view;
  }

  /** Whether the storage still owns its memory. */
  get isLive(): boolean {
    return !this.released;
  }

  /** Gives the memory back to the arena (see {@link Arena.release}). */
  release(): void {
    this.arena.release(this);
  }

  /** Called by {@link Arena.release}. */
  markReleased(): void {
    this.released = true;
    this.view = this.dtype === 'float64' ? new Float64Array(0) : new Float32Array(0);
    this.generation = -1; // the next access throws
  }
}
