// The entry of a replica Web Worker (browsers): the first message carries the replica's data.
import type { Command, ReplicaData } from './protocol.js';
import { ReplicaRuntime } from './replica-runtime.js';

interface WorkerScope {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
let runtime: ReplicaRuntime | null = null;
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  if (runtime === null) {
    runtime = new ReplicaRuntime(event.data as ReplicaData, (reply) => scope.postMessage(reply));
    scope.postMessage({ seq: 0, ok: true, result: 'ready' });
    return;
  }
  const { seq, command } = event.data as { seq: number; command: Command };
  const r = runtime;
  queue = queue.then(() => r.handle(seq, command));
};
