import * as tfl from '@tensorflow/tfjs-layers';
import { isKerasAdam } from './marker.js';

/**
 * Finalizes the EMA when `fit` / `fitDataset` ends, as Keras' `fit()` does: if the model's
 * optimizer is one of ours (any copy of the package), uses EMA, has `finalizeEmaOnFitEnd` set,
 * and `fit` was asked for at least one epoch, its trainable weights are overwritten with their
 * averages. Registered at verbosity level 0, so it joins every `fit`, right after TensorFlow.js'
 * BaseLogger and before the user's callbacks (which therefore see the final weights in
 * `onTrainEnd`).
 */
export class FinalizeEmaOnFitEnd extends tfl.Callback {
  override async onTrainEnd(): Promise<void> {
    const model = this.model;
    if (model === null || model === undefined) return;
    const optimizer: unknown = model.optimizer;
    if (!isKerasAdam(optimizer) || !optimizer.useEma || !optimizer.finalizeEmaOnFitEnd) return;
    const epochs = this.params?.epochs;
    if (!(typeof epochs === 'number' && epochs > 0)) return;
    optimizer.finalizeVariableValues(model.trainableWeights);
  }
}

let registered = false;

/** Registers {@link FinalizeEmaOnFitEnd} with tfjs-layers (once). */
export function registerFitEndCallback(): void {
  if (registered) return;
  tfl.registerCallbackConstructor(0, FinalizeEmaOnFitEnd);
  registered = true;
}
