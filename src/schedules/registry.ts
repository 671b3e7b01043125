import { describe } from '../describe.js';
import type { JsonValue } from '../json.js';
import { CosineDecay } from './cosine-decay.js';
import { CosineDecayRestarts } from './cosine-decay-restarts.js';
import { ExponentialDecay } from './exponential-decay.js';
import { InverseTimeDecay } from './inverse-time-decay.js';
import { PiecewiseConstantDecay } from './piecewise-constant-decay.js';
import { PolynomialDecay } from './polynomial-decay.js';
import { isLearningRateSchedule, type LearningRateSchedule } from './schedule.js';

/**
 * A schedule class that can be registered: constructible, with the static `className` and
 * `fromConfig` that {@link deserialize} needs.
 */
export type ScheduleClass = (new (...args: never[]) => LearningRateSchedule) & {
  /** The name written as `class_name`. */
  className: string;
  /** Builds an instance from a config as written by `getConfig` (or by Keras). */
  fromConfig(config: Record<string, unknown>): LearningRateSchedule;
};

/** What {@link serialize} returns: the `{class_name, config}` pair Keras and TensorFlow.js read. */
export interface SerializedSchedule {
  /** The registered name of the schedule's class. */
  class_name: string;
  /** The schedule's `getConfig()`. */
  config: Record<string, JsonValue>;
}

/**
 * A serialized schedule as Keras writes it. Keras 3 and recent tf_keras add `module` and
 * `registered_name`; `class_name` may be a dotted path such as
 * `'keras.optimizers.schedules.ExponentialDecay'`.
 */
export interface KerasScheduleSpec {
  /** The class name, bare or as a dotted path. */
  class_name: string;
  /** The config, with snake_case or camelCase keys. */
  config: Record<string, unknown>;
  /** Ignored: the Python module Keras found the class in. */
  module?: unknown;
  /** Keras' name for a registered custom class, e.g. `'my_package>MySchedule'`. */
  registered_name?: unknown;
  /** Ignored: custom objects passed along by some writers. */
  customObjects?: unknown;
}

/** A serialized schedule as TensorFlow.js holds it after converting every key to camelCase. */
export interface TfjsScheduleSpec {
  /** The class name, bare or as a dotted path. */
  className: string;
  /** The config, with camelCase or snake_case keys. */
  config: Record<string, unknown>;
  /** Ignored: the Python module Keras found the class in. */
  module?: unknown;
  /** Keras' name for a registered custom class. */
  registeredName?: unknown;
  /** Ignored: custom objects passed along by some writers. */
  customObjects?: unknown;
}

// Seeded here rather than by each schedule file, so that these modules stay free of import side
// effects (package.json lists only the tfjs registration modules under "sideEffects").
const registry = new Map<string, ScheduleClass>(
  [ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay, CosineDecay, CosineDecayRestarts].map(
    (ctor) => [ctor.className, ctor as ScheduleClass],
  ),
);

/**
 * Makes a user-defined schedule class deserializable by {@link deserialize} under `name`.
 *
 * @param ctor - The class; it needs a static `className` and a static `fromConfig(config)`.
 * @param name - The name to register and to write as `class_name`; defaults to
 *   `ctor.className`. Use Keras' `'package>Name'` form to match a Keras `registered_name`.
 * @throws TypeError when `ctor` lacks `fromConfig` or the name is empty or the base class's;
 *   Error when another class is already registered under the name.
 */
export function registerSchedule(ctor: ScheduleClass, name?: string): void {
  if (typeof ctor !== 'function' || typeof ctor.fromConfig !== 'function') {
    throw new TypeError(
      `registerSchedule: expected a LearningRateSchedule class with a static fromConfig, got ${describe(ctor)}`,
    );
  }
  const key = name ?? ctor.className;
  // A subclass that forgot its own className would otherwise claim the base class's name.
  if (typeof key !== 'string' || key === '' || key === 'LearningRateSchedule') {
    throw new TypeError(
      `registerSchedule: ${ctor.name || 'the class'} needs a static className or an explicit name, got ${describe(key)}`,
    );
  }
  const existing = registry.get(key);
  if (existing !== undefined && existing !== ctor) {
    throw new Error(`registerSchedule: ${JSON.stringify(key)} is already registered to another class`);
  }
  registry.set(key, ctor);
}

/** The names {@link deserialize} knows, sorted; built-ins and registered user classes. */
export function registeredScheduleNames(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Serializes a schedule to the `{class_name, config}` form that Keras' and TensorFlow.js'
 * `deserialize` read.
 *
 * @param schedule - A built-in or registered schedule.
 * @returns A fresh, JSON-safe object.
 */
export function serialize(schedule: LearningRateSchedule): SerializedSchedule {
  if (!isLearningRateSchedule(schedule)) {
    throw new TypeError(`serialize: expected a LearningRateSchedule, got ${describe(schedule)}`);
  }
  const ctor = schedule.constructor as { name?: string; className?: unknown };
  // Prefer the name the class was registered under, so deserialize finds it again.
  let className: unknown = ctor.className;
  for (const [key, registered] of registry) {
    if (registered === ctor) {
      className = key;
      break;
    }
  }
  if (typeof className !== 'string') {
    throw new TypeError(`serialize: ${ctor.name || 'the schedule class'} has no static className`);
  }
  return { class_name: className, config: schedule.getConfig() };
}

/**
 * Rebuilds a schedule from its serialized form: the output of {@link serialize}, a dict written
 * by Keras (with `module` and `registered_name`, possibly a dotted `class_name`), or one loaded
 * by TensorFlow.js (camelCase keys). `customObjects` keys are ignored.
 *
 * @param spec - The serialized schedule.
 * @throws Error naming the registered schedules when the class is unknown; TypeError or
 *   RangeError from the class's `fromConfig` when the config is invalid.
 */
export function deserialize(spec: KerasScheduleSpec | TfjsScheduleSpec): LearningRateSchedule {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError(`deserialize: expected {class_name, config}, got ${describe(spec)}`);
  }
  const raw = spec as unknown as Record<string, unknown>;
  const className = raw.class_name ?? raw.className;
  if (typeof className !== 'string') {
    throw new TypeError(`deserialize: class_name must be a string, got ${describe(className)}`);
  }
  const ctor = lookUp(className, raw.registered_name ?? raw.registeredName);
  const config = raw.config;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`deserialize: config of ${className} must be an object, got ${describe(config)}`);
  }
  const { customObjects: _a, custom_objects: _b, ...rest } = config as Record<string, unknown>;
  return ctor.fromConfig(rest);
}

/**
 * Finds the class for a Keras `class_name` / `registered_name` pair: an exact registered name
 * first, then the last part of a dotted class path or of a `'package>Name'` registered name.
 */
function lookUp(className: string, registeredName: unknown): ScheduleClass {
  const candidates: string[] = [];
  if (typeof registeredName === 'string') candidates.push(registeredName);
  candidates.push(className, lastPart(className, '.'));
  if (typeof registeredName === 'string') candidates.push(lastPart(registeredName, '>'));
  for (const name of candidates) {
    const ctor = registry.get(name);
    if (ctor !== undefined) return ctor;
  }
  throw new Error(
    `deserialize: unknown learning rate schedule ${JSON.stringify(className)}; registered schedules are ` +
      `${registeredScheduleNames().join(', ')} (register others with registerSchedule)`,
  );
}

/** The text after the last `separator`, or all of `text`. */
function lastPart(text: string, separator: string): string {
  return text.slice(text.lastIndexOf(separator) + 1);
}
