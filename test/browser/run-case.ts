// Runs one GpuCase on the active TensorFlow.js backend: in the browser page and, for the
// expected numbers, in Node on the cpu backend.
import * as tf from '@tensorflow/tfjs-core';
import { Adam, schedules, type AdamOptions, type Execution } from '../../src/tfjs/index.js';
import type { GpuCase, GpuResult } from './cases.js';

/** Counts the backend's read-backs (read / readSync) while installed. */
function countReadbacks(): { count: () => number; restore: () => void } {
  const backend = tf.backend() as unknown as Record<string, unknown>;
  let count = 0;
  const originals: [string, unknown][] = [];
  for (const name of ['read', 'readSync', 'readToGPU']) {
    const original = backend[name];
    if (typeof original !== 'function') continue;
    originals.push([name, original]);
    backend[name] = function (this: unknown, ...args: unknown[]) {
      count++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  return {
    count: () => count,
    restore: () => {
      for (const [name, original] of originals) backend[name] = original;
    },
  };
}

function makeOptimizer(c: GpuCase, execution: Execution, rate: tf.Variable<tf.Rank.R0> | null): Adam {
  const options: AdamOptions = { ...c.options, execution };
  if (rate !== null) options.learningRate = rate;
  if (c.schedule !== undefined) {
    const { initialLearningRate, decaySteps, decayRate } = c.schedule;
    options.learningRate = new schedules.ExponentialDecay({ initialLearningRate, decaySteps, decayRate });
  }
  const optimizer = new Adam(options);
  if (c.excludeNames !== undefined) optimizer.excludeFromWeightDecay({ varNames: [...c.excludeNames] });
  return optimizer;
}

/** A gradient of the case: a new tensor, or with `packedGrads` a 2-D one made by a matMul with the identity. */
function gradient(c: GpuCase, values: readonly number[], i: number): tf.Tensor {
  const shape = c.shapes[i] as number[];
  return tf.tidy(() => {
    const plain = tf.tensor(values as number[], shape, 'float32');
    return c.packedGrads !== true || shape.length !== 2 ? plain : tf.matMul(tf.eye(shape[0]), plain);
  });
}

/** Whether the webgl backend holds `t` in a packed texture. */
function isPacked(t: tf.Tensor): boolean {
  const data = (tf.backend() as unknown as { texData?: { get(id: object): { isPacked?: boolean } | undefined } }).texData;
  return data?.get(t.dataId)?.isPacked === true;
}

/**
 * Trains fresh variables through the case's steps; `gpuErrors` is filled by the caller's listener.
 * Read-backs are counted from the second step on (the first builds the state).
 */
export async function runCase(c: GpuCase, execution: Execution, gpuErrors: string[] = []): Promise<GpuResult> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  const unique = `${Math.random().toString(36).slice(2, 8)}`;
  const variables = c.shapes.map((shape, i) => tf.variable(tf.tensor(c.initial[i] as number[], shape as number[], 'float32'), true, `case${unique}/v${i}`));
  const rate = c.learningRateVariable === undefined ? null : tf.variable(tf.scalar(c.learningRateVariable), false);
  let optimizer = makeOptimizer(c, execution, rate);
  let tensorsAfterFirst = 0;
  let readbacks = 0;
  let packedGrads = 0;
  try {
    for (let step = 0; step < c.grads.length; step++) {
      if (c.reloadAfter === step) {
        const saved = await optimizer.getWeights();
        const copies = await Promise.all(saved.map(async (w) => ({ name: w.name, tensor: tf.tensor(await w.tensor.data(), w.tensor.shape, w.tensor.dtype) })));
        optimizer.dispose();
        optimizer = makeOptimizer(c, c.reloadExecution ?? execution, rate);
        await optimizer.setWeights(copies);
        tf.dispose(copies.map((w) => w.tensor));
      }
      const grads = c.grads[step].map((g, i) => ({ name: variables[i].name, tensor: gradient(c, g, i) }));
      packedGrads += grads.filter((g) => isPacked(g.tensor)).length;
      const counter = step === 0 ? null : countReadbacks();
      try {
        optimizer.applyGradients(grads);
      } finally {
        readbacks += counter?.count() ?? 0;
        counter?.restore();
      }
      tf.dispose(grads.map((g) => g.tensor));
      if (step === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    if (c.finalize === true) optimizer.finalizeVariableValues(variables);
    const tensorsAfterLast = tf.memory().numTensors;
    const weights = await Promise.all(variables.map(async (v) => Array.from(await v.data())));
    const state = await Promise.all((await optimizer.getWeights()).map(async (w) => Array.from(await w.tensor.data())));
    return {
      backend: tf.getBackend(), path: optimizer.executionPath, weights, state, iterations: optimizer.iterations,
      tensorsAfterFirst, tensorsAfterLast, readbacks, packedGrads, gpuErrors, warnings,
    };
  } finally {
    optimizer.dispose();
    tf.dispose(variables);
    rate?.dispose();
    console.warn = warn;
  }
}
