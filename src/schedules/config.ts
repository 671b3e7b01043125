import { describe } from '../describe.js';

/**
 * Turns a Keras config (snake_case keys) or a TensorFlow.js one (camelCase keys: tfjs-layers
 * converts every key when it loads a model) into camelCase constructor options.
 *
 * @param owner - The schedule class name, used as the message prefix.
 * @param config - The config as found in a saved model or written by `getConfig`.
 * @param keys - The schedule's option names, camelCase; the snake_case spelling is derived.
 * @returns The options with camelCase keys, ready for the schedule's constructor.
 * @throws TypeError when `config` is not an object, has a key that is neither spelling of an
 *   option, or gives one option under both spellings with different values.
 */
export function optionsFromConfig(
  owner: string,
  config: unknown,
  keys: readonly string[],
): Record<string, unknown> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`${owner}: config must be an object, got ${describe(config)}`);
  }
  const camelOf = new Map<string, string>();
  for (const key of keys) {
    camelOf.set(key, key);
    camelOf.set(snakeCase(key), key);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    // Keras' deserialize takes custom objects beside the config; some writers nest them inside.
    if (key === 'customObjects' || key === 'custom_objects') continue;
    const camel = camelOf.get(key);
    if (camel === undefined) {
      throw new TypeError(
        `${owner}: unknown config key ${JSON.stringify(key)}; expected one of ${keys.map(snakeCase).join(', ')}`,
      );
    }
    if (camel in options && !Object.is(options[camel], value) && !sameJson(options[camel], value)) {
      throw new TypeError(
        `${owner}: config gives ${camel} twice with different values, ${describe(options[camel])} and ${describe(value)}`,
      );
    }
    options[camel] = value;
  }
  return options;
}

/** `initialLearningRate` -> `initial_learning_rate`, the spelling Keras writes. */
export function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Whether two config values (numbers, strings, arrays of numbers) are equal as JSON. */
function sameJson(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}
