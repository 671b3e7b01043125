import { nodeBuiltin } from './node-builtin.js';
import { describe } from '../describe.js';
import type { AdamKernels } from '../kernels/kernel.js';
import type { Optimizer } from '../optimizer.js';
import type { FloatArray } from '../storage.js';
import { Variable } from '../variable.js';
import { SharedMemoryCollectives, type Collectives } from './collectives.js';
import { LocalReplicas } from './local-replicas.js';
import { MeshKernels, type MeshParts } from './mesh-kernels.js';
import type { MeshLike } from './mesh-like.js';
import { SharedMemory, type SharedRef, type SharedStorage } from './shared-memory.js';
import { ShareAssigner } from './shares.js';
import { NO_SHARED_MEMORY, defaultReplicaCount, startThreads } from './start.js';

/** Options of {@link Mesh.local}. */
export interface LocalMeshOptions {
  /** Number of replicas (worker threads). Default: one per core. */
  replicas?: number;
  /**
   * A module each replica imports (a URL or absolute path, e.g. `new URL('./grad.js', import.meta.url)`):
   * it must export `gradients(context)`, and may export `init(data, replica)`. Needed for
   * `step(optimizer, variables, { inputs })`.
   */
  gradientModule?: string | URL;
  /** Passed to the gradient module's `init` on every replica. */
  initData?: unknown;
  /** How long the optimizer's synchronous phases wait for a replica before failing (ms). Default 120000. */
  timeoutMs?: number;
}

/** What one replica-computed step feeds: the replicas' own inputs, or their gradients given here. */
export type MeshFeed =
  /** Each replica's input for the gradient module (structured-cloned), by rank. */
  | { readonly inputs: readonly unknown[] }
  /** Each replica's gradients, by rank, in the variables' order (for tests and callers that compute them elsewhere). */
  | { readonly gradients: readonly (readonly FloatArray[])[] };

/** The outcome of {@link Mesh.step}. */
export interface MeshStepResult {
  /** The optimizer's iterations after the step. */
  readonly iterations: number;
  /** What each replica's `gradients` function returned, by rank (empty when gradients were given). */
  readonly results: readonly unknown[];
}

/** Per variable list: each replica's gradient buffers, the reduced gradients and their owners. */
interface StepBuffers {
  readonly variables: readonly Variable[];
  readonly parts: SharedStorage[][];
  readonly reduced: SharedStorage[];
  readonly owners: number[];
}

/**
 * Data-parallel training on the cores of one machine: `replicas` worker threads, parameters and
 * optimizer state in shared memory, each replica owning the state of a share of the parameters
 * (ZeRO stage 1). Give it to an optimizer (`new Adam({ mesh })`), then take steps with
 * {@link step}; `dispose()` stops the threads.
 */
export class Mesh implements MeshLike {
  /** The collectives steps use (in-process: shared memory). */
  readonly collectives: Collectives;
  private readonly memory = new SharedMemory();
  private readonly local: LocalReplicas;
  private readonly parts: MeshParts;
  private readonly kernelSets = new Map<boolean, MeshKernels>();
  private buffers: StepBuffers | null = null;
  private disposed = false;
  private busy = false;

  private constructor(local: LocalReplicas, private readonly hasModule: boolean) {
    this.local = local;
    this.collectives = new SharedMemoryCollectives(local);
    const self = this;
    this.parts = {
      memory: this.memory, replicas: local, collectives: this.collectives,
      shares: new ShareAssigner(local.size), owners: new WeakMap(),
      shareBuffers: () => self.shareBuffers(),
    };
  }

  /** Starts a mesh of worker threads on this machine (Web Workers in browsers: cross-origin isolation needed). */
  static async local(options: LocalMeshOptions = {}): Promise<Mesh> {
    if (options === null || typeof options !== 'object') throw new TypeError(`Mesh.local: options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options)) {
      if (!['replicas', 'gradientModule', 'initData', 'timeoutMs'].includes(key)) {
        throw new TypeError(`Mesh.local: unknown option '${key}' (known: replicas, gradientModule, initData, timeoutMs)`);
      }
    }
    const replicas = options.replicas ?? (await defaultReplicaCount());
    if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`Mesh.local: replicas must be an integer >= 1, got ${describe(options.replicas)}`);
    const timeoutMs = options.timeoutMs ?? 120_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`Mesh.local: timeoutMs must be > 0, got ${describe(options.timeoutMs)}`);
    const module = options.gradientModule;
    if (module !== undefined && typeof module !== 'string' && !(module instanceof URL)) {
      throw new TypeError(`Mesh.local: gradientModule must be a URL or a string, got ${describe(module)}`);
    }
    if (typeof SharedArrayBuffer === 'undefined') throw new Error(NO_SHARED_MEMORY);
    const local = new LocalReplicas(replicas, timeoutMs);
    await startThreads(local);
    const mesh = new Mesh(local, module !== undefined);
    if (module !== undefined) {
      const url = typeof module === 'string' && !/^[a-z]+:/i.test(module) ? (await nodeBuiltin<typeof import('node:url')>('node:url')).pathToFileURL(module).href : String(module);
      try {
        await local.send(mesh.ranks(), () => ({ type: 'load', url, data: options.initData ?? null }));
      } catch (error) {
        mesh.dispose();
        throw error;
      }
    }
    return mesh;
  }

  /** Number of replicas. */
  get replicas(): number {
    return this.local.size;
  }

  /** Elements of the parameters each replica owns (the optimizer state it updates). */
  get shareSizes(): readonly number[] {
    return [...this.parts.shares.elements];
  }

  /** @internal */
  kernelsFor(jitCompile: boolean): AdamKernels {
    this.checkUsable();
    let kernels = this.kernelSets.get(jitCompile);
    if (kernels === undefined) this.kernelSets.set(jitCompile, (kernels = new MeshKernels(this.parts, jitCompile)));
    return kernels;
  }

  /**
   * One data-parallel step: every replica's gradients (computed by the gradient module from its
   * input, or given), averaged in rank order into their owners' shares, then one optimizer step,
   * each owner updating its share. A failing replica fails the step and changes nothing.
   */
  async step(optimizer: Optimizer, variables: readonly Variable[], feed: MeshFeed): Promise<MeshStepResult> {
    this.checkUsable();
    if (this.busy) throw new Error('mesh: a step is already running on this mesh; await it first');
    if (optimizer.mesh !== this) throw new Error(`mesh.step: the optimizer '${optimizer.name}' was not created with this mesh (pass { mesh } to its constructor)`);
    if (!Array.isArray(variables) || variables.length === 0 || !variables.every((v) => v instanceof Variable)) {
      throw new TypeError(`mesh.step: variables must be a non-empty array of Variables, got ${describe(variables)}`);
    }
    const gradients = 'gradients' in feed ? feed.gradients : null;
    const inputs = 'inputs' in feed ? feed.inputs : null;
    if (gradients === null && inputs === null) throw new TypeError('mesh.step: feed must have inputs or gradients');
    if (gradients !== null) this.checkGradients(gradients, variables);
    if (inputs !== null) {
      if (!this.hasModule) throw new Error('mesh.step: { inputs } needs a gradientModule (Mesh.local({ gradientModule }))');
      if (!Array.isArray(inputs) || inputs.length !== this.replicas) throw new RangeError(`mesh.step: inputs must have one entry per replica (${this.replicas}), got ${describe(inputs)}`);
    }
    optimizer.build(variables);
    this.busy = true;
    try {
      const buffers = this.buffersFor(variables);
      let results: unknown[] = [];
      if (gradients !== null) {
        gradients.forEach((list, r) => list.forEach((g, i) => buffers.parts[r][i].array.set(g)));
      } else {
        this.shareBuffers();
        const params = variables.map((v) => this.refOf(v.value));
        results = await this.local.send(this.ranks(), (rank) => ({
          type: 'gradients', step: optimizer.iterations, params, grads: buffers.parts[rank].map(refOfStorage), input: inputs![rank],
        }));
      }
      this.shareBuffers();
      await this.collectives.reduceScatter(buffers.parts.map((p) => p.map(refOfStorage)), buffers.reduced.map(refOfStorage), buffers.owners);
      const iterations = optimizer.applyGradients(variables.map((v, i) => [buffers.reduced[i].array, v] as const));
      await this.collectives.allGather();
      return { iterations, results };
    } finally {
      this.busy = false;
    }
  }

  /** @internal Runs a function the gradient module exports, on every replica; resolves to each one's result. */
  async call(name: string, data: (rank: number) => unknown): Promise<unknown[]> {
    this.checkUsable();
    this.shareBuffers();
    return this.local.send(this.ranks(), (rank) => ({ type: 'call', name, data: data(rank) }));
  }

  /** @internal The shared location of a parameter (for gradient modules that read them). */
  refOf(array: FloatArray): SharedRef {
    const ref = this.memory.refOf(array);
    if (ref === null) throw new Error('mesh: this array is not in the mesh\'s shared memory (build the optimizer on the mesh first)');
    return ref;
  }

  /** Stops the replicas' threads. The mesh and its optimizers cannot take steps afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.local.terminate();
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  private ranks(): number[] {
    return Array.from({ length: this.replicas }, (_, r) => r);
  }

  private checkUsable(): void {
    if (this.disposed) throw new Error('mesh: this mesh has been disposed');
    const failure = this.local.failure;
    if (failure !== null) throw new Error(`${failure}; dispose this mesh and start a new one`);
  }

  private shareBuffers(): void {
    const entries = this.memory.takeNew();
    if (entries.length > 0) this.local.sendSync(this.ranks(), () => ({ type: 'buffers', entries }));
  }

  private checkGradients(gradients: readonly (readonly FloatArray[])[], variables: readonly Variable[]): void {
    if (!Array.isArray(gradients) || gradients.length !== this.replicas) {
      throw new RangeError(`mesh.step: gradients must have one list per replica (${this.replicas}), got ${describe(gradients)}`);
    }
    gradients.forEach((list, r) => {
      if (!Array.isArray(list) || list.length !== variables.length) throw new RangeError(`mesh.step: replica ${r}'s gradients must be ${variables.length} arrays, got ${describe(list)}`);
      list.forEach((g, i) => {
        const v = variables[i];
        const ok = v.dtype === 'float64' ? g instanceof Float64Array : g instanceof Float32Array;
        if (!ok || g.length !== v.size) throw new TypeError(`mesh.step: replica ${r}'s gradient of '${v.name}' must be a ${v.dtype} array of ${v.size} values, got ${describe(g)}`);
      });
    });
  }

  /** Gradient buffers for this variable list, made once and reused while the list is the same. */
  private buffersFor(variables: readonly Variable[]): StepBuffers {
    const cached = this.buffers;
    if (cached !== null && cached.variables.length === variables.length && cached.variables.every((v, i) => v === variables[i])) return cached;
    const owners = variables.map((v) => {
      const owner = this.parts.owners.get(v.storageRef);
      if (owner === undefined) throw new Error(`mesh.step: variable '${v.name}' is not in this mesh's memory (the optimizer was built for other variables)`);
      return owner;
    });
    const parts = this.ranks().map(() => variables.map((v) => this.memory.allocate(v.dtype, v.size)));
    const reduced = variables.map((v, i) => {
      const storage = this.memory.allocate(v.dtype, v.size);
      this.parts.owners.set(storage.buffer, owners[i]);
      return storage;
    });
    this.buffers = { variables: [...variables], parts, reduced, owners };
    return this.buffers;
  }
}

function refOfStorage(storage: SharedStorage): SharedRef {
  return { id: storage.id, dtype: storage.dtype, offset: 0, length: storage.length };
}
