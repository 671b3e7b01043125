// A step interrupted after it began writing (a worker thread that stops mid-step) leaves the
// variables and the state partly updated. The optimizer must not go on from there as if nothing
// happened: every later step (and the EMA overwrite) is refused with a message that says why, and
// changes nothing, until the whole state is replaced; then training goes on exactly as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InterruptedStepError, Variable, type Adam, type AdamOptions } from '../src/index.js';
import { createCompiledKernels } from '../src/kernels/compiled/index.js';
import { adamOn, interruptibleKernels } from './kernel-sets.js';
import { random, snapshot } from './support.js';

const OPTIONS: AdamOptions = { learningRate: 0.01, amsgrad: true, weightDecay: 0.004, useEma: true, emaMomentum: 0.9, globalClipnorm: 5 };
const SIZES = [64, 33, 1000, 7];

function gradients(step: number): Float32Array[] {
  const rand = random(500 + step);
  return SIZES.map((n) => Float32Array.from({ length: n }, () => rand() - 0.5));
}

function variables(): Variable[] {
  const rand = random(7);
  return SIZES.map((n, i) => new Variable(Float32Array.from({ length: n }, () => rand() * 2 - 1), { name: `w${i}` }));
}

const step = (opt: Adam, vars: readonly Variable[], s: number): void => {
  const grads = gradients(s);
  opt.applyGradients(vars.map((v, i) => [grads[i], v] as [Float32Array, Variable]));
};

test('an interrupted step: later steps and the EMA overwrite are refused, naming the cause, and change nothing', () => {
  const { kernels, interruptNextStep } = interruptibleKernels();
  const vars = variables();
  const opt = adamOn(kernels, OPTIONS);
  step(opt, vars, 0);
  step(opt, vars, 1);
  const before = snapshot(opt, vars);

  interruptNextStep();
  assert.throws(() => step(opt, vars, 2), (e: unknown) => e instanceof InterruptedStepError && /partly updated/.test(e.message));
  const after = snapshot(opt, vars);
  // What makes the refusal necessary: part of the step was written, part not.
  assert.notDeepEqual(after.values[0], before.values[0], 'the first variable got the interrupted step');
  assert.deepEqual(after.values[SIZES.length - 1], before.values[SIZES.length - 1], 'the last one did not');
  assert.equal(after.iterations, 2);

  for (let attempt = 0; attempt < 2; attempt++) {
    assert.throws(() => step(opt, vars, 2), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /cannot take a step until the state is replaced/);
      assert.match(e.message, /setWeights or loadOwnVariables/);
      assert.ok(e.cause instanceof InterruptedStepError, 'the interruption is the cause');
      return true;
    });
  }
  assert.throws(() => opt.finalizeVariableValues(vars), /cannot overwrite variables with their averages until the state is replaced/);
  assert.deepEqual(snapshot(opt, vars), after, 'the refused calls changed nothing');
  opt.dispose();
});

for (const restore of ['setWeights', 'loadOwnVariables'] as const) {
  test(`after an interrupted step, restoring the variables and the state (${restore}) resumes training exactly`, () => {
    const { kernels, interruptNextStep } = interruptibleKernels();
    const vars = variables();
    const opt = adamOn(kernels, OPTIONS);
    // The same run on a kernel set of its own, never interrupted.
    const controlVars = variables();
    const control = adamOn(createCompiledKernels({ threads: 1 }), OPTIONS);
    for (let s = 0; s < 3; s++) {
      step(opt, vars, s);
      step(control, controlVars, s);
    }
    const checkpoint = { values: vars.map((v) => v.read()), state: opt.getWeights() };
    interruptNextStep();
    assert.throws(() => step(opt, vars, 3), InterruptedStepError);

    vars.forEach((v, i) => v.assign(checkpoint.values[i]));
    if (restore === 'setWeights') opt.setWeights(checkpoint.state);
    else opt.loadOwnVariables(Object.fromEntries(checkpoint.state.map((w, i) => [String(i), w])));
    for (let s = 3; s < 6; s++) {
      step(opt, vars, s);
      step(control, controlVars, s);
    }
    assert.deepEqual(snapshot(opt, vars), snapshot(control, controlVars));
    opt.finalizeVariableValues(vars);
    control.finalizeVariableValues(controlVars);
    assert.deepEqual(vars.map((v) => Array.from(v.value)), controlVars.map((v) => Array.from(v.value)));
    opt.dispose();
    control.dispose();
  });
}
