import { clipByValue, clipnormScale, globalClipnormScale } from './clipping.js';
import { describe } from './describe.js';
import { describeForeign } from './foreign.js';
import { GradientBuffers, type GradientBuffer } from './gradient-buffers.js';
import { parseExclusion } from './weight-decay-exclusion.js';
import {
  optionalNonNegative,
  readHyperparameter,
  requireBoolean,
  requireFinite,
  withDefault,
} from './hyperparameters.js';
import { IndexedSlices, deduplicateRows } from './indexed-slices.js';
import type { JsonValue } from './json.js';
import { InterruptedStepError } from './kernels/interrupted-step.js';
import type { AdamKernels } from './kernels/kernel.js';
import { selectKernels } from './kernels/select.js';
import { isMeshLike, type MeshLike } from './mesh/mesh-like.js';
import {
  LearningRateSchedule,
  isLearningRateSchedule,
  serialize as serializeSchedule,
} from './schedules/index.js';
import { isFloatArray, newFloatArray, type FloatArray, type Storage } from './storage.js';
import { Variable } from './variable.js';

/** A learning rate: a number, a schedule of the step, or a zero-argument function read every step. */
export type LearningRate = number | LearningRateSchedule | (() => number);

/** A gradient: a typed array of the variable's dtype and size, or sparse rows. */
export type Gradient = FloatArray | IndexedSlices;

/** One (gradient, variable) pair; a missing gradient (null/undefined) is dropped with a warning. */
export type GradientPair = readonly [Gradient | null | undefined, Variable];

/** Options every optimizer takes (Keras base `Optimizer` arguments, camelCase). */
export interface OptimizerOptions {
  /** Keras `learning_rate`. Default 0.001. */
  learningRate?: LearningRate;
  /** Keras `weight_decay`: decoupled decay `var -= var * weightDecay * lr` before each update. */
  weightDecay?: number | null;
  /** Keras `clipnorm`: clip each gradient to this L2 norm. 0 or null: off. */
  clipnorm?: number | null;
  /** Keras `clipvalue`: clamp each gradient element to [-clipvalue, clipvalue]. 0 or null: off. */
  clipvalue?: number | null;
  /** Keras `global_clipnorm`: clip all gradients together to this global L2 norm. 0 or null: off. */
  globalClipnorm?: number | null;
  /** Keras `use_ema`: keep an exponential moving average of each variable. Default false. */
  useEma?: boolean;
  /** Keras `ema_momentum`, in [0, 1]. Default 0.99. */
  emaMomentum?: number;
  /** Keras `ema_overwrite_frequency`: copy the averages into the variables every N steps. */
  emaOverwriteFrequency?: number | null;
  /** Keras `jit_compile`: here, the compiled WebAssembly SIMD kernels (default true). */
  jitCompile?: boolean;
  /** Keras `name`: prefix of the state variables' names. */
  name?: string;
  /**
   * Keras `mesh`: a {@link Mesh} of replicas (`await Mesh.local()`); the state is spread over them
   * (each replica owns the state of a share of the variables) and steps run there. Not saved in the config.
   */
  mesh?: MeshLike | null;
}

/** Keys of {@link OptimizerOptions}, for unknown-option checks in subclasses. */
export const OPTIMIZER_OPTION_KEYS = [
  'learningRate', 'weightDecay', 'clipnorm', 'clipvalue', 'globalClipnorm', 'useEma', 'emaMomentum',
  'emaOverwriteFrequency', 'jitCompile', 'name', 'mesh',
] as const;

/** A dense gradient ready for the update: clipping is a factor and a limit the kernel applies. */
export interface DenseUpdate {
  readonly index: number;
  readonly variable: Variable;
  readonly grad: FloatArray;
  readonly gradScale: number;
  readonly decay: number;
  /** Where the kernels also write the new values (see `DenseSlotSet.copyTo`), or null. */
  readonly copyTo: FloatArray | null;
}

/** A sparse gradient ready for the update: rows clipped and de-duplicated. */
export interface SparseUpdate {
  readonly index: number;
  readonly variable: Variable;
  readonly indices: Int32Array;
  readonly rows: FloatArray;
  readonly rowSize: number;
  readonly decay: number;
}

/** Everything a subclass needs to run one step's arithmetic, decided by the base pipeline. */
export interface UpdatePlan {
  readonly learningRate: number;
  readonly dense: readonly DenseUpdate[];
  readonly sparse: readonly SparseUpdate[];
  /** Element clamp for dense gradients (> 0 when clipvalue applies). */
  readonly clipValue: number;
  /** EMA momentum, or null without EMA. */
  readonly emaMomentum: number | null;
  readonly emaOverwrite: boolean;
  /** Averages by build index (empty without EMA). */
  readonly averages: readonly Storage[];
  /** Whether any dense update has a `copyTo` (none do outside {@link Optimizer.applyGradientsWritingTo}). */
  readonly copiesOut: boolean;
}

/** The one clipping rule of a step (clipnorm > globalClipnorm > clipvalue), or none. */
export type ClippingRule =
  | { readonly kind: 'clipnorm' | 'globalClipnorm' | 'clipvalue'; readonly limit: number }
  | { readonly kind: 'none'; readonly limit: 0 };

/**
 * A step decided but not computed, for kernels that keep the gradients elsewhere (GPU programs):
 * everything of {@link UpdatePlan} except what needs the gradients' values (norms, rows).
 */
export interface DecidedStep {
  readonly learningRate: number;
  readonly clipping: ClippingRule;
  /** lr * weight_decay or 0, by position in the variables decided for. */
  readonly decays: readonly number[];
  readonly emaMomentum: number | null;
  readonly emaOverwrite: boolean;
}

/** Where weight decay does not apply (Keras `exclude_from_weight_decay`). */
export interface WeightDecayExclusion {
  /** Variables excluded by identity. */
  varList?: readonly Variable[];
  /** Patterns searched anywhere in a variable's name (a string is a regular expression source). */
  varNames?: readonly (string | RegExp)[];
}

/** A store of state arrays keyed "0", "1", ... (Keras `save_own_variables`). */
export type VariableStore = Record<string, FloatArray | readonly number[]>;

/**
 * One built variable's part in the current step: its validated gradient and the factors the
 * pipeline decided. One per variable, reused from step to step so that a step allocates nothing.
 */
interface StepEntry {
  readonly index: number;
  readonly variable: Variable;
  /** Fixed at build: exclusions can only be set before it. */
  readonly excludedFromDecay: boolean;
  readonly float64: boolean;
  readonly size: number;
  grad: FloatArray | null;
  sparse: { indices: Int32Array; rows: FloatArray; rowSize: number } | null;
  gradScale: number;
  decay: number;
  /** The step in which this entry was last checked: a repeat within one step is a duplicate. */
  checkedInStep: number;
  /** This step's output array (see {@link Optimizer.applyGradientsWritingTo}), or null. */
  output: FloatArray | null;
  /** The output when the dense kernels can fill it (no constraint runs after them), else null. */
  copyTo: FloatArray | null;
}

/**
 * The Keras base optimizer: learning rate, build, missing gradients, clipping, sparse
 * de-duplication, decoupled weight decay, EMA, iterations and constraints, in the order of
 * docs/semantics.md section 1. Subclasses add their state and update rule.
 */
export abstract class Optimizer {
  /** Prefix of state names. */
  readonly name: string;
  readonly weightDecay: number | null;
  readonly clipnorm: number | null;
  readonly clipvalue: number | null;
  readonly globalClipnorm: number | null;
  readonly useEma: boolean;
  readonly emaMomentum: number;
  readonly emaOverwriteFrequency: number | null;
  /** True when the compiled kernels were asked for (they run where WebAssembly SIMD exists). */
  readonly jitCompile: boolean;
  /** The mesh the state is spread over, or null. */
  readonly mesh: MeshLike | null;
  /** The kernel set in use. @internal */
  protected readonly kernels: AdamKernels;
  /** One gradient buffer per variable, freed by dispose(). */
  private readonly gradientBuffers: GradientBuffers;

  private learningRateSource: LearningRate;
  /** The schedule's value at the start of the last step (or at construction). */
  private scheduledLearningRate: number;
  private readonly iterationVariable: Variable;
  private builtVariables: Variable[] | null = null;
  private readonly indexById = new Map<number, number>();
  private averageVariables: Variable[] = [];
  private averageStorages: Storage[] = [];
  private entries: StepEntry[] = [];
  /** Reused per-step lists (a step runs synchronously, so one set suffices). */
  private readonly stepChecked: StepEntry[] = [];
  private readonly stepDense: DenseUpdate[] = [];
  private readonly stepArrays: FloatArray[] = [];
  private stepSums = new Float64Array(0);
  private stepCount = 0;
  /** Of the entries checked this step, how many need work after the kernels (a constraint, an output to copy). */
  private stepFinishes = 0;
  private readonly excludedIds = new Set<number>();
  private readonly excludedPatterns: RegExp[] = [];
  private disposed = false;
  /** The interruption of a step that had begun writing: later steps are refused until the state is replaced. */
  private interruption: InterruptedStepError | null = null;

  protected constructor(owner: string, options: OptimizerOptions) {
    this.name = options.name ?? owner;
    if (typeof this.name !== 'string') throw new TypeError(`${owner}: name must be a string, got ${describe(options.name)}`);
    this.weightDecay = options.weightDecay === undefined || options.weightDecay === null
      ? null
      : requireFinite(`${owner}: weightDecay`, options.weightDecay);
    this.clipnorm = optionalNonNegative(`${owner}: clipnorm`, options.clipnorm);
    this.clipvalue = optionalNonNegative(`${owner}: clipvalue`, options.clipvalue);
    this.globalClipnorm = optionalNonNegative(`${owner}: globalClipnorm`, options.globalClipnorm);
    if (this.clipnorm !== null && this.globalClipnorm !== null) {
      throw new TypeError(
        `${owner}: clipnorm (${this.clipnorm}) and globalClipnorm (${this.globalClipnorm}) cannot both be set; choose one`,
      );
    }
    this.useEma = requireBoolean(`${owner}: useEma`, withDefault(options.useEma, false));
    this.emaMomentum = withDefault(options.emaMomentum, 0.99);
    this.emaOverwriteFrequency = options.emaOverwriteFrequency ?? null;
    if (this.useEma) {
      const momentum = requireFinite(`${owner}: emaMomentum`, this.emaMomentum);
      if (momentum < 0 || momentum > 1) throw new RangeError(`${owner}: emaMomentum must be in [0, 1], got ${momentum}`);
      const frequency = this.emaOverwriteFrequency;
      if (frequency !== null && (typeof frequency !== 'number' || !Number.isInteger(frequency) || frequency < 0)) {
        throw new TypeError(`${owner}: emaOverwriteFrequency must be an integer >= 1 (or null / 0 for never), got ${describe(frequency)}`);
      }
    }
    this.jitCompile = requireBoolean(`${owner}: jitCompile`, withDefault(options.jitCompile, true));
    const mesh = options.mesh ?? null;
    if (mesh !== null && !isMeshLike(mesh)) {
      throw new TypeError(`${owner}: mesh must be a Mesh (from Mesh.local()) or null, got ${describe(options.mesh)}`);
    }
    this.mesh = mesh;
    this.learningRateSource = checkLearningRate(`${owner}: learningRate`, withDefault(options.learningRate, 0.001));
    this.iterationVariable = new Variable(new Float64Array(1), { name: 'iteration', shape: [] });
    this.scheduledLearningRate = this.evaluateSchedule(0);
    this.kernels = mesh === null ? selectKernels(this.jitCompile) : mesh.kernelsFor(this.jitCompile);
    this.gradientBuffers = new GradientBuffers(this.kernels);
  }

  /** Number of steps taken. Can be replaced only before the optimizer is built. */
  get iterations(): number {
    return this.iterationVariable.value[0];
  }

  set iterations(value: number) {
    if (this.builtVariables !== null) {
      throw new Error(`${this.name}: iterations cannot be set after the optimizer is built (got ${describe(value)})`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new TypeError(`${this.name}: iterations must be a non-negative integer, got ${describe(value)}`);
    }
    this.iterationVariable.value[0] = value;
  }

  /**
   * The current learning rate as a number: for a schedule, its value at the start of the last step
   * (before any step: at construction); a function is called now. Assigning a number to an
   * optimizer that has a schedule is a TypeError; assigning a schedule is always allowed.
   */
  get learningRate(): number {
    const source = this.learningRateSource;
    if (isLearningRateSchedule(source)) return this.scheduledLearningRate;
    return readHyperparameter(`${this.name}: learningRate`, source);
  }

  set learningRate(value: LearningRate) {
    const checked = checkLearningRate(`${this.name}: learningRate`, value);
    if (!isLearningRateSchedule(checked) && isLearningRateSchedule(this.learningRateSource)) {
      throw new TypeError(
        `${this.name}: this optimizer was created with a learning-rate schedule; assign another schedule, not ${describe(value)}`,
      );
    }
    this.learningRateSource = checked;
    if (isLearningRateSchedule(checked)) this.scheduledLearningRate = this.evaluateSchedule(this.iterations);
  }

  /** The learning rate as given: a number, a schedule or a function. */
  get learningRateSchedule(): LearningRate {
    return this.learningRateSource;
  }

  /** True once the state exists. */
  get built(): boolean {
    return this.builtVariables !== null;
  }

  /** The name of the kernel set that runs the steps: 'compiled' or 'reference'. */
  get kernelName(): 'compiled' | 'reference' {
    return this.kernels.name;
  }

  /**
   * Creates the state for these variables (first call only; later calls do nothing). Called by
   * the first `applyGradients` with every variable it was given.
   */
  build(variables: readonly Variable[]): void {
    if (this.builtVariables !== null) return;
    const list: Variable[] = [];
    const ids = new Set<number>();
    for (const variable of variables) {
      if (!(variable instanceof Variable)) throw new TypeError(`${this.name}: build expects Variables, got ${describeForeign(variable)}`);
      if (ids.has(variable.id)) continue;
      ids.add(variable.id);
      list.push(variable);
    }
    // All state is allocated before anything is committed: running out of memory part-way gives
    // every block back and leaves the optimizer unbuilt and the variables where they were.
    const previous: Storage[] = [];
    const made: Storage[] = [];
    this.buildAllocations = made;
    try {
      const companions = (this.useEma ? 1 : 0) + this.slotsPerVariable();
      for (const variable of list) {
        this.buildingVariable = variable;
        previous.push(variable.placeIn(this.kernels, companions));
      }
      this.averageVariables = this.useEma
        ? list.map((v) => this.makeSlot(v, 'average', v.value))
        : [];
      this.buildSlots(list);
    } catch (error) {
      for (const storage of made) this.kernels.release(storage);
      previous.forEach((storage, i) => {
        if (list[i].storageRef === storage) return;
        this.kernels.release(list[i].storageRef);
        list[i].restoreStorage(storage);
      });
      this.averageVariables = [];
      const variable = this.buildingVariable;
      this.buildAllocations = null;
      this.buildingVariable = null;
      if (!(error instanceof RangeError) || variable === null) throw error;
      throw new RangeError(
        `${this.name}: cannot build the state of variable '${variable.name}' (${variable.size} ${variable.dtype} elements); ` +
        `nothing was changed: ${error.message}`, { cause: error });
    }
    this.buildAllocations = null;
    this.buildingVariable = null;
    list.forEach((variable, index) => this.indexById.set(variable.id, index));
    this.averageStorages = this.averageVariables.map((v) => v.storageRef);
    this.entries = list.map((variable, index) => ({
      index, variable, excludedFromDecay: this.isExcludedFromDecay(variable),
      float64: variable.dtype === 'float64', size: variable.size,
      grad: null, sparse: null, gradScale: 1, decay: 0, checkedInStep: -1, output: null, copyTo: null,
    }));
    this.builtVariables = list;
  }

  /** Storages allocated by the build in progress (given back if it fails), and its current variable. */
  private buildAllocations: Storage[] | null = null;
  private buildingVariable: Variable | null = null;

  /** How many state arrays of a variable's size the subclass allocates per variable (kept in one memory). */
  protected slotsPerVariable(): number {
    return 0;
  }

  /**
   * Exclude variables from weight decay, by identity (`varList`) or by name pattern (`varNames`,
   * searched anywhere in the name). Only before build. Unknown keys (such as Keras's `var_names`),
   * lists that are not arrays and empty patterns are refused, and a refused call records nothing.
   */
  excludeFromWeightDecay(exclusion: WeightDecayExclusion = {}): void {
    if (this.builtVariables !== null) {
      throw new Error(`${this.name}: excludeFromWeightDecay must be called before the optimizer is built (before the first step)`);
    }
    // Checked whole first: a refused call records nothing.
    const { variables, patterns } = parseExclusion(this.name, exclusion, (x, what) => {
      if (!(x instanceof Variable)) throw new TypeError(`${what} must be a Variable, got ${describeForeign(x)}`);
      return x;
    });
    for (const variable of variables) this.excludedIds.add(variable.id);
    this.excludedPatterns.push(...patterns);
  }

  /**
   * One optimizer step over (gradient, variable) pairs; returns the new `iterations`. The whole
   * step is validated before anything changes: on error, no variable, slot or counter moves.
   */
  applyGradients(pairs: Iterable<GradientPair>): number {
    return this.step(pairs, null);
  }

  /**
   * @internal {@link Optimizer.applyGradients}, and the new values of the variable of `pairs[i]`
   * also written to `outputs[i]` (an array of its dtype and length, or null), by the kernels as
   * they go where they can: for the TensorFlow.js adapter, whose variables live outside kernel
   * memory. Nothing is written when the step throws before it applies.
   */
  applyGradientsWritingTo(pairs: readonly GradientPair[], outputs: readonly (FloatArray | null)[]): number {
    if (outputs.length !== pairs.length) throw new RangeError(`${this.name}: ${outputs.length} outputs for ${pairs.length} pairs`);
    return this.step(pairs, outputs);
  }

  private step(pairs: Iterable<GradientPair>, outputs: readonly (FloatArray | null)[] | null): number {
    if (this.disposed) throw new Error(`${this.name}: this optimizer has been disposed`);
    this.refuseIfInterrupted('take a step');
    const list = Array.isArray(pairs) ? (pairs as readonly GradientPair[]) : listOfPairs(this.name, pairs);
    const learningRate = this.learningRateForStep();
    if (list.length === 0) return this.iterations;
    if (this.builtVariables === null) {
      for (let i = 0; i < list.length; i++) this.checkPairShape(list[i], i);
      this.build(list.map((pair) => pair[1]));
    }
    const checked = this.checkPairs(list, outputs);
    this.prepareStep(learningRate);

    // Everything is checked and nothing has changed. The norms for clipping are read first (a
    // failure there changes nothing); the update is where the step applies.
    const plan = this.plan(checked, learningRate);
    try {
      this.update(plan);
    } catch (error) {
      if (error instanceof InterruptedStepError) this.interruption = error;
      throw error;
    }
    if (isLearningRateSchedule(this.learningRateSource)) this.scheduledLearningRate = learningRate;
    this.iterationVariable.value[0] += 1;
    // Skipped when nothing needs it: with thousands of variables, a pass over them after the
    // kernels (which evict them from cache) costs a cache miss each.
    for (let i = 0; this.stepFinishes > 0 && i < checked.length; i++) {
      const entry = checked[i];
      applyConstraint(entry.variable);
      // The kernels filled the dense outputs; sparse and constrained variables are copied now.
      if (entry.output !== null && entry.copyTo === null) entry.output.set(entry.variable.value);
    }
    return this.iterations;
  }

  /**
   * The gradient buffer of `variable`, in kernel memory: fill `.value` and pass it to
   * `applyGradients` to skip the copy a plain typed array costs with the compiled kernels. One per
   * variable: every call returns the same buffer, and `dispose()` frees it. Read `.value` afresh
   * each time (kernel memory may grow); a view read before a step that grew an ordinary memory is
   * recognised and read again.
   */
  gradientBuffer(variable: Variable): GradientBuffer {
    if (this.disposed) throw new Error(`${this.name}: this optimizer has been disposed`);
    if (!(variable instanceof Variable)) throw new TypeError(`${this.name}: gradientBuffer expects a Variable, got ${describeForeign(variable)}`);
    if (variable.disposed) throw new Error(`${this.name}: variable '${variable.name}' has been disposed`);
    return this.gradientBuffers.get(variable);
  }

  /** With EMA on, overwrites each variable with its average; otherwise does nothing. */
  finalizeVariableValues(variables: readonly Variable[]): void {
    if (!this.useEma || this.builtVariables === null) return;
    this.refuseIfInterrupted('overwrite variables with their averages');
    for (const variable of variables) {
      const index = this.indexById.get(variable.id);
      if (index === undefined) continue;
      variable.assign(this.averageVariables[index].value);
    }
  }

  /** The state, in build order: iteration, averages (EMA), then the subclass's slots. */
  get variables(): Variable[] {
    if (this.disposed) throw new Error(`${this.name}: this optimizer has been disposed; its state is gone`);
    return [this.iterationVariable, ...this.averageVariables, ...this.slotVariables()];
  }

  /** Copies of every state array, in the order of `variables`. */
  getWeights(): FloatArray[] {
    return this.variables.map((v) => v.read());
  }

  /** Replaces the whole state; refused (changing nothing) before build, or on a count or size mismatch. */
  setWeights(weights: readonly (FloatArray | readonly number[])[]): void {
    this.assignState(weights, 'setWeights');
  }

  /** Writes each state array into `store` under "0", "1", ... (Keras `save_own_variables`). */
  saveOwnVariables(store: VariableStore): void {
    this.variables.forEach((v, i) => {
      store[String(i)] = v.read();
    });
  }

  /** Reads the state written by `saveOwnVariables`; refused (changing nothing) on mismatch. */
  loadOwnVariables(store: VariableStore): void {
    if (store === null || typeof store !== 'object') throw new TypeError(`${this.name}: loadOwnVariables expects a store object, got ${describe(store)}`);
    const keys = Object.keys(store);
    const expected = this.variables.length;
    if (this.builtVariables !== null && keys.length !== expected) {
      throw new Error(`${this.name}: loadOwnVariables expects ${expected} entries, the store has ${keys.length}`);
    }
    const weights = keys.map((_, i) => {
      const entry = store[String(i)];
      if (entry === undefined) throw new Error(`${this.name}: loadOwnVariables: the store has no entry "${i}"`);
      return entry;
    });
    this.assignState(weights, 'loadOwnVariables');
  }

  /**
   * Gives the state's kernel memory back. The optimizer cannot take steps afterwards; the variables
   * it updated stay valid.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const state of [...this.averageVariables, ...this.slotVariables()]) this.kernels.release(state.storageRef);
    this.gradientBuffers.releaseAll();
  }

  /** Keras-form config (snake_case, JSON-safe). */
  getConfig(): Record<string, JsonValue> {
    return {
      name: this.name,
      weight_decay: this.weightDecay,
      clipnorm: this.clipnorm,
      global_clipnorm: this.globalClipnorm,
      clipvalue: this.clipvalue,
      use_ema: this.useEma,
      ema_momentum: this.emaMomentum,
      ema_overwrite_frequency: this.emaOverwriteFrequency,
      jit_compile: this.jitCompile,
      is_legacy_optimizer: false,
      learning_rate: this.serializeLearningRate(),
    };
  }

  /** Creates the subclass's state for the variables (in order). */
  protected abstract buildSlots(variables: readonly Variable[]): void;

  /** The subclass's state variables, in build order. */
  protected abstract slotVariables(): Variable[];

  /** Reads and checks per-step hyperparameters; throws before anything changes. */
  protected abstract prepareStep(learningRate: number): void;

  /** Runs the arithmetic of one step. */
  protected abstract update(plan: UpdatePlan): void;

  /** A state variable shaped like `variable`, in kernel memory, zero-filled or holding `initial`. */
  protected makeSlot(variable: Variable, slotName: string, initial?: FloatArray): Variable {
    this.buildingVariable = variable;
    const storage = this.kernels.allocate(variable.dtype, variable.size, variable.storageRef);
    this.buildAllocations?.push(storage);
    if (initial !== undefined) storage.array.set(initial);
    return Variable.fromStorage(storage, { name: `${this.name}/${slotName}/${variable.name}`, shape: variable.shape });
  }

  private serializeLearningRate(): JsonValue {
    const source = this.learningRateSource;
    if (isLearningRateSchedule(source)) return serializeSchedule(source) as unknown as JsonValue;
    return readHyperparameter(`${this.name}: learningRate`, source);
  }

  private evaluateSchedule(step: number): number {
    const source = this.learningRateSource;
    if (!isLearningRateSchedule(source)) return NaN;
    return readHyperparameter(`${this.name}: learningRate schedule at step ${step}`, () => source.call(step));
  }

  /** Step 1: the learning rate of this step (a schedule at the pre-increment iterations). */
  private learningRateForStep(): number {
    const source = this.learningRateSource;
    if (isLearningRateSchedule(source)) return this.evaluateSchedule(this.iterations);
    return readHyperparameter(`${this.name}: learningRate`, source);
  }

  private checkPairShape(pair: GradientPair, i: number): void {
    if (Array.isArray(pair) && pair.length === 2 && pair[1] instanceof Variable) return;
    const where = `${this.name}: applyGradients expects [gradient, Variable] pairs; entry ${i}`;
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${where} is ${describe(pair)}, not a pair`);
    const [first, second] = pair as readonly unknown[];
    if (first instanceof Variable) {
      throw new TypeError(`${where} is reversed: element 0 is the Variable '${first.name}' and element 1 is ${describe(second)}; write [gradient, variable]`);
    }
    throw new TypeError(`${where}: element 1 must be a Variable, got ${describeForeign(second)}`);
  }

  /**
   * Steps 4 and validation: drops pairs without a gradient (with a warning; all missing is an
   * error) and checks every other pair, before anything changes.
   */
  private checkPairs(list: readonly GradientPair[], outputs: readonly (FloatArray | null)[] | null): StepEntry[] {
    const step = ++this.stepCount;
    const checked = this.stepChecked;
    checked.length = 0;
    let finishes = 0;
    let missing: string[] | null = null;
    for (let i = 0; i < list.length; i++) {
      // Index access, not destructuring: destructuring runs the iterator protocol per pair.
      const pair = list[i];
      if (!Array.isArray(pair) || pair.length !== 2 || !(pair[1] instanceof Variable)) this.checkPairShape(pair, i);
      const grad = pair[0];
      const variable = pair[1];
      if (grad === null || grad === undefined) {
        (missing ??= []).push(`'${variable.name}'`);
        continue;
      }
      const entry = this.checkPair(grad, variable, i);
      if (entry.checkedInStep === step) throw new Error(`${this.name}: variable '${variable.name}' appears twice in one applyGradients call`);
      entry.checkedInStep = step;
      entry.output = outputs === null ? null : this.checkOutput(outputs[i] ?? null, entry, i);
      entry.copyTo = entry.grad !== null && variable.constraint === null ? entry.output : null;
      if (variable.constraint !== null || (entry.output !== null && entry.copyTo === null)) finishes++;
      checked.push(entry);
    }
    this.stepFinishes = finishes;
    if (checked.length === 0) throw new Error(`${this.name}: no gradients provided for any variable: ${missing!.join(', ')}`);
    if (missing !== null) console.warn(`${this.name}: gradients do not exist for variables ${missing.join(', ')}; they are not updated`);
    return checked;
  }

  /** An output of {@link Optimizer.applyGradientsWritingTo}: the variable's dtype and length, outside its memory. */
  private checkOutput(output: FloatArray | null, entry: StepEntry, position: number): FloatArray | null {
    if (output === null) return null;
    const variable = entry.variable;
    if (!(entry.float64 ? output instanceof Float64Array : output instanceof Float32Array) || output.length !== entry.size) {
      throw new TypeError(`${this.name}: output ${position} must be a ${arrayTypeName(variable)} of ${entry.size} values, got ${describe(output)}`);
    }
    if (output.buffer === variable.value.buffer) {
      throw new RangeError(`${this.name}: output ${position} must not be in the variable's own memory`);
    }
    return output;
  }

  private checkPair(grad: Gradient, variable: Variable, position: number): StepEntry {
    const entry = this.entryOf(variable, position);
    // The usual case first, in one test: a typed array of the variable's dtype and size.
    if ((entry.float64 ? grad instanceof Float64Array : grad instanceof Float32Array) && (grad as FloatArray).length === entry.size) {
      entry.grad = grad as FloatArray;
      entry.sparse = null;
      return entry;
    }
    if (grad instanceof IndexedSlices) {
      entry.sparse = this.checkSparse(grad, variable);
      entry.grad = null;
      return entry;
    }
    const revived = this.gradientBuffers.revive(grad, variable);
    if (revived !== null) return this.checkPair(revived, variable, position);
    if (!isFloatArray(grad)) {
      throw new TypeError(`${this.name}: the gradient of '${variable.name}' must be a ${arrayTypeName(variable)} or IndexedSlices, got ${describe(grad)}`);
    }
    if (!(variable.dtype === 'float64' ? grad instanceof Float64Array : grad instanceof Float32Array)) {
      throw new TypeError(`${this.name}: the gradient of '${variable.name}' (${variable.dtype}) must be a ${arrayTypeName(variable)}, got ${describe(grad)}`);
    }
    if (grad.length !== variable.size) {
      throw new RangeError(`${this.name}: the gradient of '${variable.name}' has ${grad.length} values, the variable has ${variable.size} (shape [${variable.shape.join(', ')}])`);
    }
    throw new Error(`${this.name}: unreachable gradient check for '${variable.name}'`);
  }

  /** The entry of a built variable; pairs usually come in build order, so try that position first. */
  private entryOf(variable: Variable, position: number): StepEntry {
    if (variable.disposed) throw new Error(`${this.name}: variable '${variable.name}' has been disposed`);
    const guess = this.entries[position];
    if (guess !== undefined && guess.variable === variable) return guess;
    const index = this.indexById.get(variable.id);
    if (index === undefined) {
      throw new Error(`${this.name}: variable '${variable.name}' is not one the optimizer was built for; create a new optimizer for a new set of variables`);
    }
    return this.entries[index];
  }

  private checkSparse(slices: IndexedSlices, variable: Variable): StepEntry['sparse'] {
    const where = `the sparse gradient of '${variable.name}'`;
    if (variable.shape.length < 1) throw new TypeError(`${this.name}: ${where}: a scalar variable cannot take row updates`);
    const rowCount = variable.shape[0];
    const rowSize = variable.size / Math.max(rowCount, 1);
    if (slices.rowSize !== rowSize || slices.denseShape[0] !== rowCount) {
      throw new RangeError(`${this.name}: ${where} has dense shape [${slices.denseShape.join(', ')}], the variable has shape [${variable.shape.join(', ')}]`);
    }
    const values = slices.values;
    if (isFloatArray(values) && values.constructor !== variable.value.constructor) {
      throw new TypeError(`${this.name}: ${where} (${variable.dtype}) must hold a ${arrayTypeName(variable)}, got ${describe(values)}`);
    }
    if (values.length !== slices.indices.length * rowSize) {
      throw new RangeError(`${this.name}: ${where} has ${values.length} values for ${slices.indices.length} rows of ${rowSize}`);
    }
    for (let i = 0; i < slices.indices.length; i++) {
      const index = slices.indices[i];
      if (index < 0 || index >= rowCount) {
        throw new RangeError(`${this.name}: ${where} has index ${index} at position ${i}, outside [0, ${rowCount})`);
      }
    }
    const rows = newFloatArray(variable.dtype, values.length);
    for (let i = 0; i < rows.length; i++) {
      const x = values[i];
      if (typeof x !== 'number') throw new TypeError(`${this.name}: ${where} value ${i} is not a number: ${describe(x)}`);
      rows[i] = x;
    }
    return { indices: slices.indices, rows, rowSize };
  }

  /** Steps 5-7 and 9 decided as data: clipping factors, de-duplicated rows, decay factors, EMA. */
  private plan(checked: readonly StepEntry[], learningRate: number): UpdatePlan {
    const clipValue = this.applyClipping(checked);
    const dense = this.stepDense;
    dense.length = 0;
    const sparse: SparseUpdate[] = [];
    let copiesOut = false;
    for (const entry of checked) {
      entry.decay = this.decayOf(entry, learningRate);
      if (entry.grad !== null) {
        dense.push(entry as DenseUpdate);
        if (entry.copyTo !== null) copiesOut = true;
        continue;
      }
      const { indices, rows, rowSize } = entry.sparse!;
      clipRows(rows, entry.gradScale, clipValue);
      const unique = deduplicateRows(indices, rows, rowSize);
      sparse.push({ index: entry.index, variable: entry.variable, indices: unique.indices, rows: unique.rows, rowSize, decay: entry.decay });
    }
    const frequency = this.emaOverwriteFrequency;
    return {
      learningRate,
      dense,
      sparse,
      clipValue,
      emaMomentum: this.useEma ? this.emaMomentum : null,
      emaOverwrite: this.useEma && frequency !== null && frequency > 0 && (this.iterations + 1) % frequency === 0,
      averages: this.averageStorages,
      copiesOut,
    };
  }

  /**
   * Step 5: at most one clipping rule, clipnorm > global_clipnorm > clipvalue. Norm clipping sets
   * each entry's gradScale; the returned element clamp is > 0 when clipvalue applies.
   */
  private applyClipping(checked: readonly StepEntry[]): number {
    const rule = this.clippingRule();
    let scale = 1;
    if (rule.kind === 'clipnorm') {
      const sums = this.sumsOfSquares(checked);
      for (let i = 0; i < checked.length; i++) checked[i].gradScale = clipnormScale(Math.sqrt(sums[i]), rule.limit);
      return 0;
    }
    if (rule.kind === 'globalClipnorm') {
      const sums = this.sumsOfSquares(checked);
      let total = 0;
      for (let i = 0; i < checked.length; i++) total += sums[i];
      scale = globalClipnormScale(Math.sqrt(total), rule.limit);
    }
    for (const entry of checked) entry.gradScale = scale;
    return rule.kind === 'clipvalue' ? rule.limit : 0;
  }

  /** Step 5's precedence: at most one clipping rule, clipnorm > global_clipnorm > clipvalue. */
  protected clippingRule(): ClippingRule {
    if (this.clipnorm !== null && this.clipnorm > 0) return { kind: 'clipnorm', limit: this.clipnorm };
    if (this.globalClipnorm !== null && this.globalClipnorm > 0) return { kind: 'globalClipnorm', limit: this.globalClipnorm };
    if (this.clipvalue !== null && this.clipvalue > 0) return { kind: 'clipvalue', limit: this.clipvalue };
    return { kind: 'none', limit: 0 };
  }

  /** Step 7: lr * weight_decay, or 0 for a variable excluded from decay. */
  private decayOf(entry: StepEntry, learningRate: number): number {
    return this.weightDecay === null || entry.excludedFromDecay ? 0 : this.weightDecay * learningRate;
  }

  /**
   * Steps 1, 5 (the rule only), 7 and 9 of the next step over built `variables`, checked, changing
   * nothing: for kernels that keep the gradients on a device. {@link Optimizer.countDecidedStep}
   * makes it count once it ran.
   */
  protected decideStep(variables: readonly Variable[]): DecidedStep {
    if (this.disposed) throw new Error(`${this.name}: this optimizer has been disposed`);
    if (this.builtVariables === null) throw new Error(`${this.name}: decideStep needs a built optimizer`);
    const learningRate = this.learningRateForStep();
    const entries = variables.map((v, i) => this.entryOf(v, i));
    this.prepareStep(learningRate);
    const frequency = this.emaOverwriteFrequency;
    return {
      learningRate,
      clipping: this.clippingRule(),
      decays: entries.map((e) => this.decayOf(e, learningRate)),
      emaMomentum: this.useEma ? this.emaMomentum : null,
      emaOverwrite: this.useEma && frequency !== null && frequency > 0 && (this.iterations + 1) % frequency === 0,
    };
  }

  /** Counts a step decided by {@link Optimizer.decideStep} and run elsewhere (constraints do not apply there). */
  protected countDecidedStep(step: DecidedStep): void {
    if (isLearningRateSchedule(this.learningRateSource)) this.scheduledLearningRate = step.learningRate;
    this.iterationVariable.value[0] += 1;
  }

  /** Each checked gradient's sum of squares (a sparse one's over its rows), in one kernel call. */
  private sumsOfSquares(checked: readonly StepEntry[]): Float64Array {
    const arrays = this.stepArrays;
    arrays.length = 0;
    for (const entry of checked) arrays.push(entry.grad ?? entry.sparse!.rows);
    if (this.stepSums.length < arrays.length) this.stepSums = new Float64Array(this.entries.length);
    this.kernels.sumsOfSquares(arrays, this.stepSums);
    return this.stepSums;
  }

  /** @internal The name patterns excluded from weight decay, for copying the exclusions to another optimizer. */
  get weightDecayPatterns(): readonly RegExp[] {
    return this.excludedPatterns;
  }

  /** Step 7 exclusions (Keras `exclude_from_weight_decay`): by identity or by a name search. */
  private isExcludedFromDecay(variable: Variable): boolean {
    return this.excludedIds.has(variable.id) || this.excludedPatterns.some((pattern) => pattern.test(variable.name));
  }

  private assignState(weights: readonly (FloatArray | readonly number[])[], what: string): void {
    if (this.builtVariables === null) {
      throw new Error(`${this.name}: ${what} needs a built optimizer (call build(variables) or take a step first)`);
    }
    const targets = this.variables;
    if (!Array.isArray(weights) || weights.length !== targets.length) {
      throw new Error(`${this.name}: ${what} expects ${targets.length} arrays (${targets.map((v) => v.name).join(', ')}), got ${Array.isArray(weights) ? weights.length : describe(weights)}`);
    }
    weights.forEach((w, i) => {
      const target = targets[i];
      if (!isFloatArray(w) && !Array.isArray(w)) throw new TypeError(`${this.name}: ${what}: entry ${i} ('${target.name}') must be an array, got ${describe(w)}`);
      if (w.length !== target.size) {
        throw new RangeError(`${this.name}: ${what}: entry ${i} ('${target.name}') has ${w.length} values, expected ${target.size} (shape [${target.shape.join(', ')}])`);
      }
      for (let j = 0; j < w.length; j++) {
        if (typeof w[j] !== 'number') throw new TypeError(`${this.name}: ${what}: entry ${i} ('${target.name}') value ${j} is not a number: ${describe(w[j])}`);
      }
    });
    const iteration = weights[0][0];
    if (!Number.isInteger(iteration) || iteration < 0) {
      throw new RangeError(`${this.name}: ${what}: the iteration count must be a non-negative integer, got ${iteration}`);
    }
    weights.forEach((w, i) => targets[i].assign(w));
    this.interruption = null; // the whole state is replaced: nothing of the interrupted step is left
    if (isLearningRateSchedule(this.learningRateSource)) this.scheduledLearningRate = this.evaluateSchedule(this.iterations);
  }

  /** Throws while the last step that began writing was interrupted (see {@link InterruptedStepError}). */
  private refuseIfInterrupted(action: string): void {
    if (this.interruption === null) return;
    throw new Error(`${this.name}: cannot ${action} until the state is replaced. ${this.interruption.message}`, { cause: this.interruption });
  }
}

/** The pairs of an iterable; a name -> gradient map (TensorFlow.js' form) gets a message saying what is expected. */
function listOfPairs(owner: string, pairs: unknown): readonly GradientPair[] {
  const mapHint = 'a name -> gradient map is the form of TensorFlow.js optimizers (adam-optimizer/tfjs); here pass a list of [gradient, variable] pairs';
  if (pairs instanceof Map) throw new TypeError(`${owner}: applyGradients expects a list of [gradient, Variable] pairs, got a Map; ${mapHint}`);
  if (pairs === null || typeof pairs !== 'object' || typeof (pairs as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    const what = pairs !== null && typeof pairs === 'object' ? `an object with keys ${Object.keys(pairs).slice(0, 3).map((k) => `'${k}'`).join(', ') || '(none)'}; ${mapHint}` : describe(pairs);
    throw new TypeError(`${owner}: applyGradients expects a list of [gradient, Variable] pairs, got ${what}`);
  }
  return [...(pairs as Iterable<GradientPair>)];
}

function checkLearningRate(what: string, value: unknown): LearningRate {
  if (isLearningRateSchedule(value)) return value;
  if (typeof value === 'function') {
    if (value.length !== 0) throw new TypeError(`${what} must be a number, a schedule or a zero-argument function, got a function of ${value.length} arguments`);
    return value as () => number;
  }
  return requireFinite(what, value);
}

function arrayTypeName(variable: Variable): string {
  return variable.dtype === 'float64' ? 'Float64Array' : 'Float32Array';
}

/** Clipping applied to sparse rows before de-duplication (the reference clips the raw slices). */
function clipRows(rows: FloatArray, scale: number, clipValue: number): void {
  if (scale !== 1) for (let i = 0; i < rows.length; i++) rows[i] *= scale;
  if (clipValue > 0) for (let i = 0; i < rows.length; i++) rows[i] = clipByValue(rows[i], clipValue);
}

function applyConstraint(variable: Variable): void {
  if (variable.constraint === null) return;
  variable.assign(variable.constraint(variable.value));
}
