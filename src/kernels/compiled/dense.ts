import type { Dtype, FloatArray } from '../../storage.js';
import type { DenseSlotSet, StepScalars } from '../kernel.js';
import { Arena, ArenaStorage, bytesPer, pad16 } from './arena.js';
import { AMSGRAD, EMA, OVERWRITE, SCALAR_BLOCK_BYTES, stepFlags, writeScalars } from './scalars.js';
import { GradientTiles } from './tiles.js';

/** Bytes per table record; the layout is documented in assembly/adam.ts. */
const REC = 48;
const REC_I32 = REC / 4;
const SEEN_STRIDE = 8;
/** seen[j + 7] for a set run by the reference kernels, which take any gradient. */
const FOREIGN = -2;
/** seen[j + 7] for a set whose gradient is in kernel memory (read in place, or staged from there). */
const PINNED = -1;
/** seen[j + 7] for a set whose gradient is an ordinary array, staged tile by tile. */
const TILED = -3;

/**
 * The table a dense step hands to wasm (the step's scalar block, then one record per variable:
 * byte offsets of its storages, length, flags, gradient scale and decay) and the staging area for
 * gradients that are not in kernel memory. One instance per dtype, reused from call to call: when
 * the same slot sets come again (the optimizer's steady state) only the per-step values are
 * rewritten and the staged gradients copied, with no allocation in JavaScript or in the arena.
 */
export class DenseTable {
  private tablePtr = 0;
  private tableBytes = 0;
  private stagePtr = 0;
  private stageBytes = 0;
  /**
   * What the last call's records were built from, SEEN_STRIDE entries per set in call order: the
   * set, its gradient and storages, and how the gradient is read (PINNED, FOREIGN, or the length
   * of a staged copy of an ordinary array). The optimizer reuses its set objects and reassigns
   * their fields between steps, so every field that the records depend on is compared.
   */
  private readonly seen: unknown[] = [];
  /** Per record: its set, the byte offset of its staged gradient (-1 in place), its flag mask. */
  private readonly recordSets: DenseSlotSet[] = [];
  private readonly recordStage: number[] = [];
  private readonly recordMask: number[] = [];
  /**
   * Per record: the byte offset of its gradient when that is in kernel memory (-1 otherwise),
   * recorded before anything could grow the memory. A kernel-memory gradient that must be staged
   * (unaligned, or of the other dtype) is copied from this offset, since growth of an ordinary
   * memory detaches the caller's view.
   */
  private readonly gradPtr: number[] = [];
  /** Sets whose storages are not in this arena; the caller runs them with the reference kernels. */
  readonly foreign: DenseSlotSet[] = [];
  /** Sets of this step read in kernel memory that have a `copyTo`: the caller copies them out after the run. */
  readonly copyAfter: DenseSlotSet[] = [];
  /** Sets whose gradients are ordinary arrays: they run tile by tile (see tiles.ts). */
  private readonly tiledSets: DenseSlotSet[] = [];
  private readonly tiledMask: number[] = [];
  /** The tiles of the ordinary-array gradients. */
  readonly tiles: GradientTiles;

  constructor(
    private readonly arena: Arena,
    private readonly dtype: Dtype,
  ) {
    this.tiles = new GradientTiles(arena, bytesPer(dtype));
  }

  /** Byte offset of the step's scalar block; valid after {@link prepare}. */
  get ptr(): number {
    return this.tablePtr;
  }

  /** Byte offset of the records that read their gradients in kernel memory. */
  get records(): number {
    return this.tablePtr + SCALAR_BLOCK_BYTES;
  }

  /** Records that read their gradients in kernel memory; valid after {@link prepare}. */
  get count(): number {
    return this.recordSets.length;
  }

  /** Elements of the sets staged tile by tile; valid after {@link prepare}. */
  tiledElements = 0;

  /**
   * Makes the table describe `sets` for the step `s`: the scalar block, and per variable its
   * gradient scale, decay, flags (masked by the slots it has) and staged gradient copy.
   */
  prepare(sets: readonly DenseSlotSet[], s: StepScalars): void {
    const flags = stepFlags(s);
    if (!this.refresh(sets, flags)) {
      this.rebuild(sets);
      this.refresh(sets, flags);
    }
    writeScalars(this.arena, this.dtype, this.tablePtr, s, 0);
  }

  /** The arena's release count when the records were built: a release may free a block they use. */
  private builtAtReleases = -1;

  /**
   * When `sets` is the last list again (compared by identity, field by field), writes this step's
   * values into the records and returns true; otherwise returns false (some records may have been
   * written; a rebuild rewrites them). One pass, no allocation: this is the steady state.
   */
  private refresh(sets: readonly DenseSlotSet[], flags: number): boolean {
    const seen = this.seen;
    const n = sets.length;
    if (n * SEEN_STRIDE !== seen.length || this.builtAtReleases !== this.arena.releases) return false;
    this.copyAfter.length = 0;
    const arena = this.arena;
    const i32 = arena.i32;
    const wide = this.dtype === 'float64';
    const floats = wide ? arena.f64 : arena.f32;
    const shift = wide ? 3 : 2;
    let rec = this.tablePtr + SCALAR_BLOCK_BYTES;
    let k = 0;
    let t = 0;
    const tiles = this.tiles;
    tiles.copiesOut = false;
    for (let i = 0, j = 0; i < n; i++, j += SEEN_STRIDE) {
      const set = sets[i];
      if (set !== seen[j] || set.param !== seen[j + 2] || set.m !== seen[j + 3] ||
          set.v !== seen[j + 4] || set.vhat !== seen[j + 5] || set.average !== seen[j + 6]) {
        return false;
      }
      const mode = seen[j + 7] as number;
      const grad = set.grad;
      if (grad !== seen[j + 1]) {
        // A new ordinary array each step (the usual way to pass gradients) keeps the records: a
        // staged gradient is copied from `set.grad` on every call anyway.
        if (mode !== TILED || grad.length !== set.param.length || arena.owns(grad.buffer)) return false;
        seen[j + 1] = grad;
      }
      if (mode === FOREIGN) continue;
      const copyTo = set.copyTo ?? null;
      if (mode === TILED) {
        tiles.grads[t] = grad;
        tiles.outs[t] = copyTo;
        if (copyTo !== null) tiles.copiesOut = true;
        tiles.setStep(t, flags & this.tiledMask[t], set.gradScale, set.decay, floats);
        t++;
        continue;
      }
      if (copyTo !== null) this.copyAfter.push(set);
      i32[(rec >>> 2) + 7] = flags & this.recordMask[k];
      const at = (rec + 32) >>> shift;
      floats[at] = set.gradScale;
      floats[at + 1] = set.decay;
      const stage = this.recordStage[k];
      if (stage >= 0) this.stageFromKernel(grad, this.gradPtr[k], set.param.length, stage);
      rec += REC;
      k++;
    }
    return true;
  }

  private rebuild(sets: readonly DenseSlotSet[]): void {
    const arena = this.arena;
    const n = sets.length;
    const elementBytes = bytesPer(this.dtype);
    this.seen.length = 0; // filled at the end, so that a call that throws leaves no stale match
    this.builtAtReleases = this.arena.releases;
    this.recordSets.length = 0;
    this.recordStage.length = 0;
    this.recordMask.length = 0;
    this.gradPtr.length = 0;
    this.foreign.length = 0;
    this.tiledSets.length = 0;
    this.tiledMask.length = 0;
    this.tiledElements = 0;
    let stageBytes = 0;
    // Pass 1: validate, and record where kernel-memory gradients are before the memory can grow
    // (growth of an ordinary memory detaches them, and a detached view reports byteOffset 0).
    for (let i = 0; i < n; i++) {
      const set = sets[i];
      const { param, m, v, vhat, average, grad } = set;
      if (param.dtype !== this.dtype) {
        throw new TypeError(`denseStep: every set in one call must be ${this.dtype}, found ${param.dtype}`);
      }
      const length = param.length;
      if (m.length !== length || v.length !== length || grad.length !== length ||
          (vhat !== null && vhat.length !== length) || (average !== null && average.length !== length)) {
        throw new RangeError('denseStep: the gradient and slots must have the variable\'s length');
      }
      if (!(this.isOurs(param) && this.isOurs(m) && this.isOurs(v) &&
            (vhat === null || this.isOurs(vhat)) && (average === null || this.isOurs(average)))) {
        this.foreign.push(set);
        continue;
      }
      const mask = ~((vhat === null ? AMSGRAD : 0) | (average === null ? EMA | OVERWRITE : 0));
      if (!arena.owns(grad.buffer)) {
        this.tiledSets.push(set);
        this.tiledMask.push(mask);
        this.tiledElements += length;
        continue;
      }
      this.recordSets.push(set);
      this.gradPtr.push(grad.byteOffset);
      if (this.inPlace(grad)) {
        this.recordStage.push(-1);
      } else {
        this.recordStage.push(stageBytes);
        stageBytes += pad16(length * elementBytes);
      }
      this.recordMask.push(mask);
    }
    // Pass 2: make room (this may grow the memory), then write the records' offsets.
    const records = this.recordSets.length;
    const tableBytes = SCALAR_BLOCK_BYTES + records * REC;
    // New blocks are taken before old ones are given back, so that running out changes nothing.
    if (tableBytes > this.tableBytes) {
      const bytes = Math.max(tableBytes, (this.tableBytes * 3) >> 1);
      const ptr = arena.alloc(bytes);
      if (this.tableBytes > 0) arena.free(this.tablePtr, this.tableBytes);
      this.tableBytes = bytes;
      this.tablePtr = ptr;
    }
    if (stageBytes > this.stageBytes) {
      const ptr = arena.alloc(stageBytes);
      if (this.stageBytes > 0) arena.free(this.stagePtr, this.stageBytes);
      this.stageBytes = stageBytes;
      this.stagePtr = ptr;
    }
    const u32 = arena.i32; // offsets below 4 GiB are stored as i32 bit patterns; wasm reads u32
    for (let k = 0; k < records; k++) {
      const set = this.recordSets[k];
      const r = ((this.tablePtr + SCALAR_BLOCK_BYTES) >>> 2) + k * REC_I32;
      if (this.recordStage[k] >= 0) this.recordStage[k] += this.stagePtr;
      const stage = this.recordStage[k];
      const vhat = set.vhat as ArenaStorage | null;
      const average = set.average as ArenaStorage | null;
      u32[r] = (set.param as ArenaStorage).ptr;
      u32[r + 1] = stage >= 0 ? stage : this.gradPtr[k];
      u32[r + 2] = (set.m as ArenaStorage).ptr;
      u32[r + 3] = (set.v as ArenaStorage).ptr;
      u32[r + 4] = vhat === null ? 0 : vhat.ptr;
      u32[r + 5] = average === null ? 0 : average.ptr;
      u32[r + 6] = set.param.length;
    }
    this.tiles.build(this.tiledSets.map((set) => ({
      param: (set.param as ArenaStorage).ptr, m: (set.m as ArenaStorage).ptr, v: (set.v as ArenaStorage).ptr,
      vhat: set.vhat === null ? 0 : (set.vhat as ArenaStorage).ptr,
      average: set.average === null ? 0 : (set.average as ArenaStorage).ptr,
      length: set.param.length,
    })));
    for (let i = 0, k = 0, t = 0; i < n; i++) {
      const set = sets[i];
      let mode = FOREIGN;
      if (k < records && this.recordSets[k] === set) {
        mode = PINNED;
        k++;
      } else if (t < this.tiledSets.length && this.tiledSets[t] === set) {
        mode = TILED;
        t++;
      }
      this.seen.push(set, set.grad, set.param, set.m, set.v, set.vhat, set.average, mode);
    }
  }

  /** Copies a kernel-memory gradient (at byte offset `src`, `length` elements) to `stage`. */
  private stageFromKernel(grad: FloatArray, src: number, length: number, stage: number): void {
    const arena = this.arena;
    const wide = grad instanceof Float64Array;
    if (wide === (this.dtype === 'float64')) {
      arena.u8.copyWithin(stage, src, src + length * (wide ? 8 : 4));
    } else if (wide) {
      arena.f32.set(new Float64Array(arena.u8.buffer, src, length), stage >>> 2);
    } else {
      arena.f64.set(new Float32Array(arena.u8.buffer, src, length), stage >>> 3);
    }
  }

  /**
   * Whether a gradient can be read where it is: in this memory, of this dtype, and 16-byte aligned,
   * so that the kernel's last vector reads padding of the same block rather than past the memory.
   */
  private inPlace(grad: FloatArray): boolean {
    return (this.dtype === 'float64' ? grad instanceof Float64Array : grad instanceof Float32Array) &&
      this.arena.owns(grad.buffer) && (grad.byteOffset & 15) === 0;
  }

  private isOurs(storage: unknown): storage is ArenaStorage {
    return storage instanceof ArenaStorage && storage.arena === this.arena && storage.isLive;
  }
}
