// The entry of a replica worker thread (Node): the runtime, fed by the parent's messages.
import { parentPort, workerData } from 'node:worker_threads';
import type { Command, ReplicaData } from './protocol.js';
import { ReplicaRuntime } from './replica-runtime.js';

const port = parentPort!;
const runtime = new ReplicaRuntime(workerData as ReplicaData, (reply) => port.postMessage(reply));
process.on('exit', () => runtime.stopped());
// Commands run one after another, in the order sent.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: { seq: number; command: Command }) => {
  queue = queue.then(() => runtime.handle(message.seq, message.command));
});
port.postMessage({ seq: 0, ok: true, result: 'ready' });
