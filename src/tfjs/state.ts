import type * as tf from '@tensorflow/tfjs-core';

/** One array of the optimizer's state: its name in `getWeights` and its shape. */
export interface StateEntry {
  readonly name: string;
  readonly shape: readonly number[];
}

/** What the state layout depends on. */
export interface LayoutOptions {
  /** The optimizer's name (prefix of state names). */
  readonly name: string;
  readonly useEma: boolean;
  readonly amsgrad: boolean;
}

/** The name `getWeights` gives the iteration count (TensorFlow.js' own optimizers use it too). */
export const ITERATION_NAME = 'iter';

/**
 * The state in Keras order: the iteration count, one average per variable (EMA), m and v per
 * variable interleaved, one vhat per variable (AMSGrad). Names follow the core's
 * (`Adam/m/dense/kernel`).
 */
export function stateLayout(variables: readonly Pick<tf.Variable, 'name' | 'shape'>[], options: LayoutOptions): StateEntry[] {
  const slot = (kind: string, v: Pick<tf.Variable, 'name' | 'shape'>): StateEntry => ({ name: `${options.name}/${kind}/${v.name}`, shape: v.shape });
  return [
    { name: ITERATION_NAME, shape: [] },
    ...(options.useEma ? variables.map((v) => slot('average', v)) : []),
    ...variables.flatMap((v) => [slot('m', v), slot('v', v)]),
    ...(options.amsgrad ? variables.map((v) => slot('vhat', v)) : []),
  ];
}

/** Throws, naming the first difference, unless `arrays` fits `layout` (count and sizes). */
export function checkStateFits(layout: readonly StateEntry[], arrays: readonly ArrayLike<number>[], owner: string, what: string): void {
  if (arrays.length !== layout.length) {
    throw new Error(
      `${owner}: ${what} holds ${arrays.length} arrays, but these variables need ${layout.length} ` +
        `(${layout.map((e) => e.name).join(', ')})`,
    );
  }
  layout.forEach((entry, i) => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (arrays[i].length !== size) {
      throw new RangeError(`${owner}: ${what}: entry ${i} ('${entry.name}') has ${arrays[i].length} values, expected ${size} (shape [${entry.shape.join(', ')}])`);
    }
  });
  const iteration = arrays[0][0];
  if (!Number.isInteger(iteration) || iteration < 0) {
    throw new RangeError(`${owner}: ${what}: the iteration count must be a non-negative integer, got ${iteration}`);
  }
}
