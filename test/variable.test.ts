import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IndexedSlices, Variable } from '../src/index.js';

test('a typed array of the dtype is adopted without a copy', () => {
  const data = new Float32Array([1, 2, 3, 4]);
  const w = new Variable(data, { name: 'dense/kernel', shape: [2, 2] });
  assert.equal(w.value, data);
  assert.deepEqual(w.shape, [2, 2]);
  assert.equal(w.dtype, 'float32');
  assert.equal(w.name, 'dense/kernel');
  assert.equal(w.size, 4);
});

test('numbers become float32 by default, float64 on request', () => {
  assert.ok(new Variable([1, 2]).value instanceof Float32Array);
  assert.ok(new Variable([1, 2], { dtype: 'float64' }).value instanceof Float64Array);
  const scalar = new Variable(2);
  assert.deepEqual(scalar.shape, []);
  assert.equal(scalar.value[0], 2);
  const converted = new Variable(new Float32Array([0.5]), { dtype: 'float64' });
  assert.ok(converted.value instanceof Float64Array);
});

test('assign replaces values in place; wrong length is an error that changes nothing', () => {
  const w = new Variable([1, 2, 3]);
  const live = w.value;
  w.assign([4, 5, 6]);
  assert.deepEqual(Array.from(live), [4, 5, 6]);
  assert.throws(() => w.assign([1, 2]), /assign expects 3 values, got 2/);
  assert.deepEqual(Array.from(w.value), [4, 5, 6]);
});

test('bad construction is refused with the name and value', () => {
  assert.throws(() => new Variable([1, 2, 3], { name: 'w', shape: [2, 2] }), /'w': shape \[2, 2\] holds 4 values, but 3 were given/);
  assert.throws(() => new Variable([1], { dtype: 'int32' as 'float32' }), /dtype must be 'float32' or 'float64', got "int32"/);
  assert.throws(() => new Variable([1], { constraint: 5 as never }), /constraint must be a function, got 5/);
  assert.throws(() => new Variable([1], { trainable: true } as never), /unknown option 'trainable'/);
  assert.throws(() => new Variable('abc' as never), /initial value must be/);
  assert.throws(() => new Variable([1, 'x' as never]), /value 1 is not a number/);
});

test('IndexedSlices checks its parts', () => {
  const s = new IndexedSlices([1, 2, 3, 4], [0, 2], [3, 2]);
  assert.equal(s.rowSize, 2);
  assert.ok(s.indices instanceof Int32Array);
  assert.throws(() => new IndexedSlices([1], [0.5], [2, 1]), /index 0 is not an integer/);
  assert.throws(() => new IndexedSlices([1], [0], []), /denseShape must be a non-empty array/);
  assert.throws(() => new IndexedSlices('x' as never, [0], [1]), /values must be/);
});
