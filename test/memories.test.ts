// Kernel memory over several WebAssembly memories: a small per-memory limit makes a model of a few
// megabytes cross memory boundaries, so CI checks the layout logic that 4 GiB models rely on.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { Adam, IndexedSlices, Variable, type Dtype, type FloatArray } from '../src/index.js';
import { createCompiledKernels, type CompiledKernels } from '../src/kernels/compiled/index.js';
import { PARALLEL_MIN_ELEMENTS } from '../src/kernels/compiled/threads.js';
import { adamOn } from './kernel-sets.js';
import { random } from './support.js';

/** Pages per memory: 4 MiB for float32 models, 8 MiB for float64 ones. */
const SMALL_PAGES = { float32: 64, float64: 128 } as const;
/** Variables of the model: together above the worker threshold, each a few hundred KiB. */
const SIZES = [70_001, 50_000, 64, 90_003, 3, 40_000, 33_333];
const SPARSE_ROWS = 500;
const SPARSE_ROW_SIZE = 20;

const FULL = { learningRate: 3e-3, amsgrad: true, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 3, weightDecay: 0.01, globalClipnorm: 2 };

function makeModel(dtype: Dtype, sparse: boolean): Variable[] {
  const rand = random(dtype === 'float64' ? 7 : 3);
  const make = (n: number, name: string, shape?: number[]) => {
    const values = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = rand() * 2 - 1;
    return new Variable(values, { name, shape });
  };
  const variables = SIZES.map((n, i) => make(n, `w${i}`));
  if (sparse) variables.push(make(SPARSE_ROWS * SPARSE_ROW_SIZE, 'embedding', [SPARSE_ROWS, SPARSE_ROW_SIZE]));
  return variables;
}

function gradients(variables: readonly Variable[], step: number, sparse: boolean): [FloatArray | IndexedSlices, Variable][] {
  const rand = random(100 + step);
  return variables.map((variable) => {
    if (sparse && variable.name === 'embedding') {
      const indices = [3, 17, 3, 499, 250, 0];
      const rows = new Float32Array(indices.length * SPARSE_ROW_SIZE).map(() => rand() - 0.5);
      const values = variable.dtype === 'float64' ? Float64Array.from(rows) : rows;
      return [new IndexedSlices(values, indices, [SPARSE_ROWS, SPARSE_ROW_SIZE]), variable];
    }
    const g = variable.dtype === 'float64' ? new Float64Array(variable.size) : new Float32Array(variable.size);
    for (let i = 0; i < g.length; i++) g[i] = (rand() - 0.5) * 0.1;
    return [g, variable];
  });
}

function run(kernels: CompiledKernels, dtype: Dtype, sparse: boolean, steps: number): { values: FloatArray[]; state: FloatArray[] } {
  const variables = makeModel(dtype, sparse);
  const opt = adamOn(kernels, FULL);
  for (let s = 0; s < steps; s++) opt.applyGradients(gradients(variables, s, sparse));
  const result = { values: variables.map((v) => v.read()), state: opt.getWeights() };
  opt.dispose();
  for (const v of variables) v.dispose();
  return result;
}

async function whenWorkersReady(kernels: CompiledKernels, warmUp: () => void): Promise<void> {
  for (let i = 0; i < 200 && !kernels.workersReady; i++) {
    warmUp();
    await sleep(25);
  }
  assert.ok(kernels.workersReady, 'the worker threads started');
}

/** Starts the worker threads of `kernels` with a throw-away step large enough to use them. */
async function startWorkers(kernels: CompiledKernels): Promise<void> {
  const half = PARALLEL_MIN_ELEMENTS / 2;
  const variables = [new Variable(new Float32Array(half)), new Variable(new Float32Array(half))];
  const opt = adamOn(kernels, {});
  const g = new Float32Array(half).fill(0.5);
  await whenWorkersReady(kernels, () => opt.applyGradients(variables.map((v) => [g, v])));
  opt.dispose();
  for (const v of variables) v.dispose();
}

assert.ok(SIZES.reduce((a, b) => a + b) >= PARALLEL_MIN_ELEMENTS, 'the model is large enough for the worker threads');

describe('a model over several memories', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const sparse of [false, true]) {
      for (const { threads, shared } of [{ threads: 1, shared: true }, { threads: 1, shared: false }, { threads: 3, shared: true }]) {
        const label = `${dtype}, ${sparse ? 'dense and sparse' : 'dense'}, ${threads} thread${threads > 1 ? 's' : ''}, ${shared ? 'shared' : 'ordinary'} memories`;
        test(`${label}: amsgrad, EMA, weight decay, global clipnorm are bit-identical to one memory`, async () => {
          const one = createCompiledKernels({ threads: 1 });
          const many = createCompiledKernels({ threads, shared, maximumPages: SMALL_PAGES[dtype], initialPages: 1 });
          assert.equal(many.sharedMemory, shared);
          if (threads > 1) await startWorkers(many); // memories made later reach running workers
          const expected = run(one, dtype, sparse, 4);
          const actual = run(many, dtype, sparse, 4);
          assert.equal(one.memoryCount, 1);
          assert.ok(many.memoryCount >= 2, `the model spans ${many.memoryCount} memories`);
          if (threads > 1) assert.equal(many.threadCount, threads);
          actual.values.forEach((v, i) => assert.deepEqual(v, expected.values[i], `variable ${i}`));
          actual.state.forEach((w, i) => assert.deepEqual(w, expected.state[i], `state array ${i}`));
          many.stopWorkers();
        });
      }
    }
  }

  test('a variable and its state sit in one memory', () => {
    const kernels = createCompiledKernels({ threads: 1, maximumPages: SMALL_PAGES.float32, initialPages: 1 });
    const variables = makeModel('float32', false);
    const opt = adamOn(kernels, { amsgrad: true, useEma: true });
    opt.build(variables);
    const memoryOf = (array: FloatArray) => kernels.memories.list.findIndex((m) => m.arena.owns(array.buffer));
    for (const variable of variables) {
      const home = memoryOf(variable.value);
      assert.ok(home >= 0);
      const state = opt.variables.filter((s) => s.name.endsWith(`/${variable.name}`));
      assert.equal(state.length, 4, 'm, v, vhat and average');
      for (const s of state) assert.equal(memoryOf(s.value), home, `${s.name} is in the memory of ${variable.name}`);
      assert.equal(memoryOf(opt.gradientBuffer(variable).value), home, 'its gradient buffer too');
    }
    assert.ok(kernels.memoryCount > 1);
  });
});

describe('out of kernel memory', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`${dtype}: a clear error, nothing changed, and a retry after freeing memory works`, () => {
      const kernels = createCompiledKernels({ threads: 1, maximumPages: SMALL_PAGES[dtype], initialPages: 1, maximumMemories: 2 });
      // A first optimizer takes most of one memory; the model needs more than the other one.
      const bystanders = [new Variable(dtype === 'float64' ? new Float64Array(150_000) : new Float32Array(150_000))];
      const first = adamOn(kernels, {});
      first.applyGradients(bystanders.map((v) => [v.value.map(() => 1), v]));
      const variables = [50_000, 50_001, 49_999, 50_000].map((n, i) => {
        const rand = random(i);
        const values = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
        return new Variable(values.map(() => rand() - 0.5), { name: `w${i}` });
      });
      const fresh = variables.map((v) => new Variable(v.read(), { name: v.name }));
      const before = variables.map((v) => v.read());
      const opt = adamOn(kernels, FULL);
      const inUse = kernels.bytesInUse;
      assert.throws(() => opt.applyGradients(gradients(variables, 0, false)), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, /cannot build the state of variable 'w\d'/);
        assert.match(error.message, /out of kernel memory: \d+ more bytes needed, \d+ bytes in use/);
        assert.match(error.message, /fewer parameters/);
        assert.match(error.message, /jitCompile: false/);
        return true;
      });
      assert.equal(opt.built, false, 'the optimizer stays unbuilt');
      assert.equal(opt.iterations, 0);
      assert.equal(kernels.bytesInUse, inUse, 'every block allocated for the failed build was given back');
      variables.forEach((v, i) => {
        assert.deepEqual(v.value, before[i], `${v.name} is unchanged`);
        assert.ok(!kernels.owns(v.value), `${v.name} stayed in its own array`);
      });
      // Free the first optimizer's memory; the same call then builds and steps, exactly as on a
      // kernel set that never ran out.
      first.dispose();
      for (const v of bystanders) v.dispose();
      for (let s = 0; s < 3; s++) opt.applyGradients(gradients(variables, s, false));
      const reference = adamOn(createCompiledKernels({ threads: 1 }), FULL);
      for (let s = 0; s < 3; s++) reference.applyGradients(gradients(fresh, s, false));
      variables.forEach((v, i) => assert.deepEqual(v.value, fresh[i].value, `${v.name} after the retry`));
      assert.deepEqual(opt.getWeights(), reference.getWeights());
    });
  }

  test('a sparse step short of scratch memory changes nothing, the dense variables of the step included', () => {
    // One memory of 150 pages holds two variables' values, m, v and the embedding's gradient buffer,
    // but not also the zero scratch (the embedding's size) that its sparse step needs.
    const kernels = createCompiledKernels({ threads: 1, maximumPages: 150, initialPages: 1, maximumMemories: 1 });
    const rows = 1000;
    const cols = 512;
    const dense = new Variable(Float32Array.from({ length: 1000 }, (_, i) => i / 1000), { name: 'dense' });
    const embedding = new Variable(new Float32Array(rows * cols).fill(0.5), { name: 'embedding', shape: [rows, cols] });
    const opt = adamOn(kernels, { learningRate: 0.01 });
    opt.build([dense, embedding]);
    opt.gradientBuffer(embedding).value.fill(0); // takes the room kept for the embedding's gradient
    const values = [dense.read(), embedding.read()];
    const state = opt.getWeights();
    const denseGrad = new Float32Array(1000).fill(0.1);
    const sparseGrad = () => new IndexedSlices(new Float32Array(2 * cols).fill(1), [3, 7], [rows, cols]);
    assert.throws(() => opt.applyGradients([[denseGrad, dense], [sparseGrad(), embedding]]), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /out of kernel memory: \d+ more bytes needed/);
      return true;
    });
    assert.equal(opt.iterations, 0);
    assert.deepEqual(dense.value, values[0], 'the dense variable of the failed step is unchanged');
    assert.deepEqual(embedding.value, values[1]);
    assert.deepEqual(opt.getWeights(), state, 'm and v are unchanged');
    // Dense steps need no scratch of the embedding's size: they go on working.
    opt.applyGradients([[denseGrad, dense], [new Float32Array(rows * cols), embedding]]);
    assert.equal(opt.iterations, 1);
    assert.notDeepEqual(dense.value, values[0]);
  });

  test('a variable larger than one memory gets an error naming it', () => {
    const kernels = createCompiledKernels({ threads: 1, maximumPages: SMALL_PAGES.float32, initialPages: 1 });
    const huge = new Variable(new Float32Array(300_000), { name: 'huge' }); // 1.2 MB, x4 with m, v, gradient
    const opt = adamOn(kernels, { amsgrad: true });
    assert.throws(() => opt.build([huge]), /variable 'huge'.*more than one WebAssembly memory holds/s);
    assert.equal(opt.built, false);
    assert.ok(!kernels.owns(huge.value));
    const small = new Variable(new Float32Array(1000), { name: 'small' });
    opt.applyGradients([[new Float32Array(1000).fill(1), small]]);
    assert.equal(opt.iterations, 1);
  });
});

describe('storage past 2 GiB of one memory', () => {
  // Byte offsets of 2^31 and more are negative as int32: every offset must be read as unsigned.
  // The 2 GiB block below is never written, so it costs address space, not memory.
  for (const threads of [1, 3]) {
    test(`${threads} thread${threads > 1 ? 's' : ''}: steps, sums and sparse rows are bit-identical to a small memory`, async () => {
      const high = createCompiledKernels({ threads });
      const filler = high.allocate('float32', 2 ** 29 + 4096);
      const probe = high.allocate('float32', 4);
      assert.ok(probe.array.byteOffset >= 2 ** 31, 'later storage lies past 2 GiB');
      high.release(probe);
      if (threads > 1) await startWorkers(high);
      for (const dtype of ['float32', 'float64'] as const) {
        const expected = run(createCompiledKernels({ threads: 1 }), dtype, true, 3);
        const actual = run(high, dtype, true, 3);
        actual.values.forEach((v, i) => assert.deepEqual(v, expected.values[i], `${dtype} variable ${i}`));
        actual.state.forEach((w, i) => assert.deepEqual(w, expected.state[i], `${dtype} state array ${i}`));
      }
      assert.equal(high.memoryCount, 1);
      high.release(filler);
      high.stopWorkers();
    });
  }
});

describe('a memory the engine refuses to grow', () => {
  test('the following variables go to the next memory, with the same numbers', () => {
    // Simulates a browser out of address space: no memory may grow past 64 pages (4 MiB).
    const grow = WebAssembly.Memory.prototype.grow;
    const limited = function (this: WebAssembly.Memory, delta: number): number {
      if (this.buffer.byteLength / 65536 + delta > 64) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      return grow.call(this, delta);
    };
    const expected = run(createCompiledKernels({ threads: 1 }), 'float32', true, 3);
    WebAssembly.Memory.prototype.grow = limited;
    let kernels: CompiledKernels;
    let actual: ReturnType<typeof run>;
    try {
      kernels = createCompiledKernels({ threads: 1, initialPages: 1 });
      actual = run(kernels, 'float32', true, 3);
    } finally {
      WebAssembly.Memory.prototype.grow = grow;
    }
    assert.ok(kernels.memoryCount >= 2, `the model spans ${kernels.memoryCount} memories`);
    for (const memory of kernels.memories.list) assert.ok(memory.arena.byteLength <= 64 * 65536);
    actual.values.forEach((v, i) => assert.deepEqual(v, expected.values[i], `variable ${i}`));
    actual.state.forEach((w, i) => assert.deepEqual(w, expected.state[i], `state array ${i}`));
  });
});
