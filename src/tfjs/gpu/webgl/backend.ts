import type * as tf from '@tensorflow/tfjs-core';

// The parts of tfjs-backend-webgl (4.x) that the fused programs use, typed here so that this
// package does not need it at compile time.

/** A GPGPU program of tfjs-backend-webgl: one output, GLSL `userCode` with its sampling helpers. */
export interface WebGLProgramLike {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  packedInputs?: boolean;
  packedOutput?: boolean;
  enableShapeUniforms?: boolean;
  customUniforms?: { name: string; type: 'int' | 'float' }[];
}

/** tfjs-backend-webgl's `MathBackendWebGL`, the members used here. */
export interface WebGLBackendLike {
  runWebGLProgram(program: WebGLProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType, customUniformValues?: number[][]): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

export function isWebGLBackend(backend: unknown): backend is WebGLBackendLike {
  const b = backend as Partial<WebGLBackendLike> | null;
  return b !== null && typeof b === 'object' && typeof b.runWebGLProgram === 'function' && typeof b.disposeIntermediateTensorInfo === 'function';
}
