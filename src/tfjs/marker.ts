import type * as tf from '@tensorflow/tfjs-core';

/**
 * Marks the optimizers of this package. `instanceof` cannot tell them apart: TensorFlow.js'
 * `Optimizer` overrides `Symbol.hasInstance` so that any object with `minimize`,
 * `computeGradients` and `applyGradients` passes, and subclasses inherit that. `Symbol.for` makes
 * the marker the same in every copy of the package.
 */
export const ADAM_MARKER: unique symbol = Symbol.for('adam-optimizer/tfjs/Adam');

/** What the end-of-fit callback needs from one of our optimizers. */
export interface FitEndOptimizer {
  readonly [ADAM_MARKER]: true;
  readonly useEma: boolean;
  readonly finalizeEmaOnFitEnd: boolean;
  finalizeVariableValues(variables: readonly (tf.Variable | { read(): tf.Tensor })[]): void;
}

/** Whether `x` is an optimizer of this package (any copy of it). */
export function isKerasAdam(x: unknown): x is FitEndOptimizer {
  return typeof x === 'object' && x !== null && (x as Partial<FitEndOptimizer>)[ADAM_MARKER] === true;
}
