import { DONE, ERROR_BYTES, FAILED, PENDING, STOPPED, type Command, type ReplicaErrorInfo, type Reply } from './protocol.js';

/** An error a replica threw, with its message and its stack (the replica's frames). */
export class ReplicaError extends Error {
  constructor(readonly rank: number, readonly during: string, info: ReplicaErrorInfo) {
    super(`mesh replica ${rank} failed during '${during}': ${info.message}`);
    this.name = 'ReplicaError';
    this.replicaStack = info.stack;
    this.stack = `${this.name}: ${this.message}\n--- replica ${rank} stack ---\n${info.stack}`;
  }
  /** The stack as the replica saw it. */
  readonly replicaStack: string;
}

/** The minimum a replica thread must offer: Node's Worker and browsers' Worker both do. */
export interface ReplicaThread {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Events the owner of a thread reports to {@link LocalReplicas}. */
export interface ThreadEvents {
  message(rank: number, reply: Reply): void;
  exit(rank: number, reason: string): void;
}

/**
 * The main thread's end of the replicas of one machine: commands in order, answers awaited as
 * messages (async) or on shared status slots (sync, for the optimizer's synchronous step).
 */
export class LocalReplicas implements ThreadEvents {
  readonly status: Int32Array;
  readonly control: SharedArrayBuffer;
  readonly errors: SharedArrayBuffer;
  private threads: ReplicaThread[] = [];
  private seq = 1;
  private readonly waiting = new Map<number, { rank: number; during: string; resolve(v: unknown): void; reject(e: Error): void }>();
  /** Why each replica stopped, once it has. */
  private readonly stoppedReason: (string | null)[];
  /** Called while a command is in flight and when none is (Node: keep the process alive, or not). */
  onBusy: (busy: boolean) => void = () => {};

  constructor(readonly size: number, readonly timeoutMs: number) {
    this.control = new SharedArrayBuffer(4 * size);
    this.errors = new SharedArrayBuffer(ERROR_BYTES * size);
    this.status = new Int32Array(this.control);
    this.stoppedReason = new Array<string | null>(size).fill(null);
  }

  attach(threads: ReplicaThread[]): void {
    this.threads = threads;
  }

  /** Why a replica stopped, or null while all run. */
  get failure(): string | null {
    const rank = this.stoppedReason.findIndex((r) => r !== null);
    return rank < 0 ? null : `mesh replica ${rank} has stopped (${this.stoppedReason[rank]})`;
  }

  message(rank: number, reply: Reply): void {
    const waiter = this.waiting.get(reply.seq);
    if (waiter === undefined) return;
    this.waiting.delete(reply.seq);
    if (this.waiting.size === 0) this.onBusy(false);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new ReplicaError(rank, waiter.during, reply.error));
  }

  exit(rank: number, reason: string): void {
    this.stoppedReason[rank] ??= reason;
    for (const [seq, waiter] of this.waiting) {
      if (waiter.rank !== rank) continue;
      this.waiting.delete(seq);
      waiter.reject(new Error(`mesh replica ${rank} stopped during '${waiter.during}' (${reason}); the step was not applied`));
    }
    if (this.waiting.size === 0) this.onBusy(false);
  }

  /** Sends a command to each rank in `ranks` and awaits every answer (the first error wins, in rank order). */
  async send(ranks: readonly number[], command: (rank: number) => Command): Promise<unknown[]> {
    this.checkRunning();
    const answers = ranks.map((rank) => this.post(rank, command(rank)));
    const settled = await Promise.allSettled(answers);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }

  /**
   * Sends and blocks until every rank has answered, on the status slots (the answers' messages are
   * then dropped). Throws the first failure in rank order.
   */
  sendSync(ranks: readonly number[], command: (rank: number) => Command): void {
    this.checkRunning();
    for (const rank of ranks) Atomics.store(this.status, rank, PENDING);
    for (const rank of ranks) this.post(rank, command(rank)).catch(() => {});
    const deadline = performance.now() + this.timeoutMs;
    let failure: Error | null = null;
    for (const rank of ranks) {
      for (;;) {
        const state = Atomics.load(this.status, rank);
        if (state !== PENDING) break;
        const left = deadline - performance.now();
        if (left <= 0) {
          failure ??= new Error(`mesh replica ${rank} did not answer '${command(rank).type}' within ${this.timeoutMs} ms`);
          break;
        }
        blockOn(this.status, rank, Math.min(left, 100));
      }
      const state = Atomics.load(this.status, rank);
      if (state === FAILED) failure ??= new ReplicaError(rank, command(rank).type, this.readError(rank));
      else if (state === STOPPED) {
        this.stoppedReason[rank] ??= 'its thread exited';
        failure ??= new Error(`mesh replica ${rank} stopped during '${command(rank).type}'; the step was not applied`);
      } else if (state !== DONE && failure === null) failure = new Error(`mesh replica ${rank}: unexpected status ${state}`);
    }
    if (failure !== null) throw failure;
  }

  terminate(): void {
    for (const thread of this.threads) thread.terminate();
    for (let rank = 0; rank < this.size; rank++) this.exit(rank, 'the mesh was disposed');
  }

  private post(rank: number, command: Command): Promise<unknown> {
    const seq = this.seq++;
    const during = command.type;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.onBusy(true);
      this.waiting.set(seq, { rank, during, resolve, reject });
      this.threads[rank].postMessage({ seq, command });
    });
  }

  private checkRunning(): void {
    const failure = this.failure;
    if (failure !== null) throw new Error(`${failure}; dispose this mesh and start a new one`);
  }

  private readError(rank: number): ReplicaErrorInfo {
    const bytes = new Uint8Array(this.errors, rank * ERROR_BYTES, ERROR_BYTES);
    const length = new DataView(this.errors, rank * ERROR_BYTES).getUint32(0, true);
    try {
      return JSON.parse(new TextDecoder().decode(bytes.slice(4, 4 + length))) as ReplicaErrorInfo;
    } catch {
      return { message: 'an error whose text could not be read', stack: '', name: 'Error' };
    }
  }
}

/** Atomics.wait where the thread may block (Node, workers); a short spin on a browser's main thread. */
function blockOn(status: Int32Array, index: number, ms: number): void {
  try {
    Atomics.wait(status, index, PENDING, ms);
  } catch {
    const until = performance.now() + Math.min(ms, 1);
    while (performance.now() < until && Atomics.load(status, index) === PENDING) { /* spin */ }
  }
}
