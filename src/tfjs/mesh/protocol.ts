/** What each replica of {@link fitOnMesh} is started with. */
export interface ReplicaModelInit {
  /** `model.toJSON(null, false)`: the topology. */
  readonly topology: string;
  /** Every weight of the model (trainable and not), in `model.weights` order. */
  readonly weights: readonly { readonly values: Float32Array; readonly shape: readonly number[] }[];
  /** Indices into `model.weights` of the trainable ones, in `model.trainableWeights` order. */
  readonly trainable: readonly number[];
  readonly loss: string;
  /** Metric names as the main model was compiled with (e.g. 'acc'). */
  readonly metrics: readonly string[];
  readonly backend: 'cpu' | 'wasm';
  /** The whole training set in shared memory, row-major, and its shapes. */
  readonly x: { readonly buffer: SharedArrayBuffer; readonly shape: readonly number[] };
  readonly y: { readonly buffer: SharedArrayBuffer; readonly shape: readonly number[] };
}

/** One replica's part of a batch: rows of the training set, and the factor its gradient gets. */
export interface ReplicaBatch {
  readonly rows: Int32Array;
  /** parts * rows / batch: 1 when the batch splits evenly (then the gradient is not scaled). */
  readonly scale: number;
}

/** A replica's answer for a batch: its loss and metrics over its rows. */
export interface ReplicaBatchResult {
  readonly loss: number;
  readonly metrics: readonly number[];
  readonly rows: number;
}
