import type { JsonValue } from '../json.js';

/**
 * The base of every learning-rate schedule, the counterpart of Keras'
 * `keras.optimizers.schedules.LearningRateSchedule`.
 *
 * A schedule maps the optimizer's 0-based step count to a learning rate. Subclasses implement
 * {@link LearningRateSchedule.call} and {@link LearningRateSchedule.getConfig}, set the static
 * `className`, and provide a static `fromConfig(config)`; pass the class to
 * `registerSchedule` to make it deserializable.
 *
 * @example
 * ```ts
 * class InverseStep extends LearningRateSchedule {
 *   static override readonly className = 'InverseStep';
 *   constructor(readonly lr0: number) { super(); }
 *   call(step: number): number { return this.lr0 / (step + 1); }
 *   getConfig() { return { initial_learning_rate: this.lr0, name: null }; }
 *   static fromConfig(config: Record<string, unknown>) {
 *     return new InverseStep(config.initial_learning_rate as number);
 *   }
 * }
 * registerSchedule(InverseStep);
 * ```
 */
export abstract class LearningRateSchedule {
  /** The Keras class name, e.g. `'ExponentialDecay'`; written as `class_name` by `serialize`. */
  static readonly className: string = 'LearningRateSchedule';

  /**
   * The learning rate at `step`.
   *
   * @param step - The 0-based optimizer step (the number of updates applied so far). It may be
   *   fractional or large; built-in schedules compute in float64 and throw on a negative or
   *   non-finite step.
   */
  abstract call(step: number): number;

  /**
   * The schedule's config in Keras form: snake_case keys, JSON-safe values (`null`, never
   * `undefined`), including `name` (a string or null). `fromConfig` of the same class rebuilds an
   * equal schedule from it.
   */
  abstract getConfig(): Record<string, JsonValue>;
}

/**
 * Whether `x` is a learning-rate schedule: an instance of {@link LearningRateSchedule}, or an
 * object with the same `call` and `getConfig` methods (one built against another copy of this
 * package, for instance).
 *
 * @param x - Any value, typically an optimizer's `learningRate` option.
 */
export function isLearningRateSchedule(x: unknown): x is LearningRateSchedule {
  if (x instanceof LearningRateSchedule) return true;
  if (x === null || typeof x !== 'object') return false;
  const candidate = x as { call?: unknown; getConfig?: unknown };
  return typeof candidate.call === 'function' && typeof candidate.getConfig === 'function';
}
