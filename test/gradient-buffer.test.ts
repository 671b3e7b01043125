// gradientBuffer(variable): one buffer per variable, the same on every call, freed by dispose().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, Variable } from '../src/index.js';
import { loadCompiledKernels } from '../src/kernels/compiled/index.js';
import type { CompiledKernels } from '../src/kernels/compiled/kernels.js';
import { forEachKernelSet } from './support.js';

forEachKernelSet((jitCompile) => {
  test('one buffer per variable: repeated calls return it, steps read it', () => {
    const v = new Variable(new Float32Array(1000).fill(1), { name: 'w' });
    const opt = new Adam({ jitCompile, learningRate: 0.1 });
    const buffer = opt.gradientBuffer(v);
    for (let step = 0; step < 100; step++) {
      const again = opt.gradientBuffer(v);
      assert.equal(again, buffer);
      again.value.fill(step % 2 === 0 ? 1 : -1);
      opt.applyGradients([[again.value, v]]);
    }
    assert.equal(opt.iterations, 100);
    assert.ok(Math.abs(v.value[0] - 1) < 0.2, `${v.value[0]}`);
    const other = new Variable(new Float64Array(3), { name: 'other' });
    assert.notEqual(opt.gradientBuffer(other), buffer);
    opt.dispose();
    assert.throws(() => opt.gradientBuffer(v), /Adam: this optimizer has been disposed/);
  });
});

test('compiled kernels: 100 calls allocate once, and dispose() gives the block back', () => {
  const kernels = loadCompiledKernels() as CompiledKernels | null;
  assert.ok(kernels !== null && kernels.name === 'compiled');
  const v = new Variable(new Float32Array(1 << 16), { name: 'w' });
  const opt = new Adam();
  opt.build([v]);
  const beforeBuffer = kernels.memories.bytesInUse;
  const first = opt.gradientBuffer(v).value.byteOffset;
  const withBuffer = kernels.memories.bytesInUse;
  assert.ok(withBuffer - beforeBuffer >= (1 << 16) * 4, 'the buffer holds kernel memory');
  for (let i = 0; i < 100; i++) assert.equal(opt.gradientBuffer(v).value.byteOffset, first);
  assert.equal(kernels.memories.bytesInUse, withBuffer, 'no new storage');
  opt.dispose();
  // The buffer and the optimizer's slots are given back; the variable keeps its block.
  assert.ok(kernels.memories.bytesInUse <= beforeBuffer - 2 * (1 << 16) * 4, 'buffer and slots released');
  const next = new Adam();
  next.gradientBuffer(v);
  next.dispose();
  assert.ok(kernels.memories.bytesInUse <= beforeBuffer - 2 * (1 << 16) * 4, 'the next optimizer\'s buffer released too');
});

test('gradientBuffer names what it was given instead of a Variable', () => {
  const opt = new Adam();
  assert.throws(() => opt.gradientBuffer(new Float32Array(3) as never), /Adam: gradientBuffer expects a Variable, got a Float32Array of length 3/);
  const v = new Variable(new Float32Array(2), { name: 'gone' });
  v.dispose();
  assert.throws(() => opt.gradientBuffer(v), /variable 'gone' has been disposed/);
});
