// The compiled (WebAssembly SIMD) kernels against the reference kernels, directly: random data,
// both dtypes, every flag combination, many variables of assorted lengths; and the memory rules
// (arena growth, in-place placement, gradient buffers, copied-in gradients).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  createCompiledKernels,
  isKernelMemory,
  loadCompiledKernels,
  type CompiledKernels,
} from '../src/kernels/compiled/index.js';
import { wasmBinaryBase64, wasmSharedBinaryBase64 } from '../src/kernels/compiled/wasm-binary.generated.js';
import type { AdamKernels, DenseSlotSet, SparseSlotSet, StepScalars } from '../src/kernels/kernel.js';
import { referenceKernels } from '../src/kernels/reference.js';
import { HeapStorage, type Dtype, type FloatArray, type Storage } from '../src/storage.js';
import { random as rng } from './support.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type GradSource = 'kernel' | 'heap' | 'unaligned' | 'float64-into-float32';

/** Per-step agreement: float32 runs in f32 (as Keras does), float64 is the reference's arithmetic. */
const RTOL = { float32: 1e-6, float64: 1e-12 } as const;
const NUM_RUNS = 60;

/** Values in [lo, hi), one in ten exactly zero. */
function fill(array: FloatArray, rand: () => number, lo: number, hi: number): void {
  for (let i = 0; i < array.length; i++) array[i] = rand() < 0.1 ? 0 : lo + (hi - lo) * rand();
}

function newArray(dtype: Dtype, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

function heapCopy(storage: Storage | null): Storage | null {
  return storage === null ? null : new HeapStorage(storage.array.slice());
}

/**
 * Asserts |actual - expected| <= rtol * scale elementwise, where scale is the magnitude of the
 * terms that form each value (a result that cancels is judged against its inputs, not itself).
 */
function assertWithin(
  actual: FloatArray, expected: FloatArray, scale: Float64Array, rtol: number, what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ok = Math.abs(a - e) <= rtol * scale[i] + 1e-30;
    if (!ok) assert.fail(`${what}[${i}]: compiled ${a}, reference ${e} (scale ${scale[i]}, rtol ${rtol})`);
  }
}

function assertIdentical(actual: FloatArray, expected: FloatArray, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}[${i}]: compiled ${actual[i]}, reference ${expected[i]} (float64 must be bit-identical)`);
    }
  }
}

interface Inputs {
  p: FloatArray;
  g: ArrayLike<number> | null; // null: sparse (the scattered rows are passed separately)
  m: FloatArray;
  v: FloatArray;
  vhat: FloatArray | null;
  average: FloatArray | null;
}

/** The magnitudes that bound each output's rounding, from a step's inputs and reference outputs. */
function scales(
  input: Inputs, gEff: Float64Array, out: { v: FloatArray; vhat: FloatArray | null },
  s: StepScalars, useVhat: boolean, useEma: boolean,
) {
  const n = input.p.length;
  const sm = new Float64Array(n);
  const sv = new Float64Array(n);
  const sh = new Float64Array(n);
  const sp = new Float64Array(n);
  const sa = new Float64Array(n);
  const mom = s.emaMomentum ?? 0;
  for (let i = 0; i < n; i++) {
    const g = Math.abs(gEff[i]);
    sm[i] = Math.abs(input.m[i]) + g;
    sv[i] = Math.abs(input.v[i]) + g * g;
    sh[i] = useVhat ? Math.max(Math.abs(input.vhat![i]), sv[i]) : sv[i];
    const second = useVhat ? out.vhat![i] : out.v[i];
    sp[i] = Math.abs(input.p[i]) + (s.alpha * sm[i]) / (Math.sqrt(second) + s.epsilon);
    if (useEma) {
      sa[i] = mom * Math.abs(input.average![i]) + (1 - mom) * sp[i];
      if (s.emaOverwrite) sp[i] = sa[i];
    }
  }
  return { sm, sv, sh, sp, sa };
}

function snapshot(set: { param: Storage; m: Storage; v: Storage; vhat: Storage | null; average: Storage | null }): Inputs {
  return {
    p: set.param.array.slice(),
    g: null,
    m: set.m.array.slice(),
    v: set.v.array.slice(),
    vhat: set.vhat === null ? null : set.vhat.array.slice(),
    average: set.average === null ? null : set.average.array.slice(),
  };
}

/** Compares one variable after a step, and makes the reference state equal the compiled one. */
function compareAndSync(
  dtype: Dtype, compiled: DenseSlotSet | SparseSlotSet, reference: DenseSlotSet | SparseSlotSet,
  input: Inputs, gEff: Float64Array, s: StepScalars, label: string,
): void {
  const useVhat = s.amsgrad && reference.vhat !== null;
  const useEma = s.emaMomentum !== null && reference.average !== null;
  const sc = scales(input, gEff, { v: reference.v.array, vhat: reference.vhat?.array ?? null }, s, useVhat, useEma);
  const rtol = RTOL[dtype];
  const pairs: [Storage | null, Storage | null, Float64Array, string][] = [
    [compiled.param, reference.param, sc.sp, 'param'],
    [compiled.m, reference.m, sc.sm, 'm'],
    [compiled.v, reference.v, sc.sv, 'v'],
    [compiled.vhat, reference.vhat, sc.sh, 'vhat'],
    [compiled.average, reference.average, sc.sa, 'average'],
  ];
  for (const [c, r, scale, name] of pairs) {
    if (c === null || r === null) continue;
    assertWithin(c.array, r.array, scale, rtol, `${label} ${name}`);
    if (dtype === 'float64') assertIdentical(c.array, r.array, `${label} ${name}`);
    r.array.set(c.array);
  }
}

/** The gradient a dense step sees per element: scaled and clipped, in float64. */
function effectiveGrad(g: ArrayLike<number>, gradScale: number, clip: number): Float64Array {
  const out = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const x = g[i] * gradScale;
    out[i] = clip > 0 ? Math.min(Math.max(x, -clip), clip) : x;
  }
  return out;
}

const scalarsArb: fc.Arbitrary<StepScalars> = fc.record({
  alpha: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
  epsilon: fc.constantFrom(1e-7, 1e-8, 1e-3),
  oneMinusBeta1: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
  oneMinusBeta2: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
  amsgrad: fc.boolean(),
  clipValue: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 2, noNaN: true })),
  emaMomentum: fc.option(fc.double({ min: 0.5, max: 0.999, noNaN: true }), { nil: null }),
  emaOverwrite: fc.boolean(),
});

const lengthArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33),
  fc.integer({ min: 0, max: 300 }),
);

const denseVarArb = fc.record({
  length: lengthArb,
  gradScale: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 2, noNaN: true })),
  decay: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 0.05, noNaN: true })),
  gradSource: fc.constantFrom<GradSource>('kernel', 'heap', 'unaligned', 'float64-into-float32'),
  gradMagnitude: fc.integer({ min: -3, max: 2 }),
  /** A set without vhat (or average) when amsgrad (or EMA) is on runs without that feature. */
  dropVhat: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
  dropAverage: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
  seed: fc.integer(),
});

const denseScenarioArb = fc.record({
  dtype: fc.constantFrom<Dtype>('float32', 'float64'),
  scalars: scalarsArb,
  vars: fc.array(denseVarArb, { minLength: 1, maxLength: 8 }),
});

interface DenseVariable {
  compiled: Mutable<DenseSlotSet>;
  reference: Mutable<DenseSlotSet>;
  gradStorage: Storage | null; // the kernel-memory block the gradient lives in, if any
  gradSource: GradSource;
  owned: Storage[];
  rand: () => number;
  magnitude: number;
}

function makeDenseVariable(
  ck: CompiledKernels, dtype: Dtype, s: StepScalars, spec: ValueOf<typeof denseVarArb>,
): DenseVariable {
  const rand = rng(spec.seed);
  const n = spec.length;
  const owned: Storage[] = [];
  const alloc = (): Storage => {
    const st = ck.allocate(dtype, n);
    owned.push(st);
    return st;
  };
  const param = alloc();
  const m = alloc();
  const v = alloc();
  const vhat = s.amsgrad && !spec.dropVhat ? alloc() : null;
  const average = s.emaMomentum !== null && !spec.dropAverage ? alloc() : null;
  let gradStorage: Storage | null = null;
  if (spec.gradSource === 'kernel') {
    gradStorage = ck.gradientBuffer(dtype, n);
    owned.push(gradStorage);
  } else if (spec.gradSource === 'unaligned') {
    gradStorage = ck.allocate(dtype, n + 1);
    owned.push(gradStorage);
  }
  fill(param.array, rand, -5, 5);
  fill(m.array, rand, -1, 1);
  fill(v.array, rand, 0, 2);
  if (vhat !== null) fill(vhat.array, rand, 0, 2);
  if (average !== null) fill(average.array, rand, -5, 5);
  const compiled: Mutable<DenseSlotSet> = {
    param, grad: new Float32Array(0), m, v, vhat, average, gradScale: spec.gradScale, decay: spec.decay,
  };
  const reference: Mutable<DenseSlotSet> = {
    param: heapCopy(param)!, grad: new Float32Array(0), m: heapCopy(m)!, v: heapCopy(v)!,
    vhat: heapCopy(vhat), average: heapCopy(average), gradScale: spec.gradScale, decay: spec.decay,
  };
  return { compiled, reference, gradStorage, gradSource: spec.gradSource, owned, rand, magnitude: 10 ** spec.gradMagnitude };
}

/**
 * Writes fresh gradient values for the next step, the way a caller would: into the kernel buffer
 * (re-reading its array, since the memory may have grown), or into an ordinary array (alternately
 * the same array, to check it is copied in on every call, and a new one).
 */
function newGradient(dv: DenseVariable, dtype: Dtype, step: number): void {
  const n = dv.compiled.param.length;
  let grad: FloatArray;
  if (dv.gradSource === 'kernel') {
    grad = dv.gradStorage!.array;
  } else if (dv.gradSource === 'unaligned') {
    grad = dv.gradStorage!.array.subarray(1);
  } else {
    const type: Dtype = dv.gradSource === 'heap' ? dtype : 'float64';
    grad = step === 3 ? dv.compiled.grad : newArray(type, n); // step 3 refills step 2's array
  }
  fill(grad, dv.rand, -3 * dv.magnitude, 3 * dv.magnitude);
  dv.compiled.grad = grad;
  // The reference reads the very values the compiled kernel reads (a float64 array into a float32
  // variable is rounded when copied in; the reference would round later, so give it the rounded
  // values to compare the arithmetic, not the copy).
  dv.reference.grad = dtype === 'float32' ? Float32Array.from(grad) : Float64Array.from(grad);
}

function runDenseScenario(ck: CompiledKernels, scenario: ValueOf<typeof denseScenarioArb>): void {
  const { dtype, scalars: s } = scenario;
  const vars = scenario.vars.map((spec) => makeDenseVariable(ck, dtype, s, spec));
  try {
    // Step 1 builds the table, step 2 reuses the same list (the cached path), step 3 comes with new
    // set objects (rebuilt).
    let compiledList = vars.map((dv) => dv.compiled);
    for (let step = 1; step <= 3; step++) {
      for (const dv of vars) newGradient(dv, dtype, step);
      if (step === 3) {
        for (const dv of vars) dv.compiled = { ...dv.compiled };
        compiledList = vars.map((dv) => dv.compiled);
      }
      const inputs = vars.map((dv) => snapshot(dv.reference));
      referenceKernels.denseStep(vars.map((dv) => dv.reference), s);
      ck.denseStep(compiledList, s);
      vars.forEach((dv, k) => {
        const g = effectiveGrad(dv.reference.grad, dv.reference.gradScale, s.clipValue);
        compareAndSync(dtype, dv.compiled, dv.reference, inputs[k], g, s, `step ${step} var ${k} (n=${dv.compiled.param.length}, ${dv.gradSource})`);
      });
    }
  } finally {
    for (const dv of vars) for (const st of dv.owned) ck.release(st);
  }
}

const sparseScenarioArb = fc.record({
  dtype: fc.constantFrom<Dtype>('float32', 'float64'),
  scalars: scalarsArb,
  rowCount: fc.integer({ min: 1, max: 40 }),
  rowSize: fc.integer({ min: 1, max: 9 }),
  decay: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 0.05, noNaN: true })),
  rowsSource: fc.constantFrom('heap', 'kernel', 'kernel-other-dtype'),
  dropVhat: fc.boolean(),
  dropAverage: fc.boolean(),
  seed: fc.integer(),
});

function runSparseScenario(ck: CompiledKernels, scenario: ValueOf<typeof sparseScenarioArb>): void {
  const { dtype, scalars: s, rowCount, rowSize } = scenario;
  const rand = rng(scenario.seed);
  const n = rowCount * rowSize;
  const owned: Storage[] = [];
  const alloc = (length: number): Storage => {
    const st = ck.allocate(dtype, length);
    owned.push(st);
    return st;
  };
  try {
    const param = alloc(n);
    const m = alloc(n);
    const v = alloc(n);
    const vhat = s.amsgrad && !scenario.dropVhat ? alloc(n) : null;
    const average = s.emaMomentum !== null && !scenario.dropAverage ? alloc(n) : null;
    fill(param.array, rand, -5, 5);
    fill(m.array, rand, -1, 1);
    fill(v.array, rand, 0, 2);
    if (vhat !== null) fill(vhat.array, rand, 0, 2);
    if (average !== null) fill(average.array, rand, -5, 5);
    const refState = {
      param: heapCopy(param)!, m: heapCopy(m)!, v: heapCopy(v)!, vhat: heapCopy(vhat), average: heapCopy(average),
    };
    for (let step = 1; step <= 2; step++) {
      // A random subset of the rows, in random order.
      const order = Array.from({ length: rowCount }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const indices = Int32Array.from(order.slice(0, Math.floor(rand() * (rowCount + 1))));
      let rows: FloatArray;
      const count = indices.length * rowSize;
      if (scenario.rowsSource === 'kernel') {
        rows = alloc(count).array;
      } else if (scenario.rowsSource === 'kernel-other-dtype') {
        const st = ck.allocate(dtype === 'float64' ? 'float32' : 'float64', count);
        owned.push(st);
        rows = st.array;
      } else {
        rows = newArray(dtype, count);
      }
      fill(rows, rand, -3, 3);
      const gEff = new Float64Array(n);
      indices.forEach((r, k) => {
        for (let j = 0; j < rowSize; j++) gEff[r * rowSize + j] = rows[k * rowSize + j];
      });
      const compiled: SparseSlotSet = {
        param, m, v, vhat, average, decay: scenario.decay, indices, rows, rowSize,
      };
      // The reference reads the rows as the compiled kernel does, in the variable's dtype.
      const refRows = dtype === 'float64' ? Float64Array.from(rows) : Float32Array.from(rows);
      const reference: SparseSlotSet = { ...refState, decay: scenario.decay, indices, rows: refRows, rowSize };
      const input = snapshot(reference);
      referenceKernels.sparseStep(reference, s);
      ck.sparseStep(compiled, s);
      compareAndSync(dtype, compiled, reference, input, gEff, s, `sparse step ${step} (${rowCount}x${rowSize}, ${indices.length} rows)`);
    }
  } finally {
    for (const st of owned) ck.release(st);
  }
}

function denseSet(k: AdamKernels, dtype: Dtype, values: number[], grad: FloatArray): Mutable<DenseSlotSet> {
  const param = k.allocate(dtype, values.length);
  param.array.set(values);
  return {
    param, grad, m: k.allocate(dtype, values.length), v: k.allocate(dtype, values.length),
    vhat: null, average: null, gradScale: 1, decay: 0,
  };
}

const plainScalars: StepScalars = {
  alpha: 0.01, epsilon: 1e-7, oneMinusBeta1: 0.1, oneMinusBeta2: 0.001, amsgrad: false,
  clipValue: 0, emaMomentum: null, emaOverwrite: false,
};

const loaded = loadCompiledKernels();

test('compiled kernels load in Node 20 (WebAssembly SIMD), once', () => {
  assert.ok(loaded !== null);
  assert.equal(loaded.name, 'compiled');
  assert.equal(loadCompiledKernels(), loaded);
});

test('each wasm binary stays under the 4 KB that browsers compile synchronously', () => {
  for (const text of [wasmBinaryBase64, wasmSharedBinaryBase64]) {
    const bytes = Buffer.from(text, 'base64');
    assert.ok(WebAssembly.validate(bytes));
    assert.ok(bytes.length < 4096, `${bytes.length} bytes`);
  }
});

const memories = [
  { label: 'default memory', make: () => loaded as CompiledKernels },
  { label: 'shared memory from one page', make: () => createCompiledKernels({ shared: true, initialPages: 1 }) },
  { label: 'ordinary memory from one page', make: () => createCompiledKernels({ shared: false, initialPages: 1 }) },
];

for (const { label, make } of memories) {
  describe(`compiled vs reference, ${label}`, () => {
    const ck = make();

    test('dense steps agree: both dtypes, every flag, assorted lengths and gradient sources (property)', () => {
      fc.assert(fc.property(denseScenarioArb, (scenario) => runDenseScenario(ck, scenario)), { numRuns: NUM_RUNS });
    });

    test('every flag combination, explicitly', () => {
      let seed = 1;
      for (const dtype of ['float32', 'float64'] as const) {
        for (const amsgrad of [false, true]) {
          for (const clipValue of [0, 0.5]) {
            for (const gradScale of [1, 0.7]) {
              for (const decay of [0, 0.01]) {
                for (const emaMomentum of [null, 0.9]) {
                  for (const emaOverwrite of emaMomentum === null ? [false] : [false, true]) {
                    const s: StepScalars = {
                      alpha: 0.003, epsilon: 1e-7, oneMinusBeta1: 0.1, oneMinusBeta2: 0.001,
                      amsgrad, clipValue, emaMomentum, emaOverwrite,
                    };
                    const vars = [1, 3, 4, 17, 64].map((length) => ({
                      length, gradScale, decay, gradSource: 'kernel' as const, gradMagnitude: 0,
                      dropVhat: false, dropAverage: false, seed: seed++,
                    }));
                    runDenseScenario(ck, { dtype, scalars: s, vars });
                  }
                }
              }
            }
          }
        }
      }
    });

    test('sparse steps agree: random unique rows, both dtypes, every flag (property)', () => {
      fc.assert(fc.property(sparseScenarioArb, (scenario) => runSparseScenario(ck, scenario)), { numRuns: NUM_RUNS });
    });

    test('sumOfSquares agrees: kernel, ordinary and unaligned arrays (property)', () => {
      fc.assert(
        fc.property(
          fc.constantFrom<Dtype>('float32', 'float64'),
          fc.integer({ min: 0, max: 300 }),
          fc.constantFrom('kernel', 'heap', 'unaligned'),
          fc.integer(),
          (dtype, n, source, seed) => {
            const rand = rng(seed);
            const block = source === 'heap' ? null : ck.allocate(dtype, n + 1);
            try {
              const values = block === null ? newArray(dtype, n)
                : source === 'unaligned' ? block.array.subarray(1) : block.array.subarray(0, n);
              fill(values, rand, -100, 100);
              const expected = referenceKernels.sumOfSquares(values);
              const actual = ck.sumOfSquares(values);
              assert.ok(Math.abs(actual - expected) <= 1e-12 * expected, `${actual} vs ${expected}`);
            } finally {
              if (block !== null) ck.release(block);
            }
          },
        ),
        { numRuns: NUM_RUNS },
      );
      for (const dtype of ['float32', 'float64'] as const) {
        const big = newArray(dtype, 100_003);
        fill(big, rng(3), -1, 1);
        const expected = referenceKernels.sumOfSquares(big);
        assert.ok(Math.abs(ck.sumOfSquares(big) - expected) <= 1e-12 * expected);
      }
    });

    test('sumsOfSquares stays right when staging an ordinary array grows the memory', () => {
      const small = createCompiledKernels({ shared: false, initialPages: 1 });
      const block = small.allocate('float32', 1000);
      const inKernel = block.array;
      fill(inKernel, rng(5), -1, 1);
      const big = newArray('float64', 200_000); // staged: needs more than the first page
      fill(big, rng(6), -1, 1);
      const expected = [referenceKernels.sumOfSquares(big), referenceKernels.sumOfSquares(inKernel)];
      const out = new Float64Array(2);
      small.sumsOfSquares([big, inKernel], out);
      assert.ok(expected[1] > 0);
      for (let i = 0; i < 2; i++) assert.ok(Math.abs(out[i] - expected[i]) <= 1e-12 * expected[i], `${i}: ${out[i]} vs ${expected[i]}`);
    });

    test('sumsOfSquares over a mixed list equals sumOfSquares of each (property)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({
            dtype: fc.constantFrom<Dtype>('float32', 'float64'),
            n: fc.integer({ min: 0, max: 200 }),
            source: fc.constantFrom('kernel', 'heap', 'unaligned'),
          }), { maxLength: 12 }),
          fc.integer(),
          (specs, seed) => {
            const rand = rng(seed);
            // Allocate first: growing an ordinary memory detaches views made before it.
            const blocks = specs.map(({ dtype, n, source }) => (source === 'heap' ? null : ck.allocate(dtype, n + 1)));
            try {
              const arrays = specs.map(({ dtype, n, source }, i) => {
                const block = blocks[i];
                const array = block === null ? newArray(dtype, n)
                  : source === 'unaligned' ? block.array.subarray(1) : block.array.subarray(0, n);
                fill(array, rand, -10, 10);
                assert.equal(array.length, n);
                return array;
              });
              // Expected first: staging an ordinary array may grow (and detach) the memory.
              const expectedSums = arrays.map((a) => referenceKernels.sumOfSquares(a));
              const out = new Float64Array(arrays.length + 1).fill(-1);
              ck.sumsOfSquares(arrays, out);
              arrays.forEach((_, i) => {
                const expected = expectedSums[i];
                assert.ok(Math.abs(out[i] - expected) <= 1e-12 * expected, `array ${i}: ${out[i]} vs ${expected}`);
              });
              assert.equal(out[arrays.length], -1, 'nothing written past the list');
            } finally {
              for (const block of blocks) if (block !== null) ck.release(block);
            }
          },
        ),
        { numRuns: NUM_RUNS },
      );
    });
  });
}

describe('compiled kernel memory', () => {
  test('a variable\'s storages never start at the same offset modulo 4 KiB (no 4 KiB aliasing)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 256, max: 1 << 17 }), fc.constantFrom<Dtype>('float32', 'float64'), (length, dtype) => {
        const ck = createCompiledKernels({ initialPages: 1 });
        const values = dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
        const param = ck.place(values, 4);
        const companions = [0, 1, 2, 3].map(() => ck.allocate(dtype, length, param));
        const gradient = ck.gradientBuffer(dtype, length, param);
        const offsets = [param, ...companions, gradient].map((s) => s.array.byteOffset % 4096);
        assert.equal(new Set(offsets).size, offsets.length, `offsets mod 4096 of ${length} ${dtype}: ${offsets.join(', ')}`);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  for (const shared of [true, false]) {
    test(`growth keeps storages valid (${shared ? 'shared' : 'ordinary'} memory)`, () => {
      const ck = createCompiledKernels({ shared, initialPages: 1 });
      assert.equal(ck.sharedMemory, shared);
      const a = ck.allocate('float32', 1000);
      const values = Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);
      a.array.set(values);
      const before = a.array;
      const grad = ck.gradientBuffer('float32', 1000);
      grad.array.fill(0.25);
      const bytesBefore = ck.arena.byteLength;
      const big = ck.allocate('float64', 1 << 20); // 8 MiB: grows the one-page memory
      assert.ok(ck.arena.byteLength > bytesBefore);
      assert.deepEqual(Array.from(a.array), Array.from(Float32Array.from(values)));
      assert.equal(a.array.buffer, ck.arena.u8.buffer);
      assert.ok(ck.owns(a.array));
      if (shared) {
        // A shared memory's old views stay valid views of the same memory.
        assert.equal(before.length, 1000);
        assert.ok(ck.owns(before));
        before[0] = 42;
        assert.equal(a.array[0], 42);
        a.array[0] = values[0];
      } else {
        assert.equal(before.length, 0, 'an ordinary memory detaches old views on growth');
        assert.ok(!ck.owns(before));
      }
      // A step after growth reads and writes the moved storages.
      const set = { param: a, grad: grad.array, m: ck.allocate('float32', 1000), v: ck.allocate('float32', 1000),
        vhat: null, average: null, gradScale: 1, decay: 0 };
      const ref = { ...set, param: new HeapStorage(a.array.slice()), grad: grad.array.slice(),
        m: new HeapStorage(new Float32Array(1000)), v: new HeapStorage(new Float32Array(1000)) };
      ck.denseStep([set], plainScalars);
      referenceKernels.denseStep([ref], plainScalars);
      assert.deepEqual(Array.from(set.m.array), Array.from(ref.m.array));
      for (let i = 0; i < 1000; i++) assert.ok(Math.abs(set.param.array[i] - ref.param.array[i]) <= 1e-6 * (Math.abs(ref.param.array[i]) + 0.01));
      ck.release(big);
    });
  }

  test('place() of a kernel-memory array returns its storage without copying', () => {
    const ck = loaded as CompiledKernels;
    const s = ck.allocate('float32', 10);
    s.array.set([1, 2, 3]);
    const placed = ck.place(s.array);
    assert.equal(placed, s);
    assert.equal(placed.array.byteOffset, s.array.byteOffset);
    const g = ck.gradientBuffer('float64', 5);
    assert.equal(ck.place(g.array), g);
    ck.release(s);
    ck.release(g);
  });

  test('place() copies ordinary arrays and unaligned kernel views into kernel memory', () => {
    const ck = loaded as CompiledKernels;
    const values = new Float32Array([1, 2, 3, 4, 5]);
    const placed = ck.place(values);
    assert.notEqual(placed.array, values);
    assert.ok(isKernelMemory(placed.array));
    assert.equal(placed.array.byteOffset % 16, 0);
    assert.deepEqual(Array.from(placed.array), [1, 2, 3, 4, 5]);
    const block = ck.allocate('float64', 6);
    block.array.set([0, 1, 2, 3, 4, 5]);
    const sub = ck.place(block.array.subarray(1, 4));
    assert.notEqual(sub.array.byteOffset, block.array.byteOffset + 8);
    assert.deepEqual(Array.from(sub.array), [1, 2, 3]);
    sub.array[0] = 99;
    assert.equal(block.array[1], 1, 'a copy, not an alias');
    for (const st of [placed, block, sub]) ck.release(st);
  });

  test('gradientBuffer() is a zeroed, aligned view into kernel memory', () => {
    const ck = loaded as CompiledKernels;
    for (const dtype of ['float32', 'float64'] as const) {
      const g = ck.gradientBuffer(dtype, 13);
      assert.equal(g.dtype, dtype);
      assert.equal(g.length, 13);
      assert.ok(isKernelMemory(g.array));
      assert.equal(g.array.byteOffset % 16, 0);
      assert.deepEqual(Array.from(g.array), new Array(13).fill(0));
      ck.release(g);
    }
    assert.ok(!isKernelMemory(new Float32Array(4)));
  });

  test('ordinary gradient arrays are copied in on every call, also when the list repeats', () => {
    const ck = loaded as CompiledKernels;
    const grad = new Float32Array([0.5, -1, 2]);
    const set = denseSet(ck, 'float32', [1, 2, 3], grad);
    const ref = denseSet(referenceKernels, 'float32', [1, 2, 3], grad);
    const list = [set];
    for (let step = 0; step < 3; step++) {
      grad.set([step, -step * 0.5, 1 + step]); // same array, new contents
      ck.denseStep(list, plainScalars);
      referenceKernels.denseStep([ref], plainScalars);
      for (let i = 0; i < 3; i++) {
        assert.ok(Math.abs(set.param.array[i] - ref.param.array[i]) <= 1e-6 * 3, `step ${step}`);
        assert.ok(Math.abs(set.m.array[i] - ref.m.array[i]) <= 1e-6 * 3, `step ${step}`);
      }
      assert.ok(!isKernelMemory(grad), 'the caller\'s array stays where it is');
    }
    // A new ordinary array assigned to the same set object is picked up too.
    set.grad = new Float32Array([7, 7, 7]);
    ref.grad = set.grad;
    ck.denseStep(list, plainScalars);
    referenceKernels.denseStep([ref], plainScalars);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(set.m.array[i] - ref.m.array[i]) <= 1e-5);
  });

  test('float32 and float64 lists alternate, each with its own cached table', () => {
    const ck = loaded as CompiledKernels;
    const a = denseSet(ck, 'float32', [1, 2, 3, 4, 5], new Float32Array([1, 1, 1, 1, 1]));
    const b = denseSet(ck, 'float64', [1, 2], new Float64Array([-1, -1]));
    const ra = denseSet(referenceKernels, 'float32', [1, 2, 3, 4, 5], a.grad);
    const rb = denseSet(referenceKernels, 'float64', [1, 2], b.grad);
    const la = [a];
    const lb = [b];
    for (let step = 0; step < 4; step++) {
      ck.denseStep(la, plainScalars);
      ck.denseStep(lb, plainScalars);
      referenceKernels.denseStep([ra], plainScalars);
      referenceKernels.denseStep([rb], plainScalars);
    }
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(a.param.array[i] - ra.param.array[i]) <= 1e-5);
    assertIdentical(b.param.array, rb.param.array, 'float64 param');
  });

  test('storages of another kernel set are stepped by the reference kernels', () => {
    const ck = loaded as CompiledKernels;
    const grad = new Float32Array([0.3, -0.2]);
    const foreign = denseSet(referenceKernels, 'float32', [1, 2], grad);
    const ref = denseSet(referenceKernels, 'float32', [1, 2], grad);
    const ours = denseSet(ck, 'float32', [1, 2], grad);
    ck.denseStep([foreign, ours], plainScalars);
    referenceKernels.denseStep([ref], plainScalars);
    assert.deepEqual(Array.from(foreign.param.array), Array.from(ref.param.array));
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(ours.param.array[i] - ref.param.array[i]) <= 1e-6 * 2);
  });

  test('release() returns memory: the storage is dead, the block comes back zeroed', () => {
    const ck = createCompiledKernels({ initialPages: 1 });
    const a = ck.allocate('float32', 100);
    a.array.fill(3);
    const ptr = a.array.byteOffset;
    ck.release(a);
    assert.throws(() => a.array, /released/);
    const b = ck.allocate('float32', 100);
    assert.equal(b.array.byteOffset, ptr);
    assert.deepEqual(Array.from(b.array), new Array(100).fill(0));
  });

  test('special values: amsgrad keeps Math.max\'s NaN and signed-zero results, infinities stay', () => {
    const ck = loaded as CompiledKernels;
    // Per element: a NaN vhat; a NaN gradient; -0 states; an infinite vhat; an infinite parameter.
    const p0 = [1, 1, 1, 1, 1, Infinity];
    const g0 = [0.5, NaN, 0, 0, 0.5, 0.5];
    const v0 = [0.25, 0.25, -0, -0, 0.25, 0.25];
    const h0 = [NaN, 1, -0, 0, Infinity, 0.5];
    for (const dtype of ['float32', 'float64'] as const) {
      for (const decay of [0, 0.01]) {
        const s: StepScalars = { ...plainScalars, amsgrad: true, emaMomentum: 0.9 };
        const make = (k: AdamKernels): Mutable<DenseSlotSet> => {
          const st = (values: number[]) => {
            const x = k.allocate(dtype, values.length);
            x.array.set(values);
            return x;
          };
          return {
            param: st(p0), grad: dtype === 'float64' ? Float64Array.from(g0) : Float32Array.from(g0),
            m: st([0, 0, 0, 0, 0, 0]), v: st(v0), vhat: st(h0), average: st(p0), gradScale: 1, decay,
          };
        };
        const c = make(ck);
        const r = make(referenceKernels);
        ck.denseStep([c], s);
        referenceKernels.denseStep([r], s);
        for (const slot of ['param', 'vhat', 'v', 'average'] as const) {
          const a = c[slot]!.array;
          const e = r[slot]!.array;
          for (let i = 0; i < e.length; i++) {
            const same = Object.is(a[i], e[i]) || (Number.isFinite(e[i]) && e[i] !== 0 && Math.abs(a[i] - e[i]) <= 1e-6 * Math.abs(e[i]));
            assert.ok(same, `${dtype} decay=${decay} ${slot}[${i}]: compiled ${a[i]}, reference ${e[i]}`);
          }
        }
      }
    }
  });

  test('a list whose sets mix dtypes, and out-of-range sparse rows, are refused', () => {
    const ck = loaded as CompiledKernels;
    const a = denseSet(ck, 'float32', [1], new Float32Array(1));
    const b = denseSet(ck, 'float64', [1], new Float64Array(1));
    assert.throws(() => ck.denseStep([a, b], plainScalars), TypeError);
    const p = ck.allocate('float32', 6);
    assert.throws(() => ck.sparseStep({
      param: p, m: ck.allocate('float32', 6), v: ck.allocate('float32', 6), vhat: null, average: null,
      decay: 0, indices: Int32Array.of(3), rows: new Float32Array(2), rowSize: 2,
    }, plainScalars), RangeError);
  });
});
