import type { AdamKernels } from '../kernels/kernel.js';

/** What an optimizer needs of a mesh: the kernel set that runs its steps over the replicas. */
export interface MeshLike {
  /** Number of replicas. */
  readonly replicas: number;
  /** @internal The kernel set of an optimizer on this mesh. */
  kernelsFor(jitCompile: boolean): AdamKernels;
}

export function isMeshLike(value: unknown): value is MeshLike {
  return typeof value === 'object' && value !== null && typeof (value as MeshLike).kernelsFor === 'function'
    && typeof (value as MeshLike).replicas === 'number';
}
