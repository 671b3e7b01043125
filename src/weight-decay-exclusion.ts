import { describe } from './describe.js';

/** The checked content of an `excludeFromWeightDecay` argument. */
export interface ParsedExclusion<V> {
  readonly variables: V[];
  readonly patterns: RegExp[];
}

/** Keras's snake_case spellings, and other likely slips, with the key meant. */
const MEANT: Record<string, string> = { var_names: 'varNames', var_list: 'varList', varName: 'varNames', names: 'varNames', variables: 'varList' };

/**
 * Checks an `excludeFromWeightDecay({ varList, varNames })` argument completely, before anything
 * is recorded: a plain object with only those keys, each an array (or absent / null), variables
 * accepted by `toVariable`, patterns non-empty strings (valid regular expressions) or RegExps.
 *
 * @param owner - The optimizer's name, the message prefix.
 * @param toVariable - Returns the variable for entry `i` of `varList`, or throws naming it.
 */
export function parseExclusion<V>(owner: string, exclusion: unknown, toVariable: (x: unknown, what: string) => V): ParsedExclusion<V> {
  const where = `${owner}: excludeFromWeightDecay`;
  if (exclusion === undefined) return { variables: [], patterns: [] };
  if (exclusion === null || typeof exclusion !== 'object' || Array.isArray(exclusion) || ArrayBuffer.isView(exclusion)) {
    const hint = Array.isArray(exclusion) ? ' (pass { varNames: [...] } for name patterns or { varList: [...] } for variables)' : '';
    throw new TypeError(`${where} expects an object { varList, varNames }, got ${describe(exclusion)}${hint}`);
  }
  for (const key of Object.keys(exclusion)) {
    if (key === 'varList' || key === 'varNames') continue;
    const meant = MEANT[key];
    throw new TypeError(
      meant !== undefined
        ? `${where}: unknown key '${key}'; the option is spelled '${meant}' here`
        : `${where}: unknown key '${key}' (known keys: varList, varNames)`,
    );
  }
  const { varList, varNames } = exclusion as { varList?: unknown; varNames?: unknown };
  const variables = listOf(where, 'varList', varList, 'Variables').map((x, i) => toVariable(x, `${where} varList[${i}]`));
  const patterns = listOf(where, 'varNames', varNames, 'strings or RegExps').map((pattern, i) => toPattern(where, pattern, i));
  return { variables, patterns };
}

function listOf(where: string, key: string, value: unknown, items: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    const hint = typeof value === 'string' ? ` (write ${key}: [${JSON.stringify(value)}]; a string would be taken apart)` : '';
    throw new TypeError(`${where}: ${key} must be an array of ${items}, got ${describe(value)}${hint}`);
  }
  return value;
}

function toPattern(where: string, pattern: unknown, i: number): RegExp {
  if (pattern instanceof RegExp) {
    if (pattern.source === '(?:)') throw new RangeError(`${where}: varNames[${i}] is an empty pattern, which matches every name: ${String(pattern)}`);
    // Without g / y, test() keeps no state between names.
    return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  }
  if (typeof pattern !== 'string') throw new TypeError(`${where}: varNames[${i}] must be a string or a RegExp, got ${describe(pattern)}`);
  if (pattern === '') throw new RangeError(`${where}: varNames[${i}] is an empty string, which matches every name`);
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new SyntaxError(`${where}: varNames[${i}] = ${JSON.stringify(pattern)} is not a valid regular expression (${(error as Error).message})`);
  }
}
