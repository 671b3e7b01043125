import type { Arena } from './arena.js';
import { SCALAR_BLOCK_BYTES } from './scalars.js';

/** Bytes per dense-table record (assembly/adam.ts: REC). */
const REC = 48;
const REC_I32 = REC / 4;
/** Below this many elements a step is too short to pay for waking the workers. */
export const PARALLEL_MIN_ELEMENTS = 1 << 18;
/** How long the main thread waits for a worker before giving up on it (ms). */
const WORKER_TIMEOUT_MS = 30_000;

// Control block (i32 slots at `ctrl`): job generation, finished count, ready count, stop flag,
// the next unclaimed chunk, and the job: chunk list byte offset, chunk count, kind (0 dense f32,
// 1 dense f64, 2 sums of squares). A chunk is (table byte offset, record count).
const GENERATION = 0;
const FINISHED = 1;
const READY = 2;
const STOP = 3;
const NEXT = 4;
const LIST = 5;
const CHUNKS = 6;
const KIND = 7;
const CTRL_SLOTS = 8;
const KIND_DENSE32 = 0;
const KIND_DENSE64 = 1;
const KIND_SUMS = 2;
/** Chunks per thread: threads that wake late or run slow take fewer of them. */
const CHUNKS_PER_THREAD = 4;

/**
 * The worker's whole program, run with `eval`: instantiate the same kernel module over the same
 * shared memory, say so, then for each job claim chunks until none is left.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl } = workerData;
const { dense32, dense64, sumsqMany } = new WebAssembly.Instance(module, { env: { memory } }).exports;
const i32 = new Int32Array(memory.buffer, ctrl, ${CTRL_SLOTS});
let seen = Atomics.load(i32, ${GENERATION});
Atomics.add(i32, ${READY}, 1);
Atomics.notify(i32, ${READY});
for (;;) {
  Atomics.wait(i32, ${GENERATION}, seen);
  const generation = Atomics.load(i32, ${GENERATION});
  if (generation === seen) continue;
  seen = generation;
  if (Atomics.load(i32, ${STOP}) !== 0) break;
  const run = [dense32, dense64, sumsqMany][i32[${KIND}]];
  const list = new Int32Array(memory.buffer, i32[${LIST}] >>> 0, 2 * i32[${CHUNKS}]);
  for (let k = Atomics.add(i32, ${NEXT}, 1); k < list.length / 2; k = Atomics.add(i32, ${NEXT}, 1)) {
    run(list[2 * k] >>> 0, list[2 * k + 1]);
  }
  Atomics.add(i32, ${FINISHED}, 1);
  Atomics.notify(i32, ${FINISHED});
}
`;

/** The kernel functions the main thread runs its chunks with. */
export interface PoolKernels {
  dense32(table: number, count: number): void;
  dense64(table: number, count: number): void;
  sumsqMany(table: number, count: number): void;
}

interface NodeWorker {
  unref(): void;
  on(event: 'error', listener: (error: unknown) => void): void;
}

type WorkerConstructor = new (source: string, options: Record<string, unknown>) => NodeWorker;

/** Elements in the `count` records of the dense table at `tablePtr`. */
export function tableElements(arena: Arena, tablePtr: number, count: number): number {
  const records = (tablePtr + SCALAR_BLOCK_BYTES) >> 2;
  let total = 0;
  for (let k = 0; k < count; k++) total += arena.i32[records + k * REC_I32 + 6];
  return total;
}

/**
 * The number of threads (main included) a dense step may use: `ADAM_OPTIMIZER_THREADS` when set,
 * else the available parallelism, at most 4. 1 where worker threads are unavailable (browsers,
 * whose main thread may not block on Atomics.wait).
 */
export function defaultThreadCount(): number {
  const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;
  if (typeof nodeProcess?.getBuiltinModule !== 'function') return 1;
  const setting = Number(nodeProcess.env?.ADAM_OPTIMIZER_THREADS);
  if (Number.isInteger(setting) && setting >= 1) return Math.min(setting, 16);
  const os = nodeProcess.getBuiltinModule('node:os') as typeof import('node:os');
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/**
 * Worker threads that share one dense step with the main thread. The step's table is cut into one
 * table per thread by elements (at 16-byte boundaries, so no two threads write one vector); every
 * element runs the same arithmetic wherever it runs, so results are bit-identical to one thread.
 * The main thread blocks until the workers finish: TensorFlow.js applies gradients synchronously.
 */
export class ThreadPool {
  private readonly ctrl: number;
  private readonly workers: number;
  /** Threads a step runs on: the workers and the main thread. */
  readonly threads: number;
  private tablesPtr = 0;
  private tablesBytes = 0;
  private listPtr = 0;
  private listBytes = 0;
  private broken = false;

  private constructor(
    private readonly arena: Arena,
    private readonly wasm: PoolKernels,
    module: WebAssembly.Module,
    workers: number,
    Worker: WorkerConstructor,
  ) {
    this.workers = workers;
    this.threads = workers + 1;
    this.ctrl = arena.alloc(CTRL_SLOTS * 4);
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: { module, memory: arena.memory, ctrl: this.ctrl },
      });
      worker.on('error', () => {
        this.broken = true;
      });
      worker.unref(); // idle workers must not keep the process alive
    }
  }

  /**
   * A pool of `threads - 1` workers over the arena's shared memory, or null where that cannot be
   * (one thread, an ordinary memory, no worker threads).
   */
  static create(
    arena: Arena,
    module: WebAssembly.Module,
    threads: number,
    wasm: PoolKernels,
  ): ThreadPool | null {
    if (threads <= 1 || !arena.shared) return null;
    const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;
    if (typeof nodeProcess?.getBuiltinModule !== 'function') return null;
    try {
      const { Worker } = nodeProcess.getBuiltinModule('node:worker_threads') as { Worker: WorkerConstructor };
      return new ThreadPool(arena, wasm, module, threads - 1, Worker);
    } catch {
      return null;
    }
  }

  /** Ends the worker threads (after any step in progress); later steps run on the main thread. */
  stop(): void {
    const i32 = this.arena.i32;
    const c = this.ctrl >> 2;
    this.broken = true;
    Atomics.store(i32, c + STOP, 1);
    Atomics.add(i32, c + GENERATION, 1);
    Atomics.notify(i32, c + GENERATION);
  }

  /** How many workers have started and wait for work. */
  get readyWorkers(): number {
    return Atomics.load(this.arena.i32, (this.ctrl >> 2) + READY);
  }

  /**
   * Runs the dense table at `tablePtr` (`count` records, `total` elements) across the threads;
   * returns false, having done nothing, while the workers are not all ready (the caller then runs
   * it on the main thread alone).
   */
  run(dtype64: boolean, tablePtr: number, count: number, total: number): boolean {
    if (this.broken || this.readyWorkers < this.workers) return false;
    const chunks = this.split(dtype64, tablePtr, count, total);
    this.share(dtype64 ? KIND_DENSE64 : KIND_DENSE32, chunks);
    return true;
  }

  /**
   * Runs the sums-of-squares table at `tablePtr` (`count` records of 16 bytes, see
   * assembly/adam.ts; `total` elements) across the threads, in runs of whole records; returns
   * false while the workers are not ready. Every record's sum is the same wherever it is computed.
   */
  runSums(tablePtr: number, count: number, total: number): boolean {
    if (this.broken || this.readyWorkers < this.workers) return false;
    const list = this.chunkList(count);
    const i32 = this.arena.i32;
    const target = total / (this.threads * CHUNKS_PER_THREAD);
    let chunks = 0;
    for (let k = 0; k < count;) {
      const first = k;
      for (let elements = 0; k < count && (k === first || elements < target); k++) elements += i32[(tablePtr >> 2) + 4 * k + 1];
      i32[(list >> 2) + 2 * chunks] = tablePtr + 16 * first;
      i32[(list >> 2) + 2 * chunks + 1] = k - first;
      chunks++;
    }
    this.share(KIND_SUMS, chunks);
    return true;
  }

  /** Posts the chunk list as a job, takes chunks on this thread too, and waits for the workers. */
  private share(kind: number, chunks: number): void {
    const i32 = this.arena.i32;
    const c = this.ctrl >> 2;
    i32[c + LIST] = this.listPtr;
    i32[c + CHUNKS] = chunks;
    i32[c + KIND] = kind;
    Atomics.store(i32, c + NEXT, 0);
    Atomics.store(i32, c + FINISHED, 0);
    Atomics.add(i32, c + GENERATION, 1);
    Atomics.notify(i32, c + GENERATION);
    const list = this.listPtr >> 2;
    for (let k = Atomics.add(i32, c + NEXT, 1); k < chunks; k = Atomics.add(i32, c + NEXT, 1)) {
      const ptr = i32[list + 2 * k] >>> 0;
      const records = i32[list + 2 * k + 1];
      if (kind === KIND_SUMS) this.wasm.sumsqMany(ptr, records);
      else if (kind === KIND_DENSE64) this.wasm.dense64(ptr, records);
      else this.wasm.dense32(ptr, records);
    }
    this.waitForWorkers();
  }

  /** Blocks until every worker has finished (TensorFlow.js needs a synchronous step). */
  private waitForWorkers(): void {
    const i32 = this.arena.i32;
    const c = this.ctrl >> 2;
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (let done = Atomics.load(i32, c + FINISHED); done < this.workers; done = Atomics.load(i32, c + FINISHED)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.broken) {
        this.broken = true;
        throw new Error('adam-optimizer: a kernel worker thread did not finish its part of the step');
      }
      Atomics.wait(i32, c + FINISHED, done, left);
    }
  }

  /** The chunk list's block, room for `chunks` entries (may grow the memory). */
  private chunkList(chunks: number): number {
    const bytes = chunks * 8;
    if (bytes > this.listBytes) {
      if (this.listBytes > 0) this.arena.free(this.listPtr, this.listBytes);
      this.listBytes = Math.max(bytes, 1024);
      this.listPtr = this.arena.alloc(this.listBytes);
    }
    return this.listPtr;
  }

  /**
   * Cuts the dense table into chunks of about `total / (threads * CHUNKS_PER_THREAD)` elements,
   * each a table of its own (the scalar block, then its records); cuts fall on 16-byte boundaries,
   * so only a variable's last piece runs into its padding. Returns the number of chunks.
   */
  private split(dtype64: boolean, tablePtr: number, count: number, total: number): number {
    const elementBytes = dtype64 ? 8 : 4;
    const width = 16 / elementBytes;
    const size = Math.max(width, Math.ceil(total / (this.threads * CHUNKS_PER_THREAD) / width) * width);
    // A chunk closes only once fewer than `width` of its elements are left.
    const maxChunks = Math.ceil(total / Math.max(1, size - width + 1)) + 1;
    const maxRecords = count + maxChunks;
    const tableBytes = maxChunks * SCALAR_BLOCK_BYTES + maxRecords * REC;
    this.chunkList(maxChunks);
    if (tableBytes > this.tablesBytes) {
      if (this.tablesBytes > 0) this.arena.free(this.tablesPtr, this.tablesBytes);
      this.tablesBytes = tableBytes;
      this.tablesPtr = this.arena.alloc(tableBytes); // may grow: views are read below
    }
    const i32 = this.arena.i32;
    const u8 = this.arena.u8;
    const list = this.listPtr >> 2;
    let chunks = 0;
    let at = this.tablesPtr; // where the next chunk's table begins
    let records = 0; // records in the current chunk
    let room = 0; // elements the current chunk may still take
    const source = (tablePtr + SCALAR_BLOCK_BYTES) >> 2;
    for (let k = 0; k < count; k++) {
      const from = source + k * REC_I32;
      const length = i32[from + 6];
      for (let start = 0; start < length;) {
        if (room < width && (room === 0 || length - start > room)) {
          // Close the current chunk and open the next one.
          if (records > 0) {
            i32[list + 2 * chunks + 1] = records;
            chunks++;
            at += SCALAR_BLOCK_BYTES + records * REC;
          }
          u8.copyWithin(at, tablePtr, tablePtr + SCALAR_BLOCK_BYTES);
          i32[list + 2 * chunks] = at;
          records = 0;
          room = size;
        }
        let take = length - start;
        if (take > room) take = room - (room % width);
        const to = ((at + SCALAR_BLOCK_BYTES) >> 2) + records * REC_I32;
        u8.copyWithin(to << 2, from << 2, (from << 2) + REC);
        // Move every pointer (param, grad, m, v, and vhat / average where present) to the piece.
        const offset = start * elementBytes;
        i32[to] += offset;
        i32[to + 1] += offset;
        i32[to + 2] += offset;
        i32[to + 3] += offset;
        if (i32[to + 4] !== 0) i32[to + 4] += offset;
        if (i32[to + 5] !== 0) i32[to + 5] += offset;
        i32[to + 6] = take;
        records++;
        start += take;
        room -= take;
      }
    }
    if (records > 0) {
      i32[list + 2 * chunks + 1] = records;
      chunks++;
    }
    return chunks;
  }
}
