import * as tf from '@tensorflow/tfjs-core';
import type { StepScalars } from '../../kernels/kernel.js';
import type { ClippingRule } from '../../optimizer.js';

/**
 * The kernels this package registers with TensorFlow.js for the webgl and webgpu backends
 * (`tf.registerKernel`), run with `tf.engine().runKernel`.
 *
 * `AdamSumsOfSquares`: inputs `g0 … g(n-1)` (float32, any shape, read flat) → one float32 tensor: `[n]`, their
 * sums of squares, or with the attribute `total`, `[1]`, the sum of all.
 *
 * `AdamFusedUpdate`: inputs `param` and `grad` (the variable's shape, read flat), `state` `[rows, size]` (m, v, then
 * vhat with AMSGrad, then the average with EMA), `scalars` (see {@link STEP_SCALARS}) and, with
 * norm clipping, `sums` (`[count]` for clipnorm, `[1]` the total for globalClipnorm) →
 * `[param, state]`, new tensors holding the step's result (`param` flat, `[size]`).
 */
export const SUMS_OF_SQUARES = 'AdamSumsOfSquares';
export const FUSED_UPDATE = 'AdamFusedUpdate';

/** Registers one backend's fused update and sums-of-squares kernels, once. */
export function registerFusedKernels(backendName: 'webgl' | 'webgpu', fusedUpdate: unknown, sumsOfSquares: unknown): void {
  for (const [kernelName, kernelFunc] of [[FUSED_UPDATE, fusedUpdate], [SUMS_OF_SQUARES, sumsOfSquares]] as const) {
    if (tf.getKernel(kernelName, backendName) === undefined) {
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
    }
  }
}

/** The attributes of a fused update: the flags select the program; size and index are per variable. */
export interface FusedUpdateAttrs {
  /** Elements of the variable. */
  readonly size: number;
  readonly amsgrad: boolean;
  readonly ema: boolean;
  /** Norm clipping from `sums`: per variable (its own entry `index`) or global (the total). */
  readonly normClipping: 'none' | 'clipnorm' | 'globalClipnorm';
  /** The variable's position in `sums` and in the per-variable decay entries of `scalars`. */
  readonly index: number;
}

/** Attributes of the sums-of-squares kernel. */
export interface SumsAttrs {
  /** Sum everything into one value (global clipping). */
  readonly total: boolean;
}

/**
 * The step's scalars, one float32 tensor uploaded once per step: these positions, then the decay
 * factor of each variable of the step.
 */
export const STEP_SCALARS = {
  alpha: 0,
  epsilon: 1,
  oneMinusBeta1: 2,
  oneMinusBeta2: 3,
  clipValue: 4,
  emaMomentum: 5,
  emaOverwrite: 6,
  clipLimit: 7,
  firstDecay: 8,
} as const;

/** The values of the step-scalars tensor, as the pipeline decided them. */
export function stepScalarValues(scalars: StepScalars, clipping: ClippingRule, decays: readonly number[]): Float32Array {
  const out = new Float32Array(STEP_SCALARS.firstDecay + decays.length);
  out[STEP_SCALARS.alpha] = scalars.alpha;
  out[STEP_SCALARS.epsilon] = scalars.epsilon;
  out[STEP_SCALARS.oneMinusBeta1] = scalars.oneMinusBeta1;
  out[STEP_SCALARS.oneMinusBeta2] = scalars.oneMinusBeta2;
  out[STEP_SCALARS.clipValue] = scalars.clipValue;
  out[STEP_SCALARS.emaMomentum] = scalars.emaMomentum ?? 0;
  out[STEP_SCALARS.emaOverwrite] = scalars.emaOverwrite ? 1 : 0;
  out[STEP_SCALARS.clipLimit] = clipping.kind === 'clipnorm' || clipping.kind === 'globalClipnorm' ? clipping.limit : 0;
  out.set(decays, STEP_SCALARS.firstDecay);
  return out;
}

/** Rows of a variable's packed state tensor. */
export function stateRows(amsgrad: boolean, ema: boolean): { rows: number; vhat: number; average: number } {
  let rows = 2;
  const vhat = amsgrad ? rows++ : -1;
  const average = ema ? rows++ : -1;
  return { rows, vhat, average };
}
