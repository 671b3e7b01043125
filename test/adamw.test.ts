// AdamW: Adam whose weight decay defaults to 0.004 and may not be null, named and serialized as
// "AdamW" (tf_keras and Keras 3 both have the class).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, AdamW, Variable, optimizers } from '../src/index.js';
import { forEachKernelSet } from './support.js';

forEachKernelSet((jitCompile) => {
  test('AdamW is Adam with weightDecay 0.004 by default: the same trajectory', () => {
    const a = new Variable(new Float32Array([1, -2, 3]), { name: 'w' });
    const b = new Variable(new Float32Array([1, -2, 3]), { name: 'w' });
    const adamw = new AdamW({ jitCompile, learningRate: 0.1 });
    const adam = new Adam({ jitCompile, learningRate: 0.1, weightDecay: 0.004 });
    for (let s = 0; s < 5; s++) {
      const g = new Float32Array([0.5 - s, 1, -0.25 * s]);
      adamw.applyGradients([[g, a]]);
      adam.applyGradients([[g.slice(), b]]);
    }
    assert.deepEqual(Array.from(a.value), Array.from(b.value));
    assert.notDeepEqual(Array.from(a.value), [1, -2, 3]);
    assert.equal(adamw.weightDecay, 0.004);
    assert.equal(adamw.name, 'AdamW');
    assert.deepEqual(adamw.variables.map((v) => v.name), ['iteration', 'AdamW/m/w', 'AdamW/v/w']);
  });
});

test('AdamW refuses a null weightDecay, naming AdamW', () => {
  assert.throws(() => new AdamW({ weightDecay: null as never }), { name: 'TypeError', message: /^AdamW: weightDecay must be a finite number .*got null$/ });
  assert.throws(() => AdamW.fromConfig({ weight_decay: null }), /AdamW: weightDecay must be a finite number/);
  assert.throws(() => new AdamW({ weightDecay: NaN }), /AdamW: weightDecay/);
  assert.throws(() => new AdamW({ bogus: 1 } as never), /AdamW: unknown option 'bogus'/);
  assert.equal(new AdamW({ weightDecay: 0.1 }).weightDecay, 0.1);
});

test('getConfig / fromConfig round-trip; optimizers.serialize and deserialize use class_name "AdamW"', () => {
  const opt = new AdamW({ learningRate: 0.01, weightDecay: 0.05, amsgrad: true });
  const config = JSON.parse(JSON.stringify(opt.getConfig()));
  assert.equal(config.name, 'AdamW');
  assert.equal(config.weight_decay, 0.05);
  const back = AdamW.fromConfig(config);
  assert.ok(back instanceof AdamW);
  assert.deepEqual(back.getConfig(), opt.getConfig());
  const spec = optimizers.serialize(opt);
  assert.equal(spec.class_name, 'AdamW');
  const again = optimizers.deserialize(JSON.parse(JSON.stringify(spec)));
  assert.ok(again instanceof AdamW);
  assert.deepEqual(again.getConfig(), opt.getConfig());
  assert.equal(optimizers.serialize(new Adam()).class_name, 'Adam');
});

test('optimizers.deserialize reads the config tf_keras writes for AdamW', () => {
  const keras = {
    module: 'keras.optimizers', class_name: 'AdamW', registered_name: null,
    config: {
      name: 'AdamW', weight_decay: 0.004, clipnorm: null, global_clipnorm: null, clipvalue: null, use_ema: false,
      ema_momentum: 0.99, ema_overwrite_frequency: null, jit_compile: true, is_legacy_optimizer: false,
      learning_rate: 0.0010000000474974513, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false,
    },
  };
  const opt = optimizers.deserialize(keras);
  assert.ok(opt instanceof AdamW);
  assert.equal(opt.weightDecay, 0.004);
  assert.ok(optimizers.deserialize({ class_name: 'keras.optimizers.AdamW', config: {} }) instanceof AdamW);
  assert.ok(optimizers.deserialize({ class_name: 'adamw', config: {} }) instanceof AdamW);
  assert.throws(() => optimizers.deserialize({ class_name: 'Nadam', config: {} }), /unknown optimizer class "Nadam" \(known: Adam, AdamW\)/);
});
