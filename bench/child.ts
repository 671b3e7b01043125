/**
 * One measurement in its own process (forked by bench/run.ts with --expose-gc): a fresh heap, a
 * fresh kernel memory and a fresh TensorFlow.js engine for every peer and workload.
 * Input: the task as JSON in argv[2]. Output: `{ results }` or `{ error }` over the IPC channel.
 */
import { runAdapter } from './peers/adapter.js';
import { runCopyFloor } from './peers/copy-floor.js';
import { runOurs } from './peers/ours.js';
import { runTfjs } from './peers/tfjs.js';
import type { ChildTask, PeerResult } from './workloads.js';

export type ChildReply = { results: PeerResult[] } | { error: string };

async function main(): Promise<ChildReply> {
  const task = JSON.parse(process.argv[2] ?? '{}') as ChildTask;
  switch (task.peer) {
    case 'ours-buffer':
    case 'ours-typed':
    case 'ours-reference':
      return { results: [await runOurs(task)] };
    case 'tfjs-cpu':
    case 'tfjs-wasm':
      return { results: [await runTfjs(task)] };
    case 'adapter-cpu':
    case 'adapter-wasm':
      return { results: await runAdapter(task) };
    case 'copy-floor':
      return { results: [await runCopyFloor(task)] };
    default:
      return { error: `unknown peer ${String((task as { peer?: unknown }).peer)}` };
  }
}

function send(reply: ChildReply): void {
  if (process.send) process.send(reply, () => process.exit(0));
  else {
    console.log(JSON.stringify(reply));
    process.exit(0);
  }
}

main().then(send, (error: unknown) => {
  send({ error: error instanceof Error ? `${error.message}` : String(error) });
});
