import type { JsonValue } from '../json.js';
import { optionsFromConfig } from './config.js';
import { LearningRateSchedule } from './schedule.js';
import { checkBoolean, checkName, checkNumber, checkOptions, checkStep } from './validate.js';

/** Options of {@link ExponentialDecay}; the Keras arguments in camelCase. */
export interface ExponentialDecayOptions {
  /** The learning rate at step 0. */
  initialLearningRate: number;
  /** Steps over which the rate is multiplied by `decayRate` once. Must be positive. */
  decaySteps: number;
  /** The factor applied every `decaySteps` steps. Must be non-negative. */
  decayRate: number;
  /** Decay in whole periods (`floor(step / decaySteps)`) instead of continuously. Default false. */
  staircase?: boolean;
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
}

const KEYS = ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase', 'name'] as const;

/**
 * Exponential decay, as Keras' `ExponentialDecay`:
 * `initialLearningRate * decayRate ^ (step / decaySteps)`, the exponent floored when `staircase`.
 *
 * @example
 * ```ts
 * const lr = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1000, decayRate: 0.96 });
 * lr.call(2000); // 0.1 * 0.96^2
 * ```
 */
export class ExponentialDecay extends LearningRateSchedule {
  /** The Keras class name. */
  static override readonly className = 'ExponentialDecay';
  /** The learning rate at step 0. */
  readonly initialLearningRate: number;
  /** Steps per decay period. */
  readonly decaySteps: number;
  /** The factor applied per period. */
  readonly decayRate: number;
  /** Whether the exponent is floored. */
  readonly staircase: boolean;
  /** The schedule's name, or null. */
  readonly name: string | null;

  /**
   * @param options - See {@link ExponentialDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: ExponentialDecayOptions) {
    super();
    const owner = ExponentialDecay.className;
    const o = checkOptions(owner, options, KEYS);
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = checkNumber(owner, 'decaySteps', o.decaySteps, 'positive');
    // A negative base to a fractional power is NaN.
    this.decayRate = checkNumber(owner, 'decayRate', o.decayRate, 'nonNegative');
    this.staircase = checkBoolean(owner, 'staircase', o.staircase, false);
    this.name = checkName(owner, o.name);
  }

  /** The learning rate at `step` (0-based; non-negative and finite). */
  call(step: number): number {
    const s = checkStep(ExponentialDecay.className, step);
    let p = s / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.initialLearningRate * Math.pow(this.decayRate, p);
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
  static fromConfig(config: Record<string, unknown>): ExponentialDecay {
    return new ExponentialDecay(
      optionsFromConfig(ExponentialDecay.className, config, KEYS) as unknown as ExponentialDecayOptions,
    );
  }
}
