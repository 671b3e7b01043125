import { optionsFromConfig } from './config.js';
import { RATE_DECAY_KEYS, RateDecaySchedule, type RateDecayOptions } from './rate-decay.js';
import { finiteRate } from './validate.js';

/** Options of {@link InverseTimeDecay}: the rate falls as `1 / (1 + decayRate * step / decaySteps)`. */
export type InverseTimeDecayOptions = RateDecayOptions;

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
export class InverseTimeDecay extends RateDecaySchedule {
  /** The Keras class name. */
  static override readonly className = 'InverseTimeDecay';

  /**
   * @param options - See {@link InverseTimeDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: InverseTimeDecayOptions) {
    super(InverseTimeDecay.className, options);
  }

  /**
   * The learning rate at `step`: any number but NaN, as in tf_keras (a negative step gives a rate
   * above the initial one, or a negative one once `1 + decayRate * p` is negative).
   *
   * @throws RangeError where the formula is not finite (the denominator is 0, or the step infinite
   *   with `decayRate` 0).
   */
  call(step: number): number {
    const rate = this.initialLearningRate / (1 + this.decayRate * this.progress(InverseTimeDecay.className, step));
    return finiteRate(InverseTimeDecay.className, step, rate);
  }

  /**
   * Rebuilds the schedule from a config with snake_case (Keras) or camelCase (TensorFlow.js) keys.
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): InverseTimeDecay {
    return new InverseTimeDecay(
      optionsFromConfig(InverseTimeDecay.className, config, RATE_DECAY_KEYS) as unknown as InverseTimeDecayOptions,
    );
  }
}
