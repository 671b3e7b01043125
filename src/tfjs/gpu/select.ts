import * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam } from '../../adam.js';
import type { StepEngine } from '../engine.js';
import { FusedEngine } from './fused-engine.js';
import { registerWebGLKernels, webglKernelsRun } from './webgl/kernels.js';
import { registerWebGPUKernels, webgpuKernelsRun } from './webgpu/kernels.js';

const warned = new Set<string>();

/** Why the fused programs cannot run on the active backend, or null when they can. */
export function fusedUnavailable(): string | null {
  const name = tf.getBackend();
  const backend = tf.backend();
  if (name === 'webgpu') {
    if (!webgpuKernelsRun(backend)) return 'the webgpu backend is not tfjs-backend-webgpu 4.x';
    registerWebGPUKernels();
    return null;
  }
  if (name === 'webgl') {
    if (!webglKernelsRun(backend)) return 'the webgl backend is not tfjs-backend-webgl 4.x';
    if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) return 'this WebGL cannot render float32 textures';
    registerWebGLKernels();
    return null;
  }
  return `there are fused programs only for the webgl and webgpu backends, not '${name}'`;
}

/**
 * The fused GPU engine for the active backend, or null (after one console warning per backend and
 * reason) where it cannot run: the caller falls back to tensor ops.
 */
export function fusedEngine(core: CoreAdam, excluded: ReadonlySet<tf.Variable>): StepEngine | null {
  const reason = fusedUnavailable();
  if (reason === null) return new FusedEngine(core, excluded);
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`${core.name}: fused GPU programs cannot run (${reason}); steps run as tensor ops`);
  }
  return null;
}
