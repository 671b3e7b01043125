/**
 * `adam-optimizer/tfjs`: the Keras Adam optimizer as a TensorFlow.js optimizer, for
 * `model.compile({ optimizer })`, `model.fit` / `fitDataset`, `minimize` and `applyGradients`.
 * Needs the peer dependencies `@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers`.
 *
 * Importing it registers the optimizer for deserialization as `'Adam'` and a tfjs-layers callback
 * that finalizes the EMA when `fit` ends (see {@link registerAdam}).
 *
 * @packageDocumentation
 * @module adam-optimizer/tfjs
 */
export { Adam, Adam as KerasAdam, type TfjsWeightDecayExclusion } from './adam.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { registerAdam } from './register.js';
export type { AdamOptions, Execution, TfjsLearningRate } from './options.js';
export { FinalizeEmaOnFitEnd } from './fit-callback.js';
export { isKerasAdam, type FitEndOptimizer } from './marker.js';
export type { NamedTensor, VariableLike } from './gradients.js';
export type { NamedState } from './engine.js';
export { schedules } from '../index.js';
export { fitOnMesh, type MeshFitArgs, type MeshFitCallbacks, type MeshHistory, type MeshLogs } from './mesh/index.js';
export { Mesh, InterruptedStepError } from '../index.js';
