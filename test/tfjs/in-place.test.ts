// With writeInPlace, on the cpu backend the kernels path writes a step's new values into the variable's own array when
// no other tensor can see it, and assigns a new tensor otherwise. These tests check that the write
// in place never shows through anything else: clones and reshapes taken before a step, the array a
// variable was made from, a tensor it was sliced from, a tensor assigned to it from outside. And
// that the numbers stay the core's, step after step, with tf.memory() flat.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adam as CoreAdam, Variable, type AdamOptions as CoreOptions } from '../../src/index.js';
import { Adam } from '../../src/tfjs/index.js';
import { forEachKernelSet } from '../support.js';
import { assertMemoryFlat, random, useBackend } from './support.js';

before(() => useBackend('cpu'));

const SIZE = 24;
const OPTIONS: CoreOptions = { learningRate: 0.02, weightDecay: 0.01, useEma: true, emaMomentum: 0.8 };

function seeded(seed: number, size = SIZE): Float32Array {
  const rand = random(seed);
  return Float32Array.from({ length: size }, () => rand() - 0.5);
}

const gradient = (step: number): Float32Array => seeded(100 + step);

let counter = 0;
const uniqueName = (what: string): string => `in_place_${what}_${counter++}`;

/** The same run on the core: values after each of `steps` steps (with `assignAt`: value assigned before that step). */
function coreRun(jitCompile: boolean, start: Float32Array, steps: number, assignAt?: { step: number; values: Float32Array }): Float32Array[] {
  const v = new Variable(start.slice(), { name: 'v' });
  const opt = new CoreAdam({ ...OPTIONS, jitCompile });
  const out: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    if (assignAt?.step === s) v.assign(assignAt.values);
    opt.applyGradients([[gradient(s), v]]);
    out.push(Float32Array.from(v.value));
  }
  opt.dispose();
  return out;
}

function step(opt: Adam, v: tf.Variable, s: number): void {
  tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.tensor(gradient(s)) }]));
}

const values = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync());

forEachKernelSet((jitCompile) => {
  test('steps give the core\'s numbers and, once the variable holds an array of its own, keep its dataId (written in place)', () => {
    const start = seeded(1);
    const expected = coreRun(jitCompile, start, 6);
    const v = tf.variable(tf.tensor(start), true, uniqueName('plain'));
    const opt = new Adam({ ...OPTIONS, jitCompile, writeInPlace: true });
    const ids: object[] = [];
    for (let s = 0; s < 6; s++) {
      step(opt, v, s);
      ids.push(v.dataId);
      assert.deepEqual(values(v), expected[s], `step ${s + 1}`);
    }
    // The first step cannot write in place (the initial tensor shares the data and owns the array).
    assert.ok(ids.slice(1).every((id) => id === ids[0]), 'written in place from the first step on');
    opt.dispose();
    v.dispose();
  });

  test('a clone or a reshape taken before a step keeps the old values; the variable moves on', () => {
    const start = seeded(2);
    const expected = coreRun(jitCompile, start, 5);
    const v = tf.variable(tf.tensor(start), true, uniqueName('clone'));
    const opt = new Adam({ ...OPTIONS, jitCompile, writeInPlace: true });
    step(opt, v, 0);
    step(opt, v, 1);
    const clone = v.clone();
    const reshaped = tf.reshape(v, [4, 6]);
    const before = values(v);
    step(opt, v, 2);
    assert.deepEqual(values(clone), before, 'the clone');
    assert.deepEqual(values(reshaped), before, 'the reshape');
    assert.deepEqual(values(v), expected[2], 'the variable');
    tf.dispose([clone, reshaped]);
    step(opt, v, 3);
    step(opt, v, 4);
    assert.deepEqual(values(v), expected[4], 'later steps');
    // With EMA: finalizing with a clone alive leaves the clone as it was too.
    const kept = v.clone();
    const last = values(v);
    opt.finalizeVariableValues([v]);
    assert.deepEqual(values(kept), last, 'the clone, after finalizeVariableValues');
    assert.notDeepEqual(values(v), last, 'the variable holds its average');
    kept.dispose();
    opt.dispose();
    v.dispose();
  });

  test('the array a variable was made from, and a tensor it was sliced from, are never written', () => {
    const start = seeded(3);
    const mine = start.slice();
    const fromArray = tf.tensor(mine); // the cpu backend keeps `mine` itself as this tensor's data
    const v = tf.variable(fromArray, true, uniqueName('array'));
    fromArray.dispose(); // now only the variable holds that data (refCount 1), and it is still `mine`
    const big = tf.tensor(seeded(4, 2 * SIZE));
    const bigBefore = values(big);
    const slice = tf.slice(big, [SIZE], [SIZE]); // on cpu, a view of big's array
    const w = tf.variable(slice, true, uniqueName('slice'));
    slice.dispose();
    const opt = new Adam({ ...OPTIONS, jitCompile, writeInPlace: true });
    for (let s = 0; s < 3; s++) {
      tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.tensor(gradient(s)) }, { name: w.name, tensor: tf.tensor(gradient(s)) }]));
    }
    assert.deepEqual(mine, start, 'the array given to tf.tensor');
    assert.deepEqual(values(big), bigBefore, 'the tensor the variable was sliced from');
    assert.deepEqual(values(v), coreRun(jitCompile, start, 3)[2], 'the variable');
    opt.dispose();
    tf.dispose([v, w, big]);
  });

  test('assigned from outside between steps: the next step starts from the assigned values, and the assigned tensor is left alone', () => {
    const start = seeded(5);
    const assigned = seeded(6);
    const expected = coreRun(jitCompile, start, 5, { step: 3, values: assigned });
    const v = tf.variable(tf.tensor(start), true, uniqueName('assign'));
    const opt = new Adam({ ...OPTIONS, jitCompile, writeInPlace: true });
    for (let s = 0; s < 3; s++) step(opt, v, s);
    const source = tf.tensor(assigned);
    v.assign(source); // v and source now share one dataId
    step(opt, v, 3);
    assert.deepEqual(values(source), assigned, 'the tensor assigned to the variable');
    assert.deepEqual(values(v), expected[3], 'step 4, from the assigned values');
    source.dispose();
    step(opt, v, 4);
    assert.deepEqual(values(v), expected[4], 'step 5');
    opt.dispose();
    v.dispose();
  });

  test('tf.memory() stays flat over many steps written in place', () => {
    const vars = [0, 1, 2].map((i) => tf.variable(tf.tensor(seeded(10 + i)), true, uniqueName(`memory${i}`)));
    const opt = new Adam({ ...OPTIONS, jitCompile, writeInPlace: true });
    const run = () => tf.tidy(() => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(gradient(i)) }))));
    run();
    assertMemoryFlat(run, 50);
    opt.dispose();
    tf.dispose(vars);
  });
});

forEachKernelSet((jitCompile) => {
  test('by default every step assigns a new tensor: arrays and slices read before a step keep their values', () => {
    const start = seeded(20);
    const expected = coreRun(jitCompile, start, 4);
    const v = tf.variable(tf.tensor(start), true, uniqueName('default'));
    const opt = new Adam({ ...OPTIONS, jitCompile });
    assert.equal(opt.writeInPlace, false);
    const ids: object[] = [];
    for (let s = 0; s < 4; s++) {
      const read = v.dataSync(); // on cpu: the backend's own array, not a copy
      const kept = Float32Array.from(read);
      const slice = tf.slice(v, [0], [SIZE / 2]); // on cpu: a view of that array
      const sliceBefore = values(slice);
      step(opt, v, s);
      ids.push(v.dataId);
      assert.deepEqual(Float32Array.from(read), kept, `step ${s + 1}: an array read before the step`);
      assert.deepEqual(values(slice), sliceBefore, `step ${s + 1}: a slice taken before the step`);
      assert.deepEqual(values(v), expected[s], `step ${s + 1}: the variable`);
      slice.dispose();
    }
    assert.equal(new Set(ids).size, ids.length, 'a new dataId every step');
    opt.dispose();
    v.dispose();
  });
});

test('writeInPlace must be a boolean', () => {
  assert.throws(() => new Adam({ writeInPlace: 'yes' as unknown as boolean }), /writeInPlace must be a boolean, got/);
});
