// Bad input: a clear error naming the option or variable and the value, and nothing changed.
import assert from 'node:assert/strict';
import { test, describe } from 'node:test';
import fc from 'fast-check';
import { Adam, IndexedSlices, Variable, schedules, type AdamOptions, type GradientPair } from '../src/index.js';
import { captureWarnings, forEachKernelSet, snapshot } from './support.js';

describe('constructor options', () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ decay: 0.1 }, /legacy option 'decay'/],
    [{ lr: 0.1 }, /'lr'.*learningRate/],
    [{ gradient_aggregator: () => 0 }, /gradient_aggregator/],
    [{ gradientAggregator: () => 0 }, /gradientAggregator/],
    [{ gradient_transformers: [] }, /gradient_transformers/],
    [{ gradientTransformers: [] }, /gradientTransformers/],
    [{ learningrate: 0.1 }, /unknown option 'learningrate'/],
    [{ clipnorm: 1, globalClipnorm: 1 }, /clipnorm \(1\) and globalClipnorm \(1\) cannot both be set/],
    [{ useEma: true, emaMomentum: 1.5 }, /emaMomentum must be in \[0, 1\], got 1.5/],
    [{ useEma: true, emaMomentum: -0.1 }, /emaMomentum must be in \[0, 1\], got -0.1/],
    [{ useEma: true, emaOverwriteFrequency: 2.5 }, /emaOverwriteFrequency must be an integer.*2.5/],
    [{ useEma: true, emaOverwriteFrequency: '3' }, /emaOverwriteFrequency must be an integer.*"3"/],
    [{ learningRate: NaN }, /learningRate must be a finite number, got NaN/],
    [{ learningRate: '0.1' }, /learningRate must be a finite number, got "0.1"/],
    [{ learningRate: (step: number) => step }, /learningRate must be a number, a schedule or a zero-argument function/],
    [{ beta1: Infinity }, /beta1 must be a finite number, got Infinity/],
    [{ beta1: 1 }, /beta1 must be in \[0, 1\), got 1/],
    [{ beta2: -0.5 }, /beta2 must be in \[0, 1\), got -0.5/],
    [{ epsilon: null }, /epsilon must be a finite number, got null/],
    [{ epsilon: -1 }, /epsilon must be >= 0, got -1/],
    [{ weightDecay: 'a lot' }, /weightDecay must be a finite number, got "a lot"/],
    [{ clipnorm: -1 }, /clipnorm must be >= 0, got -1/],
    [{ clipvalue: Infinity }, /clipvalue must be a finite number, got Infinity/],
    [{ amsgrad: 1 }, /amsgrad must be a boolean, got 1/],
    [{ jitCompile: 'yes' }, /jitCompile must be a boolean, got "yes"/],
    [{ mesh: {} }, /mesh must be a Mesh/],
  ];
  for (const [options, message] of refused) {
    test(`refuses ${JSON.stringify(options, (_, v) => (typeof v === 'function' ? 'fn' : Number.isNaN(v) ? 'NaN' : v))}`, () => {
      assert.throws(() => new Adam(options as AdamOptions), message);
    });
  }

  test('EMA options are checked only with useEma', () => {
    assert.doesNotThrow(() => new Adam({ emaMomentum: 5, emaOverwriteFrequency: 2.5 }));
  });

  test('emaOverwriteFrequency 0 or null means never', () => {
    for (const emaOverwriteFrequency of [0, null]) {
      const w = new Variable([1]);
      const opt = new Adam({ useEma: true, emaMomentum: 1, emaOverwriteFrequency, learningRate: 0.5 });
      for (let i = 0; i < 3; i++) opt.applyGradients([[new Float32Array([1]), w]]);
      assert.ok(w.value[0] < 0, 'never overwritten by the (frozen) average');
    }
  });

  test('iterations can be set before build, not after', () => {
    const opt = new Adam();
    opt.iterations = 10;
    assert.equal(opt.iterations, 10);
    assert.throws(() => { opt.iterations = -1; }, /iterations must be a non-negative integer, got -1/);
    opt.build([new Variable([1])]);
    assert.throws(() => { opt.iterations = 3; }, /iterations cannot be set after the optimizer is built/);
    assert.equal(opt.iterations, 10);
  });

  test('a number learning rate cannot replace a schedule; another schedule can', () => {
    const opt = new Adam({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }) });
    assert.throws(() => { opt.learningRate = 0.01; }, TypeError);
    opt.learningRate = new schedules.InverseTimeDecay({ initialLearningRate: 0.2, decaySteps: 1, decayRate: 1 });
    assert.equal(opt.learningRate, 0.2);
    const plain = new Adam();
    plain.learningRate = 0.5;
    assert.equal(plain.learningRate, 0.5);
    assert.throws(() => { plain.learningRate = Number.NaN; }, /learningRate must be a finite number/);
  });
});

forEachKernelSet((jitCompile) => {
  /** Builds an optimizer with every kind of state, takes two good steps, then checks a bad one. */
  function expectUnchanged(bad: (ctx: { a: Variable; b: Variable; e: Variable; opt: Adam }) => readonly GradientPair[], message: RegExp, options: AdamOptions = {}) {
    const a = new Variable([1, 2, 3, 4], { name: 'dense/kernel', shape: [2, 2] });
    const b = new Variable(new Float64Array([0.5]), { name: 'dense/bias' });
    const e = new Variable(new Float32Array(6), { name: 'embedding', shape: [3, 2] });
    const opt = new Adam({ useEma: true, amsgrad: true, weightDecay: 0.01, emaOverwriteFrequency: 1, jitCompile, ...options });
    const good = () => opt.applyGradients([
      [new Float32Array([1, -1, 2, 0.5]), a], [new Float64Array([0.3]), b], [new IndexedSlices(new Float32Array([1, 1]), [2], [3, 2]), e],
    ]);
    good();
    good();
    const before = snapshot(opt, [a, b, e]);
    const pairs = bad({ a, b, e, opt });
    captureWarnings(() => assert.throws(() => opt.applyGradients(pairs), message));
    assert.deepEqual(snapshot(opt, [a, b, e]), before, 'the failed step changed nothing');
  }

  test('gradient of the wrong length', () => expectUnchanged(({ a, b }) => [[new Float64Array([1]), b], [new Float32Array(3), a]], /gradient of 'dense\/kernel' has 3 values, the variable has 4/));
  test('gradient of the wrong dtype', () => expectUnchanged(({ a, b }) => [[new Float32Array(4), a], [new Float32Array(1), b]], /gradient of 'dense\/bias' \(float64\) must be a Float64Array, got a Float32Array/));
  test('gradient that is not an array', () => expectUnchanged(({ a }) => [[[1, 2, 3, 4] as unknown as Float32Array, a]], /gradient of 'dense\/kernel' must be a Float32Array or IndexedSlices, got an array of length 4/));
  test('sparse index out of range', () => expectUnchanged(({ a, e }) => [[new Float32Array(4), a], [new IndexedSlices(new Float32Array(4), [0, 3], [3, 2]), e]], /sparse gradient of 'embedding' has index 3 at position 1, outside \[0, 3\)/));
  test('negative sparse index', () => expectUnchanged(({ e }) => [[new IndexedSlices(new Float32Array(2), [-1], [3, 2]), e]], /index -1/));
  test('sparse rows of the wrong size', () => expectUnchanged(({ e }) => [[new IndexedSlices(new Float32Array(3), [0], [3, 3]), e]], /dense shape \[3, 3\], the variable has shape \[3, 2\]/));
  test('sparse values count does not match the indices', () => expectUnchanged(({ e }) => [[new IndexedSlices(new Float32Array(3), [0], [3, 2]), e]], /3 values for 1 rows of 2/));
  test('a variable the optimizer was not built for', () => expectUnchanged(({ a }) => [[new Float32Array(4), a], [new Float32Array(1), new Variable([1], { name: 'stranger' })]], /'stranger' is not one the optimizer was built for/));
  test('the same variable twice', () => expectUnchanged(({ a }) => [[new Float32Array(4), a], [new Float32Array(4), a]], /'dense\/kernel' appears twice/));
  test('all gradients missing', () => expectUnchanged(({ a, b }) => [[null, a], [undefined, b]], /no gradients provided for any variable: 'dense\/kernel', 'dense\/bias'/));
  test('a pair that is not [gradient, Variable]', () => expectUnchanged(({ a }) => [[new Float32Array(4), a], [new Float32Array(4)] as unknown as GradientPair], /entry 1 is an array of length 1/));
  test('a callable beta that returns NaN', () => {
    let beta = 0.9;
    expectUnchanged(({ a }) => {
      beta = Number.NaN;
      return [[new Float32Array(4), a]];
    }, /beta1 must evaluate to a finite number, got NaN/, { beta1: () => beta });
  });
  test('a callable learning rate that returns a string', () => {
    let lr: unknown = 0.1;
    expectUnchanged(({ a }) => {
      lr = 'fast';
      return [[new Float32Array(4), a]];
    }, /learningRate must evaluate to a finite number, got "fast"/, { learningRate: () => lr as number });
  });

  test('a failed step changes nothing (property)', () => {
    const badGradient = fc.constantFrom<(v: Variable) => unknown>(
      (v) => new Float32Array(v.size + 1),
      (v) => new Float64Array(v.size + (v.dtype === 'float64' ? 2 : 0)),
      (v) => new IndexedSlices(new Float32Array(v.size), [v.shape[0] ?? 0], [v.shape[0] ?? 1, v.size / (v.shape[0] || 1)]),
      () => 'not a gradient',
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ rows: fc.integer({ min: 1, max: 4 }), cols: fc.integer({ min: 1, max: 3 }), f64: fc.boolean() }), { minLength: 2, maxLength: 4 }),
        fc.nat(),
        badGradient,
        fc.record({ amsgrad: fc.boolean(), useEma: fc.boolean(), weightDecay: fc.constantFrom(null, 0.1), globalClipnorm: fc.constantFrom(null, 1) }),
        (specs, which, makeBad, options) => {
          const vars = specs.map((s, i) => new Variable(Array.from({ length: s.rows * s.cols }, (_, k) => k + i), { shape: [s.rows, s.cols], dtype: s.f64 ? 'float64' : 'float32', name: `v${i}` }));
          const opt = new Adam({ jitCompile, ...options });
          const grads = () => vars.map((v) => [v.dtype === 'float64' ? new Float64Array(v.size).fill(0.5) : new Float32Array(v.size).fill(0.5), v] as GradientPair);
          opt.applyGradients(grads());
          const before = snapshot(opt, vars);
          const pairs = grads();
          const k = which % pairs.length;
          pairs[k] = [makeBad(vars[k]) as Float32Array, vars[k]];
          assert.throws(() => opt.applyGradients(pairs));
          assert.deepEqual(snapshot(opt, vars), before);
        },
      ),
      { numRuns: 50 },
    );
  });
});
