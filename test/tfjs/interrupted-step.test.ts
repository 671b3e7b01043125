// The adapter over a step interrupted after it began writing (a worker thread that stops
// mid-step): later steps are refused and change nothing; restoring the optimizer state (and, with
// writeInPlace, the variables) resumes training exactly as an uninterrupted run.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, InterruptedStepError } from '../../src/tfjs/index.js';
import { createCompiledKernels, useCompiledKernels, type CompiledKernels } from '../../src/kernels/compiled/index.js';
import { interruptibleKernels } from '../kernel-sets.js';
import { random, useBackend } from './support.js';

before(() => useBackend('cpu'));

const SIZES = [40, 9, 300];
let counter = 0;

function adamOn(kernels: CompiledKernels, writeInPlace: boolean): Adam {
  const previous = useCompiledKernels(kernels);
  try {
    return new Adam({ learningRate: 0.02, weightDecay: 0.01, useEma: true, emaMomentum: 0.8, writeInPlace });
  } finally {
    useCompiledKernels(previous);
  }
}

function variables(): tf.Variable[] {
  const rand = random(3);
  const run = counter++;
  return SIZES.map((n, i) => tf.variable(tf.tensor1d(Float32Array.from({ length: n }, () => rand() - 0.5)), true, `interrupted_${run}_${i}`));
}

function step(opt: Adam, vars: readonly tf.Variable[], s: number): void {
  const rand = random(900 + s);
  const grads = tf.tidy(() => Object.fromEntries(vars.map((v) => [v.name, tf.tensor1d(Float32Array.from({ length: v.size }, () => rand() - 0.5))])));
  try {
    tf.tidy(() => opt.applyGradients(grads));
  } finally {
    tf.dispose(Object.values(grads));
  }
}

const values = (vars: readonly tf.Variable[]): number[][] => vars.map((v) => Array.from(v.dataSync()));

async function savedState(opt: Adam): Promise<{ name: string; tensor: tf.Tensor }[]> {
  return (await opt.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
}

for (const writeInPlace of [false, true]) {
  test(`writeInPlace ${writeInPlace}: an interrupted step is refused from then on; restoring the state resumes training exactly`, async () => {
    const { kernels, interruptNextStep } = interruptibleKernels();
    const opt = adamOn(kernels, writeInPlace);
    const control = adamOn(createCompiledKernels({ threads: 1 }), writeInPlace);
    const vars = variables();
    const controlVars = variables();
    for (let s = 0; s < 2; s++) {
      step(opt, vars, s);
      step(control, controlVars, s);
    }
    const checkpoint = { values: values(vars), state: await savedState(opt) };

    interruptNextStep();
    assert.throws(() => step(opt, vars, 2), InterruptedStepError);
    // Without writeInPlace the new values were to go into new tensors, which the failed step drops.
    if (!writeInPlace) assert.deepEqual(values(vars), checkpoint.values, 'the variables kept their values');
    const after = values(vars);
    const tensors = tf.memory().numTensors;
    assert.throws(() => step(opt, vars, 2), (e: unknown) => e instanceof Error && /cannot take a step until the state is replaced/.test(e.message) && e.cause instanceof InterruptedStepError);
    assert.deepEqual(values(vars), after, 'the refused step changed nothing');
    assert.equal(tf.memory().numTensors, tensors);

    // The variables are restored only where the step wrote them; the adapter reads them afresh.
    if (writeInPlace) vars.forEach((v, i) => v.assign(tf.tensor1d(checkpoint.values[i])));
    await opt.setWeights(checkpoint.state);
    for (let s = 2; s < 5; s++) {
      step(opt, vars, s);
      step(control, controlVars, s);
    }
    assert.deepEqual(values(vars), values(controlVars));
    const [ours, theirs] = [await opt.getWeights(), await control.getWeights()];
    assert.deepEqual(ours.map((w) => Array.from(w.tensor.dataSync())), theirs.map((w) => Array.from(w.tensor.dataSync())));
    tf.dispose([...vars, ...controlVars, ...checkpoint.state.map((w) => w.tensor)]);
    opt.dispose();
    control.dispose();
  });
}
