import type { Dtype, FloatArray, Storage } from '../../storage.js';
import type { AdamKernels, DenseSlotSet, SparseSlotSet, StepScalars } from '../kernel.js';
import { referenceKernels } from '../reference.js';
import { Arena, ArenaStorage, bytesPer, pad16 } from './arena.js';
import { DenseTable } from './dense.js';
import { AMSGRAD, EMA, OVERWRITE, SCALAR_BLOCK_BYTES, stepFlags, writeScalars } from './scalars.js';
import { instantiateKernelModule, type KernelExports, type LoadOptions } from './loader.js';
import { PARALLEL_MIN_ELEMENTS, ThreadPool, defaultThreadCount, tableElements } from './threads.js';

/** Below this many elements, a sum of squares of an ordinary array is cheaper in JavaScript than copied in. */
const SMALL_SUM = 64;
/** Elements per block of a sum of squares: partial sums are added in block order. */
const SUM_BLOCK = 1 << 16;

/**
 * The compiled kernel set: WebAssembly SIMD kernels over one growable memory that this object owns.
 * Storages it hands out live in that memory; a dense step over any number of variables is one call
 * into wasm. Create it with {@link createCompiledKernels} (or, normally, `loadCompiledKernels()`).
 */
export class CompiledKernels implements AdamKernels {
  readonly name = 'compiled' as const;
  /** The memory and its allocator. */
  readonly arena: Arena;
  private readonly wasm: KernelExports;
  private readonly tables: { float32: DenseTable; float64: DenseTable };
  /** Scratch for sparse steps and sums: staged indices and rows, copied-in values. */
  private stagePtr = 0;
  private stageBytes = 0;
  /** All-zero scratch the sparse kernel scatters rows into; it leaves it all-zero again. */
  private zeroPtr = 0;
  private zeroBytes = 0;
  /** The sparse step's scalar block. */
  private readonly scalarsPtr: number;
  /** Worker threads for large dense steps: created at the first one; null when there are none. */
  private pool: ThreadPool | null | undefined;
  private readonly threads: number;
  private readonly module: WebAssembly.Module;
  /** The record table of {@link sumsOfSquares}, reused from call to call. */
  private sumsPtr = 0;
  private sumsBytes = 0;
  /** Per kernel-memory array of a sumsOfSquares call: its index, byte offset, length, is-f64. */
  private readonly sumPlaces: number[] = [];

  constructor(options: LoadOptions = {}) {
    const loaded = instantiateKernelModule(options);
    this.wasm = loaded.exports;
    this.arena = new Arena(loaded.memory, loaded.shared, loaded.maximumPages);
    this.tables = { float32: new DenseTable(this.arena, 'float32'), float64: new DenseTable(this.arena, 'float64') };
    this.scalarsPtr = this.arena.alloc(SCALAR_BLOCK_BYTES);
    this.module = loaded.module;
    this.threads = options.threads ?? defaultThreadCount();
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
    return this.arena.shared;
  }

  /** Whether `array` is a view into this kernel set's memory. */
  owns(array: ArrayBufferView): boolean {
    return this.arena.owns(array.buffer);
  }

  allocate(dtype: Dtype, length: number): Storage {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`allocate: bad length ${length}`);
    const bytes = length * bytesPer(dtype);
    const storage = new ArenaStorage(this.arena, dtype, length, this.arena.alloc(bytes), bytes);
    this.arena.live.set(storage.ptr, storage);
    return storage;
  }

  place(values: FloatArray): Storage {
    const dtype: Dtype = values instanceof Float64Array ? 'float64' : 'float32';
    if (this.arena.owns(values.buffer)) {
      // An allocation's own array comes back as its storage; any other view of kernel memory is
      // copied, since the kernels write whole 16-byte vectors past a storage's last element.
      const existing = this.arena.live.get(values.byteOffset);
      if (existing !== undefined && existing.dtype === dtype && existing.length === values.length) {
        return existing;
      }
      const src = values.byteOffset;
      const bytes = values.byteLength;
      const storage = this.allocate(dtype, values.length) as ArenaStorage;
      this.arena.u8.copyWithin(storage.ptr, src, src + bytes); // the memory may have grown
      return storage;
    }
    const storage = this.allocate(dtype, values.length);
    storage.array.set(values);
    return storage;
  }

  gradientBuffer(dtype: Dtype, length: number): Storage {
    return this.allocate(dtype, length);
  }

  /**
   * Gives a storage's memory back for reuse (optimizer state on dispose). The storage must not be
   * used afterwards; reading its `array` throws. Storages of other kernel sets are ignored.
   */
  release(storage: Storage): void {
    if (this.isOurs(storage)) this.arena.release(storage);
  }

  sumOfSquares(values: FloatArray): number {
    const wide = values instanceof Float64Array;
    const n = values.length;
    let ptr: number;
    if (this.arena.owns(values.buffer)) {
      ptr = values.byteOffset;
    } else if (n < SMALL_SUM) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += values[i] * values[i];
      return sum;
    } else {
      ptr = this.stage(values.byteLength);
      if (wide) this.arena.f64.set(values, ptr >> 3);
      else this.arena.f32.set(values, ptr >> 2);
    }
    return wide ? this.wasm.sumsq64(ptr, n) : this.wasm.sumsq32(ptr, n);
  }

  sumsOfSquares(values: readonly FloatArray[], out: Float64Array): void {
    // Kernel-memory arrays go to wasm as one table of blocks of at most SUM_BLOCK elements, whose
    // sums are added in order: the same blocks whether one thread or several compute them, so the
    // result does not depend on the thread count. Places are recorded first: summing an ordinary
    // array may stage it and grow (so detach) an ordinary memory.
    const places = this.sumPlaces;
    places.length = 0;
    let blocks = 0;
    let elements = 0;
    for (let i = 0; i < values.length; i++) {
      const a = values[i];
      if (!this.arena.owns(a.buffer)) continue;
      places.push(i, a.byteOffset, a.length, a instanceof Float64Array ? 1 : 0);
      blocks += Math.ceil(a.length / SUM_BLOCK);
      elements += a.length;
    }
    const bytes = blocks * 16;
    if (bytes > this.sumsBytes) {
      if (this.sumsBytes > 0) this.arena.free(this.sumsPtr, this.sumsBytes);
      this.sumsBytes = Math.max(bytes, (this.sumsBytes * 3) >> 1);
      this.sumsPtr = this.arena.alloc(this.sumsBytes);
    }
    for (let i = 0, k = 0; i < values.length; i++) {
      if (k < places.length && places[k] === i) k += 4;
      else out[i] = this.sumOfSquares(values[i]);
    }
    if (places.length === 0) return;
    const i32 = this.arena.i32;
    let r = this.sumsPtr >> 2;
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
    if (!(elements >= PARALLEL_MIN_ELEMENTS && this.workerPool()?.runSums(this.sumsPtr, blocks, elements))) {
      this.wasm.sumsqMany(this.sumsPtr, blocks);
    }
    const f64 = this.arena.f64;
    let b = this.sumsPtr >> 3;
    for (let k = 0; k < places.length; k += 4) {
      let sum = 0;
      for (let start = 0; start < places[k + 2]; start += SUM_BLOCK, b += 2) sum += f64[b];
      out[places[k]] = sum;
    }
  }

  denseStep(sets: readonly DenseSlotSet[], s: StepScalars): void {
    if (sets.length === 0) return;
    const dtype = sets[0].param.dtype;
    const table = this.tables[dtype];
    table.prepare(sets, s);
    const count = table.count;
    if (count > 0 && !this.runParallel(dtype === 'float64', table.ptr, count)) {
      if (dtype === 'float64') this.wasm.dense64(table.ptr, count);
      else this.wasm.dense32(table.ptr, count);
    }
    if (table.foreign.length > 0) referenceKernels.denseStep(table.foreign, s);
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
    if (!(this.isOurs(param) && this.isOurs(m) && this.isOurs(v) &&
          (vhat === null || this.isOurs(vhat)) && (average === null || this.isOurs(average)))) {
      referenceKernels.sparseStep(set, s);
      return;
    }
    const arena = this.arena;
    const elementBytes = bytesPer(dtype);
    const RowType = dtype === 'float64' ? Float64Array : Float32Array;
    // Kernel-memory inputs are read in place, from offsets recorded before anything can grow (and
    // detach) the memory; rows of the other dtype there are first copied out to be converted.
    let rows = set.rows;
    if (!(rows instanceof RowType) && arena.owns(rows.buffer)) rows = rows.slice();
    const idxInPlace = arena.owns(indices.buffer);
    const rowsInPlace = rows instanceof RowType && arena.owns(rows.buffer);
    let idxPtr = idxInPlace ? indices.byteOffset : 0;
    let rowsPtr = rowsInPlace ? rows.byteOffset : 0;
    const idxBytes = pad16(nIdx * 4);
    const rowBytes = nIdx * rowSize * elementBytes;
    const zeroNeeded = pad16(length * elementBytes);
    if (zeroNeeded > this.zeroBytes) {
      if (this.zeroBytes > 0) arena.free(this.zeroPtr, this.zeroBytes);
      this.zeroBytes = zeroNeeded;
      this.zeroPtr = arena.alloc(zeroNeeded);
    }
    const stage = this.stage((idxInPlace ? 0 : idxBytes) + (rowsInPlace ? 0 : rowBytes));
    if (!idxInPlace) {
      idxPtr = stage;
      arena.i32.set(indices, idxPtr >> 2);
    }
    if (!rowsInPlace) {
      rowsPtr = stage + (idxInPlace ? 0 : idxBytes);
      const n = nIdx * rowSize;
      const src = rows.length === n ? rows : rows.subarray(0, n);
      if (dtype === 'float64') arena.f64.set(src, rowsPtr >> 3);
      else arena.f32.set(src, rowsPtr >> 2);
    }
    let flags = stepFlags(s);
    if (vhat === null) flags &= ~AMSGRAD;
    if (average === null) flags &= ~(EMA | OVERWRITE);
    writeScalars(arena, dtype, this.scalarsPtr, s, set.decay);
    const run = dtype === 'float64' ? this.wasm.sparse64 : this.wasm.sparse32;
    run(
      (param as ArenaStorage).ptr, (m as ArenaStorage).ptr, (v as ArenaStorage).ptr,
      vhat === null ? 0 : (vhat as ArenaStorage).ptr, average === null ? 0 : (average as ArenaStorage).ptr,
      length, this.zeroPtr, idxPtr, nIdx, rowsPtr, rowSize, this.scalarsPtr, flags,
    );
  }

  /** Ends this kernel set's worker threads, if any; dense steps then run on the calling thread. */
  stopWorkers(): void {
    this.pool?.stop();
    this.pool = null;
  }

  /** Runs a dense table on the worker threads too, when there are any and the step is large. */
  private runParallel(dtype64: boolean, ptr: number, count: number): boolean {
    if (this.pool === null || this.threads <= 1) return false;
    const total = tableElements(this.arena, ptr, count);
    if (total < PARALLEL_MIN_ELEMENTS) return false;
    const pool = this.workerPool();
    return pool !== null && pool.run(dtype64, ptr, count, total);
  }

  /** The worker threads, started on first use by a large step; null where there are none. */
  private workerPool(): ThreadPool | null {
    if (this.pool === undefined) {
      this.pool = ThreadPool.create(this.arena, this.module, this.threads, this.wasm);
    }
    return this.pool;
  }

  /** A scratch block of at least `bytes` bytes, valid until the next call that stages. */
  private stage(bytes: number): number {
    if (bytes > this.stageBytes) {
      if (this.stageBytes > 0) this.arena.free(this.stagePtr, this.stageBytes);
      this.stageBytes = pad16(bytes);
      this.stagePtr = this.arena.alloc(this.stageBytes);
    }
    return this.stagePtr;
  }

  private isOurs(storage: Storage): storage is ArenaStorage {
    return storage instanceof ArenaStorage && storage.arena === this.arena && storage.isLive;
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
