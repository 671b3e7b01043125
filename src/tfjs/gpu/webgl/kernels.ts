import * as tf from '@tensorflow/tfjs-core';
import { registerFusedKernels, type FusedUpdateAttrs, type SumsAttrs } from '../kernel-names.js';
import { flatInputs, isWebGLBackend, type WebGLBackendLike } from './backend.js';
import { joinProgram, paramProgram, stateProgram, sumsProgram, totalProgram } from './programs.js';

/** Gradients per sums-of-squares draw, and parts per join draw: within WebGL 2's 16 texture units. */
const PER_DRAW = 15;

function webgl(backend: unknown): WebGLBackendLike {
  if (!isWebGLBackend(backend)) throw new Error('Adam: the fused webgl kernels need tfjs-backend-webgl 4.x');
  return backend;
}

/** Two draws per variable (a program has one output): the new parameter, and every state row. */
function fusedUpdate({ inputs, backend: raw, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const backend = webgl(raw);
  const a = attrs as unknown as FusedUpdateAttrs;
  const { param, grad, state, scalars, sums } = inputs;
  const { flat: [flatGrad, flatParam], temporaries } = flatInputs(backend, [grad!, param!]);
  const list = [scalars!, flatGrad, flatParam, state!, ...(a.normClipping === 'none' ? [] : [sums!])];
  const uniforms = [[a.index]];
  const outputs = [backend.runWebGLProgram(paramProgram(a), list, 'float32', uniforms), backend.runWebGLProgram(stateProgram(a), list, 'float32', uniforms)];
  for (const t of temporaries) backend.disposeIntermediateTensorInfo(t);
  return outputs;
}

/** Sums of squares: up to {@link PER_DRAW} gradients per draw, the parts joined in as few draws. */
function sumsOfSquares({ inputs, backend: raw, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = webgl(raw);
  const { flat: grads, temporaries } = flatInputs(backend, Object.keys(inputs).sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))).map((k) => inputs[k]!));
  let parts: tf.TensorInfo[] = [];
  for (let first = 0; first < grads.length; first += PER_DRAW) {
    const group = grads.slice(first, first + PER_DRAW);
    parts.push(backend.runWebGLProgram(sumsProgram(group.map((g) => tf.util.sizeFromShape(g.shape))), group, 'float32'));
  }
  for (const t of temporaries) backend.disposeIntermediateTensorInfo(t);
  while (parts.length > 1) {
    const next: tf.TensorInfo[] = [];
    for (let first = 0; first < parts.length; first += PER_DRAW) {
      const group = parts.slice(first, first + PER_DRAW);
      if (group.length === 1) {
        next.push(group[0]);
        continue;
      }
      next.push(backend.runWebGLProgram(joinProgram(group.map((p) => p.shape[0])), group, 'float32'));
      for (const part of group) backend.disposeIntermediateTensorInfo(part);
    }
    parts = next;
  }
  if (!(attrs as unknown as SumsAttrs | undefined)?.total) return parts[0];
  const total = backend.runWebGLProgram(totalProgram(grads.length), parts, 'float32');
  backend.disposeIntermediateTensorInfo(parts[0]);
  return total;
}

/** Registers the fused kernels for the `webgl` backend (once). */
export function registerWebGLKernels(): void {
  registerFusedKernels('webgl', fusedUpdate, sumsOfSquares);
}

export function webglKernelsRun(backend: unknown): boolean {
  return isWebGLBackend(backend);
}
