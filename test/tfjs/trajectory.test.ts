// The adapter gives the core's numbers: the same gradients fed to the core Adam and to the
// TensorFlow.js Adam (both execution paths, every option) give the same trajectories.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adam as CoreAdam, Variable, schedules, type AdamOptions as CoreOptions } from '../../src/index.js';
import { Adam, type AdamOptions } from '../../src/tfjs/index.js';
import { assertClose, captureWarnings, random, useBackend } from './support.js';

before(() => useBackend('cpu'));

const SHAPES = { kernel: [3, 4], bias: [4], scale: [] as number[] };

/** Per step, one gradient per variable: seeded, with a large one now and then (to exercise clipping). */
function gradientsFor(step: number): Record<keyof typeof SHAPES, Float32Array> {
  const rand = random(1000 + step);
  const make = (shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const scale = step % 4 === 3 ? 8 : 1;
    return Float32Array.from({ length: size }, () => (rand() - 0.5) * scale);
  };
  return { kernel: make(SHAPES.kernel), bias: make(SHAPES.bias), scale: make(SHAPES.scale) };
}

function initial(name: keyof typeof SHAPES): Float32Array {
  const rand = random(name.length * 7);
  const size = SHAPES[name].reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => rand() * 2 - 1);
}

interface Case {
  label: string;
  options: () => CoreOptions;
  excludeBias?: boolean;
}

const CASES: Case[] = [
  { label: 'defaults', options: () => ({}) },
  { label: 'amsgrad', options: () => ({ amsgrad: true, learningRate: 0.01 }) },
  { label: 'weight decay, bias excluded by name', options: () => ({ weightDecay: 0.1, learningRate: 0.01 }), excludeBias: true },
  { label: 'clipnorm', options: () => ({ clipnorm: 0.5, learningRate: 0.01 }) },
  { label: 'globalClipnorm', options: () => ({ globalClipnorm: 1, learningRate: 0.01 }) },
  { label: 'clipvalue', options: () => ({ clipvalue: 0.3, learningRate: 0.01 }) },
  { label: 'EMA with overwrite every 3 steps', options: () => ({ useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 3, learningRate: 0.01 }) },
  { label: 'schedule and adaptive epsilon', options: () => ({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.05, decaySteps: 2, decayRate: 0.5 }), adaptiveEpsilon: true, epsilon: 1e-3 }) },
  { label: 'callable betas', options: () => ({ beta1: () => 0.8, beta2: () => 0.99, learningRate: () => 0.02 }) },
  { label: 'everything', options: () => ({ amsgrad: true, weightDecay: 0.05, globalClipnorm: 2, useEma: true, emaOverwriteFrequency: 4, learningRate: new schedules.CosineDecay({ initialLearningRate: 0.02, decaySteps: 10 }) }), excludeBias: true },
];

const STEPS = 8;

function runCore(c: Case): Float32Array[][] {
  const vars = (Object.keys(SHAPES) as (keyof typeof SHAPES)[]).map((name) => new Variable(initial(name).slice(), { name: `dense/${name}`, shape: SHAPES[name] }));
  const opt = new CoreAdam(c.options());
  if (c.excludeBias) opt.excludeFromWeightDecay({ varNames: ['bias'] });
  const trajectory: Float32Array[][] = [];
  for (let s = 0; s < STEPS; s++) {
    const g = gradientsFor(s);
    opt.applyGradients(vars.map((v) => [g[v.name.slice(6) as keyof typeof SHAPES], v] as const));
    trajectory.push(vars.map((v) => Float32Array.from(v.value)));
  }
  return trajectory;
}

function runTfjs(c: Case, execution: AdamOptions['execution'], form: 'map' | 'list' | 'shuffled list'): Float32Array[][] {
  const names = Object.keys(SHAPES) as (keyof typeof SHAPES)[];
  const vars = names.map((name) => tf.variable(tf.tensor(initial(name), SHAPES[name]), true, `t${tfjsRun}_${form.replace(/ /g, '')}/${name}`));
  tfjsRun++;
  const opt = new Adam({ ...(c.options() as AdamOptions), execution });
  if (c.excludeBias) opt.excludeFromWeightDecay({ varNames: ['bias'] });
  const trajectory: Float32Array[][] = [];
  for (let s = 0; s < STEPS; s++) {
    const g = gradientsFor(s);
    tf.tidy(() => {
      const grads = names.map((name) => tf.tensor(g[name], SHAPES[name]));
      if (form === 'map') opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, grads[i]])));
      else {
        // Keyed by variable, not by position: any order gives the same result.
        const order = form === 'list' || s === 0 ? [0, 1, 2] : [[2, 0, 1], [1, 2, 0], [0, 2, 1]][s % 3];
        opt.applyGradients(order.map((i) => ({ name: vars[i].name, tensor: grads[i] })));
      }
    });
    trajectory.push(vars.map((v) => v.dataSync().slice() as Float32Array));
  }
  assert.equal(opt.iterations, STEPS);
  assert.equal(opt.executionPath, execution);
  opt.dispose();
  tf.dispose(vars);
  return trajectory;
}
let tfjsRun = 0;

for (const c of CASES) {
  describe(c.label, () => {
    const expected = runCore(c);
    test('kernels path: the core numbers exactly, whatever the form or order of the gradients', () => {
      for (const form of ['map', 'list', 'shuffled list'] as const) {
        const got = runTfjs(c, 'kernels', form);
        got.forEach((step, s) => step.forEach((values, i) => assert.deepEqual(values, expected[s][i], `${form}: step ${s + 1}, variable ${i}`)));
      }
    });
    test('tensor-ops path: the core numbers within float32 rounding', () => {
      for (const form of ['map', 'shuffled list'] as const) {
        const got = runTfjs(c, 'tensor-ops', form);
        got.forEach((step, s) => step.forEach((values, i) => assertClose(values, expected[s][i], { rtol: 2e-5, atol: 2e-6, what: `${form}: step ${s + 1}, variable ${i}` })));
      }
    });
  });
}

describe('adapter behaviour', () => {
  test("adaptiveEpsilon: true reproduces TensorFlow.js' own tf.train.adam (Algorithm 1's epsilon)", () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const ours = tf.variable(tf.tensor(initial('kernel'), SHAPES.kernel));
      const theirs = tf.variable(tf.tensor(initial('kernel'), SHAPES.kernel));
      const opt = new Adam({ learningRate: 0.01, epsilon: 1e-7, adaptiveEpsilon: true, execution });
      const tfAdam: tf.Optimizer = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
      for (let s = 0; s < STEPS; s++) {
        tf.tidy(() => {
          const g = tf.tensor(gradientsFor(s).kernel, SHAPES.kernel);
          opt.applyGradients({ [ours.name]: g });
          tfAdam.applyGradients({ [theirs.name]: g });
        });
        assertClose(ours.dataSync(), theirs.dataSync(), { rtol: 1e-5, atol: 1e-6, what: `${execution}: step ${s + 1}` });
      }
      opt.dispose();
      tfAdam.dispose();
      tf.dispose([ours, theirs]);
    }
  });

  test('minimize(f, returnCost, varList) trains and returns the cost', () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const w = tf.variable(tf.tensor1d([3, -2]));
      const opt = new Adam({ learningRate: 0.1, execution });
      let last = Infinity;
      for (let i = 0; i < 100; i++) {
        const cost = opt.minimize(() => tf.sum(tf.square(w)), true, [w])!;
        last = cost.dataSync()[0];
        cost.dispose();
      }
      assert.ok(last < 0.05, `${execution}: cost ${last}`);
      assert.equal(opt.iterations, 100);
      opt.dispose();
      w.dispose();
    }
  });

  test('weight decay skips the variables excluded by name or identity', () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const k = tf.variable(tf.ones([2, 2]), true, `wd_${execution}/kernel`);
      const b = tf.variable(tf.ones([2]), true, `wd_${execution}/bias`);
      const s = tf.variable(tf.ones([1]), true, `wd_${execution}/scale`);
      const opt = new Adam({ learningRate: 0.1, weightDecay: 0.5, execution });
      opt.excludeFromWeightDecay({ varNames: ['bias'], varList: [s] });
      // Zero gradients: Adam moves nothing, so only the decay acts: p *= 1 - 0.5 * 0.1.
      tf.tidy(() => opt.applyGradients({ [k.name]: tf.zeros([2, 2]), [b.name]: tf.zeros([2]), [s.name]: tf.zeros([1]) }));
      assertClose(k.dataSync(), [0.95, 0.95, 0.95, 0.95], { what: `${execution} kernel` });
      assert.deepEqual(Array.from(b.dataSync()), [1, 1]);
      assert.deepEqual(Array.from(s.dataSync()), [1]);
      assert.throws(() => opt.excludeFromWeightDecay({ varNames: ['kernel'] }), /before the optimizer is built/);
      opt.dispose();
      tf.dispose([k, b, s]);
    }
  });

  test('a variable assigned from outside between steps is picked up', () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const opt = new Adam({ learningRate: 0.1, execution: 'kernels' });
    const core = new CoreAdam({ learningRate: 0.1 });
    const cv = new Variable(new Float32Array([1, 2]));
    const g = new Float32Array([0.5, -0.5]);
    tf.tidy(() => opt.applyGradients([{ name: w.name, tensor: tf.tensor1d(g) }]));
    core.applyGradients([[g, cv]]);
    w.assign(tf.tensor1d([10, 20]));
    cv.assign([10, 20]);
    tf.tidy(() => opt.applyGradients([{ name: w.name, tensor: tf.tensor1d(g) }]));
    core.applyGradients([[g, cv]]);
    assert.deepEqual(w.dataSync(), cv.value);
    opt.dispose();
    w.dispose();
  });

  test('missing gradients are skipped with a warning; all missing is an error', () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const a = tf.variable(tf.ones([2]), true, `missing_${execution}/a`);
      const b = tf.variable(tf.ones([2]), true, `missing_${execution}/b`);
      const opt = new Adam({ learningRate: 0.1, execution });
      const { warnings } = captureWarnings(() => tf.tidy(() => opt.applyGradients([{ name: a.name, tensor: tf.ones([2]) }, { name: b.name, tensor: null }])));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /missing_.*\/b/);
      assert.deepEqual(Array.from(b.dataSync()), [1, 1]);
      assert.notDeepEqual(Array.from(a.dataSync()), [1, 1]);
      assert.throws(() => opt.applyGradients({ [a.name]: null as unknown as tf.Tensor }), /no gradients provided for any variable/);
      assert.equal(opt.iterations, 1);
      opt.dispose();
      tf.dispose([a, b]);
    }
  });

  test('bad input is refused before anything changes', () => {
    const a = tf.variable(tf.ones([2]), true, 'refuse/a');
    const other = tf.variable(tf.ones([2]), true, 'refuse/other');
    const opt = new Adam({ learningRate: 0.1 });
    assert.throws(() => opt.applyGradients({ [a.name]: tf.ones([3]) }), /has shape \[3\], the variable has shape \[2\]/);
    assert.throws(() => opt.applyGradients({ 'no/such/variable': tf.ones([2]) }), /no variable named 'no\/such\/variable'/);
    assert.equal(opt.built, false);
    tf.tidy(() => opt.applyGradients({ [a.name]: tf.ones([2]) }));
    assert.throws(() => opt.applyGradients({ [other.name]: tf.ones([2]) }), /not one the optimizer was built for/);
    assert.equal(opt.iterations, 1);
    assert.throws(() => new Adam({ clipnorm: 1, globalClipnorm: 1 }), /cannot both be set/);
    assert.throws(() => new Adam({ execution: 'gpu' as never }), /execution must be one of/);
    assert.throws(() => new Adam({ lr: 0.1 } as never), /use 'learningRate'/);
    opt.dispose();
    assert.throws(() => opt.applyGradients({ [a.name]: tf.ones([2]) }), /disposed/);
    tf.dispose([a, other]);
  });

  test('a tf.Variable learning rate is read at every step; any other tensor once', () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const lr = tf.variable(tf.scalar(0.1));
      const fixed = tf.scalar(0.25);
      const opt = new Adam({ learningRate: lr, execution });
      const other = new Adam({ learningRate: fixed, execution });
      fixed.dispose(); // read at construction
      assert.ok(Math.abs(opt.learningRate - 0.1) < 1e-7);
      lr.assign(tf.scalar(0.01));
      assert.ok(Math.abs(opt.learningRate - 0.01) < 1e-9);
      assert.equal(other.learningRate, 0.25);
      assert.ok(Math.abs((opt.getConfig().learning_rate as number) - 0.01) < 1e-9);
      // One step at lr 0.01 from 0 with gradient 1 moves by about lr.
      const w = tf.variable(tf.zeros([1]));
      tf.tidy(() => opt.applyGradients({ [w.name]: tf.ones([1]) }));
      assertClose(w.dataSync(), [-0.01], { rtol: 1e-4 });
      opt.learningRate = 0.5;
      assert.equal(opt.learningRate, 0.5);
      tf.dispose([lr, w]);
      opt.dispose();
      other.dispose();
    }
    const scheduled = new Adam({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }) });
    assert.throws(() => {
      scheduled.learningRate = 0.1;
    }, TypeError);
  });

  test('the learning rate of a schedule is its value at the last step, on both paths', () => {
    for (const execution of ['kernels', 'tensor-ops'] as const) {
      const w = tf.variable(tf.zeros([2]));
      const opt = new Adam({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }), execution });
      assert.equal(opt.learningRate, 0.1);
      for (let i = 0; i < 3; i++) tf.tidy(() => opt.applyGradients({ [w.name]: tf.ones([2]) }));
      assertClose([opt.learningRate], [0.1 * 0.5 ** 2], { what: execution });
      opt.dispose();
      w.dispose();
    }
  });
});
