import type { FloatArray } from '../../storage.js';
import type { KernelMemory } from './memories.js';
import { ENTRY, type TileSource } from './threads.js';

/** Elements per block of a sum of squares: partial sums are added in block order. */
export const SUM_BLOCK = 1 << 14;
/** Ring slots for blocks being summed (each SUM_BLOCK float64s). */
const SUM_RING = 8;
const SLOT_BYTES = SUM_BLOCK * 8;
/** Bytes per sums record (assembly/adam.ts: sumsqMany). */
const RECORD = 16;

/**
 * Sums of squares of ordinary arrays over the worker threads: each array is cut into SUM_BLOCK
 * blocks (the same blocks a kernel-memory array is summed in), which the main thread copies into a
 * ring in the first memory while every thread sums blocks already copied. Each block's sum is the
 * same wherever it is computed, and the blocks are added in order, so the result does not depend
 * on the thread count.
 */
export class SumTiles implements TileSource {
  count = 0;
  readonly ring = SUM_RING;
  private ringPtr = 0;
  private recordsPtr = 0;
  private recordsBytes = 0;
  private values: readonly FloatArray[] = [];
  /** Per block: its array (index into `values`) and first element. */
  private readonly blockArray: number[] = [];
  private readonly blockStart: number[] = [];

  constructor(private readonly memory: KernelMemory) {}

  /** Lays out the blocks of `values[i]` for every i in `indices` (may grow the first memory). */
  prepare(values: readonly FloatArray[], indices: readonly number[]): void {
    const arena = this.memory.arena;
    this.values = values;
    this.blockArray.length = 0;
    this.blockStart.length = 0;
    for (const i of indices) {
      for (let start = 0; start < values[i].length; start += SUM_BLOCK) {
        this.blockArray.push(i);
        this.blockStart.push(start);
      }
    }
    this.count = this.blockArray.length;
    const bytes = this.count * RECORD;
    if (bytes > this.recordsBytes) {
      const ptr = arena.alloc(bytes);
      if (this.recordsBytes > 0) arena.free(this.recordsPtr, this.recordsBytes);
      this.recordsBytes = bytes;
      this.recordsPtr = ptr;
    }
    if (this.ringPtr === 0) this.ringPtr = arena.alloc(SUM_RING * SLOT_BYTES);
  }

  describe(out: Int32Array, at: number): void {
    const index = this.memory.arena.index;
    for (let k = 0; k < this.count; k++, at += ENTRY) {
      out[at] = index;
      out[at + 1] = 0;
      out[at + 2] = this.recordsPtr + k * RECORD;
      out[at + 3] = 1;
    }
  }

  copy(k: number): void {
    const arena = this.memory.arena;
    const values = this.values[this.blockArray[k]];
    const start = this.blockStart[k];
    const length = Math.min(SUM_BLOCK, values.length - start);
    const slot = this.ringPtr + (k % SUM_RING) * SLOT_BYTES;
    const wide = values instanceof Float64Array;
    const block = length === values.length ? values : values.subarray(start, start + length);
    if (wide) arena.f64.set(block, slot >>> 3);
    else arena.f32.set(block, slot >>> 2);
    const r = (this.recordsPtr + k * RECORD) >>> 2;
    arena.i32[r] = slot;
    arena.i32[r + 1] = length;
    arena.i32[r + 2] = wide ? 1 : 0;
  }

  run(k: number): void {
    this.memory.wasm.sumsqMany(this.recordsPtr + k * RECORD, 1);
  }

  /** `out[i]` = the sum of the blocks of `values[i]`, added in order, for every array laid out. */
  results(out: Float64Array): void {
    const f64 = this.memory.arena.f64;
    let k = 0;
    while (k < this.count) {
      const i = this.blockArray[k];
      let sum = 0;
      for (; k < this.count && this.blockArray[k] === i; k++) sum += f64[(this.recordsPtr + k * RECORD) >>> 3];
      out[i] = sum;
    }
  }
}
