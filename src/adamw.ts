import { Adam, type AdamOptions } from './adam.js';
import { configToOptions } from './config.js';
import { describe } from './describe.js';

/** Options of {@link AdamW}: Adam's, with `weightDecay` a number (default 0.004), never null. */
export interface AdamWOptions extends Omit<AdamOptions, 'weightDecay'> {
  /** Keras `weight_decay`: decoupled decay `var -= var * weightDecay * lr`. Default 0.004; null is refused. */
  weightDecay?: number;
}

/**
 * Keras' `AdamW`: {@link Adam} with decoupled weight decay always on (`weightDecay` defaults to
 * 0.004 and may not be null), named and serialized as `"AdamW"`.
 */
export class AdamW extends Adam {
  /** The Keras class name, written as `class_name` by `optimizers.serialize`. */
  static override readonly className: string = 'AdamW';

  constructor(options: AdamWOptions = {}) {
    if (options !== null && typeof options === 'object' && options.weightDecay === null) {
      throw new TypeError(`AdamW: weightDecay must be a finite number (AdamW always decays; use Adam for no weight decay), got ${describe(options.weightDecay)}`);
    }
    const withDecay = options !== null && typeof options === 'object' && options.weightDecay === undefined
      ? { ...options, weightDecay: 0.004 }
      : options;
    super(withDecay as AdamOptions);
  }

  /** Builds an AdamW from its Keras config (snake_case, or camelCase as TensorFlow.js passes it). */
  static override fromConfig(config: Record<string, unknown>): AdamW {
    return new AdamW(configToOptions(config) as AdamWOptions);
  }
}
