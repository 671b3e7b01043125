// Semantics section 2: the Adam update of one variable, against an independent float64 oracle and
// against the reference's own documented examples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Adam, IndexedSlices, Variable } from '../src/index.js';
import { assertClose, forEachKernelSet, oracleStep, random } from './support.js';

forEachKernelSet((jitCompile) => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const amsgrad of [false, true]) {
      for (const adaptiveEpsilon of [false, true]) {
        test(`dense ${dtype} amsgrad=${amsgrad} adaptiveEpsilon=${adaptiveEpsilon} follows the formula for 6 steps`, () => {
          const rand = random(7);
          const n = 37;
          const init = Array.from({ length: n }, () => rand() * 2 - 1);
          const w = new Variable(init, { dtype, name: 'w' });
          const opt = new Adam({ learningRate: 0.01, beta1: 0.8, beta2: 0.95, epsilon: 1e-3, amsgrad, adaptiveEpsilon, jitCompile });
          const p = [...w.value];
          const m = new Array<number>(n).fill(0);
          const v = new Array<number>(n).fill(0);
          const vhat = amsgrad ? new Array<number>(n).fill(0) : null;
          for (let t = 1; t <= 6; t++) {
            // Shrinking gradients make vhat differ from v under amsgrad.
            const g = Array.from({ length: n }, () => (rand() * 2 - 1) * 10 ** (2 - t));
            const grad = dtype === 'float64' ? new Float64Array(g) : new Float32Array(g);
            const returned = opt.applyGradients([[grad, w]]);
            assert.equal(returned, t);
            oracleStep(p, Array.from(grad), m, v, vhat, { lr: 0.01, b1: 0.8, b2: 0.95, eps: 1e-3, t, adaptive: adaptiveEpsilon });
            assertClose(w.value, p, dtype === 'float64' ? { rtol: 1e-12, atol: 1e-15 } : { rtol: 1e-5, atol: 1e-6 });
          }
        });
      }
    }
  }

  test('Keras single step: Adam(0.5) moves each element by 0.5', () => {
    const w = new Variable([1, 2, 3, 4]);
    new Adam({ learningRate: 0.5, jitCompile }).applyGradients([[new Float32Array([1, 6, 7, 2]), w]]);
    assertClose(w.value, [0.5, 1.5, 2.5, 3.5], { rtol: 1e-4, atol: 1e-4 });
  });

  test('Keras golden trajectory with amsgrad', () => {
    const x = new Variable(new Float32Array(10).fill(1));
    const opt = new Adam({ amsgrad: true, jitCompile });
    const grads = new Float32Array(Array.from({ length: 10 }, (_, i) => 0.1 * (i + 1)));
    const golden = [0.999, 0.9982, 0.9974, 0.9965, 0.9955];
    opt.applyGradients([[new Float32Array(10).fill(0.01), x]]);
    for (const expected of golden) {
      assertClose(x.value, new Array(10).fill(expected), { rtol: 5e-4, atol: 5e-4 });
      opt.applyGradients([[grads, x]]);
    }
  });

  test('adaptiveEpsilon: true equals the PyTorch form lr * mhat / (sqrt(vhat) + eps) (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.double({ min: 0.5, max: 0.9999, noNaN: true }),
        fc.double({ min: 1e-8, max: 1e-1, noNaN: true }),
        (steps, lr, b1, b2, eps) => {
          const w = new Variable(new Float64Array([0.5, -0.5, 1, 2]));
          const opt = new Adam({ learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, adaptiveEpsilon: true, jitCompile });
          const p = [0.5, -0.5, 1, 2];
          const m = [0, 0, 0, 0];
          const v = [0, 0, 0, 0];
          steps.forEach((g, k) => {
            const t = k + 1;
            opt.applyGradients([[new Float64Array(g), w]]);
            for (let i = 0; i < 4; i++) {
              m[i] = b1 * m[i] + (1 - b1) * g[i];
              v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
              const mhat = m[i] / (1 - b1 ** t);
              const vhat = v[i] / (1 - b2 ** t);
              p[i] -= (lr * mhat) / (Math.sqrt(vhat) + eps);
            }
          });
          assertClose(w.value, p, { rtol: 1e-9, atol: 1e-12 });
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a sparse gradient equals the dense gradient with zero rows (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({
          indices: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
          seed: fc.integer(),
        }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.constantFrom('float32', 'float64') as fc.Arbitrary<'float32' | 'float64'>,
        (steps, amsgrad, dtype) => {
          const rowSize = 3;
          const init = Array.from({ length: 18 }, (_, i) => Math.sin(i));
          const sparseVar = new Variable(init, { dtype, shape: [6, 3] });
          const denseVar = new Variable(init, { dtype, shape: [6, 3] });
          const sparseOpt = new Adam({ learningRate: 0.05, amsgrad, weightDecay: 0.01, useEma: true, jitCompile });
          const denseOpt = new Adam({ learningRate: 0.05, amsgrad, weightDecay: 0.01, useEma: true, jitCompile });
          for (const { indices, seed } of steps) {
            const rand = random(seed);
            const rows = Array.from({ length: indices.length * rowSize }, () => rand() * 4 - 2);
            const dense = dtype === 'float64' ? new Float64Array(18) : new Float32Array(18);
            indices.forEach((index, r) => {
              for (let j = 0; j < rowSize; j++) dense[index * rowSize + j] += rows[r * rowSize + j];
            });
            const values = dtype === 'float64' ? new Float64Array(rows) : new Float32Array(rows);
            sparseOpt.applyGradients([[new IndexedSlices(values, indices, [6, 3]), sparseVar]]);
            denseOpt.applyGradients([[dense, denseVar]]);
          }
          const tol = dtype === 'float64' ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 1e-5, atol: 1e-6 };
          assertClose(sparseVar.value, denseVar.value, tol);
          sparseOpt.getWeights().forEach((w, i) => assertClose(w, denseOpt.getWeights()[i], { ...tol, what: `state ${i}` }));
        },
      ),
      { numRuns: 40 },
    );
  });

  test('the sparse path decays the whole accumulators (rows without a gradient move too)', () => {
    const w = new Variable([1, 1, 1, 1], { shape: [2, 2], dtype: 'float64' });
    const opt = new Adam({ learningRate: 0.1, jitCompile });
    opt.applyGradients([[new IndexedSlices(new Float64Array([1, 1]), [0], [2, 2]), w]]);
    assert.deepEqual(Array.from(w.value.slice(2)), [1, 1], 'row 1 has m = 0 after the first step');
    opt.applyGradients([[new IndexedSlices(new Float64Array([1, 1]), [1], [2, 2]), w]]);
    assert.ok(w.value[0] < 0.9 - 0.05, 'row 0 keeps moving on momentum although it got no gradient');
  });
});
