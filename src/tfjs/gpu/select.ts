import * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam } from '../../adam.js';
import type { StepEngine } from '../engine.js';
import { FusedEngine } from './fused-engine.js';
import { FUSED_UPDATE, STEP_SCALARS, SUMS_OF_SQUARES, stateRows, type FusedUpdateAttrs } from './kernel-names.js';
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
  return 'there are fused programs only for the webgl and webgpu backends';
}

/**
 * Runs each fused program this optimizer can need once, on one element, so that a program the
 * device cannot build fails here (WebGL compiles synchronously) rather than in the first step.
 * Programs are cached, so the real steps reuse them. Returns why it failed, or null.
 */
function probe(core: CoreAdam): string | null {
  const { amsgrad, useEma: ema } = core;
  try {
    tf.tidy(() => {
      const one = tf.zeros([1]);
      const state = tf.zeros([stateRows(amsgrad, ema).rows, 1]);
      const scalars = tf.zeros([STEP_SCALARS.firstDecay + 1]);
      for (const normClipping of ['none', 'clipnorm', 'globalClipnorm'] as const) {
        const inputs: tf.NamedTensorMap = { param: one, grad: one, state, scalars };
        if (normClipping !== 'none') inputs.sums = tf.engine().runKernel(SUMS_OF_SQUARES, { g0: one }, { total: normClipping === 'globalClipnorm' }) as tf.Tensor;
        const attrs: FusedUpdateAttrs = { size: 1, index: 0, amsgrad, ema, normClipping };
        tf.engine().runKernel(FUSED_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap);
      }
    });
    return null;
  } catch (error) {
    return `a fused program failed on this device: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The fused GPU engine for the active backend, or null (after one console warning per backend and
 * reason) where it cannot run: the caller falls back to tensor ops.
 */
export function fusedEngine(core: CoreAdam, excluded: ReadonlySet<tf.Variable>): StepEngine | null {
  const reason = fusedUnavailable() ?? probe(core);
  if (reason === null) return new FusedEngine(core, excluded);
  const message = `fused GPU programs cannot run on '${tf.getBackend()}' (${reason}); steps run as tensor ops`;
  if (!warned.has(message)) {
    warned.add(message);
    console.warn(`${core.name}: ${message}`);
  }
  return null;
}
