import type { Dtype, FloatArray, Storage } from '../../storage.js';
import type { AdamKernels, DenseSlotSet, SparseSlotSet, StepScalars } from '../kernel.js';
import { referenceKernels } from '../reference.js';
import { Arena, ArenaStorage, KernelMemoryError, blockSize, bytesPer, pad16 } from './arena.js';
import { KernelMemories, type KernelMemory } from './memories.js';
import { StepTiles } from './tiles.js';
import { SetMemories } from './set-memories.js';
import { SUM_BLOCK, SumTiles } from './sum-tiles.js';
import { AMSGRAD, EMA, OVERWRITE, stepFlags, writeScalars } from './scalars.js';
import { instantiateKernelModule, type LoadOptions } from './loader.js';
import { PARALLEL_MIN_ELEMENTS, ThreadPool, defaultThreadCount, tableElements, type PoolJob } from './threads.js';

/** Below this many elements, a sum of squares of an ordinary array is cheaper in JavaScript than copied in. */
const SMALL_SUM = 64;
/**
 * Room kept next to a placed variable for its gradient buffer, or for a staged copy of a gradient
 * in kernel memory that cannot be read in place (ordinary arrays are staged in small tiles).
 */
const GRADIENT_ROOM = 1;

/**
 * The compiled kernel set: WebAssembly SIMD kernels over growable memories that this object owns,
 * as many as the model needs (one module instance each). Storages it hands out live in those
 * memories, a variable with all its state in one of them; a dense step is one call into wasm per
 * memory (or one job for the worker threads over all of them). Create it with
 * {@link createCompiledKernels} (or, normally, `loadCompiledKernels()`).
 */
export class CompiledKernels implements AdamKernels {
  readonly name = 'compiled' as const;
  /** The memories, their allocators and module instances. */
  readonly memories: KernelMemories;
  /** Worker threads for large dense steps: created at the first one; null when there are none. */
  private pool: ThreadPool | null | undefined;
  private readonly threads: number;
  private readonly module: WebAssembly.Module;
  /** Reused per-step lists: the memories a step touches, as jobs for the thread pool. */
  private readonly stepMemories: KernelMemory[] = [];
  private readonly jobs: PoolJob[] = [];
  private readonly foreign: DenseSlotSet[] = [];
  private readonly stepTiles = new StepTiles();
  /** Where each variable of the last dense step of each dtype lives, while the same sets come again. */
  private readonly setMemories: Record<Dtype, SetMemories> = { float32: new SetMemories(), float64: new SetMemories() };
  private readonly memoryOfStorage = (storage: Storage): KernelMemory | null =>
    this.isOurs(storage) ? this.memories.list[storage.arena.index] : null;
  /** Per array of a sumsOfSquares call: the memory it lives in, or null. */
  private readonly sumOwners: (KernelMemory | null)[] = [];

  constructor(options: LoadOptions = {}) {
    const loaded = instantiateKernelModule(options);
    this.memories = new KernelMemories(loaded, options);
    this.memories.onAdd = (memory) => this.pool?.addMemory(memory);
    this.module = loaded.module;
    this.threads = options.threads ?? defaultThreadCount();
  }

  /** The first memory's allocator. */
  get arena(): Arena {
    return this.memories.first.arena;
  }

  /** How many WebAssembly memories the kernel state spans. */
  get memoryCount(): number {
    return this.memories.list.length;
  }

  /** Bytes held by storages (variables, state, gradient buffers) over all memories. */
  get bytesInUse(): number {
    return this.memories.bytesInUse;
  }

  /** Threads (main included) that dense steps run on once the workers are up. */
  get threadCount(): number {
    return this.pool === null || this.pool === undefined ? 1 : this.pool.threads;
  }

  /** Whether every worker thread has started (large steps run on them from then on). */
  get workersReady(): boolean {
    return this.pool != null && this.pool.readyWorkers === this.pool.threads - 1;
  }

  /** Whether the memory is shared (views survive growth) rather than ordinary. */
  get sharedMemory(): boolean {
    return this.memories.first.arena.shared;
  }

  /** Whether `array` is a view into one of this kernel set's memories. */
  owns(array: ArrayBufferView): boolean {
    return this.memories.owner(array.buffer) !== null;
  }

  allocate(dtype: Dtype, length: number, near?: Storage): Storage {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`allocate: bad length ${length}`);
    const bytes = length * bytesPer(dtype);
    if (near !== undefined && this.isOurs(near)) {
      // A variable's state sits whole in its memory: where that memory is full, this is out of memory.
      const placed = this.memories.allocateNear(near, bytes);
      if (placed === null) throw new KernelMemoryError(blockSize(bytes), this.bytesInUse, `the variable's memory (${this.memoryCount} in use)`);
      return this.adopt(placed.memory, dtype, length, placed.ptr, bytes);
    }
    const { memory, ptr } = this.memories.allocateGroup(bytes, 0);
    return this.adopt(memory, dtype, length, ptr, bytes);
  }

  place(values: FloatArray, companions = 0): Storage {
    const dtype: Dtype = values instanceof Float64Array ? 'float64' : 'float32';
    const owner = this.memories.owner(values.buffer);
    if (owner !== null) {
      // An allocation's own array comes back as its storage; any other view of kernel memory is
      // copied, since the kernels write whole 16-byte vectors past a storage's last element.
      const existing = owner.arena.live.get(values.byteOffset);
      if (existing !== undefined && existing.dtype === dtype && existing.length === values.length) {
        return existing;
      }
      const src = values.byteOffset;
      const bytes = values.byteLength;
      const ptr = owner.arena.tryAlloc(bytes);
      if (ptr !== 0) {
        owner.arena.u8.copyWithin(ptr, src, src + bytes); // the memory may have grown
        return this.adopt(owner, dtype, values.length, ptr, bytes);
      }
      values = values.slice(); // copy out before another memory is made
    }
    const bytes = values.byteLength;
    // Room for the companions and for a gradient (a gradient buffer, or the staged copy of one).
    const promised = (companions + GRADIENT_ROOM) * blockSize(bytes);
    const { memory, ptr } = this.memories.allocateGroup(bytes, promised);
    const storage = this.adopt(memory, dtype, values.length, ptr, bytes);
    storage.promised = promised;
    storage.array.set(values);
    return storage;
  }

  gradientBuffer(dtype: Dtype, length: number, near?: Storage): Storage {
    if (near !== undefined && this.isOurs(near)) {
      const bytes = length * bytesPer(dtype);
      const placed = this.memories.allocateNear(near, bytes);
      // Where the variable's memory is full, a buffer elsewhere still works (it is copied in).
      if (placed !== null) return this.adopt(placed.memory, dtype, length, placed.ptr, bytes);
    }
    return this.allocate(dtype, length);
  }

  /**
   * Gives a storage's memory back for reuse (optimizer state on dispose). The storage must not be
   * used afterwards; reading its `array` throws. Storages of other kernel sets are ignored.
   */
  release(storage: Storage): void {
    if (this.isOurs(storage)) storage.arena.release(storage);
  }

  sumOfSquares(values: FloatArray): number {
    const wide = values instanceof Float64Array;
    const n = values.length;
    let memory = this.memories.owner(values.buffer);
    let ptr: number;
    if (memory !== null) {
      ptr = values.byteOffset;
    } else if (n < SMALL_SUM) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += values[i] * values[i];
      return sum;
    } else {
      // Copied in one block at a time, and summed in the blocks a kernel-memory array is summed
      // in: little scratch, and the same sum wherever the array lives.
      memory = this.memories.first;
      const stage = memory.stage(Math.min(n, SUM_BLOCK) * (wide ? 8 : 4));
      let sum = 0;
      for (let start = 0; start < n; start += SUM_BLOCK) {
        const block = values.subarray(start, Math.min(n, start + SUM_BLOCK));
        if (wide) memory.arena.f64.set(block, stage >>> 3);
        else memory.arena.f32.set(block, stage >>> 2);
        sum += wide ? memory.wasm.sumsq64(stage, block.length) : memory.wasm.sumsq32(stage, block.length);
      }
      return sum;
    }
    if (n <= SUM_BLOCK) return wide ? memory.wasm.sumsq64(ptr, n) : memory.wasm.sumsq32(ptr, n);
    let sum = 0;
    for (let start = 0; start < n; start += SUM_BLOCK) {
      const length = Math.min(SUM_BLOCK, n - start);
      const at = ptr + start * (wide ? 8 : 4);
      sum += wide ? memory.wasm.sumsq64(at, length) : memory.wasm.sumsq32(at, length);
    }
    return sum;
  }

  sumsOfSquares(values: readonly FloatArray[], out: Float64Array): void {
    // Kernel-memory arrays go to wasm as one table per memory of blocks of at most SUM_BLOCK
    // elements, whose sums are added in order: the same blocks whether one thread or several
    // compute them, and whichever memory holds the array, so the result depends on neither.
    // Places are recorded first: summing an ordinary array may stage it and grow (so detach) an
    // ordinary memory.
    const touched = this.stepMemories;
    touched.length = 0;
    let elements = 0;
    const owners: (KernelMemory | null)[] = this.sumOwners;
    owners.length = values.length;
    for (let i = 0; i < values.length; i++) {
      const a = values[i];
      const memory = this.memories.owner(a.buffer);
      owners[i] = memory;
      if (memory === null) continue;
      if (!touched.includes(memory)) {
        touched.push(memory);
        memory.sumPlaces.length = 0;
        memory.sumBlocks = 0;
      }
      memory.sumPlaces.push(i, a.byteOffset, a.length, a instanceof Float64Array ? 1 : 0);
      memory.sumBlocks += Math.ceil(a.length / SUM_BLOCK);
      elements += a.length;
    }
    for (const memory of touched) {
      const bytes = memory.sumBlocks * 16;
      if (bytes > memory.sumsBytes) {
        const size = Math.max(bytes, (memory.sumsBytes * 3) >> 1);
        const ptr = memory.arena.alloc(size);
        if (memory.sumsBytes > 0) memory.arena.free(memory.sumsPtr, memory.sumsBytes);
        memory.sumsBytes = size;
        memory.sumsPtr = ptr;
      }
    }
    this.sumOrdinary(values, owners, out);
    if (touched.length === 0) return;
    const jobs = this.jobs;
    jobs.length = 0;
    for (const memory of touched) {
      const i32 = memory.arena.i32;
      const places = memory.sumPlaces;
      let r = memory.sumsPtr >>> 2;
      for (let k = 0; k < places.length; k += 4) {
        const offset = places[k + 1];
        const length = places[k + 2];
        const wide = places[k + 3];
        for (let start = 0; start < length; start += SUM_BLOCK, r += 4) {
          i32[r] = offset + start * (wide ? 8 : 4);
          i32[r + 1] = Math.min(SUM_BLOCK, length - start);
          i32[r + 2] = wide;
        }
      }
      jobs.push({ memory, scalars: 0, records: memory.sumsPtr, count: memory.sumBlocks });
    }
    if (!(elements >= PARALLEL_MIN_ELEMENTS && this.workerPool()?.runSums(jobs, elements))) {
      for (const job of jobs) job.memory.wasm.sumsqMany(job.records, job.count);
    }
    for (const memory of touched) {
      const f64 = memory.arena.f64;
      const places = memory.sumPlaces;
      let b = memory.sumsPtr >>> 3;
      for (let k = 0; k < places.length; k += 4) {
        let sum = 0;
        for (let start = 0; start < places[k + 2]; start += SUM_BLOCK, b += 2) sum += f64[b];
        out[places[k]] = sum;
      }
      places.length = 0;
    }
  }

  /** Sums of the arrays not in kernel memory: copied in block by block, over the threads when large. */
  private sumOrdinary(values: readonly FloatArray[], owners: readonly (KernelMemory | null)[], out: Float64Array): void {
    const large = this.sumIndices;
    large.length = 0;
    let elements = 0;
    for (let i = 0; i < values.length; i++) {
      if (owners[i] !== null) continue;
      if (values[i].length < SMALL_SUM) out[i] = this.sumOfSquares(values[i]);
      else {
        large.push(i);
        elements += values[i].length;
      }
    }
    if (large.length === 0) return;
    const pool = this.threads > 1 && elements >= PARALLEL_MIN_ELEMENTS ? this.workerPool() : null;
    if (pool !== null && pool.ready) {
      const tiles = (this.sumTiles ??= new SumTiles(this.memories.first));
      tiles.prepare(values, large);
      pool.reserveChunks(tiles.count);
      if (pool.runTiles('sums', tiles)) {
        tiles.results(out);
        return;
      }
    }
    for (const i of large) out[i] = this.sumOfSquares(values[i]);
  }

  private readonly sumIndices: number[] = [];
  private sumTiles: SumTiles | null = null;

  reserveStep(dense: readonly (readonly DenseSlotSet[])[], sparse: readonly SparseSlotSet[], s: StepScalars): void {
    // One dense call and no sparse one: denseStep takes its own blocks before it runs anything.
    let denseCalls = 0;
    for (const sets of dense) if (sets.length > 0) denseCalls++;
    if (sparse.length === 0 && denseCalls <= 1) return;
    for (const sets of dense) if (sets.length > 0) this.prepareDense(sets, s);
    // Per memory: the largest zero scratch and index staging its sparse sets will ask for.
    for (const set of sparse) {
      const param = set.param;
      if (!this.isOurs(param)) continue;
      this.sparseScratch(this.memories.list[param.arena.index], set, param.arena.owns(set.indices.buffer));
    }
  }

  /**
   * The blocks of a sparse step (each memory keeps them, grown when too small): the zero scratch of
   * the variable's size and, unless the indices are read in place, their staging. May grow the memory.
   */
  private sparseScratch(memory: KernelMemory, set: SparseSlotSet, indicesInPlace: boolean): { zero: number; indices: number } {
    const zero = memory.zero(pad16(set.param.length * bytesPer(set.param.dtype)));
    const indices = indicesInPlace ? 0 : memory.stage(pad16(set.indices.length * 4));
    return { zero, indices };
  }

  denseStep(sets: readonly DenseSlotSet[], s: StepScalars): void {
    if (sets.length === 0) return;
    const { pool, total, tiled } = this.prepareDense(sets, s);
    const dtype64 = sets[0].param.dtype === 'float64';
    const jobs = this.jobs;
    const tiles = this.stepTiles;
    const foreign = this.foreign;
    if (jobs.length > 0 && !(pool !== null && total >= PARALLEL_MIN_ELEMENTS && pool.run(dtype64, jobs, total))) {
      for (const job of jobs) {
        if (dtype64) job.memory.wasm.dense64(job.scalars, job.records, job.count);
        else job.memory.wasm.dense32(job.scalars, job.records, job.count);
      }
    }
    if (tiles.count > 0 && !(pool !== null && tiled >= PARALLEL_MIN_ELEMENTS && pool.runTiles(dtype64 ? 'dense64' : 'dense32', tiles))) tiles.runHere();
    if (foreign.length > 0) referenceKernels.denseStep(foreign, s);
    // Tiled sets were copied out tile by tile; the ones read in place are copied out now.
    for (const memory of this.stepMemories) {
      for (const set of memory.tables[dtype64 ? 'float64' : 'float32'].copyAfter) set.copyTo!.set(set.param.array);
    }
  }

  /**
   * Everything a dense step needs before it runs: each memory's table prepared (and any staging
   * room taken), the jobs and tiles listed, the tiles' chunk list made. Throws before anything ran.
   */
  private prepareDense(sets: readonly DenseSlotSet[], s: StepScalars): { pool: ThreadPool | null; total: number; tiled: number } {
    const dtype = sets[0].param.dtype;
    // Sets go to the memory of their variable; each memory's table is prepared (and any staging
    // room taken) before any memory is stepped, so that running out of memory changes nothing.
    const touched = this.stepMemories;
    touched.length = 0;
    const foreign = this.foreign;
    foreign.length = 0;
    let releases = 0;
    for (const memory of this.memories.list) releases += memory.arena.releases;
    const placed = this.setMemories[dtype];
    placed.begin(sets, releases);
    for (let i = 0; i < sets.length; i++) {
      const set = sets[i];
      const param = set.param;
      const memory = placed.memoryOf(i, param, this.memoryOfStorage);
      if (memory === null) {
        if (param.dtype !== dtype) {
          throw new TypeError(`denseStep: every set in one call must be ${dtype}, found ${param.dtype}`);
        }
        foreign.push(set);
        continue;
      }
      if (!touched.includes(memory)) {
        touched.push(memory);
        memory.denseSets.length = 0;
      }
      memory.denseSets.push(set);
    }
    const jobs = this.jobs;
    jobs.length = 0;
    const tiles = this.stepTiles;
    tiles.reset(dtype === 'float64');
    let total = 0;
    let tiled = 0;
    try {
      for (const memory of touched) {
        const table = memory.tables[dtype];
        table.prepare(memory.denseSets, s);
        for (const set of table.foreign) foreign.push(set);
        if (table.count > 0) {
          jobs.push({ memory, scalars: table.ptr, records: table.records, count: table.count });
          total += tableElements(memory.arena, table.records, table.count);
        }
        tiles.add(memory, table.tiles, table.ptr);
        tiled += table.tiledElements;
      }
    } finally {
      for (const memory of touched) memory.denseSets.length = 0;
    }
    // Worker threads (started by the first large step) take large parts; small ones run here.
    const pool = this.threads > 1 && Math.max(total, tiled) >= PARALLEL_MIN_ELEMENTS ? this.workerPool() : null;
    // The tiles' chunk list is made before anything runs: running out of memory then changes nothing.
    if (pool !== null && tiled >= PARALLEL_MIN_ELEMENTS) pool.reserveChunks(tiles.count);
    if (pool !== null && pool.ready && total >= PARALLEL_MIN_ELEMENTS) pool.reserveRun(dtype === 'float64', jobs, total);
    return { pool, total, tiled };
  }

  sparseStep(set: SparseSlotSet, s: StepScalars): void {
    const { param, m, v, vhat, average, indices, rowSize } = set;
    const dtype = param.dtype;
    const length = param.length;
    if (m.length !== length || v.length !== length ||
        (vhat !== null && vhat.length !== length) || (average !== null && average.length !== length)) {
      throw new RangeError('sparseStep: the slots must have the variable\'s length');
    }
    if (!Number.isInteger(rowSize) || rowSize < 0) throw new RangeError(`sparseStep: bad rowSize ${rowSize}`);
    const rowCount = rowSize === 0 ? 0 : Math.floor(length / rowSize);
    const nIdx = indices.length;
    if (set.rows.length < nIdx * rowSize) throw new RangeError('sparseStep: fewer rows than indices');
    // Out-of-range indices would write outside the variable; the reference's typed arrays drop them.
    for (let i = 0; i < nIdx; i++) {
      const r = indices[i];
      if (!(r >= 0 && r < rowCount)) throw new RangeError(`sparseStep: row index ${r} out of [0, ${rowCount})`);
    }
    if (!(this.isOurs(param) && this.isIn(m, param.arena) && this.isIn(v, param.arena) &&
          (vhat === null || this.isIn(vhat, param.arena)) && (average === null || this.isIn(average, param.arena)))) {
      referenceKernels.sparseStep(set, s);
      return;
    }
    const memory = this.memories.list[param.arena.index];
    const arena = memory.arena;
    const elementBytes = bytesPer(dtype);
    const RowType = dtype === 'float64' ? Float64Array : Float32Array;
    // Kernel-memory inputs are read in place, from offsets recorded before anything can grow (and
    // detach) the memory; rows of the other dtype or in another memory are copied in.
    let rows = set.rows;
    if (!(rows instanceof RowType) && this.owns(rows)) rows = rows.slice();
    const idxInPlace = arena.owns(indices.buffer);
    const rowsInPlace = rows instanceof RowType && arena.owns(rows.buffer);
    let idxPtr = idxInPlace ? indices.byteOffset : 0;
    let rowsPtr = rowsInPlace ? rows.byteOffset : 0;
    const scratch = this.sparseScratch(memory, set, idxInPlace);
    const zeroPtr = scratch.zero;
    if (!idxInPlace) {
      idxPtr = scratch.indices;
      arena.i32.set(indices, idxPtr >>> 2);
    }
    if (!rowsInPlace) {
      // Rows from outside the memory are written straight to their places in the zero scratch
      // (rowsPtr 0 tells the kernel): no staging copy, and no scratch of their size.
      const zeroRows = dtype === 'float64' ? arena.f64 : arena.f32;
      const base = zeroPtr / elementBytes;
      for (let i = 0; i < nIdx; i++) {
        zeroRows.set(rows.subarray(i * rowSize, (i + 1) * rowSize), base + indices[i] * rowSize);
      }
      rowsPtr = 0;
    }
    let flags = stepFlags(s);
    if (vhat === null) flags &= ~AMSGRAD;
    if (average === null) flags &= ~(EMA | OVERWRITE);
    writeScalars(arena, dtype, memory.scalarsPtr, s, set.decay);
    const run = dtype === 'float64' ? memory.wasm.sparse64 : memory.wasm.sparse32;
    run(
      param.ptr, (m as ArenaStorage).ptr, (v as ArenaStorage).ptr,
      vhat === null ? 0 : (vhat as ArenaStorage).ptr, average === null ? 0 : (average as ArenaStorage).ptr,
      length, zeroPtr, idxPtr, nIdx, rowsPtr, rowSize, memory.scalarsPtr, flags,
    );
  }

  /** Ends this kernel set's worker threads, if any; dense steps then run on the calling thread. */
  stopWorkers(): void {
    this.pool?.stop();
    this.pool = null;
  }

  /** The worker threads, started on first use by a large step; null where there are none. */
  private workerPool(): ThreadPool | null {
    if (this.pool === undefined) this.pool = ThreadPool.create(this.memories, this.module, this.threads);
    return this.pool;
  }

  private adopt(memory: KernelMemory, dtype: Dtype, length: number, ptr: number, bytes: number): ArenaStorage {
    const storage = new ArenaStorage(memory.arena, dtype, length, ptr, bytes);
    memory.arena.adopt(storage);
    return storage;
  }

  private isOurs(storage: Storage): storage is ArenaStorage {
    return storage instanceof ArenaStorage && storage.isLive &&
      this.memories.list[storage.arena.index]?.arena === storage.arena;
  }

  private isIn(storage: Storage, arena: Arena): boolean {
    return storage instanceof ArenaStorage && storage.isLive && storage.arena === arena;
  }
}

/**
 * A new compiled kernel set with its own memory (not cached). Throws where WebAssembly SIMD or
 * instantiation is unavailable. `loadCompiledKernels()` is the normal entry point; this one lets
 * tests pick the memory kind and a small initial size.
 */
export function createCompiledKernels(options: LoadOptions = {}): CompiledKernels {
  return new CompiledKernels(options);
}
