import * as tf from '@tensorflow/tfjs-core';
import { registerFusedKernels, stateRows, type FusedUpdateAttrs, type SumsAttrs } from '../kernel-names.js';
import { constantBuffer, dispatch, grid, isWebGPUBackend, pipelineFor, type BufferLike, type WebGPUBackendLike } from './backend.js';
import { UPDATE_WORKGROUP, sumsShader, totalShader, updateShader } from './shaders.js';

function webgpu(backend: unknown): WebGPUBackendLike {
  if (!isWebGPUBackend(backend)) throw new Error('Adam: the fused webgpu kernels need tfjs-backend-webgpu 4.x');
  return backend;
}

function newOutput(backend: WebGPUBackendLike, shape: number[]): tf.TensorInfo {
  const out = backend.makeTensorInfo(shape, 'float32');
  backend.uploadToGPU(out.dataId);
  return out;
}

/** One dispatch per variable: the new parameter and every state row (the `AdamFusedUpdate` kernel of kernel-names.ts). */
function fusedUpdate({ inputs, backend: raw, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const backend = webgpu(raw);
  const a = attrs as unknown as FusedUpdateAttrs;
  const { param, grad, state, scalars, sums } = inputs;
  const paramOut = newOutput(backend, [a.size]);
  const stateOut = newOutput(backend, [stateRows(a.amsgrad, a.ema).rows, a.size]);
  const bindings: (tf.TensorInfo | BufferLike)[] = [scalars!, grad!, param!, state!, paramOut, stateOut, constantBuffer(backend.device, [a.size, a.index])];
  if (a.normClipping !== 'none') bindings.push(sums!);
  const pipeline = pipelineFor(backend.device, updateShader(a));
  dispatch(backend, pipeline, bindings, grid(Math.ceil(a.size / UPDATE_WORKGROUP), backend.device.limits.maxComputeWorkgroupsPerDimension));
  return [paramOut, stateOut];
}

/** Sums of squares of every input, as many per dispatch as the storage-buffer limit allows. */
function sumsOfSquares({ inputs, backend: raw, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = webgpu(raw);
  const grads = Object.keys(inputs).sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))).map((k) => inputs[k]!);
  const out = newOutput(backend, [grads.length]);
  const perDispatch = Math.max(1, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
  for (let first = 0; first < grads.length; first += perDispatch) {
    const group = grads.slice(first, first + perDispatch);
    const sizes = group.map((g) => tf.util.sizeFromShape(g.shape));
    dispatch(backend, pipelineFor(backend.device, sumsShader(sizes, first)), [out, ...group], [group.length, 1]);
  }
  if (!(attrs as unknown as SumsAttrs | undefined)?.total) return out;
  const total = newOutput(backend, [1]);
  dispatch(backend, pipelineFor(backend.device, totalShader(grads.length)), [total, out], [1, 1]);
  backend.disposeData(out.dataId);
  return total;
}

/** Registers the fused kernels for the `webgpu` backend (once). */
export function registerWebGPUKernels(): void {
  registerFusedKernels('webgpu', fusedUpdate, sumsOfSquares);
}

/** Whether the active webgpu backend can run them. */
export function webgpuKernelsRun(backend: unknown): boolean {
  return isWebGPUBackend(backend);
}
