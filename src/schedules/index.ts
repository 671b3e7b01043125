/**
 * The Keras learning-rate schedules: the six built-in ones, their base class, and Keras-compatible
 * serialization.
 *
 * @module
 */
export { LearningRateSchedule, isLearningRateSchedule } from './schedule.js';
export { RateDecaySchedule, type RateDecayOptions } from './rate-decay.js';
export { ExponentialDecay, type ExponentialDecayOptions } from './exponential-decay.js';
export { InverseTimeDecay, type InverseTimeDecayOptions } from './inverse-time-decay.js';
export { PiecewiseConstantDecay, type PiecewiseConstantDecayOptions } from './piecewise-constant-decay.js';
export { PolynomialDecay, type PolynomialDecayOptions } from './polynomial-decay.js';
export { CosineDecay, type CosineDecayOptions } from './cosine-decay.js';
export { CosineDecayRestarts, type CosineDecayRestartsOptions } from './cosine-decay-restarts.js';
export {
  serialize,
  deserialize,
  registerSchedule,
  registeredScheduleNames,
  type ScheduleClass,
  type SerializedSchedule,
  type KerasScheduleSpec,
  type TfjsScheduleSpec,
} from './registry.js';
export type { JsonValue } from '../json.js';
