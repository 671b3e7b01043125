import type { AdamKernels, DenseSlotSet, SparseSlotSet, StepScalars } from '../kernels/kernel.js';
import { selectKernels } from '../kernels/select.js';
import type { Dtype, FloatArray, Storage } from '../storage.js';
import type { Collectives } from './collectives.js';
import type { LocalReplicas } from './local-replicas.js';
import { DONE, type SharedSlotSet } from './protocol.js';
import { SharedStorage, type SharedMemory, type SharedRef } from './shared-memory.js';
import type { ShareAssigner } from './shares.js';

/** What the mesh kernels need of their mesh. */
export interface MeshParts {
  readonly memory: SharedMemory;
  readonly replicas: LocalReplicas;
  readonly collectives: Collectives;
  readonly shares: ShareAssigner;
  /** Owner replica of a parameter storage, and of a gradient buffer the mesh reduced into. */
  readonly owners: WeakMap<object, number>;
  /** Hands new shared buffers to every replica. */
  shareBuffers(): void;
}

/**
 * The kernel set of an optimizer on a mesh (ZeRO stage 1): parameters and state live in shared
 * memory; each parameter is owned by one replica, which alone computes its step (with the kernel
 * set the optimizer would use without a mesh) and its sum of squares. The optimizer's pipeline is
 * unchanged: it decides every rule and factor on the main thread, as without a mesh.
 */
export class MeshKernels implements AdamKernels {
  readonly name: 'reference' | 'compiled';
  private readonly local: AdamKernels;
  /** Shared copies of gradients that came from ordinary memory, per parameter storage. */
  private readonly gradCopies = new WeakMap<Storage, SharedStorage>();
  private sumsOut: SharedStorage | null = null;
  /** Where each shared array's step results wait for the commit. */
  private readonly staging = new WeakMap<Storage, SharedStorage>();

  constructor(private readonly mesh: MeshParts, private readonly jitCompile: boolean) {
    this.local = selectKernels(jitCompile);
    this.name = this.local.name;
  }

  allocate(dtype: Dtype, length: number): Storage {
    return this.mesh.memory.allocate(dtype, length);
  }

  /** A parameter enters shared memory here and is given its owner. */
  place(values: FloatArray): Storage {
    const storage = this.mesh.memory.allocate(values instanceof Float64Array ? 'float64' : 'float32', values.length);
    storage.array.set(values);
    this.mesh.owners.set(storage, this.mesh.shares.assign(values.length));
    return storage;
  }

  gradientBuffer(dtype: Dtype, length: number): Storage {
    return this.mesh.memory.allocate(dtype, length);
  }

  release(): void {
    // Shared buffers go to the garbage collector once no thread holds them.
  }

  sumOfSquares(values: FloatArray): number {
    return this.local.sumOfSquares(values);
  }

  sumsOfSquares(values: readonly FloatArray[], out: Float64Array): void {
    const owned: number[] = [];
    const refs: SharedRef[] = [];
    const owners: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const ref = this.mesh.memory.refOf(values[i]);
      const owner = ref === null ? undefined : this.mesh.owners.get(values[i].buffer);
      // Gradients the mesh reduced are summed by their owner; any other array here, with the same kernels.
      if (ref === null || owner === undefined) out[i] = this.local.sumOfSquares(values[i]);
      else { owned.push(i); refs.push(ref); owners.push(owner); }
    }
    if (owned.length === 0) return;
    if (this.sumsOut === null || this.sumsOut.length < values.length) {
      this.sumsOut = this.mesh.memory.allocate('float64', Math.max(values.length, 16));
    }
    this.mesh.shareBuffers();
    const target = this.sumsOut;
    this.mesh.collectives.allReduceSumsOfSquares(refs, owners, { id: target.id, dtype: 'float64', offset: 0, length: target.length }, this.jitCompile);
    owned.forEach((i, k) => { out[i] = target.array[k]; });
  }

  denseStep(sets: readonly DenseSlotSet[], scalars: StepScalars): void {
    if (sets.length === 0) return;
    const byOwner = new Map<number, SharedSlotSet[]>();
    for (const set of sets) {
      const owner = this.mesh.owners.get(set.param);
      if (owner === undefined) throw new Error('mesh: a variable in this step is not in the mesh\'s memory');
      let list = byOwner.get(owner);
      if (list === undefined) byOwner.set(owner, (list = []));
      list.push({
        staging: {
          param: this.stagingRef(set.param), m: this.stagingRef(set.m), v: this.stagingRef(set.v),
          vhat: set.vhat === null ? null : this.stagingRef(set.vhat),
          average: set.average === null ? null : this.stagingRef(set.average),
        },
        param: this.refOf(set.param.array), grad: this.gradRef(set), m: this.refOf(set.m.array), v: this.refOf(set.v.array),
        vhat: set.vhat === null ? null : this.refOf(set.vhat.array),
        average: set.average === null ? null : this.refOf(set.average.array),
        gradScale: set.gradScale, decay: set.decay,
      });
    }
    this.mesh.shareBuffers();
    const ranks = [...byOwner.keys()].sort((a, b) => a - b);
    const replicas = this.mesh.replicas;
    // Two phases. Every owner computes its share into staging arrays; if one fails, nothing has
    // changed. Then the owners copy them in; where one cannot (it died meanwhile), the main thread
    // does, so that a step is applied whole or not at all.
    try {
      replicas.sendSync(ranks, (rank) => ({ type: 'step', jitCompile: this.jitCompile, sets: byOwner.get(rank)!, scalars }));
    } catch (error) {
      try { replicas.sendSync(ranks.filter((r) => Atomics.load(replicas.status, r) === DONE), () => ({ type: 'abort' })); } catch { /* already failing */ }
      throw error;
    }
    try {
      replicas.sendSync(ranks, () => ({ type: 'commit' }));
    } catch {
      for (const rank of ranks) {
        if (Atomics.load(replicas.status, rank) === DONE) continue;
        for (const set of sets) if (this.mesh.owners.get(set.param) === rank) this.commitHere(set);
      }
    }
    for (const set of sets) set.copyTo?.set(set.param.array);
  }

  /** The commit of one set, by the main thread. */
  private commitHere(set: DenseSlotSet): void {
    for (const live of [set.param, set.m, set.v, set.vhat, set.average]) {
      if (live !== null) live.array.set(this.staging.get(live)!.array);
    }
  }

  private stagingRef(live: Storage): SharedRef {
    let staging = this.staging.get(live);
    if (staging === undefined) this.staging.set(live, (staging = this.mesh.memory.allocate(live.dtype, live.length)));
    return { id: staging.id, dtype: staging.dtype, offset: 0, length: staging.length };
  }

  /** A sparse step runs on the main thread, on private copies, with the optimizer's kernel set. */
  sparseStep(set: SparseSlotSet, scalars: StepScalars): void {
    const staged: [Storage, Storage][] = [];
    const stage = (s: Storage | null): Storage | null => {
      if (s === null) return null;
      const local = this.local.allocate(s.dtype, s.length);
      local.array.set(s.array);
      staged.push([s, local]);
      return local;
    };
    this.local.sparseStep({
      ...set, param: stage(set.param)!, m: stage(set.m)!, v: stage(set.v)!, vhat: stage(set.vhat), average: stage(set.average),
    }, scalars);
    for (const [shared, local] of staged) {
      shared.array.set(local.array);
      this.local.release(local);
    }
  }

  private refOf(array: FloatArray): SharedRef {
    const ref = this.mesh.memory.refOf(array);
    if (ref === null) throw new Error('mesh: optimizer state is outside the mesh\'s memory');
    return ref;
  }

  /** The gradient in shared memory: in place when it is there, else copied into a buffer kept per parameter. */
  private gradRef(set: DenseSlotSet): SharedRef {
    const ref = this.mesh.memory.refOf(set.grad);
    if (ref !== null) return ref;
    let copy = this.gradCopies.get(set.param);
    if (copy === undefined || copy.length !== set.grad.length) {
      copy = this.mesh.memory.allocate(set.param.dtype, set.grad.length);
      this.gradCopies.set(set.param, copy);
    }
    copy.array.set(set.grad);
    return { id: copy.id, dtype: copy.dtype, offset: 0, length: copy.length };
  }
}
