import * as tf from '@tensorflow/tfjs-core';
import type { AdamOptions as CoreAdamOptions } from '../adam.js';
import { AdamW as CoreAdamW, type AdamWOptions as CoreAdamWOptions } from '../adamw.js';
import { Adam } from './adam.js';
import type { AdamOptions } from './options.js';

/** Options of the TensorFlow.js {@link AdamW}: those of its Adam, `weightDecay` a number (default 0.004). */
export interface AdamWOptions extends Omit<AdamOptions, 'weightDecay'> {
  /** Keras `weight_decay`. Default 0.004; null is refused. */
  weightDecay?: number;
}

/**
 * Keras' `AdamW` as a TensorFlow.js optimizer: this package's TensorFlow.js {@link Adam} with
 * decoupled weight decay always on (`weightDecay` defaults to 0.004, null is refused), saved and
 * registered for deserialization as `"AdamW"`.
 */
export class AdamW extends Adam {
  /** The name written as `class_name` in saved training configs. */
  static override get className(): string {
    return 'AdamW';
  }

  /**
   * A real prototype check: TensorFlow.js' `Optimizer` makes `instanceof` duck-typed (any
   * optimizer would pass), which is right for its base class but would make every optimizer an AdamW.
   */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    return typeof instance === 'object' && instance !== null && AdamW.prototype.isPrototypeOf(instance);
  }

  /** @param options - Adam's options; `weightDecay` defaults to 0.004. */
  constructor(options: AdamWOptions = {}) {
    super(options as AdamOptions);
  }

  protected override createCore(options: CoreAdamOptions): CoreAdamW {
    return new CoreAdamW(options as CoreAdamWOptions);
  }
}

let registered = false;

/** Registers {@link AdamW} with TensorFlow.js' serialization (idempotent; importing the module does it). */
export function registerAdamW(): void {
  if (registered) return;
  tf.serialization.registerClass(AdamW);
  registered = true;
}

registerAdamW();
