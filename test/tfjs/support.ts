// Shared helpers of the TensorFlow.js adapter tests.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { assertClose as assertCloseShared, random } from '../support.js';

export { random };

tf.enableProdMode(); // no "install tfjs-node" banner, no debug checks

let wasmPathsSet = false;

/**
 * Makes `name` the active backend. The wasm backend runs in Node once it is told where its
 * `.wasm` files are: the package's dist folder, as a file path.
 */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(path.resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist') + path.sep);
    wasmPathsSet = true;
  }
  const ok = await tf.setBackend(name);
  assert.ok(ok, `backend ${name} failed to initialize`);
  await tf.ready();
  assert.equal(tf.getBackend(), name);
}

/**
 * A separable 3-class problem: points in 4 dimensions around three seeded centres, with noise.
 * Returns plain arrays so each backend can make its own tensors.
 */
export function blobs(count: number, seed: number): { points: number[][]; labels: number[][] } {
  const rand = random(seed);
  const centres = [
    [2, 0, 0, 1],
    [-1, 2, 0, -1],
    [-1, -2, 1, 0],
  ];
  const points: number[][] = [];
  const labels: number[][] = [];
  for (let i = 0; i < count; i++) {
    const k = i % 3;
    points.push(centres[k].map((c) => c + (rand() - 0.5) * 2.4));
    labels.push([0, 1, 2].map((j) => (j === k ? 1 : 0)));
  }
  return { points, labels };
}

/** Tensors of {@link blobs}. */
export function blobTensors(count: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const { points, labels } = blobs(count, seed);
  return { x: tf.tensor2d(points), y: tf.tensor2d(labels) };
}

/** A 2-layer dense classifier with seeded initial weights (the same model every call). */
export function classifier(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 12, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 11 }), biasInitializer: tfl.initializers.constant({ value: 0.01 }) }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 12 }) }),
    ],
  });
}

/** Classification accuracy of `model` on (x, y). */
export function accuracy(model: tfl.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): number {
  return tf.tidy(() => {
    const predicted = tf.argMax(model.predict(x) as tf.Tensor2D, 1);
    return tf.mean(tf.cast(tf.equal(predicted, tf.argMax(y, 1)), 'float32')).dataSync()[0];
  });
}

/** The model's weights as plain arrays. */
export function weightsOf(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
}

/** The shared elementwise check, with float32-through-TensorFlow.js defaults (rtol 1e-5, atol 1e-6). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol = 1e-5, atol = 1e-6, what = 'values' } = {}): void {
  assertCloseShared(actual, expected, { rtol, atol, what });
}

/** Saves `model` with its optimizer to memory and returns what was written. */
export async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  assert.ok(saved !== null);
  return saved;
}

/** Loads what {@link saveToMemory} wrote. */
export function loadFromMemory(artifacts: tf.io.ModelArtifacts): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Runs `fn` with console.warn captured; returns the messages. */
export function captureWarnings<T>(fn: () => T): { result: T; warnings: string[] } {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  try {
    return { result: fn(), warnings };
  } finally {
    console.warn = original;
  }
}

/** Asserts that `run` leaves TensorFlow.js memory (tensors, bytes, data buffers) as it was, over `steps` calls. */
export function assertMemoryFlat(run: () => void, steps: number): void {
  const base = tf.memory();
  for (let s = 0; s < steps; s++) run();
  const now = tf.memory();
  assert.equal(now.numTensors, base.numTensors, 'numTensors');
  assert.equal(now.numBytes, base.numBytes, 'numBytes');
  assert.equal(now.numDataBuffers, base.numDataBuffers, 'numDataBuffers');
}
