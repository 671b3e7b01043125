import type * as tf from '@tensorflow/tfjs-core';
import type { GradientPair } from './gradients.js';

/** Where an engine runs steps: the core's kernels, fused GPU programs, or TensorFlow.js ops. */
export type ExecutionPath = 'kernels' | 'gpu-fused' | 'tensor-ops';

/** A state array handed out by `getWeights`: a new tensor the optimizer owns. */
export interface NamedState {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Runs the steps of one optimizer and holds its state: `KernelEngine` on typed arrays,
 * `FusedEngine` in fused GPU programs, `TensorEngine` as tensor ops. All follow docs/semantics.md
 * sections 1 and 2 and lay the state out in the same Keras order, so saved state moves between them.
 */
export interface StepEngine {
  readonly kind: ExecutionPath;
  /** Creates the state of these variables, in this order (first call only). */
  build(variables: readonly tf.Variable[]): void;
  /** Whether the engine holds state for `variable`. */
  has(variable: tf.Variable): boolean;
  /** One step; the pairs are checked (shapes, dtypes, known variables) by the caller. */
  apply(pairs: readonly GradientPair[]): void;
  /** With EMA, overwrites these variables with their averages. */
  finalize(variables: readonly tf.Variable[]): void;
  /** New tensors holding the state in Keras order, the iteration count first (int32, named 'iter'). */
  snapshot(): NamedState[];
  /** Replaces the whole state (iteration count first), all or nothing. */
  load(arrays: readonly Float32Array[]): void;
  /** Frees what the engine holds. */
  dispose(): void;
}
