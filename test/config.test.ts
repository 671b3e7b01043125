// Semantics section 5: getConfig in the Keras form, fromConfig and optimizers.deserialize.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Adam, Variable, optimizers, schedules } from '../src/index.js';

test('getConfig has the reference keys, snake_case, plus adaptive_epsilon', () => {
  const config = new Adam().getConfig();
  assert.deepEqual(config, {
    name: 'Adam', weight_decay: null, clipnorm: null, global_clipnorm: null, clipvalue: null, use_ema: false,
    ema_momentum: 0.99, ema_overwrite_frequency: null, jit_compile: true, is_legacy_optimizer: false,
    learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, adaptive_epsilon: false,
  });
  assert.deepEqual(JSON.parse(JSON.stringify(config)), config, 'JSON-safe');
});

test('a schedule is serialized; callables are called and their value stored', () => {
  const schedule = new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 100, warmupTarget: 0.2, warmupSteps: 10 });
  const config = new Adam({ learningRate: schedule, beta1: () => 0.8, beta2: () => 0.95 }).getConfig();
  assert.deepEqual(config.learning_rate, schedules.serialize(schedule));
  assert.equal(config.beta_1, 0.8);
  assert.equal(config.beta_2, 0.95);
  const again = Adam.fromConfig(config);
  assert.ok(again.learningRateSchedule instanceof schedules.CosineDecay);
  assert.equal((again.learningRateSchedule as schedules.CosineDecay).call(50), schedule.call(50));
});

const optionsArb = fc.record({
  learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
  beta1: fc.double({ min: 0, max: 0.999, noNaN: true }),
  beta2: fc.double({ min: 0, max: 0.99999, noNaN: true }),
  epsilon: fc.double({ min: 0, max: 1, noNaN: true }),
  adaptiveEpsilon: fc.boolean(),
  amsgrad: fc.boolean(),
  weightDecay: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  clipnorm: fc.option(fc.double({ min: 0, max: 10, noNaN: true })),
  clipvalue: fc.option(fc.double({ min: 0, max: 10, noNaN: true })),
  useEma: fc.boolean(),
  emaMomentum: fc.double({ min: 0, max: 1, noNaN: true }),
  emaOverwriteFrequency: fc.option(fc.integer({ min: 1, max: 100 })),
  jitCompile: fc.boolean(),
  name: fc.string({ minLength: 1, maxLength: 8 }),
});

test('fromConfig(getConfig()) rebuilds an equivalent optimizer (property)', () => {
  fc.assert(
    fc.property(optionsArb, (options) => {
      const opt = new Adam(options);
      const config = opt.getConfig();
      const again = Adam.fromConfig(JSON.parse(JSON.stringify(config)));
      assert.deepEqual(again.getConfig(), config);
      // Equivalent: the same step from the same start.
      const a = new Variable(new Float64Array([1, -2, 3]));
      const b = new Variable(new Float64Array([1, -2, 3]));
      const g = new Float64Array([0.5, -4, 2]);
      opt.applyGradients([[g, a]]);
      again.applyGradients([[g, b]]);
      assert.deepEqual(Array.from(b.value), Array.from(a.value));
    }),
    { numRuns: 80 },
  );
});

test('a config as tf_keras writes it loads through optimizers.deserialize', () => {
  const written = {
    module: 'keras.optimizers',
    class_name: 'Adam',
    config: {
      name: 'Adam', weight_decay: null, clipnorm: null, global_clipnorm: null, clipvalue: null, use_ema: false,
      ema_momentum: 0.99, ema_overwrite_frequency: null, jit_compile: false, is_legacy_optimizer: false,
      learning_rate: 0.0010000000474974513, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false,
    },
    registered_name: null,
  };
  const opt = optimizers.deserialize(written) as Adam;
  assert.ok(opt instanceof Adam);
  assert.equal(opt.learningRate, 0.0010000000474974513);
  assert.equal(opt.jitCompile, false);
  assert.equal(opt.adaptiveEpsilon, false, 'absent adaptive_epsilon means the default');
});

test('a Keras 3 config with a serialized schedule loads', () => {
  const written = {
    class_name: 'Adam',
    config: {
      name: 'adam', learning_rate: {
        module: 'keras.optimizers.schedules', class_name: 'ExponentialDecay',
        config: { initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.5, staircase: true, name: 'ExponentialDecay' }, registered_name: null,
      },
      weight_decay: 0.004, clipnorm: null, global_clipnorm: 1.0, clipvalue: null, use_ema: true, ema_momentum: 0.99,
      ema_overwrite_frequency: null, loss_scale_factor: null, gradient_accumulation_steps: null, beta_1: 0.9, beta_2: 0.999,
      epsilon: 1e-7, amsgrad: true,
    },
  };
  const opt = optimizers.deserialize(written) as Adam;
  assert.equal(opt.learningRate, 0.1);
  assert.equal(opt.globalClipnorm, 1);
  assert.equal(opt.amsgrad, true);
  assert.equal(opt.weightDecay, 0.004);
});

test('camelCase configs (as TensorFlow.js passes them) load, extra customObjects ignored', () => {
  const opt = Adam.fromConfig({ learningRate: 0.5, beta1: 0.5, globalClipnorm: 2, adaptiveEpsilon: true, isLegacyOptimizer: false, customObjects: {} });
  assert.equal(opt.learningRate, 0.5);
  assert.equal(opt.beta1, 0.5);
  assert.equal(opt.globalClipnorm, 2);
  assert.equal(opt.adaptiveEpsilon, true);
});

test('serialize gives the Keras form', () => {
  const spec = optimizers.serialize(new Adam({ amsgrad: true }));
  assert.equal(spec.class_name, 'Adam');
  assert.equal(spec.config.amsgrad, true);
});

test('bad configs are refused by name', () => {
  assert.throws(() => Adam.fromConfig({ decay: 0.01 }), /legacy option 'decay'/);
  assert.throws(() => Adam.fromConfig({ learning_rate: 0.1, warp_speed: 9 }), /unknown option 'warp_speed'/);
  assert.throws(() => Adam.fromConfig({ is_legacy_optimizer: true }), /'is_legacy_optimizer' = true is not supported/);
  assert.throws(() => Adam.fromConfig({ loss_scale_factor: 128 }), /loss_scale_factor/);
  assert.throws(() => Adam.fromConfig({ learning_rate: 0.1, learningRate: 0.2 }), /given twice/);
  assert.throws(() => optimizers.deserialize({ class_name: 'RMSprop', config: {} }), /unknown optimizer class "RMSprop"/);
  assert.throws(() => Adam.fromConfig({ learning_rate: { class_name: 'NoSuchDecay', config: {} } }), /NoSuchDecay/);
});
