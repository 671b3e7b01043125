/**
 * adam-optimizer: the Keras Adam optimizer, complete and exact, on typed arrays.
 * @packageDocumentation
 * @module adam-optimizer
 */
export { Adam, type AdamOptions } from './adam.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export {
  Optimizer,
  type OptimizerOptions,
  type LearningRate,
  type Gradient,
  type GradientPair,
  type WeightDecayExclusion,
  type VariableStore,
} from './optimizer.js';
export { Variable, type VariableOptions, type Constraint } from './variable.js';
export type { GradientBuffer } from './gradient-buffers.js';
export { IndexedSlices } from './indexed-slices.js';
export { InterruptedStepError } from './kernels/interrupted-step.js';
export type { Dtype, FloatArray } from './storage.js';
export type { Hyperparameter } from './hyperparameters.js';
export type { JsonValue } from './json.js';
export * as schedules from './schedules/index.js';
export * as optimizers from './optimizers.js';
export {
  Mesh,
  ReplicaError,
  type LocalMeshOptions,
  type MeshFeed,
  type MeshStepResult,
  type Collectives,
  type GradientContext,
  type GradientModule,
  type SharedRef,
  type ReplicaErrorInfo,
} from './mesh/index.js';
export type { MeshLike } from './mesh/mesh-like.js';
