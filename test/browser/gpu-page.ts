// The browser page of the GPU tests: TensorFlow.js with its webgl and webgpu backends and this
// package's Adam. The Node test drives it through `window.gpuRun`.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import type { Execution } from '../../src/tfjs/index.js';
import type { GpuCase, GpuResult } from './cases.js';
import { runCase } from './run-case.js';
import { FUSED_UPDATE } from '../../src/tfjs/gpu/kernel-names.js';

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

declare global {
  interface Window {
    gpuRun: typeof gpuRun;
    gpuRunBroken: typeof gpuRunBroken;
    gpuReady: boolean;
  }
}
tf.enableProdMode();
window.gpuRun = gpuRun;
window.gpuRunBroken = gpuRunBroken;
window.gpuReady = true;
