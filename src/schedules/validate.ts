import { describe } from '../describe.js';

// Checks shared by the schedule constructors, `fromConfig` and `call`. Every message starts with
// the schedule's class name and names the camelCase option and the bad value, so a user who
// mistyped one field of a long config can find it at once.

/**
 * Checks that `options` is a plain object whose keys are all in `allowed`.
 *
 * Unknown keys are rejected rather than ignored: a misspelt option (`decayStep`) would otherwise
 * silently fall back to its default.
 *
 * @param owner - The schedule class name, used as the message prefix.
 * @param options - What the caller passed.
 * @param allowed - The option names the schedule understands.
 * @returns `options`, typed as a record.
 */
export function checkOptions(
  owner: string,
  options: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `${owner}: unknown option ${JSON.stringify(key)}; expected one of ${allowed.join(', ')}`,
      );
    }
  }
  return options as Record<string, unknown>;
}

/** The comparison a numeric option must pass, besides being finite. */
export type NumberBound = 'any' | 'positive' | 'nonNegative';

const boundWords: Record<NumberBound, string> = {
  any: 'a finite number',
  positive: 'a positive finite number',
  nonNegative: 'a non-negative finite number',
};

/**
 * Returns `value` if it is a finite number within `bound`, otherwise throws.
 *
 * A non-number is a TypeError; NaN, an infinity or a value outside the bound is a RangeError.
 * `-0` becomes `0`, because JSON cannot write `-0` and configs must round-trip exactly.
 *
 * @param owner - The schedule class name, used as the message prefix.
 * @param name - The camelCase option name.
 * @param value - The value to check.
 * @param bound - Which values are allowed besides finiteness.
 */
export function checkNumber(owner: string, name: string, value: unknown, bound: NumberBound = 'any'): number {
  const message = `${owner}: ${name} must be ${boundWords[bound]}, got ${describe(value)}`;
  if (typeof value !== 'number') throw new TypeError(message);
  const ok =
    Number.isFinite(value) && (bound === 'any' || (bound === 'positive' ? value > 0 : value >= 0));
  if (!ok) throw new RangeError(message);
  return value + 0;
}

/**
 * Returns `value` if it is a boolean, `fallback` if it is undefined, otherwise throws a TypeError.
 *
 * Truthy non-booleans (`1`, `'false'`) are rejected: `'false'` would otherwise mean true.
 */
export function checkBoolean(owner: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${owner}: ${name} must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/**
 * Returns the schedule name: a string, or null when absent (Keras writes `"name": null`).
 */
export function checkName(owner: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw new TypeError(`${owner}: name must be a string or null, got ${describe(value)}`);
  }
  return value;
}

/**
 * Returns a copy of `value` if it is an array of finite numbers, otherwise throws.
 *
 * The copy keeps the schedule immune to later changes of the caller's array.
 */
export function checkNumberArray(owner: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${owner}: ${name} must be an array of finite numbers, got ${describe(value)}`);
  }
  return value.map((item: unknown, i) => checkNumber(owner, `${name}[${i}]`, item));
}

/**
 * Returns `step` if it is a number other than NaN: tf_keras takes any step, negative and
 * fractional ones included, and so does every built-in schedule here. `-0` becomes `0`.
 *
 * @param owner - The schedule class name, used as the message prefix.
 * @param step - The step passed to `call`.
 */
export function checkStep(owner: string, step: unknown): number {
  const message = `${owner}: step must be a number (negative, fractional and infinite steps are accepted, as in tf_keras), got ${describe(step)}`;
  if (typeof step !== 'number') throw new TypeError(message);
  if (Number.isNaN(step)) throw new RangeError(message);
  return step + 0;
}

/**
 * Returns `rate` if it is finite. Where the schedule's formula (tf_keras's, operation for
 * operation) gives NaN or an infinity, a step would corrupt every variable, so `call` refuses.
 *
 * @param owner - The schedule class name, used as the message prefix.
 * @param step - The step the rate was computed for.
 * @param rate - The computed learning rate.
 */
export function finiteRate(owner: string, step: number, rate: number): number {
  if (Number.isFinite(rate)) return rate + 0;
  throw new RangeError(`${owner}: no finite learning rate at step ${step}: the formula gives ${rate} there (tf_keras's gives a non-finite value too)`);
}

/**
 * `base ** exponent` with IEEE 754 / C `pow` semantics, which TensorFlow's `tf.pow` follows:
 * unlike `Math.pow`, `pow(1, ±Infinity)` and `pow(-1, ±Infinity)` are 1, not NaN.
 */
export function powIeee(base: number, exponent: number): number {
  if (base === 1 || exponent === 0) return 1;
  if (base === -1 && !Number.isFinite(exponent) && !Number.isNaN(exponent)) return 1;
  return Math.pow(base, exponent);
}
