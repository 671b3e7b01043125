/**
 * What the typed-array path cannot avoid on one thread: copying every gradient into kernel memory.
 * Gradients in ordinary arrays are out of the kernels' reach, so each step copies them in, tile by
 * tile (16 KiB, as the optimizer stages them), into a ring that stays in cache. The copy reads the
 * gradient from memory as one stream, before the step's own streams start, so on one thread its
 * time adds to the step's. Measured alone here, with no step, on the workload's arrays.
 */
import { TILE_BYTES } from '../../src/kernels/compiled/tiles.js';
import { fillGradient, measureRate } from '../timing.js';
import { totalParams, type ChildTask, type PeerResult } from '../workloads.js';

const RING = 32;

export async function runCopyFloor(task: ChildTask): Promise<PeerResult> {
  const w = task.workload;
  const f64 = w.dtype === 'float64';
  const elementBytes = f64 ? 8 : 4;
  // Shared, as the optimizer's kernel memory is in Node: V8 copies into a SharedArrayBuffer word by
  // word (about 1.4x the time of a copy into an ordinary memory, measured here).
  const pages = Math.ceil((RING * TILE_BYTES) / 65536) + 1;
  const shared = typeof SharedArrayBuffer === 'function';
  const memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared } : { initial: pages });
  const ring = f64 ? new Float64Array(memory.buffer) : new Float32Array(memory.buffer);
  const tileElements = TILE_BYTES / elementBytes;
  // Every gradient's tiles as views, made once (the optimizer keeps its views from step to step).
  const tiles: (Float32Array | Float64Array)[] = [];
  for (let i = 0; i < w.count; i++) {
    const g = f64 ? new Float64Array(w.size) : new Float32Array(w.size);
    fillGradient(g, i);
    for (let start = 0; start < g.length; start += tileElements) tiles.push(g.subarray(start, start + tileElements));
  }
  // Small arrays share a tile, as in the optimizer: pieces go one after another into the ring.
  const step = (): void => {
    let at = 0;
    for (const piece of tiles) {
      if (at + piece.length > RING * tileElements) at = 0;
      ring.set(piece, at);
      at += piece.length;
    }
  };
  const rate = await measureRate(step, totalParams(w), task.timing);
  return {
    workload: w.id,
    key: 'copy-floor',
    label: 'floor: copying typed-array grads into kernel memory, 1 thread',
    rate,
    note: `TypedArray.set in ${TILE_BYTES / 1024} KiB tiles into a ${RING}-tile ring of ${shared ? 'shared' : 'ordinary'} memory, no step`,
  };
}
