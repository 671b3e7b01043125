export { Mesh, type LocalMeshOptions, type MeshFeed, type MeshStepResult } from './mesh.js';
export { ReplicaError } from './local-replicas.js';
export type { Collectives } from './collectives.js';
export type { GradientContext, GradientModule } from './replica-runtime.js';
export type { SharedRef } from './shared-memory.js';
export type { ReplicaErrorInfo } from './protocol.js';
