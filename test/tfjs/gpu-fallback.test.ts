// Where the fused GPU programs cannot run (here: the cpu backend), 'gpu-fused' falls back to tensor
// ops after one warning, with the same numbers; the option is checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../../src/tfjs/index.js';
import { makeCase } from '../browser/cases.js';
import { runCase } from '../browser/run-case.js';
import { captureWarnings } from '../support.js';
import { useBackend } from './support.js';

test("execution 'gpu-fused' on the cpu backend runs tensor ops after one warning, with the kernels' numbers", async () => {
  await useBackend('cpu');
  const c = makeCase('fallback', 5, 3, { amsgrad: true, weightDecay: 0.1, globalClipnorm: 1, useEma: true });
  const wanted = await runCase(c, 'kernels');
  const first = await runCase(c, 'gpu-fused');
  assert.equal(first.path, 'tensor-ops');
  assert.equal(first.warnings.length, 1, first.warnings.join('\n'));
  assert.match(first.warnings[0], /fused GPU programs cannot run .*'cpu'.*tensor ops/);
  first.weights.flat().forEach((x, i) => assert.ok(Math.abs(x - wanted.weights.flat()[i]) <= 1e-5 * Math.abs(x) + 1e-7, `weight ${i}`));
  const second = await runCase(c, 'gpu-fused');
  assert.deepEqual(second.warnings, [], 'warned once');
  assert.equal(first.tensorsAfterLast, first.tensorsAfterFirst);
});

test("execution is checked, and 'gpu-fused' is one of its values", () => {
  assert.throws(() => new Adam({ execution: 'gpu' as never }), /execution must be one of 'auto', 'kernels', 'gpu-fused', 'tensor-ops', got "gpu"/);
  const warnings = captureWarnings(() => {
    const optimizer = new Adam({ execution: 'gpu-fused' });
    assert.equal(optimizer.execution, 'gpu-fused');
    assert.equal(optimizer.executionPath, null);
    optimizer.dispose();
  });
  assert.deepEqual(warnings, []);
  assert.equal(tf.getBackend(), 'cpu');
});
