import type { AdamKernels } from './kernels/kernel.js';
import type { FloatArray, Storage } from './storage.js';
import type { Variable } from './variable.js';

/** A gradient buffer in kernel memory: fill `value` and pass it to `applyGradients`. */
export interface GradientBuffer {
  /** The live array; read it afresh each time (kernel memory may grow). */
  readonly value: FloatArray;
}

/**
 * An optimizer's gradient buffers: one per variable, kept until the optimizer is disposed.
 *
 * On an ordinary (non-shared) WebAssembly memory, growth detaches every view taken before it; the
 * first step grows the memory when it builds the state, so a buffer's array read before that step
 * arrives detached (length 0). {@link GradientBuffers.revive} recognises such an array and gives the
 * live one, which holds the same numbers (growth keeps the contents).
 */
export class GradientBuffers {
  private readonly byVariable = new Map<number, { readonly buffer: GradientBuffer; readonly storage: Storage }>();
  /** Every array handed out, by the id of its variable (weak: old views may be collected). */
  private readonly handedOut = new WeakMap<FloatArray, number>();

  constructor(private readonly kernels: AdamKernels) {}

  /** The buffer of `variable`, created on first request. */
  get(variable: Variable): GradientBuffer {
    const known = this.byVariable.get(variable.id);
    if (known !== undefined) return known.buffer;
    const storage = this.kernels.gradientBuffer(variable.dtype, variable.size, variable.storageRef);
    const handedOut = this.handedOut;
    let last: FloatArray | null = null;
    const buffer: GradientBuffer = {
      get value() {
        const array = storage.array;
        // Read every step: record a new view only (the same one is already recorded).
        if (array !== last) {
          handedOut.set(array, variable.id);
          last = array;
        }
        return array;
      },
    };
    this.byVariable.set(variable.id, { buffer, storage });
    return buffer;
  }

  /** The live array of `variable`'s buffer when `grad` is a detached view of it; otherwise null. */
  revive(grad: unknown, variable: Variable): FloatArray | null {
    if (!(grad instanceof Float32Array || grad instanceof Float64Array)) return null;
    if (grad.length !== 0 || grad.buffer.byteLength !== 0 || this.handedOut.get(grad) !== variable.id) return null;
    return this.byVariable.get(variable.id)?.storage.array ?? null;
  }

  /** Gives every buffer's memory back. */
  releaseAll(): void {
    for (const { storage } of this.byVariable.values()) this.kernels.release(storage);
    this.byVariable.clear();
  }
}
