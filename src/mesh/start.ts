import { nodeBuiltin } from './node-builtin.js';
import type { ReplicaData, Reply } from './protocol.js';
import type { LocalReplicas, ReplicaThread } from './local-replicas.js';

/** Why a browser page cannot have a mesh. */
export const NO_SHARED_MEMORY = 'mesh: shared memory needs a cross-origin-isolated page: serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (self.crossOriginIsolated is false here, so SharedArrayBuffer is not available)';

/** One replica per core: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in browsers. */
export async function defaultReplicaCount(): Promise<number> {
  if (typeof process !== 'undefined' && process.versions?.node !== undefined) {
    const os = await nodeBuiltin<typeof import('node:os')>('node:os');
    return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  }
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, cores ?? 1);
}

/** The replica entry next to this module (the TypeScript source when run from source). */
function replicaEntry(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './replica.ts' : './replica.js', here);
}

/** Starts the replicas' threads and resolves once every one has said it is ready. */
export async function startThreads(replicas: LocalReplicas): Promise<void> {
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  if (!isNode) return startWebWorkers(replicas);
  const { Worker } = await nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  const threads: import('node:worker_threads').Worker[] = [];
  const ready: Promise<void>[] = [];
  for (let rank = 0; rank < replicas.size; rank++) {
    const data: ReplicaData = { rank, size: replicas.size, control: replicas.control, errors: replicas.errors };
    const entry = replicaEntry();
    // Run from TypeScript sources (tests), a worker needs tsx registered before it imports the entry.
    const worker = entry.pathname.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData: data })
      : new Worker(entry, { workerData: data });
    threads.push(worker);
    ready.push(new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (reply: Reply) => {
        if (reply.seq === 0) { started = true; resolve(); return; }
        replicas.message(rank, reply);
      });
      worker.on('error', (error) => {
        if (!started) reject(error);
        replicas.exit(rank, `it threw outside a command: ${error.message}`);
      });
      worker.on('exit', (code) => {
        if (!started) reject(new Error(`mesh replica ${rank} exited while starting (code ${code})`));
        replicas.exit(rank, `its thread exited with code ${code}`);
      });
    }));
  }
  replicas.attach(threads);
  // Idle replicas do not keep the process alive; one with a command in flight does.
  replicas.onBusy = (busy) => { for (const t of threads) if (busy) t.ref(); else t.unref(); };
  try {
    await Promise.all(ready);
  } catch (error) {
    for (const t of threads) void t.terminate();
    throw error;
  }
  replicas.onBusy(false);
}

/** Browsers: Web Workers, which need a cross-origin-isolated page for shared memory. */
async function startWebWorkers(replicas: LocalReplicas): Promise<void> {
  type WebWorker = ReplicaThread & {
    onmessage: ((event: { data: Reply }) => void) | null;
    onerror: ((event: { message?: string; preventDefault?(): void }) => void) | null;
  };
  const scope = globalThis as { crossOriginIsolated?: boolean; Worker?: new (url: URL, options: { type: 'module' }) => WebWorker };
  if (scope.crossOriginIsolated !== true || typeof SharedArrayBuffer === 'undefined') {
    throw new Error(NO_SHARED_MEMORY);
  }
  if (scope.Worker === undefined) throw new Error('mesh: this environment has no Web Workers');
  const threads: WebWorker[] = [];
  const ready: Promise<void>[] = [];
  for (let rank = 0; rank < replicas.size; rank++) {
    // Written out in full so that bundlers (Vite, webpack) see and bundle the worker entry.
    const worker = new scope.Worker(new URL('./replica-web.js', import.meta.url), { type: 'module' });
    threads.push(worker);
    ready.push(new Promise<void>((resolve, reject) => {
      let started = false;
      worker.onmessage = (event) => {
        if (event.data.seq === 0) { started = true; resolve(); return; }
        replicas.message(rank, event.data);
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        const reason = `its worker failed: ${event.message ?? 'unknown error'}`;
        if (!started) reject(new Error(`mesh replica ${rank} did not start (${reason})`));
        replicas.exit(rank, reason);
      };
    }));
    const data: ReplicaData = { rank, size: replicas.size, control: replicas.control, errors: replicas.errors };
    worker.postMessage(data);
  }
  replicas.attach(threads);
  try {
    await Promise.all(ready);
  } catch (error) {
    for (const t of threads) t.terminate();
    throw error;
  }
}
