import type { JsonValue } from '../json.js';
import { LearningRateSchedule } from './schedule.js';
import { checkBoolean, checkName, checkNumber, checkOptions, checkStep } from './validate.js';

/** Options shared by {@link ExponentialDecay} and {@link InverseTimeDecay}; the Keras arguments in camelCase. */
export interface RateDecayOptions {
  /** The learning rate at step 0. */
  initialLearningRate: number;
  /** The step count one unit of decay refers to. Must be positive. */
  decaySteps: number;
  /** How fast the rate falls. Must be non-negative. */
  decayRate: number;
  /** Use `floor(step / decaySteps)`, so the rate changes only every `decaySteps`. Default false. */
  staircase?: boolean;
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
}

/** The option keys of {@link RateDecayOptions}, for config parsing. */
export const RATE_DECAY_KEYS = ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase', 'name'] as const;

/**
 * What the two rate schedules share: their options, checks and config. A subclass turns
 * {@link RateDecaySchedule.progress} into a rate.
 */
export abstract class RateDecaySchedule extends LearningRateSchedule {
  /** The learning rate at step 0. */
  readonly initialLearningRate: number;
  /** The step unit of the decay. */
  readonly decaySteps: number;
  /** The decay rate. */
  readonly decayRate: number;
  /** Whether `step / decaySteps` is floored. */
  readonly staircase: boolean;
  /** The schedule's name, or null. */
  readonly name: string | null;

  /** @throws TypeError or RangeError naming the first invalid option. */
  protected constructor(owner: string, options: RateDecayOptions) {
    super();
    const o = checkOptions(owner, options, RATE_DECAY_KEYS);
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = checkNumber(owner, 'decaySteps', o.decaySteps, 'positive');
    // Negative rates give NaN (a negative base to a fractional power) or a zero denominator.
    this.decayRate = checkNumber(owner, 'decayRate', o.decayRate, 'nonNegative');
    this.staircase = checkBoolean(owner, 'staircase', o.staircase, false);
    this.name = checkName(owner, o.name);
  }

  /** `step / decaySteps`, floored when `staircase`; the step is checked first (any number but NaN). */
  protected progress(owner: string, step: number): number {
    const p = checkStep(owner, step) / this.decaySteps;
    return this.staircase ? Math.floor(p) : p;
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
}
