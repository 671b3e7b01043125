import type { JsonValue } from '../json.js';
import { optionsFromConfig } from './config.js';
import { LearningRateSchedule } from './schedule.js';
import { checkName, checkNumber, checkOptions, checkStep, finiteRate, powIeee } from './validate.js';

/** Options of {@link CosineDecayRestarts}; the Keras arguments in camelCase. */
export interface CosineDecayRestartsOptions {
  /** The learning rate at step 0. */
  initialLearningRate: number;
  /** Length of the first cosine period. Must be positive. */
  firstDecaySteps: number;
  /** Each period is `tMul` times as long as the one before. Must be positive. Default 2. */
  tMul?: number;
  /** Each period starts at `mMul` times the previous peak. Must be non-negative. Default 1. */
  mMul?: number;
  /** The lowest rate of each period, as a fraction of `initialLearningRate`. Default 0. */
  alpha?: number;
  /** Optional name, kept in the config. Default null. */
  name?: string | null;
}

const KEYS = ['initialLearningRate', 'firstDecaySteps', 'tMul', 'mMul', 'alpha', 'name'] as const;

/**
 * Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016), as Keras'
 * `CosineDecayRestarts`.
 *
 * The multiplier decays from 1 to `alpha` over `firstDecaySteps` steps, then restarts; period `i`
 * (from 0) lasts `firstDecaySteps * tMul^i` steps and peaks at `mMul^i`. The rate is
 * `initialLearningRate * ((1 - alpha) * 0.5 * mMul^i * (1 + cos(pi * f)) + alpha)` where `f` is
 * the fraction of period `i` completed.
 *
 * The period index is found as tf_keras finds it, `floor(log(1 - c * (1 - tMul)) / log(tMul))`
 * with `c = step / firstDecaySteps` (or `floor(c)` when `tMul` is exactly 1). Rounding can put
 * that index one low at the exact step of a restart, giving that one step the end-of-period rate
 * instead of the new peak, as in Keras (`tMul = 1.5`, `firstDecaySteps = 32`: step 422, where
 * the sixth period starts, gives `alpha * initialLearningRate`).
 *
 * With `tMul < 1` the periods shrink and their total length is `firstDecaySteps / (1 - tMul)`;
 * `call` throws at and beyond that step, where tf_keras returns NaN. Negative steps run the
 * periods backwards, as tf_keras's formula does: with `tMul > 1` they shrink towards
 * `-firstDecaySteps / (tMul - 1)`, where `call` throws (tf_keras: NaN).
 *
 * @example
 * ```ts
 * const lr = new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 1000 });
 * lr.call(1000); // 0.1: the second period (2000 steps long) starts
 * ```
 */
export class CosineDecayRestarts extends LearningRateSchedule {
  /** The Keras class name. */
  static override readonly className = 'CosineDecayRestarts';
  /** The learning rate at step 0. */
  readonly initialLearningRate: number;
  /** Length of the first period. */
  readonly firstDecaySteps: number;
  /** Period length multiplier. */
  readonly tMul: number;
  /** Peak multiplier. */
  readonly mMul: number;
  /** The lowest rate as a fraction of the initial rate. */
  readonly alpha: number;
  /** The schedule's name, or null. */
  readonly name: string | null;

  /**
   * @param options - See {@link CosineDecayRestartsOptions}.
   * @throws TypeError or RangeError naming the first invalid option.
   */
  constructor(options: CosineDecayRestartsOptions) {
    super();
    const owner = CosineDecayRestarts.className;
    const o = checkOptions(owner, options, KEYS);
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', o.initialLearningRate);
    this.firstDecaySteps = checkNumber(owner, 'firstDecaySteps', o.firstDecaySteps, 'positive');
    // log(tMul) must exist and be usable as a divisor (tMul == 1 takes the other branch).
    this.tMul = checkNumber(owner, 'tMul', o.tMul === undefined ? 2 : o.tMul, 'positive');
    // A negative mMul would flip the sign of every other period's learning rate.
    this.mMul = checkNumber(owner, 'mMul', o.mMul === undefined ? 1 : o.mMul, 'nonNegative');
    this.alpha = checkNumber(owner, 'alpha', o.alpha === undefined ? 0 : o.alpha);
    this.name = checkName(owner, o.name);
  }

  /**
   * The learning rate at `step`: any number but NaN, as in tf_keras.
   *
   * @throws RangeError where the formula is not finite: `tMul < 1` and `step` at or past the end
   *   of all periods, `tMul > 1` and `step` at or before their backward end, `mMul` 0 at a
   *   negative step, an infinite step.
   */
  call(step: number): number {
    const s = checkStep(CosineDecayRestarts.className, step);
    const t = this.tMul;
    let fraction = s / this.firstDecaySteps;
    let restart: number;
    if (t === 1) {
      restart = Math.floor(fraction);
      fraction -= restart;
    } else {
      const inner = 1 - fraction * (1 - t);
      if (!(inner > 0)) {
        const end = this.firstDecaySteps / (1 - t);
        throw new RangeError(
          t < 1
            ? `${CosineDecayRestarts.className}: step ${step} is at or past the end of all periods ` +
                `(firstDecaySteps / (1 - tMul) = ${end}) since tMul = ${t} < 1`
            : `${CosineDecayRestarts.className}: step ${step} is at or before the start of the periods run ` +
                `backwards (firstDecaySteps / (1 - tMul) = ${end}) since tMul = ${t} > 1`,
        );
      }
      // Period i starts after firstDecaySteps * (1 + t + ... + t^(i-1)) = (1 - t^i) / (1 - t) periods.
      restart = Math.floor(Math.log(inner) / Math.log(t));
      const sumR = (1 - powIeee(t, restart)) / (1 - t);
      fraction = (fraction - sumR) / powIeee(t, restart);
    }
    const cosine = 0.5 * powIeee(this.mMul, restart) * (1 + Math.cos(Math.PI * fraction));
    return finiteRate(CosineDecayRestarts.className, step, this.initialLearningRate * ((1 - this.alpha) * cosine + this.alpha));
  }

  /** The Keras config: initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha, name. */
  getConfig(): Record<string, JsonValue> {
    return {
      initial_learning_rate: this.initialLearningRate,
      first_decay_steps: this.firstDecaySteps,
      t_mul: this.tMul,
      m_mul: this.mMul,
      alpha: this.alpha,
      name: this.name,
    };
  }

  /**
   * Rebuilds the schedule from a config with snake_case (Keras) or camelCase (TensorFlow.js) keys.
   *
   * @throws TypeError or RangeError for an unknown key or an invalid value.
   */
  static fromConfig(config: Record<string, unknown>): CosineDecayRestarts {
    return new CosineDecayRestarts(
      optionsFromConfig(CosineDecayRestarts.className, config, KEYS) as unknown as CosineDecayRestartsOptions,
    );
  }
}
