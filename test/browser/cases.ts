// The GPU parity cases, shared by the browser page and the Node test: plain data, JSON-safe.
import type { AdamOptions } from '../../src/tfjs/index.js';
import { random } from '../support.js';

/** A learning-rate schedule named in JSON (the page builds it). */
export interface ScheduleSpec {
  readonly kind: 'exponential';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
}

/** One run: a model of `shapes`, `steps` steps of the given gradients, optionally reloaded half-way. */
export interface GpuCase {
  readonly label: string;
  readonly options: Omit<AdamOptions, 'learningRate'> & { learningRate?: number };
  readonly schedule?: ScheduleSpec;
  readonly shapes: readonly (readonly number[])[];
  readonly initial: readonly (readonly number[])[];
  /** grads[step][variable] */
  readonly grads: readonly (readonly (readonly number[])[])[];
  /** Save the state after this many steps, load it into a new optimizer and go on with that one. */
  readonly reloadAfter?: number;
  /** The path of the optimizer loaded at `reloadAfter` (default: the same as before). */
  readonly reloadExecution?: 'kernels' | 'gpu-fused' | 'tensor-ops';
  /** A `tf.Variable` learning rate of this value (read back every step). */
  readonly learningRateVariable?: number;
  /** Make the gradients of 2-D variables by a matMul, which leaves them packed on WebGL. */
  readonly packedGrads?: boolean;
  /** Write the averages into the variables after the last step (`finalizeVariableValues`). */
  readonly finalize?: boolean;
  /** Excluded from weight decay by name pattern. */
  readonly excludeNames?: readonly string[];
}

/** What a run reports. */
export interface GpuResult {
  readonly backend: string;
  readonly path: string | null;
  readonly weights: number[][];
  readonly state: number[][];
  readonly iterations: number;
  /** Tensors alive after the first step and after the last one. */
  readonly tensorsAfterFirst: number;
  readonly tensorsAfterLast: number;
  /** Backend read / readSync calls during the steps. */
  readonly readbacks: number;
  /** Gradients held in packed WebGL textures (summed over the steps). */
  readonly packedGrads: number;
  /** WebGPU validation and other uncaptured errors, and console warnings. */
  readonly gpuErrors: string[];
  readonly warnings: string[];
}

/** Variable shapes: `count` small tensors of varied rank and size. */
export function modelShapes(count: number): number[][] {
  const pattern = [[3, 5], [5], [2, 3, 2], [7], [4, 4], [1], [6, 2]];
  return Array.from({ length: count }, (_, i) => [...pattern[i % pattern.length]]);
}

function values(rand: () => number, size: number, scale: number): number[] {
  return Array.from({ length: size }, () => (rand() - 0.5) * 2 * scale);
}

/** A case with seeded weights and gradients (some large, so that clipping bites). */
export function makeCase(label: string, count: number, steps: number, options: GpuCase['options'], extra: Partial<GpuCase> = {}): GpuCase {
  const rand = random(count * 1000 + steps * 7 + label.length);
  const shapes = extra.shapes?.map((s) => [...s]) ?? modelShapes(count);
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  return {
    label,
    options,
    shapes,
    initial: sizes.map((n) => values(rand, n, 1)),
    grads: Array.from({ length: steps }, (_, step) => sizes.map((n, i) => values(rand, n, (i % 3 === 0 ? 3 : 0.5) * (1 + step)))),
    ...extra,
  };
}

/** The option sets of the issue, each with `count` variables. */
export function optionCases(count: number, steps = 3): GpuCase[] {
  return [
    makeCase(`defaults, ${count} variables`, count, steps, {}),
    makeCase(`amsgrad + weight decay + global clipnorm + EMA, ${count} variables`, count, steps + 1, {
      amsgrad: true, weightDecay: 0.05, globalClipnorm: 1, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 3,
    }, { excludeNames: ['v1$'], reloadAfter: 2, finalize: true }),
    makeCase(`schedule, ${count} variables`, count, steps, { epsilon: 1e-6 }, {
      schedule: { kind: 'exponential', initialLearningRate: 0.05, decaySteps: 1, decayRate: 0.5 },
    }),
    makeCase(`clipvalue, ${count} variables`, count, steps, { clipvalue: 0.7, learningRate: 0.01 }),
    makeCase(`clipnorm, ${count} variables`, count, steps, { clipnorm: 0.8, learningRate: 0.02, adaptiveEpsilon: true }),
  ];
}
