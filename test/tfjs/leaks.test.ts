// No tensor leaks: tf.memory().numTensors is back where it was after 100 steps, a save and a
// load (TensorFlow.js #8238: model.save never disposes what getWeights returns, so the optimizer
// owns those tensors and disposes them itself).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { schedules } from '../../src/index.js';
import { Adam, type AdamOptions } from '../../src/tfjs/index.js';
import { blobTensors, classifier, loadFromMemory, saveToMemory, useBackend } from './support.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
before(async () => {
  await useBackend('cpu');
  data = blobTensors(120, 3);
});
after(() => tf.dispose([data.x, data.y]));

const FIT = { batchSize: 24, shuffle: false, verbose: 0 } as const; // 5 steps per epoch
const OPTIONS = (): AdamOptions => ({
  learningRate: new schedules.CosineDecay({ initialLearningRate: 0.01, decaySteps: 200 }),
  amsgrad: true, weightDecay: 0.01, globalClipnorm: 1, useEma: true, emaOverwriteFrequency: 7,
});
/** iter + average, m, v, vhat for each of the 4 weights. */
const STATE_COUNT = 1 + 4 * 4;

async function leakCheck(execution: 'kernels' | 'tensor-ops'): Promise<void> {
  const model = classifier();
  const opt = new Adam({ ...OPTIONS(), execution });
  opt.excludeFromWeightDecay({ varNames: ['bias'] });
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const base = tf.memory().numTensors;
  // The tensor-ops path keeps its state in variables: 4 per weight here (average, m, v, vhat).
  const held = execution === 'kernels' ? 0 : 16;

  await model.fit(data.x, data.y, { ...FIT, epochs: 20 });
  assert.equal(opt.iterations, 100);
  assert.equal(tf.memory().numTensors, base + held, 'after 100 steps');

  const artifacts = await saveToMemory(model);
  // What getWeights handed to model.save belongs to the optimizer until the state next changes.
  assert.equal(tf.memory().numTensors, base + held + STATE_COUNT, 'after the save');
  const loaded = await loadFromMemory(artifacts);
  const restored = loaded.optimizer as unknown as Adam;
  assert.equal(tf.memory().numTensors, base + held + STATE_COUNT + 4, 'after the load: its 4 weights, its optimizer holds no tensor yet');

  // Both train on; the next step releases what the save was given.
  await model.fit(data.x, data.y, { ...FIT, epochs: 1 });
  await loaded.fit(data.x, data.y, { ...FIT, epochs: 1 });
  // (The loaded optimizer's execution is 'auto', not saved: the kernels path on cpu, no tensors.)
  assert.equal(tf.memory().numTensors, base + held + 4, 'after a step each');
  // Saving again and again does not grow anything.
  for (let i = 0; i < 3; i++) {
    await saveToMemory(model);
    await model.fit(data.x, data.y, { ...FIT, epochs: 1 });
  }
  assert.equal(tf.memory().numTensors, base + held + 4, 'after three more saves');

  loaded.dispose(); // a model does not dispose an optimizer it was given
  restored.dispose();
  assert.equal(tf.memory().numTensors, base + held, 'the loaded copy is gone');
  await saveToMemory(model);
  opt.dispose();
  assert.equal(tf.memory().numTensors, base, 'the optimizer disposed: back to the start');
  model.dispose();
}

test('kernels path: numTensors the same before and after 100 steps, a save and a load', () => leakCheck('kernels'));
test('tensor-ops path: the same, apart from its state variables until disposed', () => leakCheck('tensor-ops'));

test('minimize and applyGradients leak nothing, on both paths', () => {
  for (const execution of ['kernels', 'tensor-ops'] as const) {
    const w = tf.variable(tf.randomNormal([50, 20]));
    const b = tf.variable(tf.zeros([20]));
    const opt = new Adam({ ...OPTIONS(), execution });
    opt.minimize(() => tf.sum(tf.square(tf.add(w, b))), false, [w, b]);
    const base = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) opt.minimize(() => tf.sum(tf.square(tf.add(w, b))), false, [w, b]);
    opt.finalizeVariableValues([w, b]);
    assert.equal(tf.memory().numTensors, base, execution);
    opt.dispose();
    tf.dispose([w, b]);
  }
});
