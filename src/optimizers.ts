import { Adam } from './adam.js';
import { AdamW } from './adamw.js';
import { describe } from './describe.js';
import type { JsonValue } from './json.js';
import type { Optimizer } from './optimizer.js';

/** A serialized optimizer, as Keras writes it (`module` and `registered_name` are optional). */
export interface SerializedOptimizer {
  class_name: string;
  config: Record<string, unknown>;
  module?: unknown;
  registered_name?: unknown;
}

const registry = new Map<string, { fromConfig(config: Record<string, unknown>): Optimizer }>([['Adam', Adam], ['AdamW', AdamW]]);

/** The Keras form `{class_name, config}` of an optimizer. */
export function serialize(optimizer: Optimizer): { class_name: string; config: Record<string, JsonValue> } {
  const className = (optimizer.constructor as { className?: unknown }).className;
  return { class_name: typeof className === 'string' ? className : optimizer.constructor.name, config: optimizer.getConfig() };
}

/**
 * Rebuilds an optimizer from `{class_name, config}`, including a config dict as Keras itself
 * writes it (for example the `optimizer_config` of a saved model's training config).
 */
export function deserialize(spec: SerializedOptimizer): Optimizer {
  if (spec === null || typeof spec !== 'object' || typeof spec.class_name !== 'string') {
    throw new TypeError(`optimizers.deserialize expects {class_name, config}, got ${describe(spec)}`);
  }
  // Keras may qualify the name ('keras.optimizers.Adam', 'Custom>Adam'); the last part names the class.
  const bare = spec.class_name.split(/[.>]/).pop()!;
  const name = [...registry.keys()].find((known) => known.toLowerCase() === bare.toLowerCase()) ?? bare;
  const cls = registry.get(name);
  if (cls === undefined) {
    throw new Error(`optimizers.deserialize: unknown optimizer class ${describe(spec.class_name)} (known: ${[...registry.keys()].join(', ')})`);
  }
  return cls.fromConfig(spec.config ?? {});
}
