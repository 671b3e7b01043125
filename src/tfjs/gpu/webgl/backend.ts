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
  unpackTensor(input: tf.TensorInfo): tf.TensorInfo;
  readonly texData: { get(dataId: object): { isPacked?: boolean } | undefined };
}

export function isWebGLBackend(backend: unknown): backend is WebGLBackendLike {
  const b = backend as Partial<WebGLBackendLike> | null;
  return b !== null && typeof b === 'object' && typeof b.runWebGLProgram === 'function' && typeof b.disposeIntermediateTensorInfo === 'function'
    && typeof b.unpackTensor === 'function' && typeof (b.texData as { get?: unknown } | undefined)?.get === 'function';
}

/**
 * Tensors seen as flat `[size]` inputs, and the intermediates to dispose after the draws. An
 * unpacked texture is row-major whatever its shape, so it is read as flat as it is; a packed one
 * (2×2 blocks) is unpacked first, in one draw, at its own shape.
 */
export function flatInputs(backend: WebGLBackendLike, inputs: readonly tf.TensorInfo[]): { flat: tf.TensorInfo[]; temporaries: tf.TensorInfo[] } {
  const temporaries: tf.TensorInfo[] = [];
  const flat = inputs.map((input) => {
    let source = input;
    if (backend.texData.get(input.dataId)?.isPacked === true) {
      source = backend.unpackTensor(input);
      temporaries.push(source);
    }
    return { dataId: source.dataId, shape: [input.shape.reduce((a, b) => a * b, 1)], dtype: source.dtype };
  });
  return { flat, temporaries };
}
