// The internal `applyGradientsWritingTo` (what the TensorFlow.js adapter steps through): the new
// values of each variable also land in an output array, written by the kernels as they go (tile by
// tile, on the worker threads' schedule) or after the step (sparse rows, constraints). The outputs
// must equal the variables after every step, on every kernel set and path, and a step that throws
// must write none of them.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { Adam, IndexedSlices, Variable, type Dtype, type FloatArray, type GradientPair } from '../src/index.js';
import { createCompiledKernels, type CompiledKernels } from '../src/kernels/compiled/index.js';
import { PARALLEL_MIN_ELEMENTS } from '../src/kernels/compiled/threads.js';
import { TILE_BYTES } from '../src/kernels/compiled/tiles.js';
import { adamOn } from './kernel-sets.js';
import { random } from './support.js';

const FULL = { learningRate: 1e-2, amsgrad: true, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 2, weightDecay: 0.02, globalClipnorm: 3 };

function sizes(dtype: Dtype, large: boolean): number[] {
  const tile = TILE_BYTES / (dtype === 'float64' ? 8 : 4);
  // Around tile boundaries, tiny variables sharing a tile, and (large) enough for the workers.
  return large ? [tile - 1, 1, tile + 1, 3, 2 * tile + 5, 200_003, 64_000] : [tile - 1, 1, tile + 1, 3, 2 * tile + 5];
}

function filled(dtype: Dtype, n: number, rand: () => number): FloatArray {
  const values = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rand() - 0.5;
  return values;
}

type Make = (options: ConstructorParameters<typeof Adam>[0]) => Adam;

/**
 * Steps a model (typed-array and gradient-buffer gradients, an embedding with sparse rows, a
 * constrained variable) through applyGradientsWritingTo, and the same model through applyGradients;
 * after each step every output equals its variable, and both models are equal.
 */
async function compare(make: Make, dtype: Dtype, large: boolean, kernels: CompiledKernels | null): Promise<void> {
  const rand = random(11);
  const shapes = sizes(dtype, large);
  const initial = [...shapes.map((n) => filled(dtype, n, rand)), filled(dtype, 40 * 8, rand), filled(dtype, 50, rand)];
  const build = () => initial.map((values, i) => {
    if (i === shapes.length) return new Variable(values.slice(), { name: 'embedding', shape: [40, 8] });
    if (i === shapes.length + 1) return new Variable(values.slice(), { name: 'constrained', constraint: (x) => x.map((y) => Math.min(y, 0.2)) });
    return new Variable(values.slice(), { name: `w${i}` });
  });
  const ours = build();
  const plain = build();
  const opt = make(FULL);
  const reference = make(FULL);
  opt.build(ours);
  reference.build(plain);
  // The second variable reads its gradient in place from kernel memory, when the kernels have any.
  const buffer = opt.gradientBuffer(ours[1]);
  const outputs = ours.map((v) => (dtype === 'float64' ? new Float64Array(v.size) : new Float32Array(v.size)));
  for (let step = 0; step < 5; step++) {
    const grads = initial.map((values) => filled(dtype, values.length, rand));
    const rows = filled(dtype, 3 * 8, rand);
    const pairs = (variables: Variable[], inBuffer: boolean): GradientPair[] => variables.map((v, i) => {
      if (i === shapes.length) return [new IndexedSlices(rows.slice(), [4, 17, 4], [40, 8]), v];
      if (i === 1 && inBuffer) {
        buffer.value.set(grads[i]);
        return [buffer.value, v];
      }
      return [grads[i], v];
    });
    opt.applyGradientsWritingTo(pairs(ours, true), outputs);
    reference.applyGradients(pairs(plain, false));
    if (kernels !== null && large && step === 0) {
      for (let i = 0; i < 200 && !kernels.workersReady && kernels.threadCount > 1; i++) await sleep(25);
    }
    ours.forEach((v, i) => assert.deepEqual(outputs[i], v.value, `step ${step}: output ${i} (${v.size} elements) equals the variable`));
  }
  ours.forEach((v, i) => assert.deepEqual(v.value, plain[i].value, `variable ${i} equals the one stepped by applyGradients`));
  assert.deepEqual(opt.getWeights(), reference.getWeights());
}

describe('applyGradientsWritingTo: outputs equal the variables', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`${dtype}, reference kernels`, async () => {
      await compare((o) => new Adam({ ...o, jitCompile: false }), dtype, false, null);
    });
    for (const threads of [1, 2]) {
      test(`${dtype}, compiled kernels, ${threads} thread${threads > 1 ? 's' : ''}${threads > 1 ? ' (tiles copied out by the main thread as workers finish them)' : ''}`, async () => {
        const kernels = createCompiledKernels({ threads });
        try {
          await compare((o) => adamOn(kernels, o), dtype, true, kernels);
          if (threads > 1) assert.ok(kernels.workersReady, 'the worker threads ran');
        } finally {
          kernels.stopWorkers();
        }
      });
    }
  }
});

describe('applyGradientsWritingTo: refusals', () => {
  test('a step that throws writes no output', () => {
    const variables = [new Variable(new Float32Array(100).fill(0.5)), new Variable(new Float32Array(10).fill(0.5))];
    const opt = new Adam({ learningRate: 0.1 });
    const outputs = variables.map((v) => new Float32Array(v.size).fill(7));
    assert.throws(() => opt.applyGradientsWritingTo([[new Float32Array(100).fill(1), variables[0]], [new Float32Array(9), variables[1]]], outputs), /has 9 values/);
    assert.ok(outputs.every((o) => o.every((x) => x === 7)), 'no output was written');
    assert.equal(opt.iterations, 0);
  });

  test('outputs of the wrong length, dtype or count, or in the variable\'s memory, are refused before anything changes', () => {
    const variable = new Variable(new Float32Array(16).fill(0.5), { name: 'w' });
    const opt = new Adam({ learningRate: 0.1 });
    const grad = new Float32Array(16).fill(1);
    opt.applyGradients([[grad, variable]]);
    const before = variable.read();
    assert.throws(() => opt.applyGradientsWritingTo([[grad, variable]], [new Float32Array(15)]), /output 0 must be a Float32Array of 16 values/);
    assert.throws(() => opt.applyGradientsWritingTo([[grad, variable]], [new Float64Array(16)]), /output 0 must be a Float32Array/);
    assert.throws(() => opt.applyGradientsWritingTo([[grad, variable]], []), /0 outputs for 1 pairs/);
    assert.throws(() => opt.applyGradientsWritingTo([[grad, variable]], [variable.value]), /must not be in the variable's own memory/);
    assert.deepEqual(variable.value, before);
    assert.equal(opt.iterations, 1);
    // The gradient's own array may take the new values: each part is read before it is written.
    opt.applyGradientsWritingTo([[grad, variable]], [grad]);
    assert.deepEqual(grad, variable.value);
  });
});
