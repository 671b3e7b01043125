import { ALIGN, Arena, ArenaStorage, KernelMemoryError, TABLE_ROOM, blockSize, pad16 } from './arena.js';
import { DenseTable } from './dense.js';
import { instantiateMemory, WASM32_PAGES, type KernelExports, type LoadedModule, type LoadOptions } from './loader.js';
import { SCALAR_BLOCK_BYTES } from './scalars.js';
import type { DenseSlotSet } from '../kernel.js';

const PAGE = 65536;

/** One WebAssembly memory of a kernel set: its allocator, its module instance and its scratch. */
export class KernelMemory {
  readonly arena: Arena;
  readonly wasm: KernelExports;
  readonly tables: { readonly float32: DenseTable; readonly float64: DenseTable };
  /** The sparse step's scalar block. */
  readonly scalarsPtr: number;
  /** This step's dense sets whose variables live here (reused from step to step). */
  readonly denseSets: DenseSlotSet[] = [];
  /** Scratch for sparse steps and sums: staged indices and rows, copied-in values. */
  private stagePtr = 0;
  private stageBytes = 0;
  /** All-zero scratch the sparse kernel scatters rows into; it leaves it all-zero again. */
  zeroPtr = 0;
  zeroBytes = 0;
  /** The record table of a sums-of-squares call, reused from call to call. */
  sumsPtr = 0;
  sumsBytes = 0;
  /** Per array of a sumsOfSquares call that lives here: its index, byte offset, length, is-f64. */
  readonly sumPlaces: number[] = [];
  /** Blocks of the sums table in the current call. */
  sumBlocks = 0;
  /** The per-thread tables a dense step is cut into (threads.ts), reused from step to step. */
  splitPtr = 0;
  splitBytes = 0;
  /** Most chunks the current dense step cuts this memory's table into. */
  splitChunks = 0;

  constructor(loaded: LoadedModule, index: number) {
    this.wasm = loaded.exports;
    this.arena = new Arena(loaded.memory, loaded.shared, loaded.maximumPages, index);
    this.tables = { float32: new DenseTable(this.arena, 'float32'), float64: new DenseTable(this.arena, 'float64') };
    this.scalarsPtr = this.arena.alloc(SCALAR_BLOCK_BYTES);
  }

  /** A scratch block of at least `bytes` bytes, valid until the next call that stages. */
  stage(bytes: number): number {
    if (bytes > this.stageBytes) {
      const ptr = this.arena.alloc(pad16(bytes)); // before freeing: a failure keeps the old block
      if (this.stageBytes > 0) this.arena.free(this.stagePtr, this.stageBytes);
      this.stageBytes = pad16(bytes);
      this.stagePtr = ptr;
    }
    return this.stagePtr;
  }

  /** An all-zero block of at least `bytes` bytes (the sparse kernel leaves it zero). */
  zero(bytes: number): number {
    if (bytes > this.zeroBytes) {
      const ptr = this.arena.alloc(bytes);
      if (this.zeroBytes > 0) this.arena.free(this.zeroPtr, this.zeroBytes);
      this.zeroBytes = bytes;
      this.zeroPtr = ptr;
    }
    return this.zeroPtr;
  }
}

/**
 * The memories of one kernel set, and where storage goes. A variable and its state (slots, average,
 * gradient buffer or staged gradient) are placed together in one memory: the first that has room
 * for all of them, else a new memory. A memory grows only to what its variables need and never
 * past its limit; where the engine refuses to grow one (a browser's address space), the next
 * memory takes the following variables.
 */
export class KernelMemories {
  readonly list: KernelMemory[] = [];
  /** Called with each memory added after the first (the worker threads instantiate it too). */
  onAdd: ((memory: KernelMemory) => void) | null = null;
  private readonly maximumMemories: number;
  private readonly maximumPages: number;

  constructor(
    first: LoadedModule,
    private readonly options: LoadOptions,
  ) {
    this.list.push(new KernelMemory(first, 0));
    this.maximumPages = Math.min(WASM32_PAGES, options.maximumPages ?? WASM32_PAGES);
    this.maximumMemories = options.maximumMemories ?? Infinity;
  }

  /** The first memory (scalars of the thread pool, staging of foreign arrays). */
  get first(): KernelMemory {
    return this.list[0];
  }

  /** Whether every memory is shared (worker threads need that). */
  get allShared(): boolean {
    for (const memory of this.list) if (!memory.arena.shared) return false;
    return true;
  }

  /** Bytes held by storages (variables, state, gradient buffers) over all memories. */
  get bytesInUse(): number {
    let bytes = 0;
    for (const memory of this.list) bytes += memory.arena.storageBytes;
    return bytes;
  }

  /** The memory `buffer` is (a view of), or null. */
  owner(buffer: ArrayBufferLike): KernelMemory | null {
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i].arena.owns(buffer)) return list[i];
    return null;
  }

  /**
   * A block of `bytes` for a storage that must sit with `promised` more bytes of its companions in
   * one memory; the companions are then allocated with {@link allocateIn}. Throws a
   * {@link KernelMemoryError}, having allocated nothing, when no memory can hold them all.
   */
  allocateGroup(bytes: number, promised: number): { memory: KernelMemory; ptr: number } {
    const need = blockSize(bytes) + promised;
    const capacity = this.maximumPages * PAGE - ALIGN - TABLE_ROOM - 4096;
    if (need > capacity) {
      throw new KernelMemoryError(need, this.bytesInUse, this.describe(), capacity);
    }
    for (const memory of this.list) {
      const placed = this.tryGroup(memory, bytes, promised);
      if (placed !== 0) return { memory, ptr: placed };
    }
    // A new memory that could not grow enough (address space) gets one more try in another.
    for (let attempt = 0; attempt < 2; attempt++) {
      const memory = this.addMemory(need);
      const placed = this.tryGroup(memory, bytes, promised);
      if (placed !== 0) return { memory, ptr: placed };
    }
    throw new KernelMemoryError(need, this.bytesInUse, `${this.describe()} (the engine refused to grow a new memory)`);
  }

  /**
   * A block next to `owner` (in its memory) for one of its companions, taken from the room
   * promised to it; null when that memory cannot hold it.
   */
  allocateNear(owner: ArenaStorage, bytes: number): { memory: KernelMemory; ptr: number } | null {
    const memory = this.list[owner.arena.index];
    const arena = memory.arena;
    const size = blockSize(bytes);
    const ptr = arena.tryAlloc(bytes);
    if (ptr === 0) return null;
    const used = Math.min(size, owner.promised);
    owner.promised -= used;
    arena.promised -= used;
    return { memory, ptr };
  }

  private tryGroup(memory: KernelMemory, bytes: number, promised: number): number {
    const arena = memory.arena;
    if (!arena.reserve(blockSize(bytes) + promised)) return 0;
    const ptr = arena.tryAlloc(bytes);
    if (ptr !== 0) arena.promised += promised; // the caller records it on the storage
    return ptr;
  }

  private addMemory(need: number): KernelMemory {
    if (this.list.length >= this.maximumMemories) {
      throw new KernelMemoryError(need, this.bytesInUse, `${this.describe()} (the limit is ${this.maximumMemories})`);
    }
    const shared = this.first.arena.shared;
    const loaded = instantiateMemory({ ...this.options, shared, initialPages: 1 }, true);
    if (loaded === null) throw new KernelMemoryError(need, this.bytesInUse, `${this.describe()} (the engine refused another memory)`);
    const memory = new KernelMemory(loaded, this.list.length);
    this.list.push(memory);
    this.onAdd?.(memory);
    return memory;
  }

  private describe(): string {
    return `${this.list.length} WebAssembly ${this.list.length === 1 ? 'memory' : 'memories'}`;
  }
}
