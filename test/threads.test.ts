// Large dense steps shared with worker threads give bit-identical results to one thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Adam, Variable } from '../src/index.js';
import { createCompiledKernels, type CompiledKernels } from '../src/kernels/compiled/index.js';
import type { DenseSlotSet, StepScalars } from '../src/kernels/kernel.js';
import { referenceKernels } from '../src/kernels/reference.js';
import { PARALLEL_MIN_ELEMENTS } from '../src/kernels/compiled/threads.js';
import type { Dtype } from '../src/storage.js';
import { random } from './support.js';

/** Variable lengths: one large odd-sized variable, many small ones, a few tiny ones. */
const LENGTHS = [PARALLEL_MIN_ELEMENTS + 3, ...Array.from({ length: 150 }, (_, i) => 1021 + (i % 7)), 1, 2, 3, 5];

function makeSets(kernels: CompiledKernels, dtype: Dtype, withVhat: boolean, withAverage: boolean, seed: number): DenseSlotSet[] {
  const rand = random(seed);
  return LENGTHS.map((length, i) => {
    const storage = () => {
      const s = kernels.allocate(dtype, length);
      const a = s.array;
      for (let j = 0; j < a.length; j++) a[j] = rand() * 2 - 1;
      return s;
    };
    const param = storage();
    const m = storage();
    const v = storage();
    for (let j = 0; j < length; j++) v.array[j] = Math.abs(v.array[j]);
    const grad = kernels.gradientBuffer(dtype, length);
    for (let j = 0; j < length; j++) grad.array[j] = (rand() * 2 - 1) * 10 ** ((j % 9) - 4);
    return {
      param, m, v, grad: grad.array,
      vhat: withVhat ? storage() : null,
      average: withAverage ? storage() : null,
      gradScale: i % 3 === 0 ? 0.5 : 1,
      decay: i % 2 === 0 ? 1e-3 : 0,
    };
  });
}

async function whenWorkersReady(kernels: CompiledKernels, warmUp: () => void): Promise<void> {
  for (let i = 0; i < 200 && !kernels.workersReady; i++) {
    warmUp();
    await sleep(25);
  }
  assert.ok(kernels.workersReady, 'the worker threads started');
}

const scalarsCases: { label: string; scalars: StepScalars; vhat: boolean; average: boolean }[] = [
  { label: 'plain', vhat: false, average: false, scalars: { alpha: 1e-3, epsilon: 1e-7, oneMinusBeta1: 0.1, oneMinusBeta2: 0.001, amsgrad: false, clipValue: 0, emaMomentum: null, emaOverwrite: false } },
  { label: 'amsgrad, clipvalue, EMA with overwrite', vhat: true, average: true, scalars: { alpha: 3e-2, epsilon: 1e-3, oneMinusBeta1: 0.2, oneMinusBeta2: 0.05, amsgrad: true, clipValue: 0.01, emaMomentum: 0.9, emaOverwrite: true } },
];

for (const threads of [2, 3]) {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const { label, scalars, vhat, average } of scalarsCases) {
      test(`${threads} threads, ${dtype}, ${label}: bit-identical to one thread`, async () => {
        const single = createCompiledKernels({ threads: 1 });
        const parallel = createCompiledKernels({ threads });
        const a = makeSets(single, dtype, vhat, average, 11);
        const b = makeSets(parallel, dtype, vhat, average, 11);
        // Warm-up steps on a throwaway copy start the workers without touching `b`.
        const warm = makeSets(parallel, dtype, vhat, average, 12);
        await whenWorkersReady(parallel, () => parallel.denseStep(warm, scalars));
        assert.equal(parallel.threadCount, threads);
        for (let step = 0; step < 3; step++) {
          single.denseStep(a, scalars);
          parallel.denseStep(b, scalars);
        }
        // Once stopped, steps run on the calling thread, with the same results.
        parallel.stopWorkers();
        assert.equal(parallel.threadCount, 1);
        single.denseStep(a, scalars);
        parallel.denseStep(b, scalars);
        a.forEach((set, i) => {
          for (const key of ['param', 'm', 'v', 'vhat', 'average'] as const) {
            const x = set[key];
            const y = b[i][key];
            if (x === null || y === null) continue;
            assert.deepEqual(y.array, x.array, `variable ${i} (${LENGTHS[i]} elements), ${key}`);
          }
        });
      });
    }
  }
}

test('an optimizer step over worker threads equals the same step on the reference kernels', async () => {
  const size = PARALLEL_MIN_ELEMENTS * 2 + 5;
  const init = Float64Array.from({ length: size }, (_, i) => Math.sin(i));
  const grads = Float64Array.from({ length: size }, (_, i) => Math.cos(3 * i));
  const fast = new Variable(init.slice());
  const slow = new Variable(init.slice());
  const fastOpt = new Adam({ jitCompile: true, amsgrad: true, useEma: true, weightDecay: 0.01 });
  const slowOpt = new Adam({ jitCompile: false, amsgrad: true, useEma: true, weightDecay: 0.01 });
  for (let step = 0; step < 4; step++) {
    fastOpt.applyGradients([[grads, fast]]);
    slowOpt.applyGradients([[grads, slow]]);
    await sleep(20); // lets the workers start, so that later steps run on them
  }
  assert.deepEqual(fast.value, slow.value, 'float64 is bit-identical to the reference kernels');
});

test('sums of squares for norm clipping: identical with 1 or 3 threads, and equal to the reference', async () => {
  const single = createCompiledKernels({ threads: 1 });
  const parallel = createCompiledKernels({ threads: 3 });
  const lengths = [PARALLEL_MIN_ELEMENTS * 2 + 7, 70_000, 1023, 1, 0];
  const fill = (kernels: CompiledKernels, dtype: Dtype) => lengths.map((length, i) => {
    const rand = random(100 + i);
    const buffer = kernels.gradientBuffer(dtype, length);
    for (let j = 0; j < length; j++) buffer.array[j] = (rand() - 0.5) * 10 ** ((j % 7) - 3);
    return buffer;
  });
  for (const dtype of ['float32', 'float64'] as const) {
    const a = fill(single, dtype);
    const b = fill(parallel, dtype);
    await whenWorkersReady(parallel, () => parallel.denseStep(makeSets(parallel, 'float32', false, false, 3), scalarsCases[0].scalars));
    const outA = new Float64Array(lengths.length);
    const outB = new Float64Array(lengths.length);
    single.sumsOfSquares(a.map((s) => s.array), outA);
    parallel.sumsOfSquares(b.map((s) => s.array), outB);
    assert.deepEqual(outB, outA);
    a.forEach((s, i) => {
      const expected = referenceKernels.sumOfSquares(s.array);
      assert.ok(Math.abs(outA[i] - expected) <= 1e-12 * expected, `${dtype} array ${i}: ${outA[i]} vs ${expected}`);
    });
  }
  parallel.stopWorkers();
});

/** The kernel set's worker pool (internal), for injecting a worker failure. */
function poolOf(kernels: CompiledKernels): { ready: boolean; addMemory(memory: unknown): void } {
  const pool = (kernels as unknown as { pool: { ready: boolean; addMemory(memory: unknown): void } | null | undefined }).pool;
  assert.ok(pool, 'the kernel set has a worker pool');
  return pool;
}

/**
 * Makes every worker fail as its next job starts, the way a memory that cannot be instantiated
 * fails it: the workers are told of one more memory, and what arrives is not one.
 */
function failWorkersAtNextJob(kernels: CompiledKernels, memories: number): void {
  poolOf(kernels).addMemory({ arena: { shared: true, memory: { notAMemory: true }, index: memories } });
}

for (const gradients of ['gradient buffers', 'ordinary arrays (tiled)'] as const) {
  test(`a worker that fails as a step starts (${gradients}): the calling thread finishes the step, bit-identical, at once, and later steps run there`, async () => {
    const scalars = scalarsCases[1].scalars;
    const single = createCompiledKernels({ threads: 1 });
    const parallel = createCompiledKernels({ threads: 2 });
    const asGiven = (sets: DenseSlotSet[]): DenseSlotSet[] =>
      gradients === 'gradient buffers' ? sets : sets.map((s) => ({ ...s, grad: s.grad.slice() }));
    const a = asGiven(makeSets(single, 'float32', true, true, 21));
    const b = asGiven(makeSets(parallel, 'float32', true, true, 21));
    const warm = asGiven(makeSets(parallel, 'float32', true, true, 22));
    await whenWorkersReady(parallel, () => parallel.denseStep(warm, scalars));
    parallel.denseStep(b, scalars);
    single.denseStep(a, scalars);
    assert.ok(poolOf(parallel).ready);

    failWorkersAtNextJob(parallel, 1);
    const started = performance.now();
    parallel.denseStep(b, scalars); // the worker fails at once; no error reaches the step
    single.denseStep(a, scalars);
    assert.ok(performance.now() - started < 10_000, 'the step did not wait out the worker timeout');
    assert.equal(poolOf(parallel).ready, false, 'later steps run on the calling thread');
    parallel.denseStep(b, scalars);
    single.denseStep(a, scalars);
    a.forEach((set, i) => {
      for (const key of ['param', 'm', 'v', 'vhat', 'average'] as const) {
        assert.deepEqual(b[i][key]!.array, set[key]!.array, `variable ${i} (${LENGTHS[i]} elements), ${key}`);
      }
    });
    parallel.stopWorkers();
  });
}
