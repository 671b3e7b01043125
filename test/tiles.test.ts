// Gradients in ordinary arrays are staged a tile at a time (src/kernels/compiled/tiles.ts); the
// results must be bit-identical to gradients read in place from kernel memory (gradientBuffer),
// with variables that straddle tile boundaries, on one thread and across worker threads.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Adam, Variable, type Dtype } from '../src/index.js';
import { createCompiledKernels, type CompiledKernels } from '../src/kernels/compiled/index.js';
import { TILE_BYTES } from '../src/kernels/compiled/tiles.js';
import { PARALLEL_MIN_ELEMENTS } from '../src/kernels/compiled/threads.js';
import { adamOn } from './kernel-sets.js';
import { random } from './support.js';

const OPTIONS = { learningRate: 1e-2, amsgrad: true, useEma: true, emaMomentum: 0.9, weightDecay: 0.02, clipvalue: 0.04, globalClipnorm: 3 };

function sizes(dtype: Dtype): number[] {
  const tile = TILE_BYTES / (dtype === 'float64' ? 8 : 4);
  // Around tile boundaries, tiny variables sharing a tile, and enough in all for the workers.
  return [tile - 1, 1, tile, tile + 1, 3, 2 * tile + 5, 7, 200_003, 64_000];
}

async function runBoth(kernels: CompiledKernels, dtype: Dtype, threads: number): Promise<void> {
  const rand = random(5);
  const make = () => sizes(dtype).map((n) => {
    const values = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    return values.map(() => rand() - 0.5);
  });
  const initial = make();
  const typed = initial.map((a) => new Variable(a.slice()));
  const buffered = initial.map((a) => new Variable(a.slice()));
  const typedOpt = adamOn(kernels, OPTIONS);
  const bufferedOpt = adamOn(kernels, OPTIONS);
  typedOpt.build(typed);
  bufferedOpt.build(buffered);
  const buffers = buffered.map((v) => bufferedOpt.gradientBuffer(v));
  const total = initial.reduce((n, a) => n + a.length, 0);
  assert.ok(total >= PARALLEL_MIN_ELEMENTS);
  for (let step = 0; step < 6; step++) {
    const grads = make();
    grads.forEach((g, i) => buffers[i].value.set(g));
    typedOpt.applyGradients(grads.map((g, i) => [g, typed[i]]));
    bufferedOpt.applyGradients(buffers.map((b, i) => [b.value, buffered[i]]));
    if (threads > 1 && step === 0) {
      for (let i = 0; i < 200 && !kernels.workersReady; i++) await sleep(25);
      assert.ok(kernels.workersReady, 'the worker threads started');
    }
  }
  typed.forEach((v, i) => assert.deepEqual(v.value, buffered[i].value, `variable ${i} (${v.size} elements)`));
  assert.deepEqual(typedOpt.getWeights(), bufferedOpt.getWeights());
}

for (const threads of [1, 2, 3]) {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`${dtype}, ${threads} thread${threads > 1 ? 's' : ''}: typed-array gradients, staged in tiles, equal gradients read in place`, async () => {
      const kernels = createCompiledKernels({ threads });
      await runBoth(kernels, dtype, threads);
      kernels.stopWorkers();
    });
  }
}
