// Test helpers: an optimizer on a kernel set of the test's own (a small memory limit, a thread
// count), and a kernel set that interrupts a step.
import { Adam, InterruptedStepError } from '../src/index.js';
import { createCompiledKernels, useCompiledKernels, type CompiledKernels } from '../src/kernels/compiled/index.js';

/** An optimizer made while `kernels` is the compiled kernel set in use. */
export function adamOn(kernels: CompiledKernels, options: ConstructorParameters<typeof Adam>[0]): Adam {
  const previous = useCompiledKernels(kernels);
  try {
    return new Adam(options);
  } finally {
    useCompiledKernels(previous);
  }
}

/**
 * A compiled kernel set whose next dense step, once armed, writes only the first half of its
 * variables and then throws an InterruptedStepError: what a worker thread that stops mid-step
 * leaves behind (the thread pool's own test makes workers fail for real).
 */
export function interruptibleKernels(): { kernels: CompiledKernels; interruptNextStep(): void } {
  const real = createCompiledKernels({ threads: 1 });
  let armed = false;
  const denseStep: CompiledKernels['denseStep'] = (sets, scalars) => {
    if (!armed) return real.denseStep(sets, scalars);
    armed = false;
    real.denseStep(sets.slice(0, Math.ceil(sets.length / 2)), scalars);
    throw new InterruptedStepError('a kernel worker thread stopped while it held a tile (simulated)');
  };
  const kernels = new Proxy(real, {
    get(target, key) {
      if (key === 'denseStep') return denseStep;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { kernels, interruptNextStep: () => { armed = true; } };
}
