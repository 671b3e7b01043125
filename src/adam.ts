import { describe } from './describe.js';
import { readHyperparameter, requireBoolean, requireFinite, requireHyperparameter, withDefault, type Hyperparameter } from './hyperparameters.js';
import type { JsonValue } from './json.js';
import type { DenseSlotSet, SparseSlotSet, StepScalars } from './kernels/kernel.js';
import { checkOptionKeys } from './options.js';
import { OPTIMIZER_OPTION_KEYS, Optimizer, type DecidedStep, type OptimizerOptions, type UpdatePlan } from './optimizer.js';
import { configToOptions } from './config.js';
import type { Variable } from './variable.js';

/** A step decided by the pipeline for GPU programs: {@link DecidedStep} and Adam's scalars. */
export interface DeviceStep extends DecidedStep {
  readonly scalars: StepScalars;
}

/** Options of {@link Adam}: the Keras arguments in camelCase (see the README's option table). */
export interface AdamOptions extends OptimizerOptions {
  /** Keras `beta_1`: decay of the first moment; a number or a zero-argument function. Default 0.9. */
  beta1?: Hyperparameter;
  /** Keras `beta_2`: decay of the second moment; a number or a zero-argument function. Default 0.999. */
  beta2?: Hyperparameter;
  /** Keras `epsilon`: "epsilon hat" of the paper unless `adaptiveEpsilon`. Default 1e-7. */
  epsilon?: number;
  /** Keras `adaptive_epsilon`: use Algorithm 1's epsilon (the PyTorch form). Default false. */
  adaptiveEpsilon?: boolean;
  /** Keras `amsgrad`: divide by the running maximum of v. Default false. */
  amsgrad?: boolean;
}

const ADAM_OPTION_KEYS = [...OPTIMIZER_OPTION_KEYS, 'beta1', 'beta2', 'epsilon', 'adaptiveEpsilon', 'amsgrad'];

/** Adam's per-variable state, and the kernel's view of it (reused every step). */
interface AdamSlots {
  readonly m: Variable;
  readonly v: Variable;
  readonly vhat: Variable | null;
  readonly set: MutableDenseSet;
}

type MutableDenseSet = { -readonly [K in keyof DenseSlotSet]: DenseSlotSet[K] };

/**
 * The Adam optimizer of Keras (tf_keras), exactly: every option of the reference, the same
 * numbers, and a step that runs in one pass over memory with the compiled kernels.
 */
export class Adam extends Optimizer {
  /** The Keras class name, written as `class_name` by `optimizers.serialize`. */
  static readonly className: string = 'Adam';

  readonly beta1: Hyperparameter;
  readonly beta2: Hyperparameter;
  readonly epsilon: number;
  readonly adaptiveEpsilon: boolean;
  readonly amsgrad: boolean;

  private slots: AdamSlots[] = [];
  /** Each variable's dense set (`slots[i].set`), by build index: the step reaches it without the slot object. */
  private denseSetOf: MutableDenseSet[] = [];
  private stepBetas = { beta1: 0.9, beta2: 0.999 };
  /** The dense sets of the last step, reused while the same variables come in the same order. */
  private lastDense: { sets: DenseSlotSet[][]; indices: number[] } = { sets: [], indices: [] };

  constructor(options: AdamOptions = {}) {
    // A subclass (AdamW) names itself in messages and as the default name.
    const owner = (new.target as { className?: string }).className ?? 'Adam';
    checkOptionKeys(owner, options, ADAM_OPTION_KEYS);
    super(owner, options);
    this.beta1 = requireHyperparameter(`${owner}: beta1`, withDefault(options.beta1, 0.9));
    this.beta2 = requireHyperparameter(`${owner}: beta2`, withDefault(options.beta2, 0.999));
    this.epsilon = requireFinite(`${owner}: epsilon`, withDefault(options.epsilon, 1e-7));
    if (this.epsilon < 0) throw new RangeError(`${owner}: epsilon must be >= 0, got ${this.epsilon}`);
    this.adaptiveEpsilon = requireBoolean(`${owner}: adaptiveEpsilon`, withDefault(options.adaptiveEpsilon, false));
    this.amsgrad = requireBoolean(`${owner}: amsgrad`, withDefault(options.amsgrad, false));
    if (typeof this.beta1 === 'number') checkBeta('beta1', this.beta1);
    if (typeof this.beta2 === 'number') checkBeta('beta2', this.beta2);
  }

  /**
   * Builds an Adam from its Keras config: snake_case keys as `getConfig()` and Keras write them
   * (camelCase keys, as TensorFlow.js passes them, are accepted too).
   */
  static fromConfig(config: Record<string, unknown>): Adam {
    return new Adam(configToOptions(config) as AdamOptions);
  }

  override getConfig(): Record<string, JsonValue> {
    return {
      ...super.getConfig(),
      beta_1: readHyperparameter('Adam: beta1', this.beta1),
      beta_2: readHyperparameter('Adam: beta2', this.beta2),
      epsilon: this.epsilon,
      amsgrad: this.amsgrad,
      adaptive_epsilon: this.adaptiveEpsilon,
    };
  }

  /**
   * @internal The next step over built `variables`, decided by the pipeline but computed elsewhere
   * (the TensorFlow.js GPU programs): its scalars, clipping rule and decay factors. Changes nothing;
   * {@link Adam.countDeviceStep} counts it once it ran.
   */
  decideDeviceStep(variables: readonly Variable[]): DeviceStep {
    const step = this.decideStep(variables);
    const scalars = this.stepScalars({ ...step, clipValue: step.clipping.kind === 'clipvalue' ? step.clipping.limit : 0, dense: [], sparse: [], averages: [], copiesOut: false });
    return { ...step, scalars };
  }

  /** @internal Counts a step from {@link Adam.decideDeviceStep} that ran. */
  countDeviceStep(step: DeviceStep): void {
    this.countDecidedStep(step);
  }

  protected override slotsPerVariable(): number {
    return this.amsgrad ? 3 : 2;
  }

  protected buildSlots(variables: readonly Variable[]): void {
    this.slots = variables.map((variable) => {
      const m = this.makeSlot(variable, 'm');
      const v = this.makeSlot(variable, 'v');
      const vhat = this.amsgrad ? this.makeSlot(variable, 'vhat') : null;
      const set: MutableDenseSet = {
        param: variable.storageRef, grad: variable.value, m: m.storageRef, v: v.storageRef,
        vhat: vhat === null ? null : vhat.storageRef, average: null, gradScale: 1, decay: 0, copyTo: null,
      };
      return { m, v, vhat, set };
    });
    this.denseSetOf = this.slots.map((slot) => slot.set);
  }

  protected slotVariables(): Variable[] {
    const interleaved = this.slots.flatMap((s) => [s.m, s.v]);
    const vhats = this.slots.flatMap((s) => (s.vhat === null ? [] : [s.vhat]));
    return [...interleaved, ...vhats];
  }

  protected prepareStep(): void {
    const beta1 = readHyperparameter('Adam: beta1', this.beta1);
    const beta2 = readHyperparameter('Adam: beta2', this.beta2);
    checkBeta('beta1', beta1);
    checkBeta('beta2', beta2);
    this.stepBetas = { beta1, beta2 };
  }

  protected update(plan: UpdatePlan): void {
    const scalars = this.stepScalars(plan);
    const byDtype = this.denseSets(plan);
    const sparse: SparseSlotSet[] = plan.sparse.map((update) => {
      const slots = this.slots[update.index];
      return {
        param: update.variable.storageRef,
        m: slots.m.storageRef,
        v: slots.v.storageRef,
        vhat: slots.vhat === null ? null : slots.vhat.storageRef,
        average: plan.emaMomentum === null ? null : plan.averages[update.index],
        decay: update.decay,
        indices: update.indices,
        rows: update.rows,
        rowSize: update.rowSize,
      };
    });
    // Memory for every kernel call of the step first: running out then changes nothing.
    this.kernels.reserveStep?.(byDtype, sparse, scalars);
    for (const sets of byDtype) if (sets.length > 0) this.kernels.denseStep(sets, scalars);
    for (const set of sparse) this.kernels.sparseStep(set, scalars);
    // The sets outlive the step: let go of this step's outputs (they may be large).
    if (plan.copiesOut) for (const update of plan.dense) this.denseSetOf[update.index].copyTo = null;
  }

  /** docs/semantics.md section 2: alpha and the epsilon of step t = iterations + 1. */
  private stepScalars(plan: UpdatePlan): StepScalars {
    const t = this.iterations + 1;
    const { beta1, beta2 } = this.stepBetas;
    const correction2 = Math.sqrt(1 - Math.pow(beta2, t));
    return {
      alpha: (plan.learningRate * correction2) / (1 - Math.pow(beta1, t)),
      epsilon: this.adaptiveEpsilon ? this.epsilon * correction2 : this.epsilon,
      oneMinusBeta1: 1 - beta1,
      oneMinusBeta2: 1 - beta2,
      amsgrad: this.amsgrad,
      clipValue: plan.clipValue,
      emaMomentum: plan.emaMomentum,
      emaOverwrite: plan.emaOverwrite,
    };
  }

  /** The kernel's dense sets, grouped by dtype; the same arrays as last step when the variables repeat. */
  private denseSets(plan: UpdatePlan): DenseSlotSet[][] {
    const dense = plan.dense;
    const lastIndices = this.lastDense.indices;
    let same = dense.length === lastIndices.length;
    const sets = this.denseSetOf;
    const averages = plan.emaMomentum === null ? null : plan.averages;
    for (let i = 0; i < dense.length; i++) {
      const update = dense[i];
      const index = update.index;
      if (same && index !== lastIndices[i]) same = false;
      const set = sets[index];
      set.param = update.variable.storageRef;
      set.grad = update.grad;
      set.gradScale = update.gradScale;
      set.decay = update.decay;
      set.copyTo = update.copyTo;
      set.average = averages === null ? null : averages[index];
    }
    if (!same) {
      const float32: DenseSlotSet[] = [];
      const float64: DenseSlotSet[] = [];
      for (const update of plan.dense) {
        (update.variable.dtype === 'float64' ? float64 : float32).push(this.denseSetOf[update.index]);
      }
      this.lastDense = { sets: [float32, float64], indices: plan.dense.map((u) => u.index) };
    }
    return this.lastDense.sets;
  }
}

function checkBeta(name: string, value: number): void {
  if (!(value >= 0 && value < 1)) throw new RangeError(`Adam: ${name} must be in [0, 1), got ${describe(value)}`);
}

