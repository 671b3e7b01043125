// Threads need process.getBuiltinModule (Node 20.16+). On Node 20.0 - 20.15 the package still
// works, on one thread; this runs a child process without getBuiltinModule to check it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('without process.getBuiltinModule (Node < 20.16): compiled kernels on one thread, same steps', () => {
  const script = fileURLToPath(new URL('./fixtures/no-builtin-module.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', env: { ...process.env, ADAM_OPTIMIZER_THREADS: '2' } });
  const result = JSON.parse(output.trim().split('\n').pop()!) as { threads: number; running: number; kernel: string; first: number; last: number };
  assert.equal(result.kernel, 'compiled');
  assert.equal(result.threads, 1, 'ADAM_OPTIMIZER_THREADS is not honoured without worker threads');
  assert.equal(result.running, 1);
  // Three Adam steps of lr 0.1 on a constant gradient move each element by about 0.3.
  assert.ok(Math.abs(result.first - 0.7) < 1e-4 && Math.abs(result.last - 0.7) < 1e-4, JSON.stringify(result));
});
