import type { JsonValue } from '../json.js';
import { optionsFromConfig } from './config.js';
import { LearningRateSchedule } from './schedule.js';
import { checkBoolean, checkName, checkNumber, checkOptions, checkStep, finiteRate, powIeee } from './validate.js';

/** Options of {@link PolynomialDecay}; the Keras arguments in camelCase. */
export interface PolynomialDecayOptions {
  /** The learning rate at step 0. */
  initialLearningRate: number;
  /** Steps to go from the initial to the end learning rate. Must be positive. */
  decaySteps: number;
  /** The learning rate reached after `decaySteps`. Default 1e-4. */
  endLearningRate?: number;
  /** The power of the polynomial. Must be non-negative. Default 1 (linear). */
  power?: number;
  /** Keep decaying past `decaySteps` over the next multiple of it. Default false. */
  cycle?: boolean;
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
}

const KEYS = ['initialLearningRate', 'decaySteps', 'endLearningRate', 'power', 'cycle', 'name'] as const;

/**
 * Polynomial decay, as Keras' `PolynomialDecay`:
 * `(initialLearningRate - endLearningRate) * (1 - s / D) ^ power + endLearningRate`.
 *
 * Without `cycle`, `s = min(step, decaySteps)` and `D = decaySteps`, so the rate stays at
 * `endLearningRate` afterwards. With `cycle`, `s = step` and `D = decaySteps * ceil(step /
 * decaySteps)` (with multiplier 1 at step 0): the horizon jumps to the next multiple of
 * `decaySteps`, so the rate rises again after each multiple and decays over a longer span.
 *
 * @example
 * ```ts
 * const lr = new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10000, endLearningRate: 0.01, power: 0.5 });
 * ```
 */
export class PolynomialDecay extends LearningRateSchedule {
  /** The Keras class name. */
  static override readonly className = 'PolynomialDecay';
  /** The learning rate at step 0. */
  readonly initialLearningRate: number;
  /** Steps per decay. */
  readonly decaySteps: number;
  /** The learning rate at the end of the decay. */
  readonly endLearningRate: number;
  /** The power of the polynomial. */
  readonly power: number;
  /** Whether the decay cycles. */
  readonly cycle: boolean;
  /** The schedule's name, or null. */
  readonly name: string | null;

  /**
   * @param options - See {@link PolynomialDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: PolynomialDecayOptions) {
    super();
    const owner = PolynomialDecay.className;
    const o = checkOptions(owner, options, KEYS);
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = checkNumber(owner, 'decaySteps', o.decaySteps, 'positive');
    const end = o.endLearningRate === undefined ? 1e-4 : o.endLearningRate;
    this.endLearningRate = checkNumber(owner, 'endLearningRate', end);
    // 0 ^ negative power is Infinity, reached at the end of every decay.
    this.power = checkNumber(owner, 'power', o.power === undefined ? 1 : o.power, 'nonNegative');
    this.cycle = checkBoolean(owner, 'cycle', o.cycle, false);
    this.name = checkName(owner, o.name);
  }

  /**
   * The learning rate at `step`: any number but NaN, as in tf_keras. Without `cycle` a negative
   * step extrapolates the polynomial (a rate beyond the initial one); with `cycle` the horizon of
   * a negative step is `decaySteps * ceil(step / decaySteps)`, 0 or negative, as in tf_keras.
   *
   * @throws RangeError where the formula is not finite (for example with `cycle` and a positive
   *   power at a step in `(-decaySteps, 0)`, where the horizon is 0, or at an infinite step).
   */
  call(step: number): number {
    let s = checkStep(PolynomialDecay.className, step);
    let p: number;
    if (this.cycle) {
      // The first multiple of decaySteps not below the step; Keras uses 1 at step 0 so that
      // the horizon is never 0.
      p = s / (this.decaySteps * (s === 0 ? 1 : Math.ceil(s / this.decaySteps)));
      // For a step >= 0, rounding can leave the horizon a hair below the step; 1 - p < 0 would
      // then give NaN for a fractional power, so p is capped at its exact-arithmetic maximum of 1.
      // Below step 0, p >= 1 is tf_keras's own value and is kept.
      if (s >= 0 && p > 1) p = 1;
    } else {
      s = Math.min(s, this.decaySteps);
      p = s / this.decaySteps;
    }
    const rate = (this.initialLearningRate - this.endLearningRate) * powIeee(1 - p, this.power) + this.endLearningRate;
    return finiteRate(PolynomialDecay.className, step, rate);
  }

  /** The Keras config: initial_learning_rate, decay_steps, end_learning_rate, power, cycle, name. */
  getConfig(): Record<string, JsonValue> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      end_learning_rate: this.endLearningRate,
      power: this.power,
      cycle: this.cycle,
      name: this.name,
    };
  }

  /**
   * Rebuilds the schedule from a config with snake_case (Keras) or camelCase (TensorFlow.js) keys.
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): PolynomialDecay {
    return new PolynomialDecay(
      optionsFromConfig(PolynomialDecay.className, config, KEYS) as unknown as PolynomialDecayOptions,
    );
  }
}
