// Test helper: an optimizer on a kernel set of the test's own (a small memory limit, a thread count).
import { Adam } from '../src/index.js';
import { useCompiledKernels, type CompiledKernels } from '../src/kernels/compiled/index.js';

/** An optimizer made while `kernels` is the compiled kernel set in use. */
export function adamOn(kernels: CompiledKernels, options: ConstructorParameters<typeof Adam>[0]): Adam {
  const previous = useCompiledKernels(kernels);
  try {
    return new Adam(options);
  } finally {
    useCompiledKernels(previous);
  }
}
