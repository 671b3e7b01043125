import { createCompiledKernels } from '../kernels/compiled/index.js';
import type { AdamKernels, DenseSlotSet } from '../kernels/kernel.js';
import { referenceKernels } from '../kernels/reference.js';
import { HeapStorage, type FloatArray, type Storage } from '../storage.js';
import { DONE, ERROR_BYTES, FAILED, STOPPED, type Command, type ReplicaData, type ReplicaErrorInfo, type Reply, type SharedSlotSet } from './protocol.js';
import { viewOf, type SharedRef } from './shared-memory.js';

/** What a gradient module's `gradients` function receives on each replica. */
export interface GradientContext<Input = unknown> {
  /** This replica's rank, 0-based, and the number of replicas. */
  readonly rank: number;
  readonly size: number;
  /** The step about to be taken (the optimizer's iterations before it). */
  readonly step: number;
  /** The current parameters, in the variables' order (shared memory: read, never write). */
  readonly params: readonly FloatArray[];
  /** Write this replica's gradient of each parameter here (same order and sizes). */
  readonly grads: readonly FloatArray[];
  /** This replica's input for the step, as passed to `mesh.step` (structured-cloned). */
  readonly input: Input;
}

/** A user's gradient module: it must export `gradients`; `init` runs once per replica if present. */
export interface GradientModule {
  gradients(context: GradientContext): unknown;
  init?(data: unknown, replica: { rank: number; size: number }): unknown;
  [name: string]: unknown;
}

/** A step's result for one shared array, copied there once every replica succeeded. */
interface Staged {
  readonly staging: FloatArray;
  readonly live: FloatArray;
}

/** The replica's side of the protocol, independent of how messages arrive. */
export class ReplicaRuntime {
  private readonly buffers = new Map<number, SharedArrayBuffer>();
  private readonly status: Int32Array;
  private readonly errorText: Uint8Array;
  private module: GradientModule | null = null;
  private compiled: AdamKernels | null | undefined;
  /** The compiled kernels' copies, by shared buffer, reused from step to step. */
  private readonly scratch = new Map<string, Storage>();
  private pending: Staged[] = [];

  constructor(private readonly data: ReplicaData, private readonly reply: (reply: Reply) => void) {
    this.status = new Int32Array(data.control);
    this.errorText = new Uint8Array(data.errors, data.rank * ERROR_BYTES, ERROR_BYTES);
  }

  /** Marks this replica stopped, for a main thread that waits on it. */
  stopped(): void {
    Atomics.store(this.status, this.data.rank, STOPPED);
    Atomics.notify(this.status, this.data.rank);
  }

  async handle(seq: number, command: Command): Promise<void> {
    try {
      const result = await this.run(command);
      Atomics.store(this.status, this.data.rank, DONE);
      Atomics.notify(this.status, this.data.rank);
      this.reply({ seq, ok: true, result });
    } catch (thrown) {
      const error = errorInfo(thrown);
      const bytes = new TextEncoder().encode(JSON.stringify(error)).subarray(0, ERROR_BYTES - 4);
      new DataView(this.errorText.buffer, this.errorText.byteOffset).setUint32(0, bytes.length, true);
      this.errorText.set(bytes, 4);
      Atomics.store(this.status, this.data.rank, FAILED);
      Atomics.notify(this.status, this.data.rank);
      this.reply({ seq, ok: false, error });
    }
  }

  private async run(command: Command): Promise<unknown> {
    switch (command.type) {
      case 'buffers':
        for (const [id, buffer] of command.entries) this.buffers.set(id, buffer);
        return null;
      case 'load': {
        const loaded = (await importModule(command.url)) as Partial<GradientModule>;
        if (typeof loaded.gradients !== 'function') {
          throw new TypeError(`mesh: the gradient module ${command.url} must export a function 'gradients'`);
        }
        this.module = loaded as GradientModule;
        if (typeof loaded.init === 'function') await loaded.init(command.data, { rank: this.data.rank, size: this.data.size });
        return null;
      }
      case 'gradients': {
        if (this.module === null) throw new Error('mesh: no gradient module is loaded on this replica');
        return await this.module.gradients({
          rank: this.data.rank, size: this.data.size, step: command.step,
          params: command.params.map((r) => this.view(r)), grads: command.grads.map((r) => this.view(r)),
          input: command.input,
        });
      }
      case 'call': {
        const fn = this.module?.[command.name];
        if (typeof fn !== 'function') throw new Error(`mesh: the gradient module has no function '${command.name}'`);
        return await (fn as (data: unknown) => unknown).call(this.module, command.data);
      }
      case 'reduce':
        for (const item of command.items) meanInRankOrder(item.parts.map((r) => this.view(r)), this.view(item.out));
        return null;
      case 'sums': {
        const kernels = this.kernels(command.jitCompile);
        const out = this.view(command.out);
        const sums = new Float64Array(command.arrays.length);
        kernels.sumsOfSquares(command.arrays.map((r) => this.view(r)), sums);
        command.indices.forEach((index, k) => { out[index] = sums[k]; });
        return null;
      }
      case 'step':
        this.step(command.sets, command.scalars, command.jitCompile);
        return null;
      case 'commit':
        for (const { staging, live } of this.pending) live.set(staging);
        this.pending = [];
        return null;
      case 'abort':
        this.pending = [];
        return null;
    }
  }

  /**
   * The share's dense step, run by the same kernel set the optimizer uses, into the staging arrays
   * (shared memory): the reference loops compute there in place; the compiled kernels compute in
   * their own memory and copy the results there.
   */
  private step(sets: readonly SharedSlotSet[], scalars: Parameters<AdamKernels['denseStep']>[1], jitCompile: boolean): void {
    const kernels = this.kernels(jitCompile);
    this.pending = [];
    const copiesOut: { staging: FloatArray; local: Storage }[] = [];
    const stage = (live: SharedRef, staging: SharedRef): Storage => {
      const shared = this.view(staging);
      shared.set(this.view(live));
      this.pending.push({ staging: shared, live: this.view(live) });
      if (kernels === referenceKernels) return new HeapStorage(shared);
      const key = `${live.id}:${live.offset}`;
      let local = this.scratch.get(key);
      if (local === undefined || local.length !== live.length) this.scratch.set(key, (local = kernels.allocate(live.dtype, live.length)));
      local.array.set(shared);
      copiesOut.push({ staging: shared, local });
      return local;
    };
    const byDtype: DenseSlotSet[][] = [[], []];
    for (const set of sets) {
      const s = set.staging;
      byDtype[set.param.dtype === 'float64' ? 1 : 0].push({
        param: stage(set.param, s.param), grad: this.view(set.grad), m: stage(set.m, s.m), v: stage(set.v, s.v),
        vhat: set.vhat === null ? null : stage(set.vhat, s.vhat!),
        average: set.average === null ? null : stage(set.average, s.average!),
        gradScale: set.gradScale, decay: set.decay,
      });
    }
    for (const group of byDtype) if (group.length > 0) kernels.denseStep(group, scalars);
    // Re-read the kernel memory's arrays: the step may have grown it.
    for (const { staging, local } of copiesOut) staging.set(local.array);
  }

  private kernels(jitCompile: boolean): AdamKernels {
    if (!jitCompile) return referenceKernels;
    if (this.compiled === undefined) {
      try {
        this.compiled = createCompiledKernels({ threads: 1 });
      } catch {
        this.compiled = null;
      }
    }
    return this.compiled ?? referenceKernels;
  }

  private view(ref: SharedRef): FloatArray {
    return viewOf(this.buffers, ref);
  }
}

/** out = (parts[0] + parts[1] + ...) / count: summed in rank order in float64, rounded once. */
export function meanInRankOrder(parts: readonly ArrayLike<number>[], out: FloatArray): void {
  const count = parts.length;
  for (let j = 0; j < out.length; j++) {
    let sum = parts[0][j];
    for (let r = 1; r < count; r++) sum += parts[r][j];
    out[j] = sum / count;
  }
}

/** Imports a gradient module; a TypeScript one through tsx, when the worker started without it. */
async function importModule(url: string): Promise<unknown> {
  try {
    return await import(url);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    const tsx = 'tsx/esm/api';
    const api = (await import(tsx)) as { register(): void };
    api.register();
    // A fresh URL: the failed import stays cached under the first one.
    return await import(`${url}${url.includes('?') ? '&' : '?'}tsx`);
  }
}

function errorInfo(thrown: unknown): ReplicaErrorInfo {
  if (thrown instanceof Error) return { message: thrown.message, stack: thrown.stack ?? '', name: thrown.name };
  return { message: String(thrown), stack: '', name: 'Error' };
}
