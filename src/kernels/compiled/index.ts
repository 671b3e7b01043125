import type { AdamKernels } from '../kernel.js';
import { CompiledKernels } from './kernels.js';

export { CompiledKernels, createCompiledKernels } from './kernels.js';

/** undefined: not tried yet; null: tried and unavailable. */
let cached: CompiledKernels | null | undefined;

/**
 * The compiled (WebAssembly SIMD) kernel set, created on first call and cached, synchronously (the
 * binary is embedded and small enough for browsers to compile on the main thread, since
 * TensorFlow.js applies gradients synchronously). Returns null, with a one-time console notice,
 * where WebAssembly SIMD is missing or instantiation fails; callers then use the reference kernels.
 */
export function loadCompiledKernels(): AdamKernels | null {
  if (cached !== undefined) return cached;
  try {
    cached = new CompiledKernels();
  } catch (error) {
    cached = null;
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`adam-optimizer: compiled kernels unavailable (${reason}); using the reference kernels.`);
  }
  return cached;
}

/**
 * @internal For tests: makes `kernels` the compiled kernel set that optimizers created from now on
 * use (for example one with a small memory limit); returns the previous one.
 */
export function useCompiledKernels(kernels: CompiledKernels | null | undefined): CompiledKernels | null | undefined {
  const previous = cached;
  cached = kernels;
  return previous;
}

/**
 * Whether `array` is a view into the compiled kernels' memory (for example a `gradientBuffer()`),
 * so that a step reads it in place instead of copying it. False when the compiled kernels have not
 * been loaded.
 */
export function isKernelMemory(array: ArrayBufferView): boolean {
  return cached != null && cached.owns(array);
}
