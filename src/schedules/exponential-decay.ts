import { optionsFromConfig } from './config.js';
import { RATE_DECAY_KEYS, RateDecaySchedule, type RateDecayOptions } from './rate-decay.js';
import { finiteRate, powIeee } from './validate.js';

/** Options of {@link ExponentialDecay}: `decayRate` is the factor applied every `decaySteps` steps. */
export type ExponentialDecayOptions = RateDecayOptions;

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
export class ExponentialDecay extends RateDecaySchedule {
  /** The Keras class name. */
  static override readonly className = 'ExponentialDecay';

  /**
   * @param options - See {@link ExponentialDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: ExponentialDecayOptions) {
    super(ExponentialDecay.className, options);
  }

  /**
   * The learning rate at `step`: any number but NaN, as in tf_keras (a negative step gives a rate
   * above the initial one).
   *
   * @throws RangeError where the formula is not finite (`decayRate` 0 at a negative step).
   */
  call(step: number): number {
    const rate = this.initialLearningRate * powIeee(this.decayRate, this.progress(ExponentialDecay.className, step));
    return finiteRate(ExponentialDecay.className, step, rate);
  }

  /**
   * Rebuilds the schedule from a config with snake_case (Keras) or camelCase (TensorFlow.js) keys.
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): ExponentialDecay {
    return new ExponentialDecay(
      optionsFromConfig(ExponentialDecay.className, config, RATE_DECAY_KEYS) as unknown as ExponentialDecayOptions,
    );
  }
}
