// The TensorFlow.js AdamW: built by the loader from a saved model (tf.serialization registerClass),
// by fromConfig with one or two arguments, and the same steps as Adam with weightDecay 0.004.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, AdamW } from '../../src/tfjs/index.js';
import { blobTensors, classifier, loadFromMemory, saveToMemory, useBackend, weightsOf } from './support.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
before(async () => {
  await useBackend('cpu');
  data = blobTensors(60, 3);
});
after(() => tf.dispose([data.x, data.y]));

test('AdamW trains as Adam with weightDecay 0.004, saves as "AdamW" and loads as AdamW', async () => {
  const a = classifier();
  const b = classifier();
  const adamw = new AdamW({ learningRate: 0.05 });
  a.compile({ optimizer: adamw, loss: 'categoricalCrossentropy' });
  b.compile({ optimizer: new Adam({ learningRate: 0.05, weightDecay: 0.004 }), loss: 'categoricalCrossentropy' });
  const fit = { epochs: 2, batchSize: 20, shuffle: false, verbose: 0 } as const;
  await a.fit(data.x, data.y, fit);
  await b.fit(data.x, data.y, fit);
  assert.deepEqual(weightsOf(a), weightsOf(b));
  assert.equal(adamw.getClassName(), 'AdamW');
  assert.equal(adamw.weightDecay, 0.004);

  const artifacts = await saveToMemory(a);
  const training = artifacts.trainingConfig as unknown as { optimizer_config: { class_name: string; config: Record<string, unknown> } };
  assert.equal(training.optimizer_config.class_name, 'AdamW');
  assert.equal(training.optimizer_config.config.weight_decay, 0.004);
  const loaded = await loadFromMemory(artifacts);
  assert.ok(loaded.optimizer instanceof AdamW, `loaded as ${loaded.optimizer?.constructor.name}`);
  await loaded.fit(data.x, data.y, { ...fit, epochs: 1 });
  await a.fit(data.x, data.y, { ...fit, epochs: 1 });
  assert.deepEqual(weightsOf(loaded), weightsOf(a), 'the loaded AdamW continues exactly');
  loaded.optimizer.dispose();
  adamw.dispose();
});

test('fromConfig(cls, config) as TensorFlow.js calls it, and fromConfig(config) with one argument', () => {
  const config = new AdamW({ weightDecay: 0.1 }).getConfig();
  const two = AdamW.fromConfig(AdamW, config);
  assert.ok(two instanceof AdamW);
  const one = AdamW.fromConfig(config);
  assert.ok(one instanceof AdamW);
  assert.equal(one.weightDecay, 0.1);
  const adam = Adam.fromConfig({ learning_rate: 0.01, amsgrad: true });
  assert.ok(adam instanceof Adam && !(adam instanceof AdamW));
  assert.equal(adam.amsgrad, true);
  assert.throws(() => AdamW.fromConfig({ weight_decay: null }), /AdamW: weightDecay must be a finite number/);
  assert.throws(() => Adam.fromConfig(42 as never, undefined as never), /fromConfig expects a config object, got 42/);
  for (const o of [two, one, adam]) o.dispose();
});
