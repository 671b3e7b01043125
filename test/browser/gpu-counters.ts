// Counts GPU work in a page: WebGPU dispatches and WebGL draws, GPU-level writes, tensors made
// from CPU values and read-backs. Used by the GPU tests and the browser benchmark.
import * as tf from '@tensorflow/tfjs-core';

/** The counts since the last {@link resetCounters}. */
export const counters = { dispatches: 0, gpuWrites: 0, tensorUploads: 0, readbacks: 0 };

/** Calls `observe` with the arguments of every call of `proto[name]`. */
function wrap<T extends object>(proto: T | undefined, name: string, observe: (args: unknown[]) => void): void {
  if (proto === undefined) return;
  const record = proto as Record<string, unknown>;
  const original = record[name];
  if (typeof original !== 'function') return;
  record[name] = function (this: unknown, ...args: unknown[]) {
    observe(args);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

const hasData = (args: unknown[]) => args.some((a) => ArrayBuffer.isView(a));
wrap(globalThis.GPUComputePassEncoder?.prototype, 'dispatchWorkgroups', () => counters.dispatches++);
wrap(globalThis.GPUQueue?.prototype, 'writeBuffer', () => counters.gpuWrites++);
wrap(globalThis.GPUDevice?.prototype, 'createBuffer', (args) => {
  if ((args[0] as { mappedAtCreation?: boolean } | undefined)?.mappedAtCreation) counters.gpuWrites++;
});
const gl = globalThis.WebGL2RenderingContext?.prototype;
wrap(gl, 'drawArrays', () => counters.dispatches++);
wrap(gl, 'drawElements', () => counters.dispatches++);
wrap(gl, 'texSubImage2D', (args) => hasData(args) && counters.gpuWrites++);
wrap(gl, 'texImage2D', (args) => hasData(args) && counters.gpuWrites++);
wrap(gl, 'bufferSubData', () => counters.gpuWrites++);

/** Counts the backend's tensor writes from CPU values and read-backs. */
export function instrumentBackend(): void {
  const backend = tf.backend() as unknown as Record<string, unknown> & { __benchWrapped?: boolean };
  if (backend.__benchWrapped) return;
  backend.__benchWrapped = true;
  for (const name of ['write', 'read', 'readSync']) {
    const original = backend[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof original !== 'function') continue;
    backend[name] = function (this: unknown, ...args: unknown[]) {
      if (name === 'write' && args[0] != null) counters.tensorUploads++;
      if (name !== 'write') counters.readbacks++;
      return original.apply(this, args);
    };
  }
}

export function resetCounters(): void {
  counters.dispatches = 0;
  counters.gpuWrites = 0;
  counters.tensorUploads = 0;
  counters.readbacks = 0;
}

