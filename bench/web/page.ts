// The browser benchmark's page: one optimizer step of a 40-variable model (83,200 parameters) on
// the webgl and webgpu backends, counting GPU work per step. Driven by bench/web/run.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { Adam, type AdamOptions } from '../../src/tfjs/index.js';
import { counters, instrumentBackend, resetCounters } from '../../test/browser/gpu-counters.js';

/** What one measured configuration reports, per step. */
export interface WebBenchRow {
  readonly backend: string;
  readonly optimizer: string;
  readonly options: string;
  readonly path: string;
  /** WebGPU dispatchWorkgroups, or WebGL drawArrays / drawElements. */
  readonly dispatches: number;
  /** Tensors made from CPU values (backend.write with values). */
  readonly tensorUploads: number;
  /** GPU-level writes: queue.writeBuffer and mapped-at-creation buffers (WebGPU), tex(Sub)Image2D with data (WebGL). */
  readonly gpuWrites: number;
  readonly readbacks: number;
  readonly msPerStep: number;
}

export interface WebBenchSpec {
  readonly backend: 'webgl' | 'webgpu';
  readonly optimizer: 'ours fused' | 'ours tensor-ops' | 'tf.train.adam';
  readonly options: 'defaults' | 'amsgrad + wd + global clipnorm + EMA';
  readonly variables: number;
  readonly size: number;
  readonly timedSteps: number;
}

async function benchRun(spec: WebBenchSpec): Promise<WebBenchRow | { error: string }> {
  try {
    if (tf.getBackend() !== spec.backend && !(await tf.setBackend(spec.backend))) return { error: `${spec.backend} did not initialize` };
    await tf.ready();
    instrumentBackend();
    const variables = Array.from({ length: spec.variables }, (_, i) => tf.variable(tf.randomUniform([spec.size], -1, 1, 'float32', i + 1), true, `bench${Math.random().toString(36).slice(2, 7)}_${i}`));
    const grads = variables.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', 100 + i));
    const map: tf.NamedTensorMap = Object.fromEntries(variables.map((v, i) => [v.name, grads[i]]));
    const featured = spec.options !== 'defaults';
    const ours: AdamOptions = featured ? { amsgrad: true, weightDecay: 0.01, globalClipnorm: 1, useEma: true } : {};
    let path = 'tf.train.adam';
    let step: () => void;
    let dispose: () => void;
    if (spec.optimizer === 'tf.train.adam') {
      const optimizer = tf.train.adam(0.001, 0.9, 0.999, 1e-7);
      const list = variables.map((v, i) => ({ name: v.name, tensor: grads[i] }));
      step = () => optimizer.applyGradients(list);
      dispose = () => optimizer.dispose();
    } else {
      const optimizer = new Adam({ ...ours, execution: spec.optimizer === 'ours fused' ? 'gpu-fused' : 'tensor-ops' });
      step = () => optimizer.applyGradients(map);
      dispose = () => optimizer.dispose();
      step();
      path = optimizer.executionPath ?? '?';
    }
    // Warm up (state built, programs compiled), then count one step.
    step();
    await variables[0].data();
    resetCounters();
    step();
    const one = { ...counters };
    await variables[0].data();
    const start = performance.now();
    for (let i = 0; i < spec.timedSteps; i++) step();
    await Promise.all(variables.map((v) => v.data()));
    const msPerStep = (performance.now() - start) / spec.timedSteps;
    dispose();
    tf.dispose([...variables, ...grads]);
    return {
      backend: spec.backend, optimizer: spec.optimizer, options: spec.options, path,
      dispatches: one.dispatches, tensorUploads: one.tensorUploads, gpuWrites: one.gpuWrites, readbacks: one.readbacks, msPerStep,
    };
  } catch (error) {
    return { error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) };
  }
}

async function adapterInfo(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter();
  const info = (adapter as unknown as { info?: { vendor: string; architecture: string; device: string; description: string } } | null)?.info;
  return info ? `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim() : 'no WebGPU adapter';
}

declare global {
  interface Window {
    benchRun: typeof benchRun;
    adapterInfo: typeof adapterInfo;
    gpuReady: boolean;
  }
}
tf.enableProdMode();
window.benchRun = benchRun;
window.adapterInfo = adapterInfo;
window.gpuReady = true;
