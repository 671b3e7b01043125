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
 * Throws unless `step` is a finite, non-negative number (the 0-based optimizer step).
 *
 * A negative or infinite step has no meaning for any schedule and would produce NaN or a value
 * outside the schedule's range instead of failing loudly.
 *
 * @param owner - The schedule class name, used as the message prefix.
 * @param step - The step passed to `call`.
 */
export function checkStep(owner: string, step: unknown): number {
  return checkNumber(owner, 'step', step, 'nonNegative');
}
