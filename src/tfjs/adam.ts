import * as tf from '@tensorflow/tfjs-core';
import { Adam as CoreAdam, type AdamOptions as CoreAdamOptions } from '../adam.js';
import { configToOptions } from '../config.js';
import { describe } from '../describe.js';
import { parseExclusion } from '../weight-decay-exclusion.js';
import type { Hyperparameter } from '../hyperparameters.js';
import type { LearningRate, WeightDecayExclusion } from '../optimizer.js';
import type { ExecutionPath, StepEngine, NamedState } from './engine.js';
import { registerFitEndCallback } from './fit-callback.js';
import { fusedEngine } from './gpu/select.js';
import { checkPairs, resolvePairs, toVariable, type NamedTensor, type VariableLike } from './gradients.js';
import { KernelEngine } from './kernel-engine.js';
import { ADAM_MARKER } from './marker.js';
import { nativeAdamFromConfig, rememberNativeClass } from './native-config.js';
import { splitOptions, toCoreLearningRate, type AdamOptions, type Execution, type TfjsLearningRate } from './options.js';
import { checkStateFits, ITERATION_NAME, stateLayout } from './state.js';
import { copyOut } from './tensor-io.js';
import { TensorEngine } from './tensor-engine.js';

/** Exclusion from weight decay with TensorFlow.js variables (or tfjs-layers `LayerVariable`s). */
export interface TfjsWeightDecayExclusion {
  /** Variables excluded by identity. */
  varList?: readonly VariableLike[];
  /**
   * Patterns searched anywhere in a variable's name (a string is a regular-expression source), e.g.
   * `['bias']` for every `dense_Dense1/bias`.
   */
  varNames?: WeightDecayExclusion['varNames'];
}

/**
 * The Keras (tf_keras) Adam optimizer as a TensorFlow.js optimizer: pass it to
 * `model.compile({ optimizer })`, or call `minimize` / `applyGradients` yourself. It has every
 * option of Keras' Adam (amsgrad, decoupled weight decay, clipnorm / clipvalue / globalClipnorm,
 * EMA, learning-rate schedules) and gives the core's numbers.
 *
 * - On the `cpu` and `wasm` backends a step runs through the core's kernels on typed arrays; on
 *   `webgl` and `webgpu` in fused GPU programs; elsewhere as TensorFlow.js ops in one `tidy` (see
 *   {@link Execution} and `executionPath`).
 * - State is kept per variable object, not per position, and saved in Keras order (`iter` first):
 *   `model.save(handler, { includeOptimizer: true })` and `tf.loadLayersModel` restore it.
 * - With `useEma`, `model.fit` overwrites the weights with their averages when it ends (unless
 *   `finalizeEmaOnFitEnd` is false).
 * - It is registered for deserialization as `'Adam'`; configs that TensorFlow.js' own Adam wrote
 *   still load as TensorFlow.js' own Adam.
 *
 * @example
 * ```ts
 * import { Adam } from 'adam-optimizer/tfjs';
 * model.compile({ optimizer: new Adam({ learningRate: 1e-3, weightDecay: 0.01 }), loss: 'categoricalCrossentropy' });
 * await model.fit(xs, ys, { epochs: 10 });
 * ```
 */
export class Adam extends tf.Optimizer {
  /** The name written as `class_name` in saved training configs (the Keras and TensorFlow.js name). */
  static get className(): string {
    return 'Adam';
  }

  /** Marks this package's optimizers (see `isKerasAdam`). */
  readonly [ADAM_MARKER] = true as const;

  /**
   * With `useEma`: overwrite the model's trainable weights with their averages when `fit` ends.
   * Adapter-only, not saved in the config; settable (also on an optimizer loaded with a model).
   */
  finalizeEmaOnFitEnd: boolean;

  /** Where steps run (see {@link Execution}); `'auto'` is resolved when the optimizer is built. */
  readonly execution: Execution;

  /** Whether the cpu `'kernels'` path may write new values into a variable's own array (see {@link AdamOptions.writeInPlace}). */
  readonly writeInPlace: boolean;

  /** The core optimizer: the hyperparameters, and the state on the `'kernels'` path. */
  private readonly core: CoreAdam;
  private engine: StepEngine | null = null;
  /** State from `setWeights` before the first step, attached by position when the optimizer is built. */
  private pending: PendingState | null = null;
  /** Tensors handed out by `getWeights`; valid until the state next changes. */
  private snapshotTensors: NamedState[] | null = null;
  private readonly excludedVariables = new Set<tf.Variable>();
  private disposed = false;

  /** @param options - The Keras arguments in camelCase (same defaults) plus the adapter-only options. */
  constructor(options: AdamOptions = {}) {
    super();
    const split = splitOptions(options);
    this.core = this.createCore(split.core);
    this.finalizeEmaOnFitEnd = split.finalizeEmaOnFitEnd;
    this.execution = split.execution;
    this.writeInPlace = split.writeInPlace;
  }

  /**
   * Builds an optimizer from a saved config: snake_case keys as {@link Adam.getConfig} writes them,
   * or camelCase keys as TensorFlow.js passes them after loading (its `customObjects` entry is
   * ignored). A config holding only TensorFlow.js' own Adam keys (`learningRate`, `beta1`,
   * `beta2`, `epsilon`) was written by TensorFlow.js' own `tf.train.adam`, and builds that.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T;
  /** `Adam.fromConfig(config)`, as the core's `fromConfig` is called: builds this class. */
  static override fromConfig(config: tf.serialization.ConfigDict): Adam;
  static override fromConfig<T extends tf.serialization.Serializable>(
    clsOrConfig: tf.serialization.SerializableConstructor<T> | tf.serialization.ConfigDict,
    maybeConfig?: tf.serialization.ConfigDict,
  ): T {
    // TensorFlow.js calls fromConfig(cls, config); a user may write fromConfig(config).
    const oneArgument = typeof clsOrConfig !== 'function' && maybeConfig === undefined;
    const cls = (oneArgument ? this : clsOrConfig) as unknown as tf.serialization.SerializableConstructor<T>;
    const config = (oneArgument ? clsOrConfig : maybeConfig) as tf.serialization.ConfigDict;
    if (typeof cls !== 'function') {
      throw new TypeError(`Adam.fromConfig expects (cls, config) as TensorFlow.js passes them, or (config); got ${describe(clsOrConfig)} and ${describe(maybeConfig)}`);
    }
    if ((cls as unknown as { className?: string }).className === 'Adam') {
      const native = nativeAdamFromConfig(config);
      if (native !== null) return native as unknown as T;
    }
    return new cls(configToOptions(config as Record<string, unknown>)) as T;
  }

  /** The core optimizer this one runs on (AdamW overrides it). @internal */
  protected createCore(options: CoreAdamOptions): CoreAdam {
    return new CoreAdam(options);
  }

  /** Number of steps taken (from the loaded state before the first step, after `setWeights`). */
  override get iterations(): number {
    return this.core.iterations;
  }

  /**
   * The current learning rate as a number (for a schedule: its value at the last step). Assign a
   * number, a schedule, a function or a one-element tensor (as in the options); assigning a number
   * to an optimizer made with a schedule is a TypeError, as in Keras.
   */
  get learningRate(): number {
    return this.core.learningRate;
  }

  set learningRate(value: TfjsLearningRate) {
    this.core.learningRate = toCoreLearningRate(value) as LearningRate;
  }

  /** The learning rate as given: a number, a schedule or a function. */
  get learningRateSchedule(): LearningRate {
    return this.core.learningRateSchedule;
  }

  /** Keras `beta_1`. */
  get beta1(): Hyperparameter {
    return this.core.beta1;
  }

  /** Keras `beta_2`. */
  get beta2(): Hyperparameter {
    return this.core.beta2;
  }

  /** Keras `epsilon`. */
  get epsilon(): number {
    return this.core.epsilon;
  }

  /** Keras `adaptive_epsilon`. */
  get adaptiveEpsilon(): boolean {
    return this.core.adaptiveEpsilon;
  }

  /** Keras `amsgrad`. */
  get amsgrad(): boolean {
    return this.core.amsgrad;
  }

  /** Keras `weight_decay`. */
  get weightDecay(): number | null {
    return this.core.weightDecay;
  }

  /** Keras `clipnorm`. */
  get clipnorm(): number | null {
    return this.core.clipnorm;
  }

  /** Keras `clipvalue`. */
  get clipvalue(): number | null {
    return this.core.clipvalue;
  }

  /** Keras `global_clipnorm`. */
  get globalClipnorm(): number | null {
    return this.core.globalClipnorm;
  }

  /** Keras `use_ema`. */
  get useEma(): boolean {
    return this.core.useEma;
  }

  /** Keras `ema_momentum`. */
  get emaMomentum(): number {
    return this.core.emaMomentum;
  }

  /** Keras `ema_overwrite_frequency`. */
  get emaOverwriteFrequency(): number | null {
    return this.core.emaOverwriteFrequency;
  }

  /** Keras `jit_compile`: the core's compiled kernels on the `'kernels'` path. */
  get jitCompile(): boolean {
    return this.core.jitCompile;
  }

  /** Keras `name`: the prefix of state names. */
  get name(): string {
    return this.core.name;
  }

  /** True once the state exists (after the first step or {@link Adam.build}). */
  get built(): boolean {
    return this.engine !== null;
  }

  /** The core's kernel set for the `'kernels'` path: `'compiled'` (WebAssembly SIMD) or `'reference'`. */
  get kernelName(): 'compiled' | 'reference' {
    return this.core.kernelName;
  }

  /** The path steps run on once built (`'kernels'`, `'gpu-fused'` or `'tensor-ops'`), null before. */
  get executionPath(): ExecutionPath | null {
    return this.engine?.kind ?? null;
  }

  /**
   * Creates the state for these variables, in this order (Keras `build`). The first step does it
   * with the variables it is given; call it first to train several variable lists with one
   * optimizer. Later calls do nothing. State loaded by `setWeights` is attached here, by position.
   */
  build(variables: readonly VariableLike[]): void {
    this.assertLive();
    if (this.engine !== null) return;
    const list = variables.map((v, i) => toVariable(v, `${this.name}: build: entry ${i}`));
    const unique = [...new Set(list)];
    const pending = this.pending?.arrays ?? null;
    if (pending !== null) {
      const layout = stateLayout(unique, { name: this.name, useEma: this.useEma, amsgrad: this.amsgrad });
      checkStateFits(layout, pending, this.name, 'the state loaded by setWeights before the first step');
    }
    const kind = this.resolveExecution();
    const engine: StepEngine = kind === 'kernels'
      ? new KernelEngine(this.core, this.excludedVariables, this.writeInPlace)
      : (kind === 'gpu-fused' ? fusedEngine(this.core, this.excludedVariables) : null) ?? new TensorEngine(this.core, this.excludedVariables);
    engine.build(unique);
    if (pending !== null) engine.load(pending);
    this.pending = null;
    this.engine = engine;
  }

  /** @internal The weight-decay exclusions set so far (variables by identity, name patterns), for the mesh. */
  get weightDecayExclusions(): { readonly variables: ReadonlySet<tf.Variable>; readonly patterns: readonly RegExp[] } {
    return { variables: this.excludedVariables, patterns: this.core.weightDecayPatterns };
  }

  /**
   * Excludes variables from weight decay (Keras `exclude_from_weight_decay`), by identity or by
   * name pattern, e.g. `{ varNames: ['bias'] }`. Only before the optimizer is built. Not part of
   * the config (as in Keras): after loading a model, call it again before training.
   */
  excludeFromWeightDecay(exclusion: TfjsWeightDecayExclusion = {}): void {
    this.assertLive();
    if (this.engine !== null) {
      throw new Error(`${this.name}: excludeFromWeightDecay must be called before the optimizer is built (before the first step)`);
    }
    // Checked whole first (the core's rules): a refused call records nothing. The core keeps the
    // patterns: it decides decay on every path.
    const { variables, patterns } = parseExclusion(this.name, exclusion, (v, what) => toVariable(v as VariableLike, what));
    this.core.excludeFromWeightDecay({ varNames: patterns });
    for (const variable of variables) this.excludedVariables.add(variable);
  }

  /**
   * One step (TensorFlow.js' entry point, called by `minimize` and `fit`): a map from variable
   * name to gradient, or a `{name, tensor}` list. Missing gradients are skipped with a warning.
   * Synchronous and tidy-safe; the gradients are only read.
   */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    this.assertLive();
    const pairs = resolvePairs(variableGradients, this.name);
    if (pairs.length === 0) return;
    checkPairs(pairs, this.name);
    if (this.engine === null) this.build(pairs.map((p) => p.variable));
    const engine = this.engine!;
    for (const { variable } of pairs) {
      if (!engine.has(variable)) {
        throw new Error(`${this.name}: variable '${variable.name}' is not one the optimizer was built for; call build() with every variable first, or use a new optimizer`);
      }
    }
    this.releaseSnapshot();
    engine.apply(pairs);
  }

  /**
   * With `useEma`, overwrites these variables with their moving averages (Keras
   * `finalize_variable_values`); otherwise does nothing. `fit` calls it when it ends.
   */
  finalizeVariableValues(variables: readonly VariableLike[]): void {
    this.assertLive();
    if (!this.useEma || this.engine === null) return;
    this.releaseSnapshot();
    this.engine.finalize(variables.map((v, i) => toVariable(v, `${this.name}: finalizeVariableValues entry ${i}`)));
  }

  /**
   * The complete state in Keras order: `iter` (int32) first, then the averages (EMA), m and v per
   * variable interleaved, the vhats (AMSGrad). The tensors belong to the optimizer, like the ones
   * TensorFlow.js' own optimizers return: do not dispose them; they stay valid until the state next
   * changes (a step, `setWeights`, `finalizeVariableValues`, `dispose`), when the optimizer disposes
   * them. So `model.save` leaks nothing (TensorFlow.js #8238).
   */
  override async getWeights(): Promise<NamedState[]> {
    this.assertLive();
    if (this.snapshotTensors !== null && this.snapshotTensors.every((w) => !w.tensor.isDisposed)) return [...this.snapshotTensors];
    this.releaseSnapshot();
    let weights: NamedState[];
    if (this.engine !== null) weights = this.engine.snapshot();
    else if (this.pending !== null) weights = this.pendingSnapshot(this.pending);
    else weights = [{ name: ITERATION_NAME, tensor: tf.scalar(this.iterations, 'int32') }];
    this.snapshotTensors = weights;
    return [...weights];
  }

  /**
   * Replaces the complete state (Keras order, as {@link Adam.getWeights} gives it). The values are
   * copied: TensorFlow.js disposes them right after. Before the first step (as `tf.loadLayersModel`
   * calls it) the state is held and attached by position when the optimizer is built; a list with
   * only the iteration count sets just the count.
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.assertLive();
    if (!Array.isArray(weightValues) || weightValues.length === 0) {
      throw new TypeError(`${this.name}: setWeights expects a non-empty {name, tensor} list, got ${describe(weightValues)}`);
    }
    const arrays = await Promise.all(weightValues.map(async (w, i) => {
      if (w === null || typeof w !== 'object' || !(w.tensor instanceof tf.Tensor)) {
        throw new TypeError(`${this.name}: setWeights entry ${i} must be {name, tensor}, got ${describe(w)}`);
      }
      return copyOut(w.tensor);
    }));
    const iteration = arrays[0].length === 1 ? arrays[0][0] : NaN;
    if (!Number.isInteger(iteration) || iteration < 0) {
      throw new RangeError(`${this.name}: setWeights: the first entry must be the iteration count (one non-negative integer), got ${describe(arrays[0])}`);
    }
    if (this.engine !== null) {
      this.engine.load(arrays); // checks everything first; a refusal changes nothing
      this.releaseSnapshot(); // only now: a refused call leaves the last getWeights() tensors valid
      return;
    }
    this.releaseSnapshot();
    this.core.iterations = iteration;
    this.pending = arrays.length > 1
      ? { arrays, names: weightValues.map((w) => w.name), shapes: weightValues.map((w) => w.tensor!.shape) }
      : null;
  }

  /** Keras-form config: snake_case keys, JSON-safe, `null` for unset options (no `undefined`). */
  getConfig(): tf.serialization.ConfigDict {
    return this.core.getConfig() as tf.serialization.ConfigDict;
  }

  /** Frees the state and the tensors handed out by `getWeights`. The optimizer cannot be used afterwards. */
  override dispose(): void {
    if (this.disposed) return;
    this.releaseSnapshot();
    this.engine?.dispose();
    this.engine = null;
    this.pending = null;
    this.disposed = true;
  }

  private resolveExecution(): ExecutionPath {
    if (this.execution !== 'auto') return this.execution;
    const backend = tf.getBackend();
    if (backend === 'cpu' || backend === 'wasm') return 'kernels';
    return this.jitCompile && (backend === 'webgl' || backend === 'webgpu') ? 'gpu-fused' : 'tensor-ops';
  }

  private pendingSnapshot({ arrays, names, shapes }: PendingState): NamedState[] {
    return arrays.map((values, i) => ({
      name: i === 0 ? ITERATION_NAME : names[i],
      tensor: i === 0 ? tf.scalar(values[0], 'int32') : tf.tensor(values.slice(), shapes[i], 'float32'),
    }));
  }

  private releaseSnapshot(): void {
    if (this.snapshotTensors === null) return;
    for (const { tensor } of this.snapshotTensors) if (!tensor.isDisposed) tensor.dispose();
    this.snapshotTensors = null;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`${this.name}: this optimizer has been disposed`);
  }
}

/** State held from `setWeights` until the optimizer is built. */
interface PendingState {
  readonly arrays: Float32Array[];
  readonly names: string[];
  readonly shapes: number[][];
}

let registered = false;

/**
 * Registers {@link Adam} for deserialization under `'Adam'` and the end-of-fit EMA callback with
 * tfjs-layers. Importing this module does it; call it yourself where a bundler may drop a module
 * imported only for its side effects. Idempotent. (The entry point's `registerAdam` also registers AdamW.)
 */
export function registerAdam(): void {
  if (registered) return;
  rememberNativeClass(Adam.className, Adam);
  tf.serialization.registerClass(Adam);
  registerFitEndCallback();
  registered = true;
}

registerAdam();
