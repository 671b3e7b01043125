// The browser page of the GPU tests: TensorFlow.js with its webgl and webgpu backends and this
// package's Adam. The Node test drives it through `window.gpuRun`.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import type { Execution } from '../../src/tfjs/index.js';
import type { GpuCase, GpuResult } from './cases.js';
import { runCase } from './run-case.js';
import { FUSED_UPDATE } from '../../src/tfjs/gpu/kernel-names.js';
import { Adam } from '../../src/tfjs/index.js';
import { counters, instrumentBackend, resetCounters } from './gpu-counters.js';

const gpuErrors: string[] = [];
let listening: object | null = null;

/** Listens for uncaptured errors (validation errors included) of the webgpu backend's device. */
function listen(): void {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  if (device === undefined || listening === device) return;
  listening = device;
  device.addEventListener('uncapturederror', (event) => gpuErrors.push((event as GPUUncapturedErrorEvent).error.message));
  void device.lost.then((info) => gpuErrors.push(`device lost: ${info.message}`));
}

async function gpuRun(backend: string, c: GpuCase, execution: Execution): Promise<GpuResult | { error: string }> {
  try {
    if (tf.getBackend() !== backend) {
      const ok = await tf.setBackend(backend);
      if (!ok) return { error: `backend ${backend} did not initialize` };
    }
    await tf.ready();
    listen();
    gpuErrors.length = 0;
    const result = await runCase(c, execution, []);
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    if (device !== undefined) await device.queue.onSubmittedWorkDone();
    return { ...result, gpuErrors: [...gpuErrors] };
  } catch (error) {
    return { error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) };
  }
}

/**
 * Runs a case with the fused update kernel of `backend` replaced by one that throws, as a program
 * the device cannot build would; the package's own kernel is registered again afterwards.
 */
async function gpuRunBroken(backend: string, c: GpuCase): Promise<GpuResult | { error: string }> {
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
  if (tf.getKernel(FUSED_UPDATE, backend) !== undefined) tf.unregisterKernel(FUSED_UPDATE, backend);
  tf.registerKernel({ kernelName: FUSED_UPDATE, backendName: backend, kernelFunc: () => { throw new Error('cannot build this program'); } });
  try {
    return await gpuRun(backend, c, 'gpu-fused');
  } finally {
    tf.unregisterKernel(FUSED_UPDATE, backend);
  }
}

/** GPU work of one step (the third) of the case's model and options: dispatches or draws, and tensors uploaded. */
async function gpuCount(backend: string, c: GpuCase, execution: Execution): Promise<{ dispatches: number; tensorUploads: number; readbacks: number; path: string | null } | { error: string }> {
  try {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    instrumentBackend();
    const variables = c.shapes.map((shape, i) => tf.variable(tf.tensor(c.initial[i] as number[], shape as number[]), true, `count${Math.random().toString(36).slice(2, 8)}/v${i}`));
    const grads = variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(c.grads[0][i] as number[], v.shape) }));
    const optimizer = new Adam({ ...c.options, execution });
    optimizer.applyGradients(grads);
    optimizer.applyGradients(grads);
    await variables[0].data();
    resetCounters();
    optimizer.applyGradients(grads);
    const counted = { dispatches: counters.dispatches, tensorUploads: counters.tensorUploads, readbacks: counters.readbacks, path: optimizer.executionPath };
    await Promise.all(variables.map((v) => v.data()));
    optimizer.dispose();
    tf.dispose([...variables, ...grads.map((g) => g.tensor)]);
    return counted;
  } catch (error) {
    return { error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) };
  }
}

declare global {
  interface Window {
    gpuRun: typeof gpuRun;
    gpuRunBroken: typeof gpuRunBroken;
    gpuCount: typeof gpuCount;
    gpuReady: boolean;
  }
}
tf.enableProdMode();
window.gpuRun = gpuRun;
window.gpuRunBroken = gpuRunBroken;
window.gpuCount = gpuCount;
window.gpuReady = true;
