import type { FloatArray } from '../../storage.js';
import type { Arena } from './arena.js';
import { ENTRY, TILE_RING, type TileSource } from './threads.js';
import type { KernelMemory } from './memories.js';

/** Bytes per dense record (assembly/adam.ts: REC). */
const REC = 48;

/** Bytes of one staged gradient tile: small enough that the kernel reads it from cache. */
export const TILE_BYTES = 16 * 1024;

/** What a tiled variable's records point at: byte offsets of its storages (0: none) and its length. */
export interface TiledVariable {
  readonly param: number;
  readonly m: number;
  readonly v: number;
  readonly vhat: number;
  readonly average: number;
  readonly length: number;
}

/**
 * Gradients from ordinary arrays, staged a tile at a time. The variables are laid end to end (each
 * padded to 16 bytes) and cut into tiles of TILE_BYTES; each tile is a run of records (one per
 * piece of a variable) whose gradients point into one of TILE_RING slots of a ring. A step copies
 * a tile's gradients into its slot and runs its records right away, while the tile is still in
 * cache: the gradient costs one read from memory, as it would in place. Cuts fall on 16-byte
 * boundaries of each variable, so every element runs the same arithmetic as untiled.
 */
export class GradientTiles {
  /** The tiles' records, and the ring of staged gradient slots. */
  private recordsPtr = 0;
  private recordsBytes = 0;
  private ringPtr = 0;
  /** Tiles in all; per tile its first piece (pieces of a tile are consecutive), and one past the last. */
  count = 0;
  private readonly tileFirst: number[] = [];
  /** Per piece: its variable, first element, element count, and where in the arena floats it is staged. */
  private pieceVar = new Int32Array(0);
  private pieceStart = new Float64Array(0);
  private pieceLength = new Int32Array(0);
  private pieceDest = new Float64Array(0);
  /** Per piece: where in the arena floats its part of the variable's values is. */
  private pieceSource = new Float64Array(0);
  /** Per variable: its first piece and piece count. */
  private readonly varFirst: number[] = [];
  private readonly varPieces: number[] = [];
  /** Per variable: this step's gradient. */
  readonly grads: FloatArray[] = [];
  /** Per variable: where this step's new values also go (`DenseSlotSet.copyTo`), or null. */
  readonly outs: (FloatArray | null)[] = [];
  /** Whether any variable of this step has an output. */
  copiesOut = false;
  /** Per piece: a view of its part of the variable's values, made in arena generation `sourcesOf`. */
  private readonly sources: (FloatArray | undefined)[] = [];
  private sourcesOf = -1;
  /** Per piece: a view of its part of the gradient, kept while the caller passes the same array. */
  private readonly views: (FloatArray | undefined)[] = [];
  private readonly viewOf: (FloatArray | undefined)[] = [];

  constructor(
    private readonly arena: Arena,
    private readonly elementBytes: number,
  ) {}

  /** Byte offset of tile `k`'s records, and their count. */
  records(k: number): number {
    return this.recordsPtr + this.tileFirst[k] * REC;
  }

  recordCount(k: number): number {
    return this.tileFirst[k + 1] - this.tileFirst[k];
  }

  /**
   * Lays out the tiles of `variables` (may grow the memory; takes new blocks before freeing old
   * ones, so that running out of memory leaves the previous layout intact).
   */
  build(variables: readonly TiledVariable[]): void {
    const eb = this.elementBytes;
    const width = 16 / eb;
    const tileElements = TILE_BYTES / eb;
    // Count pieces first.
    let pieces = 0;
    let offset = 0;
    for (const v of variables) {
      if (v.length > 0) {
        const firstTile = Math.floor(offset / tileElements);
        const lastTile = Math.floor((offset + v.length - 1) / tileElements);
        pieces += lastTile - firstTile + 1;
      }
      offset += Math.ceil(v.length / width) * width;
    }
    const tiles = Math.ceil(offset / tileElements);
    const bytes = Math.max(16, pieces * REC);
    const arena = this.arena;
    if (bytes > this.recordsBytes) {
      const ptr = arena.alloc(bytes);
      if (this.recordsBytes > 0) arena.free(this.recordsPtr, this.recordsBytes);
      this.recordsBytes = bytes;
      this.recordsPtr = ptr;
    }
    if (this.ringPtr === 0 && tiles > 0) this.ringPtr = arena.alloc(TILE_RING * TILE_BYTES);
    if (this.pieceVar.length < pieces) {
      this.pieceVar = new Int32Array(pieces);
      this.pieceStart = new Float64Array(pieces);
      this.pieceLength = new Int32Array(pieces);
      this.pieceDest = new Float64Array(pieces);
      this.pieceSource = new Float64Array(pieces);
    }
    this.count = tiles;
    this.tileFirst.length = 0;
    this.varFirst.length = 0;
    this.varPieces.length = 0;
    const i32 = arena.i32; // offsets below 4 GiB are stored as i32 bit patterns; wasm reads u32
    let piece = 0;
    offset = 0;
    for (let j = 0; j < variables.length; j++) {
      const v = variables[j];
      this.varFirst.push(piece);
      for (let start = 0; start < v.length;) {
        const at = offset + start;
        const tile = Math.floor(at / tileElements);
        while (this.tileFirst.length <= tile) this.tileFirst.push(piece);
        const end = Math.min(v.length, (tile + 1) * tileElements - offset);
        const dest = this.ringPtr + (tile % TILE_RING) * TILE_BYTES + (at - tile * tileElements) * eb;
        const byteStart = start * eb;
        const r = (this.recordsPtr + piece * REC) >>> 2;
        i32[r] = v.param + byteStart;
        i32[r + 1] = dest;
        i32[r + 2] = v.m + byteStart;
        i32[r + 3] = v.v + byteStart;
        i32[r + 4] = v.vhat === 0 ? 0 : v.vhat + byteStart;
        i32[r + 5] = v.average === 0 ? 0 : v.average + byteStart;
        i32[r + 6] = end - start;
        this.pieceVar[piece] = j;
        this.pieceStart[piece] = start;
        this.pieceLength[piece] = end - start;
        this.pieceDest[piece] = dest / eb;
        this.pieceSource[piece] = (v.param + byteStart) / eb;
        piece++;
        start = end;
      }
      this.varPieces.push(piece - this.varFirst[j]);
      offset += Math.ceil(v.length / width) * width;
    }
    while (this.tileFirst.length <= tiles) this.tileFirst.push(piece);
    this.grads.length = variables.length;
    this.outs.length = variables.length;
    this.outs.fill(null);
    this.copiesOut = false;
    this.views.length = 0;
    this.viewOf.length = 0;
    this.sources.length = 0;
  }

  /** This step's flags, gradient scale and decay for variable `j`, written into its pieces. */
  setStep(j: number, flags: number, gradScale: number, decay: number, floats: FloatArray): void {
    const shift = this.elementBytes === 8 ? 3 : 2;
    const i32 = this.arena.i32;
    for (let p = this.varFirst[j], end = p + this.varPieces[j]; p < end; p++) {
      const rec = this.recordsPtr + p * REC;
      i32[(rec >>> 2) + 7] = flags;
      const at = (rec + 32) >>> shift;
      floats[at] = gradScale;
      floats[at + 1] = decay;
    }
  }

  /** Copies tile `k`'s gradients into its ring slot. */
  copy(k: number): void {
    const floats = this.elementBytes === 8 ? this.arena.f64 : this.arena.f32;
    for (let p = this.tileFirst[k], end = this.tileFirst[k + 1]; p < end; p++) {
      const grad = this.grads[this.pieceVar[p]];
      const length = this.pieceLength[p];
      if (length === grad.length) {
        floats.set(grad, this.pieceDest[p]);
        continue;
      }
      // A gradient array reused from step to step keeps its piece views: no garbage per step.
      let view = this.views[p];
      if (this.viewOf[p] !== grad || view === undefined) {
        const start = this.pieceStart[p];
        view = grad.subarray(start, start + length);
        this.views[p] = view;
        this.viewOf[p] = grad;
      }
      floats.set(view, this.pieceDest[p]);
    }
  }

  /** Copies the new values of tile `k`'s pieces to their variables' outputs; call once the tile ran. */
  copyOut(k: number): void {
    const arena = this.arena;
    if (this.sourcesOf !== arena.generation) {
      this.sources.length = 0; // the memory grew: views of the old buffer may be detached
      this.sourcesOf = arena.generation;
    }
    const floats = this.elementBytes === 8 ? arena.f64 : arena.f32;
    for (let p = this.tileFirst[k], end = this.tileFirst[k + 1]; p < end; p++) {
      const out = this.outs[this.pieceVar[p]];
      if (out === null) continue;
      let source = this.sources[p];
      if (source === undefined) {
        const at = this.pieceSource[p];
        source = floats.subarray(at, at + this.pieceLength[p]);
        this.sources[p] = source;
      }
      out.set(source, this.pieceStart[p]);
    }
  }
}


/**
 * The tiles of one dense step over several memories, in order (one memory's tiles after another's),
 * for the main thread alone or the thread pool. Reused from step to step.
 */
export class StepTiles implements TileSource {
  count = 0;
  readonly ring = TILE_RING;
  private readonly memories: KernelMemory[] = [];
  private readonly parts: GradientTiles[] = [];
  private readonly scalars: number[] = [];
  /** Global index of each part's first tile. */
  private readonly firsts: number[] = [];
  private dtype64 = false;

  reset(dtype64: boolean): void {
    this.count = 0;
    this.memories.length = 0;
    this.parts.length = 0;
    this.scalars.length = 0;
    this.firsts.length = 0;
    this.dtype64 = dtype64;
  }

  add(memory: KernelMemory, tiles: GradientTiles, scalars: number): void {
    if (tiles.count === 0) return;
    this.memories.push(memory);
    this.parts.push(tiles);
    this.scalars.push(scalars);
    this.firsts.push(this.count);
    this.count += tiles.count;
  }

  describe(out: Int32Array, at: number): void {
    for (let p = 0; p < this.parts.length; p++) {
      const tiles = this.parts[p];
      const index = this.memories[p].arena.index;
      for (let k = 0; k < tiles.count; k++, at += ENTRY) {
        out[at] = index;
        out[at + 1] = this.scalars[p];
        out[at + 2] = tiles.records(k);
        out[at + 3] = tiles.recordCount(k);
      }
    }
  }

  copy(k: number): void {
    const p = this.part(k);
    this.parts[p].copy(k - this.firsts[p]);
  }

  /** Whether any tile of the step has outputs to copy out. */
  get copiesOut(): boolean {
    for (const tiles of this.parts) if (tiles.copiesOut) return true;
    return false;
  }

  copyOut(k: number): void {
    const p = this.part(k);
    if (this.parts[p].copiesOut) this.parts[p].copyOut(k - this.firsts[p]);
  }

  run(k: number): void {
    const p = this.part(k);
    const tiles = this.parts[p];
    const local = k - this.firsts[p];
    const wasm = this.memories[p].wasm;
    if (this.dtype64) wasm.dense64(this.scalars[p], tiles.records(local), tiles.recordCount(local));
    else wasm.dense32(this.scalars[p], tiles.records(local), tiles.recordCount(local));
  }

  /** Runs every tile on this thread: copy in, compute and copy out while it is in cache. */
  runHere(): void {
    for (let p = 0; p < this.parts.length; p++) {
      const tiles = this.parts[p];
      const wasm = this.memories[p].wasm;
      const scalars = this.scalars[p];
      const run = this.dtype64 ? wasm.dense64 : wasm.dense32;
      const out = tiles.copiesOut;
      for (let k = 0; k < tiles.count; k++) {
        tiles.copy(k);
        run(scalars, tiles.records(k), tiles.recordCount(k));
        if (out) tiles.copyOut(k); // while the tile's values are still in cache
      }
    }
  }

  private part(k: number): number {
    let p = this.firsts.length - 1;
    while (this.firsts[p] > k) p--;
    return p;
  }
}
