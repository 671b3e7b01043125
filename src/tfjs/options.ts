import * as tf from '@tensorflow/tfjs-core';
import type { AdamOptions as CoreAdamOptions } from '../adam.js';
import { describe } from '../describe.js';
import type { LearningRate } from '../optimizer.js';

/**
 * Where a step runs. `'kernels'`: the core's kernels on typed arrays (gradients read with
 * `dataSync`, variables written back once per step). `'gpu-fused'`: fused programs registered with
 * TensorFlow.js for the webgl and webgpu backends (one program per variable and array written),
 * nothing leaving the device. `'tensor-ops'`: the same arithmetic as TensorFlow.js ops inside one
 * `tidy`. `'auto'` picks, once, when the optimizer is built: `'kernels'` on the `cpu` and `wasm`
 * backends, `'gpu-fused'` on `webgl` and `webgpu` (`'tensor-ops'` there with `jitCompile: false`),
 * `'tensor-ops'` elsewhere. Where the fused programs cannot run (another backend, no float32
 * render targets) steps run as tensor ops, after one console warning.
 */
export type Execution = 'auto' | 'kernels' | 'gpu-fused' | 'tensor-ops';

/** A learning rate as the TensorFlow.js adapter accepts it. */
export type TfjsLearningRate = LearningRate | tf.Scalar;

/**
 * Options of the TensorFlow.js {@link Adam}: the core's options (the Keras arguments in camelCase,
 * same defaults) with two differences: `learningRate` may also be a `tf.Scalar`, and two options
 * exist only here.
 */
export interface AdamOptions extends Omit<CoreAdamOptions, 'learningRate'> {
  /**
   * Keras `learning_rate`. Default 0.001. Besides a number, a schedule or a zero-argument function,
   * a one-element tensor: a `tf.Variable` is read at every step (so `lr.assign(tf.scalar(x))`
   * changes the rate; on GPU backends that is one scalar read-back per step); any other tensor is
   * immutable and is read once, here.
   */
  learningRate?: TfjsLearningRate;
  /**
   * Adapter-only. With `useEma`, overwrite the model's trainable weights with their moving
   * averages when `model.fit` / `fitDataset` ends (as Keras' `fit()` does). Default true. Not
   * saved in the config.
   */
  finalizeEmaOnFitEnd?: boolean;
  /** Adapter-only. Where steps run; see {@link Execution}. Default `'auto'`. Not saved in the config. */
  execution?: Execution;
  /**
   * Adapter-only, cpu backend, `'kernels'` path. Default false: every step assigns each updated
   * variable a new tensor, as TensorFlow.js' own optimizers do, so an array read before the step
   * (`dataSync()`, `data()`, a contiguous `tf.slice`, which on cpu are the backend's own array or a
   * view of it) keeps the old values. True: write the new values into the variable's own array when
   * no other tensor shares its data, which saves an allocation and a copy per variable per step, but
   * such an array or slice kept across a step then shows the new values. Not saved in the config.
   */
  writeInPlace?: boolean;
}

const EXECUTIONS: readonly Execution[] = ['auto', 'kernels', 'gpu-fused', 'tensor-ops'];

/** The core's options and the adapter-only ones, checked. */
export interface SplitOptions {
  readonly core: CoreAdamOptions;
  readonly finalizeEmaOnFitEnd: boolean;
  readonly execution: Execution;
  readonly writeInPlace: boolean;
}

/** Splits the adapter's options into the core's and the adapter-only ones. */
export function splitOptions(options: AdamOptions): SplitOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Adam: options must be an object, got ${describe(options)}`);
  }
  const { finalizeEmaOnFitEnd = true, execution = 'auto', writeInPlace = false, learningRate, ...rest } = options;
  if (typeof finalizeEmaOnFitEnd !== 'boolean') {
    throw new TypeError(`Adam: finalizeEmaOnFitEnd must be a boolean, got ${describe(finalizeEmaOnFitEnd)}`);
  }
  if (typeof writeInPlace !== 'boolean') {
    throw new TypeError(`Adam: writeInPlace must be a boolean, got ${describe(writeInPlace)}`);
  }
  if (!EXECUTIONS.includes(execution)) {
    throw new TypeError(`Adam: execution must be one of ${EXECUTIONS.map((e) => `'${e}'`).join(', ')}, got ${describe(execution)}`);
  }
  const core: CoreAdamOptions = { ...rest };
  if ('learningRate' in options) core.learningRate = toCoreLearningRate(learningRate) as LearningRate;
  return { core, finalizeEmaOnFitEnd, execution, writeInPlace };
}

/**
 * A tensor learning rate as the core takes it: a `tf.Variable` becomes a function reading it at
 * each step; any other one-element tensor becomes its number. Other values pass through (the core
 * checks them).
 */
export function toCoreLearningRate(value: unknown): unknown {
  if (!(value instanceof tf.Tensor)) return value;
  if (value.size !== 1) {
    throw new TypeError(`Adam: a tensor learningRate must hold one value, got shape [${value.shape.join(', ')}]`);
  }
  if (value instanceof tf.Variable) {
    const variable = value;
    return () => variable.dataSync()[0];
  }
  return value.dataSync()[0];
}
