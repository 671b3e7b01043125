import * as tf from '@tensorflow/tfjs-core';

// The parts of tfjs-backend-webgpu (4.x) and of WebGPU that the fused programs use, typed here so
// that this package needs neither at compile time.

export interface ComputePassLike {
  setPipeline(pipeline: PipelineLike): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface BufferLike {
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

export interface PipelineLike {
  getBindGroupLayout(index: number): unknown;
}

export interface DeviceLike {
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipeline(descriptor: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): PipelineLike;
  createBindGroup(descriptor: { layout: unknown; entries: { binding: number; resource: { buffer: unknown } }[] }): unknown;
  createBuffer(descriptor: { size: number; usage: number; mappedAtCreation?: boolean }): BufferLike;
  readonly limits: { readonly maxStorageBuffersPerShaderStage: number; readonly maxComputeWorkgroupsPerDimension: number };
}

/** tfjs-backend-webgpu's `WebGPUBackend`, the members a custom dispatch needs. */
export interface WebGPUBackendLike {
  readonly device: DeviceLike;
  readonly tensorMap: { get(dataId: object): { resource?: unknown } };
  uploadToGPU(dataId: object): void;
  disposeData(dataId: object): boolean;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { beginComputePass(descriptor: object): ComputePassLike } | null;
  computePassEncoder: ComputePassLike | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
}

/** Whether `backend` looks like tfjs-backend-webgpu 4.x (what the fused programs rely on). */
export function isWebGPUBackend(backend: unknown): backend is WebGPUBackendLike {
  const b = backend as Partial<WebGPUBackendLike> | null;
  return b !== null && typeof b === 'object' && typeof b.device === 'object' && b.device !== null
    && typeof b.uploadToGPU === 'function' && typeof b.ensureCommandEncoderReady === 'function'
    && typeof b.endComputePassEncoder === 'function' && typeof b.submitQueue === 'function'
    && typeof b.makeTensorInfo === 'function' && typeof b.disposeData === 'function' && b.commandQueueOwnedIds instanceof WeakSet
    && typeof (b.tensorMap as { get?: unknown } | undefined)?.get === 'function';
}

const pipelines = new WeakMap<DeviceLike, Map<string, PipelineLike>>();

/** The compute pipeline of `code` on `device`, compiled once. */
export function pipelineFor(device: DeviceLike, code: string): PipelineLike {
  let cache = pipelines.get(device);
  if (cache === undefined) pipelines.set(device, (cache = new Map()));
  let pipeline = cache.get(code);
  if (pipeline === undefined) {
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    cache.set(code, pipeline);
  }
  return pipeline;
}

/** GPUBufferUsage.UNIFORM, as WebGPU defines it. */
const UNIFORM_USAGE = 0x40;
const constants = new WeakMap<DeviceLike, Map<string, BufferLike>>();

/**
 * A small uniform buffer holding these u32 values, written once when first asked for and kept for
 * the device's life (a few bytes per variable of a model): per-variable constants that change no
 * step, so that no step writes them.
 */
export function constantBuffer(device: DeviceLike, values: readonly number[]): BufferLike {
  const key = values.join(',');
  let cache = constants.get(device);
  if (cache === undefined) constants.set(device, (cache = new Map()));
  let buffer = cache.get(key);
  if (buffer === undefined) {
    buffer = device.createBuffer({ size: Math.max(16, Math.ceil(values.length / 4) * 16), usage: UNIFORM_USAGE, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(values);
    buffer.unmap();
    cache.set(key, buffer);
  }
  return buffer;
}

/**
 * Records one dispatch into the backend's command stream, as its own programs are recorded: the
 * same encoder and compute pass, the tensors marked in use until the queue is submitted, and the
 * same submit batching. `bindings[i]` is bound at binding i: a tensor (uploaded first) or a buffer.
 */
export function dispatch(backend: WebGPUBackendLike, pipeline: PipelineLike, bindings: readonly (tf.TensorInfo | BufferLike)[], workgroups: readonly [number, number]): void {
  const entries = bindings.map((t, binding) => {
    if (!('dataId' in t)) return { binding, resource: { buffer: t as unknown } };
    backend.uploadToGPU(t.dataId);
    backend.commandQueueOwnedIds.add(t.dataId);
    return { binding, resource: { buffer: backend.tensorMap.get(t.dataId).resource } };
  });
  const bindGroup = backend.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  backend.ensureCommandEncoderReady();
  if (backend.computePassEncoder === null) backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1]);
  backend.dispatchCountInPass++;
  if (backend.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** A two-dimensional grid of `count` workgroups within the per-dimension limit. */
export function grid(count: number, limit: number): [number, number] {
  if (count <= limit) return [Math.max(count, 1), 1];
  const x = limit;
  return [x, Math.ceil(count / x)];
}
