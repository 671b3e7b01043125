import { InterruptedStepError } from '../interrupted-step.js';
import type { Arena } from './arena.js';
import type { KernelMemories, KernelMemory } from './memories.js';

/** Bytes per dense-table record (assembly/adam.ts: REC). */
const REC = 48;
const REC_I32 = REC / 4;
/** Below this many elements a step is too short to pay for waking the workers. */
export const PARALLEL_MIN_ELEMENTS = 1 << 18;
/** How long the main thread waits for a worker before giving up on it (ms of running time). */
const WORKER_TIMEOUT_MS = 30_000;

// Control block (i32 slots at `ctrl` in the first memory): job generation, finished count, ready
// count, stop flag, the next unclaimed chunk, the job (chunk list byte offset, chunk count, kind),
// how many memories the workers must instantiate, for tiled jobs how many tiles the main thread
// has copied in and, per ring slot, the last tile done in it plus one; the chunks of this job done
// by any thread, and whether a worker has failed. A chunk is (memory index, scalar block, records,
// record count); the list lives in the first memory.
const GENERATION = 0;
const FINISHED = 1;
const READY = 2;
const STOP = 3;
const NEXT = 4;
const LIST = 5;
const CHUNKS = 6;
const KIND = 7;
const MEMORIES = 8;
const COPIED = 9;
/** Workers waiting for a tile to be copied in, and whether the main thread waits for a ring slot. */
const WAITING = 10;
const MAIN_WAITING = 11;
/** Ring slots of the current tiled job (at most TILE_RING). */
const RING = 12;
/** Chunks of the current job that have run to their end, on any thread. */
const COMPLETED = 13;
/** Set by a worker that failed (it then leaves): it may have left a chunk half done. */
const FAULT = 14;
const DONE = 16;
/** Ring slots of staged gradient tiles (tiles.ts keeps as many per memory and dtype). */
export const TILE_RING = 32;
const CTRL_SLOTS = DONE + TILE_RING;
const KIND_DENSE32 = 0;
const KIND_DENSE64 = 1;
const KIND_SUMS = 2;
/** Tiled jobs: the chunks are gradient tiles, each runnable once the main thread has copied it in. */
const KIND_TILES32 = 3;
const KIND_TILES64 = 4;
/** A tiled job of sums of squares: each tile a block of an ordinary array, copied in and summed. */
const KIND_TILED_SUMS = 5;
/** i32s per chunk-list entry. */
export const ENTRY = 4;
/** Chunks per thread: threads that wake late or run slow take fewer of them. */
const CHUNKS_PER_THREAD = 4;

/**
 * The worker's whole program, run with `eval`: instantiate the same kernel module over each shared
 * memory (the first comes with the worker, later ones on a message port, read synchronously when a
 * job names more memories than the worker has), say so, then for each job claim chunks until none
 * is left, counting each one run in COMPLETED. A tile is run only once the main thread has copied
 * it in (COPIED passes it), and its ring slot is then marked done for the copy that reuses it. A
 * worker that fails sets FAULT, counts itself finished and ends.
 */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { module, memory, ctrl, port } = workerData;
const kernels = [];
const add = (m) => {
  const e = new WebAssembly.Instance(module, { env: { memory: m } }).exports;
  kernels.push([e.dense32, e.dense64, e.sumsqMany, e.dense32, e.dense64, e.sumsqMany]);
};
add(memory);
const i32 = new Int32Array(memory.buffer, ctrl, ${CTRL_SLOTS});
let seen = Atomics.load(i32, ${GENERATION});
Atomics.add(i32, ${READY}, 1);
Atomics.notify(i32, ${READY});
const job = () => {
  while (kernels.length < Atomics.load(i32, ${MEMORIES})) {
    const got = receiveMessageOnPort(port);
    if (got === undefined) throw new Error('adam-optimizer worker: a kernel memory did not arrive');
    add(got.message);
  }
  const kind = i32[${KIND}];
  const chunks = i32[${CHUNKS}];
  const tiled = kind >= ${KIND_TILES32};
  const ring = i32[${RING}];
  const list = new Int32Array(memory.buffer, i32[${LIST}] >>> 0, ${ENTRY} * chunks);
  job: for (let k = Atomics.add(i32, ${NEXT}, 1); k < chunks; k = Atomics.add(i32, ${NEXT}, 1)) {
    const e = ${ENTRY} * k;
    const run = kernels[list[e]][kind];
    if (tiled) {
      for (let copied = Atomics.load(i32, ${COPIED}); copied <= k; copied = Atomics.load(i32, ${COPIED})) {
        Atomics.add(i32, ${WAITING}, 1);
        Atomics.wait(i32, ${COPIED}, copied, 20);
        Atomics.sub(i32, ${WAITING}, 1);
        if (Atomics.load(i32, ${STOP}) !== 0) break job;
      }
    }
    if (kind === ${KIND_SUMS} || kind === ${KIND_TILED_SUMS}) run(list[e + 2] >>> 0, list[e + 3]);
    else run(list[e + 1] >>> 0, list[e + 2] >>> 0, list[e + 3]);
    Atomics.add(i32, ${COMPLETED}, 1);
    if (tiled) {
      Atomics.store(i32, ${DONE} + (k % ring), k + 1);
      if (Atomics.load(i32, ${MAIN_WAITING}) !== 0) Atomics.notify(i32, ${DONE} + (k % ring));
    }
  }
};
for (;;) {
  Atomics.wait(i32, ${GENERATION}, seen);
  const generation = Atomics.load(i32, ${GENERATION});
  if (generation === seen) continue;
  seen = generation;
  if (Atomics.load(i32, ${STOP}) !== 0) break;
  try {
    job();
  } catch (error) {
    // Say so before leaving, so that the main thread need not wait out its timeout.
    Atomics.store(i32, ${FAULT}, 1);
    Atomics.add(i32, ${FINISHED}, 1);
    Atomics.notify(i32, ${FINISHED});
    for (let r = 0; r < ${TILE_RING}; r++) Atomics.notify(i32, ${DONE} + r);
    throw error;
  }
  Atomics.add(i32, ${FINISHED}, 1);
  Atomics.notify(i32, ${FINISHED});
}
`;

interface NodeWorker {
  unref(): void;
  on(event: 'error', listener: (error: unknown) => void): void;
}

interface NodePort {
  postMessage(value: unknown): void;
  unref(): void;
  close(): void;
}

interface NodeWorkerThreads {
  Worker: new (source: string, options: Record<string, unknown>) => NodeWorker;
  MessageChannel: new () => { port1: NodePort; port2: NodePort };
}

/** One memory's part in a parallel job: its scalar block (dense only), its records and their count. */
export interface PoolJob {
  readonly memory: KernelMemory;
  readonly scalars: number;
  readonly records: number;
  readonly count: number;
}

/** The tiles of a tiled job, in order: where each one's records are, and how to copy it in. */
export interface TileSource {
  /** Tiles in all. */
  readonly count: number;
  /** Ring slots the tiles are copied into (at most TILE_RING); tile k uses slot k % ring. */
  readonly ring: number;
  /** Writes every tile's chunk entry (memory, scalars, records, count), `ENTRY` i32s each, from `out[at]`. */
  describe(out: Int32Array, at: number): void;
  /** Copies tile `k`'s gradients into its ring slot. */
  copy(k: number): void;
  /** Runs tile `k` on this thread. */
  run(k: number): void;
  /** Whether tiles have outputs, copied out by the main thread once they ran (see {@link TileSource.copyOut}). */
  readonly copiesOut?: boolean;
  /** Copies the results of tile `k` (which has run) out of kernel memory. */
  copyOut?(k: number): void;
}

/** Elements in the `count` dense records at byte offset `records`. */
export function tableElements(arena: Arena, records: number, count: number): number {
  const first = records >>> 2;
  let total = 0;
  for (let k = 0; k < count; k++) total += arena.i32[first + k * REC_I32 + 6];
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
 * Worker threads that share one dense step with the main thread, over every memory of the kernel
 * set. Each memory's records are cut into chunks by elements (at 16-byte boundaries, so no two
 * threads write one vector); every element runs the same arithmetic wherever it runs, so results
 * are bit-identical to one thread and to any layout over memories. The main thread blocks until
 * the workers finish: TensorFlow.js applies gradients synchronously.
 */
export class ThreadPool {
  private readonly ctrl: number;
  private readonly workers: number;
  /** Threads a step runs on: the workers and the main thread. */
  readonly threads: number;
  private listPtr = 0;
  private listBytes = 0;
  private broken = false;
  private readonly ports: NodePort[] = [];

  private constructor(
    private readonly memories: KernelMemories,
    module: WebAssembly.Module,
    workers: number,
    threads: NodeWorkerThreads,
  ) {
    this.workers = workers;
    this.threads = workers + 1;
    const first = memories.first.arena;
    this.ctrl = first.alloc(CTRL_SLOTS * 4);
    first.i32[(this.ctrl >>> 2) + MEMORIES] = 1;
    for (let w = 0; w < workers; w++) {
      const { port1, port2 } = new threads.MessageChannel();
      port1.unref();
      this.ports.push(port1);
      const worker = new threads.Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: { module, memory: first.memory, ctrl: this.ctrl, port: port2 },
        transferList: [port2],
      });
      worker.on('error', () => {
        this.broken = true;
      });
      worker.unref(); // idle workers must not keep the process alive
    }
    for (let i = 1; i < memories.list.length; i++) this.addMemory(memories.list[i]);
  }

  /**
   * A pool of `threads - 1` workers over the kernel set's shared memories, or null where that
   * cannot be (one thread, an ordinary memory, no worker threads).
   */
  static create(memories: KernelMemories, module: WebAssembly.Module, threads: number): ThreadPool | null {
    if (threads <= 1 || !memories.allShared) return null;
    const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;
    if (typeof nodeProcess?.getBuiltinModule !== 'function') return null;
    try {
      const workerThreads = nodeProcess.getBuiltinModule('node:worker_threads') as unknown as NodeWorkerThreads;
      return new ThreadPool(memories, module, threads - 1, workerThreads);
    } catch {
      return null;
    }
  }

  /** Sends a new memory to the workers; they instantiate the module over it before their next job. */
  addMemory(memory: KernelMemory): void {
    if (!memory.arena.shared) {
      this.broken = true; // workers cannot see an ordinary memory: steps run on the main thread
      return;
    }
    for (const port of this.ports) port.postMessage(memory.arena.memory);
    const i32 = this.memories.first.arena.i32;
    Atomics.store(i32, (this.ctrl >>> 2) + MEMORIES, memory.arena.index + 1);
  }

  /** Ends the worker threads (after any step in progress); later steps run on the main thread. */
  stop(): void {
    const i32 = this.memories.first.arena.i32;
    const c = this.ctrl >>> 2;
    this.broken = true;
    Atomics.store(i32, c + STOP, 1);
    Atomics.add(i32, c + GENERATION, 1);
    Atomics.notify(i32, c + GENERATION);
    for (const port of this.ports) port.close();
  }

  /** How many workers have started and wait for work. */
  get readyWorkers(): number {
    return Atomics.load(this.memories.first.arena.i32, (this.ctrl >>> 2) + READY);
  }

  /** Whether jobs run on the workers now (all started, none failed). */
  get ready(): boolean {
    return !this.broken && this.readyWorkers >= this.workers;
  }

  /**
   * Runs the dense records of `jobs` (`total` elements in all) across the threads; returns false,
   * having done nothing, while the workers are not all ready (the caller then runs them on the
   * main thread alone). May throw a KernelMemoryError before anything ran.
   */
  run(dtype64: boolean, jobs: readonly PoolJob[], total: number): boolean {
    if (!this.ready) return false;
    const elementBytes = dtype64 ? 8 : 4;
    const size = this.reserveRun(dtype64, jobs, total);
    let chunks = 0;
    for (const job of jobs) chunks = this.split(job, elementBytes, size, chunks);
    this.share(dtype64 ? KIND_DENSE64 : KIND_DENSE32, chunks);
    this.waitForWorkers(chunks, true);
    return true;
  }

  /**
   * Runs the sums-of-squares tables of `jobs` (records of 16 bytes, see assembly/adam.ts; `total`
   * elements) across the threads, in runs of whole records; returns false while the workers are
   * not ready. Every record's sum is the same wherever it is computed.
   */
  runSums(jobs: readonly PoolJob[], total: number): boolean {
    if (!this.ready) return false;
    let records = 0;
    for (const job of jobs) records += job.count;
    this.chunkList(records);
    const out = this.memories.first.arena.i32;
    const list = this.listPtr >>> 2;
    const target = total / (this.threads * CHUNKS_PER_THREAD);
    let chunks = 0;
    for (const job of jobs) {
      const i32 = job.memory.arena.i32;
      const table = job.records >>> 2;
      for (let k = 0; k < job.count;) {
        const first = k;
        for (let elements = 0; k < job.count && (k === first || elements < target); k++) elements += i32[table + 4 * k + 1];
        const e = list + ENTRY * chunks;
        out[e] = job.memory.arena.index;
        out[e + 1] = 0;
        out[e + 2] = job.records + 16 * first;
        out[e + 3] = k - first;
        chunks++;
      }
    }
    this.share(KIND_SUMS, chunks);
    this.waitForWorkers(chunks, false);
    return true;
  }

  /**
   * Runs a tiled job: the main thread copies the tiles' gradients in, in order, into ring slots,
   * while every thread (main included, when it is far enough ahead) runs tiles already copied. A
   * slot is copied into again only once the tile before in it is done. Returns false while the
   * workers are not ready.
   */
  runTiles(kind: 'dense32' | 'dense64' | 'sums', tiles: TileSource): boolean {
    if (!this.ready) return false;
    const n = tiles.count;
    this.chunkList(n);
    const out = this.memories.first.arena.i32;
    const list = this.listPtr >>> 2;
    tiles.describe(out, list);
    const c = this.ctrl >>> 2;
    Atomics.store(out, c + COPIED, 0);
    const ring = tiles.ring;
    for (let r = 0; r < ring; r++) Atomics.store(out, c + DONE + r, 0);
    out[c + RING] = ring;
    this.share(kind === 'sums' ? KIND_TILED_SUMS : kind === 'dense64' ? KIND_TILES64 : KIND_TILES32, n);
    const i32 = this.memories.first.arena.i32;
    const done = (k: number): number => Atomics.load(i32, c + DONE + (k % ring));
    const free = (k: number): boolean => k < ring || done(k) > k - ring;
    const writes = kind !== 'sums';
    const deadline = performance.now() + WORKER_TIMEOUT_MS;
    let copied = 0;
    // Tiles copied out so far, in order: tile k can be once its slot's done mark is past k (a later
    // tile in the slot was copied in only after k was done).
    let copiedOut = tiles.copiesOut === true ? 0 : n;
    const copyOutNext = (): boolean => {
      if (copiedOut >= n || done(copiedOut) <= copiedOut) return false;
      tiles.copyOut!(copiedOut++);
      return true;
    };
    const copyNext = (): void => {
      tiles.copy(copied++);
      Atomics.store(i32, c + COPIED, copied);
      if (Atomics.load(i32, c + WAITING) !== 0) Atomics.notify(i32, c + COPIED);
    };
    // Blocks until the ring slot of tile `copied` is free (a worker is still on the tile before in it).
    const waitForSlot = (): void => {
      // The tile before in the slot is a worker's (this thread's own tiles are done when it waits).
      if (this.broken || Atomics.load(i32, c + FAULT) !== 0 || performance.now() > deadline) this.fail(writes, 'a kernel worker thread stopped while it held a tile');
      Atomics.store(i32, c + MAIN_WAITING, 1);
      const seen = done(copied);
      if (!free(copied)) Atomics.wait(i32, c + DONE + (copied % ring), seen, 5);
      Atomics.store(i32, c + MAIN_WAITING, 0);
    };
    for (;;) {
      const next = Atomics.load(i32, c + NEXT);
      if (copied < n && copied - next < ring - 1 && free(copied)) {
        copyNext(); // ahead of the threads by less than the ring: copy the next tile in
        continue;
      }
      // Results of tiles done are copied out while they are still in a cache (workers wait for copies in, not out).
      if (copyOutNext()) continue;
      if (next < copied) {
        // Copied tiles wait: run one here too.
        const k = Atomics.add(i32, c + NEXT, 1);
        if (k >= n) continue;
        while (k >= copied) {
          if (free(copied)) copyNext();
          else waitForSlot();
        }
        tiles.run(k);
        Atomics.add(i32, c + COMPLETED, 1);
        Atomics.store(i32, c + DONE + (k % ring), k + 1);
        continue;
      }
      if (copied >= n) break; // all copied and all claimed
      waitForSlot();
    }
    this.waitForWorkers(n, writes);
    while (copiedOut < n) tiles.copyOut!(copiedOut++);
    return true;
  }

  /** Posts the chunk list as a job; for untiled jobs, takes chunks on this thread too. */
  private share(kind: number, chunks: number): void {
    const i32 = this.memories.first.arena.i32;
    const c = this.ctrl >>> 2;
    i32[c + LIST] = this.listPtr;
    i32[c + CHUNKS] = chunks;
    i32[c + KIND] = kind;
    Atomics.store(i32, c + NEXT, 0);
    Atomics.store(i32, c + FINISHED, 0);
    Atomics.store(i32, c + COMPLETED, 0);
    Atomics.add(i32, c + GENERATION, 1);
    Atomics.notify(i32, c + GENERATION);
    if (kind >= KIND_TILES32) return;
    const list = this.listPtr >>> 2;
    const memories = this.memories.list;
    let ran = 0;
    for (let k = Atomics.add(i32, c + NEXT, 1); k < chunks; k = Atomics.add(i32, c + NEXT, 1)) {
      const e = list + ENTRY * k;
      const wasm = memories[i32[e]].wasm;
      if (kind === KIND_SUMS) wasm.sumsqMany(i32[e + 2] >>> 0, i32[e + 3]);
      else if (kind === KIND_DENSE64) wasm.dense64(i32[e + 1] >>> 0, i32[e + 2] >>> 0, i32[e + 3]);
      else wasm.dense32(i32[e + 1] >>> 0, i32[e + 2] >>> 0, i32[e + 3]);
      ran++;
    }
    Atomics.add(i32, c + COMPLETED, ran);
  }

  /**
   * Blocks until every worker has left the job of `chunks` chunks (TensorFlow.js needs a
   * synchronous step, and the next job must not start under a worker still in this one). A worker
   * that failed, or does not answer within the timeout, leaves the pool broken (later jobs run on
   * the main thread); the job still counts as done when every chunk ran to its end. Otherwise it
   * throws: an InterruptedStepError when the job `writes` state, a plain Error for sums (nothing
   * changed yet).
   */
  private waitForWorkers(chunks: number, writes: boolean): void {
    const i32 = this.memories.first.arena.i32;
    const c = this.ctrl >>> 2;
    const deadline = performance.now() + WORKER_TIMEOUT_MS;
    for (let done = Atomics.load(i32, c + FINISHED); done < this.workers; done = Atomics.load(i32, c + FINISHED)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.broken = true;
        break;
      }
      Atomics.wait(i32, c + FINISHED, done, left);
    }
    if (Atomics.load(i32, c + FAULT) !== 0) this.broken = true;
    if (Atomics.load(i32, c + COMPLETED) < chunks) this.fail(writes, 'a kernel worker thread did not finish its part of the step');
  }

  /** Gives up on the workers, mid-job: the pool stays broken, and the error says whether state was partly written. */
  private fail(writes: boolean, detail: string): never {
    this.broken = true;
    if (writes) throw new InterruptedStepError(detail);
    throw new Error(`adam-optimizer: ${detail}; nothing was changed (the step had not begun writing)`);
  }

  /** Makes room in the chunk list for a job of `chunks` chunks (it only ever grows). */
  /**
   * Takes the blocks {@link run} needs for `jobs` (the chunk list, each memory's split area) and
   * returns the chunk size; a later run of the same jobs then allocates nothing. May throw a
   * KernelMemoryError, having changed nothing that a step reads.
   */
  reserveRun(dtype64: boolean, jobs: readonly PoolJob[], total: number): number {
    const width = dtype64 ? 2 : 4;
    const size = Math.max(width, Math.ceil(total / (this.threads * CHUNKS_PER_THREAD) / width) * width);
    let maxChunks = 0;
    for (const job of jobs) {
      const elements = tableElements(job.memory.arena, job.records, job.count);
      // Runs of whole records close at least half full (a record that does not fit opens the
      // next), and a record larger than `size` takes one chunk per piece of `size` elements.
      job.memory.splitChunks = Math.ceil((3 * elements) / size) + 2;
      maxChunks += job.memory.splitChunks;
    }
    this.chunkList(maxChunks);
    for (const job of jobs) reserveSplit(job.memory, job.count); // may grow memories: views are read after
    return size;
  }

  reserveChunks(chunks: number): void {
    this.chunkList(chunks);
  }

  /** The chunk list's block in the first memory, room for `chunks` entries (may grow it). */
  private chunkList(chunks: number): void {
    const bytes = chunks * ENTRY * 4;
    if (bytes > this.listBytes) {
      const arena = this.memories.first.arena;
      const size = Math.max(bytes, 1024);
      const ptr = arena.alloc(size);
      if (this.listBytes > 0) arena.free(this.listPtr, this.listBytes);
      this.listBytes = size;
      this.listPtr = ptr;
    }
  }

  /**
   * Cuts one memory's dense records into chunks of at most `size` elements. Records of `size`
   * elements or fewer are never cut: a chunk is a run of whole records read where the table has
   * them (no copy, so 4096 small variables cost no per-step work here). A larger record is cut at
   * 16-byte boundaries into pieces of `size` elements, each a chunk of one record copied into that
   * memory's split area with its pointers moved; only its last piece runs into its padding.
   * Appends the chunks to the list after entry `chunks`; returns the new number of entries.
   */
  private split(job: PoolJob, elementBytes: number, size: number, chunks: number): number {
    const { memory, records: source, count, scalars } = job;
    const i32 = memory.arena.i32;
    const u8 = memory.arena.u8;
    const out = this.memories.first.arena.i32;
    const list = this.listPtr >>> 2;
    const index = memory.arena.index;
    const open = (records: number): number => {
      const e = list + ENTRY * chunks;
      out[e] = index;
      out[e + 1] = scalars;
      out[e + 2] = records;
      out[e + 3] = 0;
      return e;
    };
    let run = -1; // list entry of the open run of whole records, or -1
    let room = 0; // elements that run may still take
    let at = memory.splitPtr; // where the next copied piece goes
    for (let k = 0; k < count; k++) {
      const rec = source + k * REC;
      const from = rec >>> 2;
      const length = i32[from + 6];
      if (length <= size) {
        if (run < 0 || length > room) {
          if (run >= 0) chunks++;
          run = open(rec);
          room = size;
        }
        out[run + 3]++;
        room -= length;
        continue;
      }
      if (run >= 0) {
        chunks++;
        run = -1;
      }
      for (let start = 0; start < length; start += size) {
        const to = at >>> 2;
        u8.copyWithin(at, rec, rec + REC);
        // Move every pointer (param, grad, m, v, and vhat / average where present) to the piece.
        // The i32 slots hold u32 offsets: adding wraps exactly as u32 arithmetic does.
        const offset = start * elementBytes;
        i32[to] += offset;
        i32[to + 1] += offset;
        i32[to + 2] += offset;
        i32[to + 3] += offset;
        if (i32[to + 4] !== 0) i32[to + 4] += offset;
        if (i32[to + 5] !== 0) i32[to + 5] += offset;
        i32[to + 6] = Math.min(size, length - start);
        out[open(at) + 3] = 1;
        chunks++;
        at += REC;
      }
    }
    if (run >= 0) chunks++;
    return chunks;
  }
}

/** Makes the memory's split area big enough for its records cut into `splitChunks` chunks. */
function reserveSplit(memory: KernelMemory, count: number): void {
  const bytes = (count + memory.splitChunks) * REC;
  if (bytes > memory.splitBytes) {
    const ptr = memory.arena.alloc(bytes);
    if (memory.splitBytes > 0) memory.arena.free(memory.splitPtr, memory.splitBytes);
    memory.splitBytes = bytes;
    memory.splitPtr = ptr;
  }
}
