import { describe } from './describe.js';

/** A number, or a zero-argument function called afresh each time the value is read. */
export type Hyperparameter = number | (() => number);

/** Throws unless `value` is a finite number; `what` names the option in the message. */
export function requireFinite(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${what} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number or a zero-argument function. */
export function requireHyperparameter(what: string, value: unknown): Hyperparameter {
  if (typeof value === 'function') {
    if (value.length !== 0) throw new TypeError(`${what} must be a number or a zero-argument function, got a function of ${value.length} arguments`);
    return value as () => number;
  }
  return requireFinite(what, value);
}

/** Reads a hyperparameter now (calling it if it is a function) and checks the result. */
export function readHyperparameter(what: string, value: Hyperparameter): number {
  const result = typeof value === 'function' ? value() : value;
  if (typeof result !== 'number' || !Number.isFinite(result)) {
    throw new TypeError(`${what} must evaluate to a finite number, got ${describe(result)}`);
  }
  return result;
}

/** Checks an optional non-negative number option; null/undefined mean "off". */
export function optionalNonNegative(what: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const x = requireFinite(what, value);
  if (x < 0) throw new RangeError(`${what} must be >= 0, got ${x}`);
  return x;
}

export function requireBoolean(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean, got ${describe(value)}`);
  return value;
}

/** The default only for an absent option: null is a value, and is checked like any other. */
export function withDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}
