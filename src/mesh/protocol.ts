import type { StepScalars } from '../kernels/kernel.js';
import type { SharedRef } from './shared-memory.js';

/** Where a step's results wait until the commit (same arrays as the set's, in shared memory). */
export interface StagingRefs {
  readonly param: SharedRef;
  readonly m: SharedRef;
  readonly v: SharedRef;
  readonly vhat: SharedRef | null;
  readonly average: SharedRef | null;
}

/** One variable's dense step on its owner replica: where its arrays are, and its factors. */
export interface SharedSlotSet {
  /** The step writes here; the commit copies these into param, m, v, vhat and average. */
  readonly staging: StagingRefs;
  readonly param: SharedRef;
  readonly grad: SharedRef;
  readonly m: SharedRef;
  readonly v: SharedRef;
  readonly vhat: SharedRef | null;
  readonly average: SharedRef | null;
  readonly gradScale: number;
  readonly decay: number;
}

/** What the main thread asks of a replica. Every command is answered once (see {@link Reply}). */
export type Command =
  | { readonly type: 'buffers'; readonly entries: readonly [number, SharedArrayBuffer][] }
  /** Import the user's gradient module and call its `init(data)` if it has one. */
  | { readonly type: 'load'; readonly url: string; readonly data: unknown }
  /** Run the gradient module on this replica's input, writing into `grads`. */
  | { readonly type: 'gradients'; readonly step: number; readonly params: readonly SharedRef[]; readonly grads: readonly SharedRef[]; readonly input: unknown }
  /** For each item: out = (parts[0] + parts[1] + ...) / parts.length, in rank order. */
  | { readonly type: 'reduce'; readonly items: readonly { readonly parts: readonly SharedRef[]; readonly out: SharedRef }[] }
  /** Sums of squares of `arrays`, written into `out` at `indices`. */
  | { readonly type: 'sums'; readonly jitCompile: boolean; readonly arrays: readonly SharedRef[]; readonly indices: readonly number[]; readonly out: SharedRef }
  /** Compute this replica's share of a dense step into the staging arrays (not yet visible). */
  | { readonly type: 'step'; readonly jitCompile: boolean; readonly sets: readonly SharedSlotSet[]; readonly scalars: StepScalars }
  /** Copy the staging arrays of the last `step` into the shared values. */
  | { readonly type: 'commit' }
  /** Forget the last `step`. */
  | { readonly type: 'abort' }
  /** Run a named function the gradient module exports (e.g. to read replica-side state). */
  | { readonly type: 'call'; readonly name: string; readonly data: unknown };

/** An error as it crosses threads: its message, stack and name. */
export interface ReplicaErrorInfo {
  readonly message: string;
  readonly stack: string;
  readonly name: string;
}

export type Reply =
  | { readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: ReplicaErrorInfo };

/** Command status slots (one Int32 per replica) in the control buffer. */
export const PENDING = 0;
export const DONE = 1;
export const FAILED = 2;
export const STOPPED = 3;
/** Bytes of shared error text per replica. */
export const ERROR_BYTES = 1 << 16;

/** Startup data of a replica worker. */
export interface ReplicaData {
  readonly rank: number;
  readonly size: number;
  readonly control: SharedArrayBuffer;
  readonly errors: SharedArrayBuffer;
}
