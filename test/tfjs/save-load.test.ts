// State and config: getWeights / setWeights in Keras order, model.save with the optimizer and
// tf.loadLayersModel, training continuing exactly as if it never stopped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { schedules } from '../../src/index.js';
import { Adam, isKerasAdam, type AdamOptions } from '../../src/tfjs/index.js';
import { blobTensors, classifier, loadFromMemory, saveToMemory, useBackend, weightsOf } from './support.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
before(async () => {
  await useBackend('cpu');
  data = blobTensors(120, 9);
});
after(() => tf.dispose([data.x, data.y]));

const FIT = { batchSize: 24, shuffle: false, verbose: 0 } as const; // 5 steps per epoch

const EVERYTHING = (): AdamOptions => ({
  learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.02, decaySteps: 7, decayRate: 0.8 }),
  amsgrad: true,
  weightDecay: 0.01,
  globalClipnorm: 1,
  useEma: true,
  emaMomentum: 0.9,
  emaOverwriteFrequency: 6,
  name: 'my_adam',
});

function hasUndefined(x: unknown): boolean {
  if (x === undefined) return true;
  if (x === null || typeof x !== 'object') return false;
  return Object.values(x).some(hasUndefined);
}

describe('getWeights / setWeights', () => {
  test('the complete state in Keras order, iter first; a round trip reproduces the next step', async () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const names = [`rt_${execution}/kernel`, `rt_${execution}/bias`];
      const a = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, names[0]);
      const b = tf.variable(tf.tensor1d([0.5, -0.5]), true, names[1]);
      const grads = (s: number) => ({ [a.name]: tf.tensor2d([[s, -1], [0.5, 2]]), [b.name]: tf.tensor1d([1, -s]) });
      const first = new Adam({ ...EVERYTHING(), execution });
      for (let s = 0; s < 4; s++) tf.tidy(() => first.applyGradients(grads(s)));
      const state = await first.getWeights();
      assert.deepEqual(state.map((w) => w.name), [
        'iter',
        `my_adam/average/${names[0]}`, `my_adam/average/${names[1]}`,
        `my_adam/m/${names[0]}`, `my_adam/v/${names[0]}`, `my_adam/m/${names[1]}`, `my_adam/v/${names[1]}`,
        `my_adam/vhat/${names[0]}`, `my_adam/vhat/${names[1]}`,
      ]);
      assert.equal(state[0].tensor.dtype, 'int32');
      assert.deepEqual(state[0].tensor.shape, []);
      assert.equal(state[0].tensor.dataSync()[0], 4);
      assert.deepEqual(state[3].tensor.shape, [2, 2]);
      // Asked again without a step: the same tensors, nothing new allocated.
      const again = await first.getWeights();
      assert.ok(again.every((w, i) => w.tensor === state[i].tensor));

      // A fresh optimizer takes the state before its first step and continues identically.
      const a2 = tf.variable(a.clone(), true, `${names[0]}_copy`);
      const b2 = tf.variable(b.clone(), true, `${names[1]}_copy`);
      const second = new Adam({ ...EVERYTHING(), execution });
      await second.setWeights(state.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
      assert.equal(second.iterations, 4);
      assert.equal(second.built, false);
      tf.tidy(() => first.applyGradients(grads(4)));
      // The state tensors handed out are released at the next step.
      assert.ok(state.every((w) => w.tensor.isDisposed));
      tf.tidy(() => {
        const g = grads(4);
        second.applyGradients([{ name: a2.name, tensor: g[a.name] }, { name: b2.name, tensor: g[b.name] }]);
      });
      assert.deepEqual(a2.dataSync(), a.dataSync());
      assert.deepEqual(b2.dataSync(), b.dataSync());
      const s1 = await first.getWeights();
      const s2 = await second.getWeights();
      s1.forEach((w, i) => assert.deepEqual(s2[i].tensor.dataSync(), w.tensor.dataSync(), `${execution}: state ${w.name}`));

      // After build, setWeights replaces the state all or nothing.
      await assert.rejects(second.setWeights(s1.slice(0, 3)), /holds 3 arrays|expects 9 arrays/);
      await second.setWeights(s1.map((w) => ({ name: w.name, tensor: w.tensor })));
      first.dispose();
      second.dispose();
      tf.dispose([a, b, a2, b2]);
    }
  });

  test('state that does not fit the variables of the first step is refused then, naming the difference', async () => {
    const w = tf.variable(tf.zeros([3]), true, 'misfit/w');
    const opt = new Adam({ learningRate: 0.1 });
    await opt.setWeights([{ name: 'iter', tensor: tf.scalar(2, 'int32') }, { name: 'm', tensor: tf.zeros([3]) }]);
    assert.throws(() => tf.tidy(() => opt.applyGradients({ [w.name]: tf.ones([3]) })), /holds 2 arrays, but these variables need 3/);
    assert.equal(opt.built, false);
    assert.deepEqual(Array.from(w.dataSync()), [0, 0, 0]);
    // Only the count: it sets the count, and the state starts fresh.
    await opt.setWeights([{ name: 'iter', tensor: tf.scalar(7, 'int32') }]);
    tf.tidy(() => opt.applyGradients({ [w.name]: tf.ones([3]) }));
    assert.equal(opt.iterations, 8);
    await assert.rejects(opt.setWeights([{ name: 'iter', tensor: tf.scalar(1.5) }]), /iteration count/);
    opt.dispose();
    w.dispose();
  });
});

describe('config', () => {
  test('Keras form, JSON-safe, no undefined; fromConfig takes it in snake_case or camelCase with customObjects', () => {
    const opt = new Adam({ ...EVERYTHING(), finalizeEmaOnFitEnd: false, execution: 'tensor-ops' });
    const config = opt.getConfig();
    assert.ok(!hasUndefined(config));
    assert.deepEqual(JSON.parse(JSON.stringify(config)), config);
    assert.equal(config.beta_1, 0.9);
    assert.equal(config.amsgrad, true);
    assert.equal(config.weight_decay, 0.01);
    assert.equal(config.clipnorm, null);
    assert.equal(config.name, 'my_adam');
    assert.equal((config.learning_rate as { class_name: string }).class_name, 'ExponentialDecay');
    assert.ok(!('finalize_ema_on_fit_end' in config) && !('execution' in config), 'adapter-only options are not saved');

    const back = Adam.fromConfig(Adam, config) as Adam;
    assert.deepEqual(back.getConfig(), config);
    const camel = {
      name: 'my_adam', learningRate: { className: 'ExponentialDecay', config: { initialLearningRate: 0.02, decaySteps: 7, decayRate: 0.8, staircase: false, name: null } },
      beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: true, weightDecay: 0.01, clipnorm: null, globalClipnorm: 1, clipvalue: null,
      useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 6, jitCompile: true, isLegacyOptimizer: false, adaptiveEpsilon: false, customObjects: {},
    };
    const fromCamel = Adam.fromConfig(Adam, camel) as Adam;
    assert.ok(isKerasAdam(fromCamel));
    assert.deepEqual(fromCamel.getConfig(), config);
    opt.dispose();
  });
});

describe('model.save with the optimizer, then tf.loadLayersModel', () => {
  test('restores our optimizer, its config and state, and training continues exactly', async () => {
    const model = classifier();
    const opt = new Adam(EVERYTHING());
    opt.excludeFromWeightDecay({ varNames: ['bias'] });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await model.fit(data.x, data.y, { ...FIT, epochs: 3 });

    const artifacts = await saveToMemory(model);
    const loaded = await loadFromMemory(artifacts);
    const restored = loaded.optimizer as unknown as Adam;
    assert.ok(isKerasAdam(restored), 'our class, registered as Adam');
    assert.deepEqual(restored.getConfig(), opt.getConfig());
    assert.equal(restored.iterations, 15);
    assert.equal(restored.built, false);
    // Exclusion from weight decay is not part of the config (nor in Keras): set it again.
    restored.excludeFromWeightDecay({ varNames: ['bias'] });
    assert.deepEqual(weightsOf(loaded), weightsOf(model));

    // Both go on from here; the loaded one's variables have other names, state attaches by position.
    await model.fit(data.x, data.y, { ...FIT, epochs: 3 });
    await loaded.fit(data.x, data.y, { ...FIT, epochs: 3 });
    assert.equal(restored.iterations, 30);
    const expected = weightsOf(model);
    weightsOf(loaded).forEach((w, i) => assert.deepEqual(w, expected[i], `weight ${i}`));
    const s1 = await opt.getWeights();
    const s2 = await restored.getWeights();
    s1.forEach((w, i) => assert.deepEqual(s2[i].tensor.dataSync(), w.tensor.dataSync(), `state ${w.name}`));

    model.dispose();
    loaded.dispose();
    opt.dispose();
    restored.dispose();
  });

  test("a model trained with TensorFlow.js' own Adam still loads with TensorFlow.js' own Adam", async () => {
    const model = classifier();
    model.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy' });
    await model.fit(data.x, data.y, { ...FIT, epochs: 1 });
    const artifacts = await saveToMemory(model);
    const loaded = await loadFromMemory(artifacts);
    assert.ok(!isKerasAdam(loaded.optimizer));
    assert.ok(loaded.optimizer instanceof tf.AdamOptimizer || loaded.optimizer.constructor === tf.AdamOptimizer);
    assert.deepEqual(loaded.optimizer.getConfig(), model.optimizer.getConfig());
    model.optimizer.dispose();
    loaded.optimizer.dispose();
    model.dispose();
    loaded.dispose();
  });

  test('a training config written by Keras (snake_case, Keras keys) loads as ours', async () => {
    const model = classifier();
    model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
    const artifacts = await saveToMemory(model);
    (artifacts.trainingConfig as { optimizer_config: unknown }).optimizer_config = {
      class_name: 'Adam',
      config: {
        name: 'Adam', weight_decay: null, clipnorm: null, global_clipnorm: 1.0, clipvalue: null, use_ema: false,
        ema_momentum: 0.99, ema_overwrite_frequency: null, jit_compile: true, is_legacy_optimizer: false,
        learning_rate: 0.003, beta_1: 0.8, beta_2: 0.99, epsilon: 1e-7, amsgrad: true,
      },
    };
    artifacts.weightSpecs = artifacts.weightSpecs!.filter((s) => s.group !== 'optimizer');
    const loaded = await loadFromMemory(artifacts);
    const opt = loaded.optimizer as unknown as Adam;
    assert.ok(isKerasAdam(opt));
    assert.equal(opt.learningRate, 0.003);
    assert.equal(opt.beta1, 0.8);
    assert.equal(opt.amsgrad, true);
    assert.equal(opt.globalClipnorm, 1);
    await loaded.fit(data.x, data.y, { ...FIT, epochs: 1 });
    assert.equal(opt.iterations, 5);
    model.optimizer.dispose();
    opt.dispose();
    model.dispose();
    loaded.dispose();
  });
});
