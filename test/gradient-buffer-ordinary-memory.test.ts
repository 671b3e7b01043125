// On an ordinary (non-shared) WebAssembly memory, as on a browser page without cross-origin
// isolation, growth detaches earlier views. The first step with a big gradient buffer builds the
// optimizer and grows the memory after the buffer's array was read: the step must still work.
// SharedArrayBuffer is hidden before the package loads, so its kernels take an ordinary memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';

(globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer = undefined;
const { Adam, Variable } = await import('../src/index.js');
const { loadCompiledKernels } = await import('../src/kernels/compiled/index.js');

test('the first step with a 4M-float gradient buffer works on an ordinary memory', () => {
  const kernels = loadCompiledKernels() as { name: string; sharedMemory: boolean } | null;
  assert.ok(kernels !== null);
  assert.equal(kernels.sharedMemory, false, 'the kernels run on an ordinary memory');
  const n = 4 * 1024 * 1024;
  const big = new Variable(new Float32Array(n).fill(1), { name: 'big' });
  const opt = new Adam({ learningRate: 0.1 });
  assert.equal(opt.kernelName, 'compiled');
  const buffer = opt.gradientBuffer(big);
  const before = buffer.value;
  before.fill(0.5);
  // `buffer.value` is read before applyGradients builds the optimizer and grows the memory.
  opt.applyGradients([[buffer.value, big]]);
  assert.equal(before.length, 0, 'the view read before the step was detached by growth (the case under test)');
  assert.equal(opt.iterations, 1);
  assert.ok(Math.abs(big.value[0] - 0.9) < 1e-6 && Math.abs(big.value[n - 1] - 0.9) < 1e-6, `${big.value[0]}, ${big.value[n - 1]}`);
  // A zero-length array that is not the buffer's own view is still refused.
  assert.throws(() => opt.applyGradients([[new Float32Array(0), big]]), /the gradient of 'big' has 0 values, the variable has 4194304/);
  opt.dispose();
});
