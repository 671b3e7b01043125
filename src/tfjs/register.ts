import { registerAdam as registerAdamClass } from './adam.js';
import { registerAdamW } from './adamw.js';

/**
 * Registers this package's TensorFlow.js optimizers for deserialization (`'Adam'`, `'AdamW'`) and
 * the end-of-fit EMA callback with tfjs-layers. Importing `adam-optimizer/tfjs` does it; call it
 * yourself where a bundler may drop a module imported only for its side effects. Idempotent.
 */
export function registerAdam(): void {
  registerAdamClass();
  registerAdamW();
}
