// Semantics section 1: the rules of one applyGradients call, in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, IndexedSlices, Variable, schedules } from '../src/index.js';
import { assertClose, captureWarnings, forEachKernelSet } from './support.js';

const f32 = (...x: number[]) => new Float32Array(x);
const f64 = (...x: number[]) => new Float64Array(x);

forEachKernelSet((jitCompile) => {
  test('1. a schedule is evaluated at the iterations before the increment', () => {
    const seen: number[] = [];
    class Recording extends schedules.ExponentialDecay {
      override call(step: number): number {
        seen.push(step);
        return super.call(step);
      }
    }
    const schedule = new Recording({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 });
    const opt = new Adam({ learningRate: schedule, jitCompile });
    const w = new Variable([1]);
    seen.length = 0;
    opt.applyGradients([[f32(1), w]]);
    opt.applyGradients([[f32(1), w]]);
    assert.deepEqual(seen, [0, 1]);
    assert.equal(opt.learningRate, 0.05, 'learningRate reads the value computed at the start of the last step');
  });

  test('1. a zero-argument learning rate is called every step; callable betas too', () => {
    let lrCalls = 0;
    let b1Calls = 0;
    const opt = new Adam({ learningRate: () => (++lrCalls, 0.1), beta1: () => (++b1Calls, 0.9), jitCompile });
    const w = new Variable([1]);
    for (let i = 0; i < 3; i++) opt.applyGradients([[f32(1), w]]);
    assert.ok(lrCalls >= 3, `learning rate called ${lrCalls} times`);
    assert.equal(b1Calls, 3);
  });

  test('1. a callable learning rate changes the step size as it changes', () => {
    let lr = 0.1;
    const a = new Variable(f64(1));
    const opt = new Adam({ learningRate: () => lr, jitCompile });
    opt.applyGradients([[f64(1), a]]);
    const firstMove = 1 - a.value[0];
    lr = 0;
    opt.applyGradients([[f64(1), a]]);
    assert.ok(Math.abs(firstMove - 0.1) < 1e-5);
    assert.equal(a.value[0], 1 - firstMove, 'a zero learning rate leaves the variable where it was');
  });

  test('2. no pairs at all: nothing happens, iterations returned unchanged', () => {
    const opt = new Adam({ jitCompile });
    assert.equal(opt.applyGradients([]), 0);
    assert.equal(opt.built, false);
  });

  test('3. build order: iteration, averages, m/v interleaved, vhats', () => {
    const a = new Variable([1, 2], { name: 'a' });
    const b = new Variable([3], { name: 'b' });
    const opt = new Adam({ useEma: true, amsgrad: true, jitCompile });
    opt.applyGradients([[f32(0.1, 0.1), a], [f32(0.1), b]]);
    assert.deepEqual(opt.variables.map((v) => v.name), [
      'iteration', 'Adam/average/a', 'Adam/average/b', 'Adam/m/a', 'Adam/v/a', 'Adam/m/b', 'Adam/v/b', 'Adam/vhat/a', 'Adam/vhat/b',
    ]);
    assert.deepEqual(opt.variables.map((v) => v.size), [1, 2, 1, 2, 2, 1, 1, 2, 1]);
  });

  test('3. averages hold the values at build time', () => {
    const a = new Variable(f64(5, 6));
    const opt = new Adam({ useEma: true, emaMomentum: 1, jitCompile });
    opt.build([a]);
    a.assign([7, 8]);
    opt.applyGradients([[f64(1, 1), a]]);
    assert.deepEqual(Array.from(opt.variables[1].value), [5, 6], 'momentum 1 keeps the build-time copy');
  });

  test('4. missing gradients are dropped with a warning naming them; the others update', () => {
    const a = new Variable([1], { name: 'has_grad' });
    const b = new Variable([1], { name: 'no_grad_here' });
    const opt = new Adam({ learningRate: 0.1, weightDecay: 0.5, useEma: true, emaOverwriteFrequency: 1, jitCompile });
    const warnings = captureWarnings(() => opt.applyGradients([[f32(1), a], [null, b]]));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /no_grad_here/);
    assert.equal(b.value[0], 1, 'no decay, update, EMA overwrite or constraint for the variable without a gradient');
    assert.notEqual(a.value[0], 1);
    assert.equal(opt.variables.length, 1 + 2 + 4, 'both variables were built');
  });

  test('4. all gradients missing is an error naming the variables', () => {
    const a = new Variable([1], { name: 'alpha' });
    const opt = new Adam({ jitCompile });
    assert.throws(() => opt.applyGradients([[undefined, a]]), /no gradients provided for any variable.*alpha/);
    assert.equal(opt.iterations, 0);
  });

  test('5. clipnorm scales each gradient separately to the norm', () => {
    // With beta1 = 0 the first moment m is the clipped gradient itself.
    const a = new Variable(f64(0, 0));
    const b = new Variable(f64(0));
    const opt = new Adam({ learningRate: 1, clipnorm: 1, beta1: 0, beta2: 0, epsilon: 0, jitCompile });
    opt.applyGradients([[f64(100, 100), a], [f64(0.5), b]]);
    const m = opt.variables[1].value;
    assertClose(m, [Math.SQRT1_2, Math.SQRT1_2], { rtol: 1e-12 });
    assertClose(opt.variables[3].value, [0.5], { rtol: 1e-12 });
  });

  test('5. global_clipnorm scales all gradients by one factor', () => {
    const a = new Variable(f64(0, 0));
    const b = new Variable(f64(0));
    const opt = new Adam({ globalClipnorm: 2.5, beta1: 0, jitCompile });
    opt.applyGradients([[f64(3, 0), a], [f64(4), b]]);
    assertClose(opt.variables[1].value, [1.5, 0], { rtol: 1e-12 });
    assertClose(opt.variables[3].value, [2], { rtol: 1e-12 });
  });

  test('5. a non-finite global norm makes every gradient NaN', () => {
    const a = new Variable(f64(1));
    const b = new Variable(f64(1));
    const opt = new Adam({ globalClipnorm: 1, jitCompile });
    opt.applyGradients([[f64(Infinity), a], [f64(1), b]]);
    assert.ok(Number.isNaN(b.value[0]));
  });

  test('5. clipvalue clamps each element', () => {
    const a = new Variable(f64(0, 0, 0));
    const opt = new Adam({ clipvalue: 1, beta1: 0, jitCompile });
    opt.applyGradients([[f64(100, -100, 0.5), a]]);
    assertClose(opt.variables[1].value, [1, -1, 0.5], { rtol: 1e-12 });
  });

  test('5. only one clipping rule applies: global_clipnorm wins over clipvalue', () => {
    const a = new Variable(f64(0, 0));
    const opt = new Adam({ globalClipnorm: 10, clipvalue: 0.1, beta1: 0, jitCompile });
    opt.applyGradients([[f64(3, 4), a]]);
    assertClose(opt.variables[1].value, [3, 4], { rtol: 1e-12 });
  });

  test('5. clipnorm wins over clipvalue', () => {
    const a = new Variable(f64(0, 0));
    const opt = new Adam({ clipnorm: 1, clipvalue: 0.1, beta1: 0, jitCompile });
    opt.applyGradients([[f64(3, 4), a]]);
    assertClose(opt.variables[1].value, [0.6, 0.8], { rtol: 1e-12 });
  });

  test('5. sparse clipping uses the norm of the values, before de-duplication', () => {
    const a = new Variable(f64(0, 0, 0, 0), { shape: [2, 2] });
    const opt = new Adam({ clipnorm: 1, beta1: 0, jitCompile });
    // two copies of row 0 with values (3, 4): norm over the values is sqrt(50)
    opt.applyGradients([[new IndexedSlices(f64(3, 4, 3, 4), [0, 0], [2, 2]), a]]);
    const s = 1 / Math.sqrt(50);
    assertClose(opt.variables[1].value, [6 * s, 8 * s, 0, 0], { rtol: 1e-12 });
  });

  test('5. sparse clipvalue clamps the raw rows, then duplicates are summed', () => {
    const a = new Variable(f64(0, 0), { shape: [2, 1] });
    const opt = new Adam({ clipvalue: 1, beta1: 0, jitCompile });
    opt.applyGradients([[new IndexedSlices(f64(5, 5), [1, 1], [2, 1]), a]]);
    assertClose(opt.variables[1].value, [0, 2], { rtol: 1e-12 });
  });

  test('6. repeated sparse indices are summed', () => {
    const a = new Variable(f64(0, 0, 0), { shape: [3, 1] });
    const opt = new Adam({ beta1: 0, jitCompile });
    opt.applyGradients([[new IndexedSlices([1, 2, 3, 4], [2, 0, 2, 2], [3, 1]), a]]);
    assertClose(opt.variables[1].value, [2, 0, 1 + 3 + 4], { rtol: 1e-12 });
  });

  test('7. Keras weight-decay example: 1.9760959 after three decays, exclusions by name and by variable', () => {
    const zero = () => f32(0);
    const var1 = new Variable(2);
    const var2 = new Variable(2, { name: 'exclude' });
    const var3 = new Variable(2);
    new Adam({ learningRate: 1, weightDecay: 0.004, jitCompile }).applyGradients([[zero(), var1]]);
    const opt2 = new Adam({ learningRate: 1, weightDecay: 0.004, jitCompile });
    opt2.excludeFromWeightDecay({ varNames: ['exclude'] });
    opt2.applyGradients([[zero(), var1], [zero(), var2]]);
    const opt3 = new Adam({ learningRate: 1, weightDecay: 0.004, jitCompile });
    opt3.excludeFromWeightDecay({ varList: [var3] });
    opt3.applyGradients([[zero(), var1], [zero(), var3]]);
    assertClose(var1.value, [1.9760959], { atol: 1e-6, rtol: 0 });
    assert.equal(var2.value[0], 2);
    assert.equal(var3.value[0], 2);
  });

  test('7. weight decay uses the current (scheduled) learning rate and a regex-like name search', () => {
    const lr = new schedules.PiecewiseConstantDecay({ boundaries: [0], values: [0.5, 0.25] });
    const kernel = new Variable(f64(1), { name: 'dense_1/kernel' });
    const bias = new Variable(f64(1), { name: 'dense_1/bias' });
    const opt = new Adam({ learningRate: lr, weightDecay: 0.1, jitCompile });
    opt.excludeFromWeightDecay({ varNames: ['b[ia]+s$'] });
    opt.applyGradients([[f64(0), kernel], [f64(0), bias]]);
    opt.applyGradients([[f64(0), kernel], [f64(0), bias]]);
    assertClose(kernel.value, [(1 - 0.05) * (1 - 0.025)], { rtol: 1e-12 });
    assert.equal(bias.value[0], 1);
  });

  test('7. exclusion can only be set before build', () => {
    const opt = new Adam({ weightDecay: 0.1, jitCompile });
    opt.build([new Variable([1])]);
    assert.throws(() => opt.excludeFromWeightDecay({ varNames: ['x'] }), /before the optimizer is built/);
  });

  test('9. EMA: average = m * average + (1 - m) * var after the update; finalize copies it', () => {
    const w = new Variable(f32(1, 2));
    const plain = new Variable(f32(1, 2));
    const opt = new Adam({ learningRate: 1, useEma: true, emaMomentum: 0.9, jitCompile });
    const reference = new Adam({ learningRate: 1, jitCompile });
    const g = f32(0.1, 0.2);
    opt.applyGradients([[g, w]]);
    reference.applyGradients([[g, plain]]);
    const v1 = Array.from(plain.value);
    assertClose(opt.variables[1].value, [0.9 * 1 + 0.1 * v1[0], 0.9 * 2 + 0.1 * v1[1]], { rtol: 1e-6 });
    assertClose(w.value, v1, { rtol: 1e-6 });
    const average = Array.from(opt.variables[1].value);
    opt.finalizeVariableValues([w]);
    assertClose(w.value, average, { rtol: 0, atol: 0 });
  });

  test('9. Keras EMA overwrite example: overwritten when (iterations + 1) % frequency == 0', () => {
    // tf_keras's example with momentum 0.5 and frequency 3: the variables go 2 -> 1 -> 0 -> -1 and
    // the third step overwrites them with the average, -0.125.
    const var1 = new Variable(2);
    const var2 = new Variable(2);
    const opt = new Adam({ learningRate: 1, useEma: true, emaMomentum: 0.5, emaOverwriteFrequency: 3, jitCompile });
    const step = () => opt.applyGradients([[f32(1), var1], [f32(1), var2]]);
    step();
    assertClose([var1.value[0], var2.value[0]], [1, 1], { atol: 1e-4 });
    step();
    assertClose([var1.value[0], var2.value[0]], [0, 0], { atol: 1e-4 });
    step();
    assertClose([var1.value[0], var2.value[0]], [-0.125, -0.125], { atol: 1e-4 });
  });

  test('9. finalizeVariableValues without EMA does nothing', () => {
    const w = new Variable([1]);
    const opt = new Adam({ jitCompile });
    opt.applyGradients([[f32(1), w]]);
    const before = w.value[0];
    opt.finalizeVariableValues([w]);
    assert.equal(w.value[0], before);
  });

  test('10-12. iterations count steps; constraints run last, on updated variables only', () => {
    const seen: number[][] = [];
    const clipToUnit = (x: Float32Array | Float64Array) => {
      seen.push(Array.from(x));
      return x.map((y) => Math.max(-1, Math.min(1, y)));
    };
    const a = new Variable(f64(0.95), { constraint: clipToUnit });
    const b = new Variable(f64(5), { constraint: clipToUnit });
    const opt = new Adam({ learningRate: -0.5, jitCompile });
    captureWarnings(() => assert.equal(opt.applyGradients([[f64(1), a], [null, b]]), 1));
    assert.equal(a.value[0], 1, 'the constraint saw the updated value 1.45 and clipped it');
    assert.ok(Math.abs(seen[0][0] - 1.45) < 1e-5);
    assert.equal(b.value[0], 5, 'no constraint on a variable without a gradient');
    assert.equal(opt.iterations, 1);
  });

  test('a float32 and a float64 variable step together', () => {
    const a = new Variable(f32(1, 2));
    const b = new Variable(f64(1, 2));
    const opt = new Adam({ learningRate: 0.1, jitCompile });
    opt.applyGradients([[f32(1, -1), a], [f64(1, -1), b]]);
    assertClose(a.value, b.value, { rtol: 1e-6 });
    assert.ok(a.value instanceof Float32Array && b.value instanceof Float64Array);
  });

  test('the step order changes from call to call without mixing state', () => {
    const a = new Variable(f64(1));
    const b = new Variable(f64(1));
    const opt = new Adam({ learningRate: 0.1, jitCompile });
    opt.applyGradients([[f64(1), a], [f64(-1), b]]);
    opt.applyGradients([[f64(-1), b], [f64(1), a]]);
    captureWarnings(() => opt.applyGradients([[null, a], [f64(-1), b]]));
    assert.ok(a.value[0] < 1 && b.value[0] > 1);
    assert.ok(Math.abs(1 - a.value[0] - (b.value[0] - 1)) > 0.01, 'b took one more step than a');
  });
});
