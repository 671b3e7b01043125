import type { Arena } from './arena.js';
import { SCALAR_BLOCK_BYTES } from './scalars.js';

/** Bytes per dense-table record (assembly/adam.ts: REC). */
const REC = 48;
const REC_I32 = REC / 4;
/** Below this many elements a step is too short to pay for waking the workers. */
export const PARALLEL_MIN_ELEMENTS = 1 << 18;
/** How long the main thread waits for a worker before giving up on it (ms). */
const WORKER_TIMEOUT_MS = 30_000;

// Control block (i32 slots at `ctrl`): 0 job generation, 1 finished count, 2 ready count,
// 3 stop flag, then per worker w at 4 + 4w: table byte offset, record count, is-f64, job kind
// (0 a dense table, 1 a sums-of-squares table).
const GENERATION = 0;
const FINISHED = 1;
const READY = 2;
const STOP = 3;

/**
 * The worker's whole program, run with `eval`: instantiate the same kernel module over the same
 * shared memory, say so, then run one table per job until told to stop.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, index } = workerData;
const { dense32, dense64, sumsqMany } = new WebAssembly.Instance(module, { env: { memory } }).exports;
const i32 = new Int32Array(memory.buffer, ctrl, 4 + 4 * (index + 1));
const job = 4 + 4 * index;
let seen = Atomics.load(i32, ${GENERATION});
Atomics.add(i32, ${READY}, 1);
Atomics.notify(i32, ${READY});
for (;;) {
  Atomics.wait(i32, ${GENERATION}, seen);
  const generation = Atomics.load(i32, ${GENERATION});
  if (generation === seen) continue;
  seen = generation;
  if (Atomics.load(i32, ${STOP}) !== 0) break;
  const count = i32[job + 1];
  if (count > 0 && i32[job + 3] === 1) sumsqMany(i32[job] >>> 0, count);
  else if (count > 0) (i32[job + 2] !== 0 ? dense64 : dense32)(i32[job] >>> 0, count);
  Atomics.add(i32, ${FINISHED}, 1);
  Atomics.notify(i32, ${FINISHED});
}
`;

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
  private broken = false;

  private constructor(
    private readonly arena: Arena,
    private readonly runOnMain: (dtype64: boolean, ptr: number, count: number) => void,
    module: WebAssembly.Module,
    workers: number,
    Worker: WorkerConstructor,
  ) {
    this.workers = workers;
    this.threads = workers + 1;
    this.ctrl = arena.alloc((4 + 4 * workers) * 4);
    for (let index = 0; index < workers; index++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: { module, memory: arena.memory, ctrl: this.ctrl, index },
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
    runOnMain: (dtype64: boolean, ptr: number, count: number) => void,
  ): ThreadPool | null {
    if (threads <= 1 || !arena.shared) return null;
    const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;
    if (typeof nodeProcess?.getBuiltinModule !== 'function') return null;
    try {
      const { Worker } = nodeProcess.getBuiltinModule('node:worker_threads') as { Worker: WorkerConstructor };
      return new ThreadPool(arena, runOnMain, module, threads - 1, Worker);
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
    const tables = this.split(dtype64, tablePtr, count, total, this.threads);
    this.post(tables, dtype64 ? 1 : 0, 0);
    if (tables[0].count > 0) this.runOnMain(dtype64, tables[0].ptr, tables[0].count);
    this.waitForWorkers();
    return true;
  }

  /**
   * Runs the sums-of-squares table at `tablePtr` (`count` records of 16 bytes, see
   * assembly/adam.ts) across the threads, each on a contiguous run of records; returns false while
   * the workers are not ready. Every record's sum is the same wherever it is computed.
   */
  runSums(tablePtr: number, count: number, sumOnMain: (ptr: number, count: number) => void): boolean {
    if (this.broken || this.readyWorkers < this.workers) return false;
    const parts: { ptr: number; count: number }[] = [];
    for (let t = 0, start = 0; t < this.threads; t++) {
      const end = Math.round((count * (t + 1)) / this.threads);
      parts.push({ ptr: tablePtr + start * 16, count: end - start });
      start = end;
    }
    this.post(parts, 0, 1);
    if (parts[0].count > 0) sumOnMain(parts[0].ptr, parts[0].count);
    this.waitForWorkers();
    return true;
  }

  /** Hands part w + 1 to worker w and wakes the workers. */
  private post(parts: readonly { ptr: number; count: number }[], wide: number, kind: number): void {
    const i32 = this.arena.i32;
    const c = this.ctrl >> 2;
    for (let w = 0; w < this.workers; w++) {
      i32[c + 4 + 4 * w] = parts[w + 1].ptr;
      i32[c + 5 + 4 * w] = parts[w + 1].count;
      i32[c + 6 + 4 * w] = wide;
      i32[c + 7 + 4 * w] = kind;
    }
    Atomics.store(i32, c + FINISHED, 0);
    Atomics.add(i32, c + GENERATION, 1);
    Atomics.notify(i32, c + GENERATION);
  }

  /** Blocks until every worker has finished its part (TensorFlow.js needs a synchronous step). */
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

  /**
   * One table per thread: the scalar block, then the records cut so that each thread gets about
   * `total / threads` elements; cuts fall on 16-byte boundaries, so only a variable's last piece
   * runs into its padding.
   */
  private split(dtype64: boolean, tablePtr: number, count: number, total: number, threads: number): { ptr: number; count: number }[] {
    const maxRecords = count + threads;
    const tableBytes = SCALAR_BLOCK_BYTES + maxRecords * REC;
    if (tableBytes * threads > this.tablesBytes) {
      if (this.tablesBytes > 0) this.arena.free(this.tablesPtr, this.tablesBytes);
      this.tablesBytes = tableBytes * threads;
      this.tablesPtr = this.arena.alloc(this.tablesBytes); // may grow: views are re-read below
    }
    const i32 = this.arena.i32;
    const u8 = this.arena.u8;
    const elementBytes = dtype64 ? 8 : 4;
    const width = 16 / elementBytes;
    const share = Math.ceil(total / threads / width) * width;
    const tables: { ptr: number; count: number }[] = [];
    for (let t = 0; t < threads; t++) {
      const ptr = this.tablesPtr + t * tableBytes;
      u8.copyWithin(ptr, tablePtr, tablePtr + SCALAR_BLOCK_BYTES);
      tables.push({ ptr, count: 0 });
    }
    let t = 0;
    let room = share;
    const source = (tablePtr + SCALAR_BLOCK_BYTES) >> 2;
    for (let k = 0; k < count; k++) {
      const from = source + k * REC_I32;
      const length = i32[from + 6];
      let start = 0;
      while (start < length) {
        const last = t === threads - 1;
        let take = length - start;
        if (!last && take > room) take = room - (room % width);
        if (take === 0) {
          t++;
          room = share;
          continue;
        }
        const table = tables[t];
        const to = ((table.ptr + SCALAR_BLOCK_BYTES) >> 2) + table.count * REC_I32;
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
        table.count++;
        start += take;
        room -= take;
        if (!last && room < width) {
          t++;
          room = share;
        }
      }
    }
    return tables;
  }
}
