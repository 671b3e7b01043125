import type { Dtype, FloatArray, Storage } from '../../storage.js';

const PAGE = 65536;
/** SIMD loads and stores are 16 bytes; every allocation starts on, and is padded to, 16 bytes. */
export const ALIGN = 16;
/**
 * Room a memory keeps free of variables for its own tables and scratch: dense tables, chunk lists,
 * and the block-at-a-time staging of sums of squares (at most 512 KiB).
 */
export const TABLE_ROOM = 1 << 20;

/** Bytes per element of a dtype. */
export function bytesPer(dtype: Dtype): number {
  return dtype === 'float64' ? 8 : 4;
}

/** `bytes` rounded up to a multiple of 16 (arithmetic, not `& ~15`: sizes reach past 2^31). */
export function pad16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** Blocks of at least this many bytes are laid out skewed (see {@link blockSize}). */
const SKEW_FROM = 1024;
/** One cache line. */
const LINE = 64;

/**
 * The bytes a block of `bytes` takes: padded to 16, and blocks of 1 KiB or more to an odd number
 * of cache lines. Storages allocated one after another (a variable's value, m, v, vhat, average)
 * then never start at the same offset modulo 4 KiB (k blocks of an odd number of lines span a
 * multiple of 4 KiB only for k a multiple of 64): where they do, the kernels' loads wait on
 * stores to congruent addresses (4 KiB aliasing) and the streams share cache sets. Measured on
 * 16M elements, one thread: float32 steps 1.3x and float64 steps 1.9x faster with the skew.
 */
export function blockSize(bytes: number): number {
  if (bytes < SKEW_FROM) return Math.max(ALIGN, pad16(bytes));
  const lines = Math.ceil(bytes / LINE);
  return (lines % 2 === 0 ? lines + 1 : lines) * LINE;
}

/**
 * One WebAssembly memory of the kernel set and a simple allocator over it: a bump pointer plus
 * free blocks that merge with their neighbours (and with the top), taken smallest-fit. Storage is
 * freed rarely (disposed state, a grown table), so a linear search over free blocks is enough.
 *
 * Growth doubles the memory (at least), never past its limit, bumps `generation`, and re-creates
 * the typed-array views over the new buffer; every {@link ArenaStorage} compares its generation on
 * access and re-creates its own view, so callers never see a detached array if they re-read
 * `storage.array`. Byte offsets reach 4 GiB: JavaScript reads them with `>>>`, never `>>`.
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
  /** The most bytes allocations may span; lowered to the current size when the engine refuses to grow. */
  private limit: number;
  /** Free blocks below the top, by start (their size) and by end (their start); neighbours merge. */
  private readonly freeByStart = new Map<number, number>();
  private readonly freeByEnd = new Map<number, number>();
  private freeBytes = 0;
  /**
   * Bytes promised to storages not allocated yet (a placed variable's slots and gradient), so that
   * a later variable goes to another memory rather than take its predecessor's room.
   */
  promised = 0;
  /** Live storages by address, so that `place()` of an allocation's own array can return it. */
  readonly live = new Map<number, ArenaStorage>();

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly shared: boolean,
    maximumPages: number,
    /** Position of this memory in its kernel set (0 for the first). */
    readonly index = 0,
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
    this.storageBytes -= blockSize(storage.bytes);
    this.promised -= storage.promised;
    storage.promised = 0;
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

  /** Bytes held by live storages (variables, state, gradient buffers); scratch not counted. */
  storageBytes = 0;

  /** Records a storage made over a block of this memory. */
  adopt(storage: ArenaStorage): void {
    this.live.set(storage.ptr, storage);
    this.storageBytes += blockSize(storage.bytes);
  }

  /** Whether `bytes` more (block sizes, see {@link blockSize}; plus what is promised) fit under this memory's limit. */
  hasRoomFor(bytes: number): boolean {
    return this.top - this.freeBytes + this.promised + Math.max(ALIGN, pad16(bytes)) + TABLE_ROOM <= this.limit;
  }

  /**
   * Grows the memory so that `bytes` more (plus what is promised) fit without growing again.
   * False, and this memory takes no more new variables, when the engine refuses to grow it.
   */
  reserve(bytes: number): boolean {
    const size = Math.max(ALIGN, pad16(bytes));
    if (!this.hasRoomFor(size)) return false;
    // Grown so that the new storage, what is promised and the room for tables all fit past the
    // top: a memory that cannot grow further still has room for its own tables.
    const want = Math.min(this.limit, this.top + this.promised + size + TABLE_ROOM);
    if (want <= this.buffer.byteLength || this.grow(want)) return true;
    this.limit = this.buffer.byteLength - ALIGN; // the engine said no: fill what we have, then stop
    return false;
  }

  /**
   * A zero-filled, 16-byte aligned block of at least `bytes` bytes (padded to 16, at least 16), or
   * 0 when the memory cannot hold it. May grow the memory: re-read views and record offsets of
   * kernel-memory arrays before calling.
   */
  tryAlloc(bytes: number): number {
    const size = blockSize(bytes);
    if (this.freeBytes >= size) {
      // The smallest free block that fits (few blocks are free: storage is freed rarely).
      let best = 0;
      let bestSize = Infinity;
      for (const [start, freeSize] of this.freeByStart) {
        if (freeSize >= size && freeSize < bestSize) {
          best = start;
          bestSize = freeSize;
          if (freeSize === size) break;
        }
      }
      if (best !== 0) {
        this.takeFree(best, bestSize);
        if (bestSize > size) this.addFree(best + size, bestSize - size);
        this.u8.fill(0, best, best + size);
        return best;
      }
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > this.limit) return 0;
    if (end > this.buffer.byteLength && !this.grow(end)) return 0;
    if (ptr < this.written) this.u8.fill(0, ptr, Math.min(end, this.written));
    this.top = end;
    if (end > this.written) this.written = end;
    return ptr; // above `written`: never handed out, so still zero
  }

  /** The highest top there has been: bytes above it have never been handed out, so are zero. */
  private written = ALIGN;

  /** Like {@link tryAlloc}, but throws a {@link KernelMemoryError} when the block does not fit. */
  alloc(bytes: number): number {
    const ptr = this.tryAlloc(bytes);
    if (ptr === 0) throw new KernelMemoryError(blockSize(bytes), this.storageBytes, 'one kernel memory');
    return ptr;
  }

  /** Returns a block from {@link alloc} (with the same `bytes`) for reuse; it merges with free neighbours. */
  free(ptr: number, bytes: number): void {
    let start = ptr;
    let size = blockSize(bytes);
    const after = this.freeByStart.get(start + size);
    if (after !== undefined) {
      this.takeFree(start + size, after);
      size += after;
    }
    const before = this.freeByEnd.get(start);
    if (before !== undefined) {
      this.takeFree(before, start - before);
      size += start - before;
      start = before;
    }
    if (start + size === this.top) this.top = start; // the top block: give the top back
    else this.addFree(start, size);
  }

  private addFree(start: number, size: number): void {
    this.freeByStart.set(start, size);
    this.freeByEnd.set(start + size, start);
    this.freeBytes += size;
  }

  private takeFree(start: number, size: number): void {
    this.freeByStart.delete(start);
    this.freeByEnd.delete(start + size);
    this.freeBytes -= size;
  }

  /** Grows the memory to span at least `end` bytes; false when the engine refuses. */
  private grow(end: number): boolean {
    const have = this.buffer.byteLength / PAGE;
    const need = Math.ceil(end / PAGE) - have;
    const most = Math.floor((this.limit + ALIGN) / PAGE) - have;
    // Doubling keeps the number of growths (and of view re-creations) logarithmic; never past the limit.
    const wish = Math.min(Math.max(need, have), most);
    try {
      this.memory.grow(wish);
    } catch {
      if (wish === need) return false;
      try {
        this.memory.grow(need); // not enough memory to double: take just what is needed
      } catch {
        return false;
      }
    }
    this.refresh();
    return true;
  }
}

/** Kernel memory ran out: the bytes asked for, the bytes in use, and what to do about it. */
export class KernelMemoryError extends RangeError {
  constructor(
    readonly bytesNeeded: number,
    readonly bytesInUse: number,
    where: string,
    /** Set when one variable with its state is larger than a whole memory: the bytes one memory holds. */
    readonly memoryCapacity: number | null = null,
  ) {
    super(memoryCapacity === null
      ? `adam-optimizer: out of kernel memory: ${bytesNeeded} more bytes needed, ${bytesInUse} bytes in use in ${where}. ` +
        'Give one optimizer fewer parameters, free kernel memory (dispose optimizers and variables), or use jitCompile: false.'
      : `adam-optimizer: a variable with its state needs ${bytesNeeded} bytes, more than one WebAssembly memory holds ` +
        `(${memoryCapacity} bytes; a variable is never split over memories). Split the variable, or use jitCompile: false.`);
    this.name = 'KernelMemoryError';
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
  /** Bytes its memory keeps for this storage's companions not allocated yet (see {@link Arena.promised}). */
  promised = 0;

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
