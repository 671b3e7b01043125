import { describe } from '../describe.js';
import type { JsonValue } from '../json.js';
import { optionsFromConfig } from './config.js';
import { LearningRateSchedule } from './schedule.js';
import { checkName, checkNumber, checkOptions, checkStep, finiteRate } from './validate.js';

/** Options of {@link CosineDecay}; the Keras arguments in camelCase. */
export interface CosineDecayOptions {
  /** The learning rate at step 0 (where a warmup starts, or where the decay starts). */
  initialLearningRate: number;
  /**
   * Steps over which the cosine decay runs. Must be positive, or 0 with a warmup (`warmupTarget`
   * and `warmupSteps > 0`): a warmup-only schedule, which stays at `warmupTarget` after the warmup.
   */
  decaySteps: number;
  /** The final learning rate as a fraction of the rate the decay starts from. Default 0. */
  alpha?: number;
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
  /**
   * The learning rate a linear warmup reaches after `warmupSteps`, and the decay then starts
   * from. Null (the default) means no warmup; `warmupSteps` is then ignored, as in Keras.
   */
  warmupTarget?: number | null;
  /** Length of the linear warmup. Must be non-negative. Default 0. */
  warmupSteps?: number;
}

const KEYS = ['initialLearningRate', 'decaySteps', 'alpha', 'name', 'warmupTarget', 'warmupSteps'] as const;

/**
 * Cosine decay with optional linear warmup, as Keras' `CosineDecay` (SGDR without restarts,
 * Loshchilov & Hutter 2016; warmup after Goyal et al. 2017).
 *
 * Without `warmupTarget`: `initialLearningRate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / D)) +
 * alpha)` with `s = min(step, decaySteps)`, `D = decaySteps`.
 *
 * With `warmupTarget`: the step is first capped at `warmupSteps + decaySteps`; while it is below
 * `warmupSteps` the rate is `initialLearningRate + (warmupTarget - initialLearningRate) * step /
 * warmupSteps`, and from there on it is the cosine decay above starting from `warmupTarget`,
 * applied to `step - warmupSteps`. The rate ends at `alpha * warmupTarget`. With `decaySteps: 0`
 * it is a warmup-only schedule: `warmupTarget` from `warmupSteps` on.
 *
 * @example
 * ```ts
 * const lr = new CosineDecay({ initialLearningRate: 0, decaySteps: 1000, warmupTarget: 0.1, warmupSteps: 1000 });
 * lr.call(500);  // 0.05, half-way through the warmup
 * lr.call(1000); // 0.1, the decay starts
 * ```
 */
export class CosineDecay extends LearningRateSchedule {
  /** The Keras class name. */
  static override readonly className = 'CosineDecay';
  /** The learning rate at step 0. */
  readonly initialLearningRate: number;
  /** Steps of cosine decay. */
  readonly decaySteps: number;
  /** The final fraction of the starting rate. */
  readonly alpha: number;
  /** The schedule's name, or null. */
  readonly name: string | null;
  /** The warmup's target rate, or null without warmup. */
  readonly warmupTarget: number | null;
  /** Steps of linear warmup. */
  readonly warmupSteps: number;

  /**
   * @param options - See {@link CosineDecayOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: CosineDecayOptions) {
    super();
    const owner = CosineDecay.className;
    const o = checkOptions(owner, options, KEYS);
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', o.initialLearningRate);
    this.decaySteps = checkNumber(owner, 'decaySteps', o.decaySteps, 'nonNegative');
    this.alpha = checkNumber(owner, 'alpha', o.alpha === undefined ? 0 : o.alpha);
    this.name = checkName(owner, o.name);
    if (o.warmupTarget === undefined || o.warmupTarget === null) {
      this.warmupTarget = null;
    } else if (typeof o.warmupTarget === 'number') {
      this.warmupTarget = checkNumber(owner, 'warmupTarget', o.warmupTarget);
    } else {
      throw new TypeError(`${owner}: warmupTarget must be a finite number or null, got ${describe(o.warmupTarget)}`);
    }
    this.warmupSteps = checkNumber(owner, 'warmupSteps', o.warmupSteps === undefined ? 0 : o.warmupSteps, 'nonNegative');
    // tf_keras divides 0 by 0 at every step of a decay of length 0; only a warmup gives it values.
    if (this.decaySteps === 0 && (this.warmupTarget === null || this.warmupSteps === 0)) {
      throw new RangeError(
        `${owner}: decaySteps must be positive unless there is a warmup (warmupTarget and warmupSteps > 0), ` +
          `got decaySteps 0 with warmupTarget ${describe(this.warmupTarget)} and warmupSteps ${this.warmupSteps}`,
      );
    }
  }

  /**
   * The learning rate at `step`: any number but NaN, as in tf_keras. A negative step continues
   * the warmup's line below `initialLearningRate`, or (without warmup) mirrors the cosine.
   * With `decaySteps: 0` the rate stays at `warmupTarget` from `warmupSteps` on, where tf_keras
   * gives NaN (0 / 0).
   *
   * @throws RangeError where the formula is not finite (a negative step with `warmupSteps` 0 and
   *   a `warmupTarget`, or a step of -Infinity).
   */
  call(step: number): number {
    const owner = CosineDecay.className;
    const s = checkStep(owner, step);
    if (this.warmupTarget === null) {
      return finiteRate(owner, step, this.decayed(Math.min(s, this.decaySteps), this.initialLearningRate));
    }
    const capped = Math.min(s, this.decaySteps + this.warmupSteps);
    if (capped < this.warmupSteps) {
      // Same operation order as tf_keras, so float64 results agree to the last bit.
      const delta = this.warmupTarget - this.initialLearningRate;
      return finiteRate(owner, step, delta * (capped / this.warmupSteps) + this.initialLearningRate);
    }
    if (this.decaySteps === 0) return this.warmupTarget;
    return finiteRate(owner, step, this.decayed(capped - this.warmupSteps, this.warmupTarget));
  }

  /** The cosine decay from `from` at `s` steps into the decay (`s <= decaySteps`). */
  private decayed(s: number, from: number): number {
    const cosine = 0.5 * (1 + Math.cos(Math.PI * (s / this.decaySteps)));
    return from * ((1 - this.alpha) * cosine + this.alpha);
  }

  /** The Keras config: initial_learning_rate, decay_steps, alpha, name, warmup_target, warmup_steps. */
  getConfig(): Record<string, JsonValue> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      alpha: this.alpha,
      name: this.name,
      warmup_target: this.warmupTarget,
      warmup_steps: this.warmupSteps,
    };
  }

  /**
   * Rebuilds the schedule from a config with snake_case (Keras) or camelCase (TensorFlow.js) keys.
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): CosineDecay {
    return new CosineDecay(optionsFromConfig(CosineDecay.className, config, KEYS) as unknown as CosineDecayOptions);
  }
}
