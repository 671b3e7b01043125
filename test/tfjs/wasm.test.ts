// The wasm backend (in Node: setWasmPaths to the package's dist folder): the adapter trains there,
// gives the numbers it gives on cpu, and leaks nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { schedules } from '../../src/index.js';
import { Adam, type AdamOptions } from '../../src/tfjs/index.js';
import { accuracy, assertClose, assertMemoryFlat, blobs, classifier, loadFromMemory, random, saveToMemory, useBackend, weightsOf } from './support.js';

const OPTIONS = (): AdamOptions => ({
  learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.02, decaySteps: 20, decayRate: 0.7 }),
  amsgrad: true, weightDecay: 0.02, globalClipnorm: 1, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 9,
});

/** 12 steps of fixed gradients on a few variables; returns their values after each step. */
function fixedGradientRun(execution: AdamOptions['execution']): Float32Array[][] {
  const shapes = [[64, 33], [33], [7, 3, 2]];
  const vars = shapes.map((shape, i) => {
    const rand = random(40 + i);
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.variable(tf.tensor(Float32Array.from({ length: size }, () => rand() - 0.5), shape), true, `fixed_${tf.getBackend()}_${execution}_${i}/${i === 1 ? 'bias' : 'kernel'}`);
  });
  const opt = new Adam({ ...OPTIONS(), execution });
  opt.excludeFromWeightDecay({ varNames: ['bias'] });
  const out: Float32Array[][] = [];
  for (let s = 0; s < 12; s++) {
    tf.tidy(() => {
      const grads = vars.map((v, i) => {
        const rand = random(1000 * s + i);
        return tf.tensor(Float32Array.from({ length: v.size }, () => (rand() - 0.5) * (s % 5 === 4 ? 10 : 1)), v.shape);
      });
      opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
    });
    out.push(vars.map((v) => v.dataSync().slice() as Float32Array));
  }
  opt.dispose();
  tf.dispose(vars);
  return out;
}

async function fitRun(): Promise<{ weights: Float32Array[]; acc: number; losses: number[] }> {
  const { points, labels } = blobs(240, 5);
  const x = tf.tensor2d(points);
  const y = tf.tensor2d(labels);
  const model = classifier();
  const opt = new Adam(OPTIONS());
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  const history = await model.fit(x, y, { epochs: 6, batchSize: 24, shuffle: false, verbose: 0 });
  const result = { weights: weightsOf(model), acc: accuracy(model, x, y), losses: history.history.loss as number[] };
  model.dispose();
  opt.dispose();
  tf.dispose([x, y]);
  return result;
}

describe('cpu and wasm give the same numbers', () => {
  test('fixed gradients: the kernels path is bit-identical on both; tensor ops on wasm within float32 rounding', async () => {
    await useBackend('cpu');
    const onCpu = fixedGradientRun('kernels');
    await useBackend('wasm');
    const onWasm = fixedGradientRun('auto');
    const opsOnWasm = fixedGradientRun('tensor-ops');
    onCpu.forEach((step, s) => step.forEach((values, i) => {
      assert.deepEqual(onWasm[s][i], values, `kernels: step ${s + 1}, variable ${i}`);
      assertClose(opsOnWasm[s][i], values, { rtol: 1e-4, atol: 1e-5, what: `tensor-ops: step ${s + 1}, variable ${i}` });
    }));
  });

  test('fit: the same classifier run on both backends agrees within float32 tolerance, and learns', async () => {
    await useBackend('cpu');
    const cpu = await fitRun();
    await useBackend('wasm');
    const wasm = await fitRun();
    assert.ok(wasm.acc >= 0.95, `wasm accuracy ${wasm.acc}`);
    assert.ok(Math.abs(wasm.acc - cpu.acc) < 1e-6, `accuracy ${wasm.acc} vs ${cpu.acc}`);
    assertClose(wasm.losses, cpu.losses, { rtol: 1e-4, what: 'loss per epoch' });
    wasm.weights.forEach((w, i) => assertClose(w, cpu.weights[i], { rtol: 1e-3, atol: 1e-4, what: `weight ${i}` }));
  });
});

test('wasm: numTensors the same before and after 100 steps, a save and a load', async () => {
  await useBackend('wasm');
  const { points, labels } = blobs(120, 3);
  const x = tf.tensor2d(points);
  const y = tf.tensor2d(labels);
  const model = classifier();
  const opt = new Adam(OPTIONS());
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  const base = tf.memory().numTensors;
  await model.fit(x, y, { epochs: 20, batchSize: 24, shuffle: false, verbose: 0 });
  assert.equal(opt.iterations, 100);
  assert.equal(opt.executionPath, 'kernels');
  assert.equal(tf.memory().numTensors, base);
  const loaded = await loadFromMemory(await saveToMemory(model));
  await loaded.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
  await model.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
  const expected = weightsOf(model);
  weightsOf(loaded).forEach((w, i) => assert.deepEqual(w, expected[i], `continued identically: weight ${i}`));
  loaded.dispose();
  (loaded.optimizer as unknown as Adam).dispose();
  assert.equal(tf.memory().numTensors, base);
  opt.dispose();
  model.dispose();
  tf.dispose([x, y]);
});

test('wasm: each step gives a variable a new tensor (never written in place): a clone keeps its values, and tf.memory() stays flat', async () => {
  await useBackend('wasm');
  const rand = random(77);
  const vars = [0, 1].map((i) => tf.variable(tf.tensor(Float32Array.from({ length: 300 }, () => rand() - 0.5)), true, `wasm_flat_${i}`));
  const opt = new Adam({ learningRate: 0.01, useEma: true });
  const run = () => tf.tidy(() => opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: tf.fill(v.shape, 0.25) }))));
  run();
  const clone = vars[0].clone();
  const before = clone.dataSync().slice();
  assertMemoryFlat(run, 50);
  assert.deepEqual(clone.dataSync(), before, 'the clone');
  assert.notDeepEqual(vars[0].dataSync(), before, 'the variable moved on');
  clone.dispose();
  opt.dispose();
  tf.dispose(vars);
});
