// Where WebAssembly SIMD is missing, jitCompile falls back to the reference kernels with one notice.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('without WebAssembly SIMD: the reference kernels run, the same numbers, one notice', () => {
  const script = fileURLToPath(new URL('./fixtures/no-simd.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
  const { kernels, values, warnings } = JSON.parse(output.trim().split('\n').pop()!) as {
    kernels: string[]; values: number[]; warnings: string[];
  };
  assert.deepEqual(kernels, ['reference', 'reference']);
  assert.equal(warnings.length, 1, `one notice for two optimizers: ${JSON.stringify(warnings)}`);
  assert.match(warnings[0], /compiled kernels unavailable.*SIMD.*reference kernels/);
  // One Adam step of lr 0.1 moves each element by about 0.1 against its gradient's sign.
  for (const [i, expected] of [0.9, 2.1, 0.9, 2.1].entries()) assert.ok(Math.abs(values[i] - expected) < 1e-4, `value ${i}: ${values[i]}`);
});
