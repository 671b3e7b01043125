import type { JsonValue } from '../json.js';
import { optionsFromConfig } from './config.js';
import { LearningRateSchedule } from './schedule.js';
import { checkBoolean, checkName, checkNumber, checkOptions, checkStep } from './validate.js';

/** Options of {@link InverseTimeDecay}; the Keras arguments in camelCase. */
export interface InverseTimeDecayOptions {
  /** The learning rate at step 0. */
  initialLearningRate: number;
  /** The step count that one unit of `decayRate` refers to. Must be positive. */
  decaySteps: number;
  /** How fast the rate falls. Must be non-negative. */
  decayRate: number;
  /** Use `floor(step / decaySteps)`, so the rate changes only every `decaySteps`. Default false. */
  staircase?: boolean;
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
}

const KEYS = ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase', 'name'] as const;

/**
 * Inverse-time decay, as Keras' `InverseTimeDecay`:
 * `initialLearningRate / (1 + decayRate * step / decaySteps)`, the ratio `step / decaySteps`
 * floored when `staircase`.
 *
 * @example
 * ```ts
 * const lr = new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 });
 * lr.call(2); // 0.1 / 2
 * ```
 */
export class InverseTimeDecay extends LearningRateSchedule {
  /** The Keras class name. */
  static override readonly className = 'InverseTimeDecay';
  /** The learning rate at step 0. */
  readonly initialLearningRate: number;
  /** The step unit of the decay. */
  readonly decaySteps: number;
  /** The decay rate. */
  readonly decayRate: number;
  /** Whether the ratio is floored. */
  readonly staircase: boolean;
  /** The schedule's name, or null. */
  readonly name: string | null;

  /**
   * @param options - See {@link InverseTimeDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: InverseTimeDecayOptions) {
    super();
    const owner = InverseTimeDecay.className;
    const o = checkOptions(owner, options, KEYS);
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = checkNumber(owner, 'decaySteps', o.decaySteps, 'positive');
    // A negative rate would drive the denominator through zero.
    this.decayRate = checkNumber(owner, 'decayRate', o.decayRate, 'nonNegative');
    this.staircase = checkBoolean(owner, 'staircase', o.staircase, false);
    this.name = checkName(owner, o.name);
  }

  /** The learning rate at `step` (0-based; non-negative and finite). */
  call(step: number): number {
    const s = checkStep(InverseTimeDecay.className, step);
    let p = s / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.initialLearningRate / (1 + this.decayRate * p);
  }

  /** The Keras config: initial_learning_rate, decay_steps, decay_rate, staircase, name. */
  getConfig(): Record<string, JsonValue> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      decay_rate: this.decayRate,
      staircase: this.staircase,
      name: this.name,
    };
  }

  /**
   * Rebuilds the schedule from a config with snake_case (Keras) or camelCase (TensorFlow.js) keys.
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): InverseTimeDecay {
    return new InverseTimeDecay(
      optionsFromConfig(InverseTimeDecay.className, config, KEYS) as unknown as InverseTimeDecayOptions,
    );
  }
}
