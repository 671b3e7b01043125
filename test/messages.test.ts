// Where users go wrong with the standalone optimizer, the message says what is wrong and what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Adam, Variable } from '../src/index.js';

test('a tf.Variable passed to the standalone Adam: says so and points to adam-optimizer/tfjs', async () => {
  await tf.setBackend('cpu');
  const tfVariable = tf.variable(tf.zeros([3]), true, 'dense/kernel');
  const opt = new Adam();
  const pointer = /a TensorFlow\.js tf\.Variable 'dense\/kernel'; .*use the optimizer of 'adam-optimizer\/tfjs' \(import \{ Adam \} from 'adam-optimizer\/tfjs'\)/;
  assert.throws(() => opt.applyGradients([[new Float32Array(3), tfVariable as never]]), pointer);
  assert.throws(() => opt.build([tfVariable as never]), pointer);
  assert.throws(() => opt.gradientBuffer(tfVariable as never), pointer);
  assert.throws(() => opt.excludeFromWeightDecay({ varList: [tfVariable as never] }), pointer);
  assert.equal(opt.built, false);
  tfVariable.dispose();
});

test('a reversed pair names the element that is wrong', () => {
  const v = new Variable(new Float32Array(3), { name: 'w' });
  const opt = new Adam();
  assert.throws(
    () => opt.applyGradients([[v, new Float32Array(3)] as never]),
    { name: 'TypeError', message: "Adam: applyGradients expects [gradient, Variable] pairs; entry 0 is reversed: element 0 is the Variable 'w' and element 1 is a Float32Array of length 3; write [gradient, variable]" },
  );
  assert.throws(() => opt.applyGradients([[new Float32Array(3), 'w'] as never]), /entry 0: element 1 must be a Variable, got "w"/);
  assert.throws(() => opt.applyGradients([new Float32Array(3) as never]), /entry 0 is a Float32Array of length 3, not a pair/);
  assert.equal(opt.built, false);
  assert.equal(opt.iterations, 0);
});

test('a name -> gradient map or object: a list of pairs is expected', () => {
  const v = new Variable(new Float32Array(3), { name: 'w' });
  const opt = new Adam();
  const list = /applyGradients expects a list of \[gradient, Variable\] pairs, got/;
  assert.throws(() => opt.applyGradients(new Map([['w', new Float32Array(3)]]) as never), new RegExp(`${list.source} a Map; a name -> gradient map is the form of TensorFlow.js optimizers \\(adam-optimizer/tfjs\\); here pass a list of \\[gradient, variable\\] pairs`));
  assert.throws(() => opt.applyGradients({ w: new Float32Array(3) } as never), /got an object with keys 'w'; a name -> gradient map is the form of TensorFlow.js optimizers/);
  assert.throws(() => opt.applyGradients(undefined as never), /expects a list of \[gradient, Variable\] pairs, got undefined/);
  opt.applyGradients(new Set([[new Float32Array(3), v] as const])); // any iterable of pairs is fine
  assert.equal(opt.iterations, 1);
});
