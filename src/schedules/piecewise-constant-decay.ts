import type { JsonValue } from '../json.js';
import { optionsFromConfig } from './config.js';
import { LearningRateSchedule } from './schedule.js';
import { checkName, checkNumberArray, checkOptions, checkStep } from './validate.js';

/** Options of {@link PiecewiseConstantDecay}; the Keras arguments in camelCase. */
export interface PiecewiseConstantDecayOptions {
  /** Step boundaries, strictly increasing, at least one. */
  boundaries: readonly number[];
  /** The learning rate on each interval; exactly one more entry than `boundaries`. */
  values: readonly number[];
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
}

const KEYS = ['boundaries', 'values', 'name'] as const;

/**
 * A piecewise-constant learning rate, as Keras' `PiecewiseConstantDecay`: `values[0]` while
 * `step <= boundaries[0]`, `values[i]` while `boundaries[i-1] < step <= boundaries[i]`, and the
 * last value after the last boundary. Each boundary belongs to the interval that ends there.
 *
 * @example
 * ```ts
 * const lr = new PiecewiseConstantDecay({ boundaries: [100000, 110000], values: [1, 0.5, 0.1] });
 * lr.call(100000); // 1
 * lr.call(100001); // 0.5
 * ```
 */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  /** The Keras class name. */
  static override readonly className = 'PiecewiseConstantDecay';
  /** The boundaries (a private copy). */
  readonly boundaries: readonly number[];
  /** The interval values (a private copy). */
  readonly values: readonly number[];
  /** The schedule's name, or null. */
  readonly name: string | null;

  /**
   * @param options - See {@link PiecewiseConstantDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: PiecewiseConstantDecayOptions) {
    super();
    const owner = PiecewiseConstantDecay.className;
    const o = checkOptions(owner, options, KEYS);
    const boundaries = checkNumberArray(owner, 'boundaries', o.boundaries);
    const values = checkNumberArray(owner, 'values', o.values);
    // tf_keras indexes boundaries[0] when called, so an empty list can never work there.
    if (boundaries.length === 0) {
      throw new RangeError(`${owner}: boundaries must contain at least one boundary, got []`);
    }
    // Keras documents this requirement but does not check it; unordered boundaries make
    // overlapping intervals whose value depends on evaluation order.
    for (let i = 1; i < boundaries.length; i++) {
      if (!(boundaries[i] > boundaries[i - 1])) {
        throw new RangeError(
          `${owner}: boundaries must be strictly increasing, got boundaries[${i}] = ${boundaries[i]} ` +
            `after boundaries[${i - 1}] = ${boundaries[i - 1]} in [${boundaries.join(', ')}]`,
        );
      }
    }
    if (values.length !== boundaries.length + 1) {
      throw new RangeError(
        `${owner}: values must have one more entry than boundaries (${boundaries.length + 1}), ` +
          `got ${values.length}: values = [${values.join(', ')}]`,
      );
    }
    this.boundaries = Object.freeze(boundaries);
    this.values = Object.freeze(values);
    this.name = checkName(owner, o.name);
  }

  /**
   * The learning rate at `step`: any number but NaN, as in tf_keras (every step up to the first
   * boundary, negative ones included, gives `values[0]`).
   */
  call(step: number): number {
    const s = checkStep(PiecewiseConstantDecay.className, step);
    for (let i = 0; i < this.boundaries.length; i++) {
      if (s <= this.boundaries[i]) return this.values[i];
    }
    return this.values[this.values.length - 1];
  }

  /** The Keras config: boundaries, values, name. */
  getConfig(): Record<string, JsonValue> {
    return { boundaries: [...this.boundaries], values: [...this.values], name: this.name };
  }

  /**
   * Rebuilds the schedule from a config (the keys are the same in Keras and TensorFlow.js).
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): PiecewiseConstantDecay {
    return new PiecewiseConstantDecay(
      optionsFromConfig(PiecewiseConstantDecay.className, config, KEYS) as unknown as PiecewiseConstantDecayOptions,
    );
  }
}
