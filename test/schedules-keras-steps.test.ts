/*
 * Every step tf_keras accepts: negative, fractional and infinite steps, and the edges where
 * tf_keras's formulas stop giving finite numbers. The references below follow
 * tf_keras/optimizers/schedules/learning_rate_schedule.py operation for operation, once in
 * float64 and once rounding every operation to float32 (tf_keras's dtype for a Python float
 * initial_learning_rate), with C `pow` semantics as `tf.pow` has them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CosineDecay,
  CosineDecayRestarts,
  ExponentialDecay,
  InverseTimeDecay,
  PiecewiseConstantDecay,
  PolynomialDecay,
  type LearningRateSchedule,
} from '../src/schedules/index.js';
import { Adam, Variable } from '../src/index.js';

/** C's pow: pow(1, y) = 1 and pow(-1, ±inf) = 1, where Math.pow gives NaN. */
function cpow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

type Round = (x: number) => number;

/** tf_keras's formulas with every intermediate result passed through `r`. */
function tfKeras(r: Round) {
  return {
    exponential(lr0: number, d: number, rate: number, staircase: boolean, s: number): number {
      let p = r(r(s) / r(d));
      if (staircase) p = Math.floor(p);
      return r(r(lr0) * r(cpow(r(rate), p)));
    },
    inverseTime(lr0: number, d: number, rate: number, staircase: boolean, s: number): number {
      let p = r(r(s) / r(d));
      if (staircase) p = Math.floor(p);
      return r(r(lr0) / r(1 + r(r(rate) * p)));
    },
    piecewise(boundaries: number[], values: number[], s: number): number {
      const i = boundaries.findIndex((b) => s <= b);
      return r(i === -1 ? values[values.length - 1] : values[i]);
    },
    polynomial(lr0: number, d: number, end: number, power: number, cycle: boolean, s: number): number {
      let step = r(s);
      let horizon = r(d);
      if (cycle) horizon = r(horizon * (step === 0 ? 1 : Math.ceil(r(step / d))));
      else step = Math.min(step, horizon);
      const p = r(step / horizon);
      return r(r(r(r(lr0) - r(end)) * r(cpow(r(1 - p), r(power)))) + r(end));
    },
    cosine(lr0: number, d: number, alpha: number, target: number | null, warmup: number, s: number): number {
      const decay = (x: number, from: number) => {
        const cosine = r(0.5 * r(1 + r(Math.cos(r(r(Math.PI) * r(x / r(d)))))));
        return r(from * r(r(r(1 - alpha) * cosine) + alpha));
      };
      let step = r(s);
      if (target === null) return decay(Math.min(step, r(d)), r(lr0));
      step = Math.min(step, r(r(d) + r(warmup)));
      if (step < r(warmup)) return r(r(r(r(target) - r(lr0)) * r(step / r(warmup))) + r(lr0));
      return decay(r(step - r(warmup)), r(target));
    },
    restarts(lr0: number, first: number, tMul: number, mMul: number, alpha: number, s: number): number {
      let c = r(r(s) / r(first));
      let i: number;
      const t = r(tMul);
      if (t === 1) {
        i = Math.floor(c);
        c = r(c - i);
      } else {
        i = Math.floor(r(r(Math.log(r(1 - r(c * r(1 - t))))) / r(Math.log(t))));
        const sum = r(r(1 - r(cpow(t, i))) / r(1 - t));
        c = r(r(c - sum) / r(cpow(t, i)));
      }
      const cosine = r(r(0.5 * r(cpow(r(mMul), i))) * r(1 + r(Math.cos(r(r(Math.PI) * c)))));
      return r(r(lr0) * r(r(r(1 - r(alpha)) * cosine) + r(alpha)));
    },
  };
}

const tf64 = tfKeras((x) => x);
const tf32 = tfKeras(Math.fround);

/** Asserts `schedule.call(s)` is `expected` to 1e-12 relative, or throws a RangeError where `expected` is not finite. */
function agrees(schedule: LearningRateSchedule, s: number, expected: number, what: string): void {
  if (!Number.isFinite(expected)) {
    let value: number;
    try {
      value = schedule.call(s);
    } catch (e) {
      assert.ok(e instanceof RangeError && /no finite learning rate at step|periods/.test(e.message), `${what}: ${String(e)}`);
      return;
    }
    // PolynomialDecay with cycle caps p at 1 for steps >= 0 where rounding puts it a hair past
    // (tf_keras then gives NaN for a fractional power): the one deliberate finite value where
    // tf_keras has none.
    assert.ok(schedule instanceof PolynomialDecay && Number.isFinite(value), `${what}: tf_keras gives ${expected}, got ${value} instead of a RangeError`);
    return;
  }
  const actual = schedule.call(s);
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.abs(expected) + 1e-12, `${what}: expected ${expected}, got ${actual}`);
}

describe('negative and fractional steps, as tf_keras', () => {
  test('PiecewiseConstantDecay(-999) is the first value', () => {
    const lr = new PiecewiseConstantDecay({ boundaries: [100, 110, 120], values: [1, 0.1, 0.01, 0.001] });
    assert.equal(lr.call(-999), 1);
    assert.equal(lr.call(-Infinity), 1);
    assert.equal(lr.call(100.5), 0.1);
    assert.equal(lr.call(Infinity), 0.001);
  });

  test('ExponentialDecay and InverseTimeDecay extrapolate above the initial rate', () => {
    const exp = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.5 });
    assert.equal(exp.call(-100), 0.2);
    assert.equal(exp.call(-250.5), 0.1 * 0.5 ** -2.505);
    assert.equal(exp.call(Infinity), 0);
    const stair = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.5, staircase: true });
    assert.equal(stair.call(-1), 0.2); // floor(-0.01) = -1
    const zero = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 100, decayRate: 0 });
    assert.equal(zero.call(0), 0.1);
    assert.throws(() => zero.call(-1), /ExponentialDecay: no finite learning rate at step -1: the formula gives Infinity/);
    const one = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 1 });
    assert.equal(one.call(Infinity), 0.1); // pow(1, inf) = 1 in tf_keras (Math.pow would say NaN)
    const inv = new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    assert.equal(inv.call(-10), 0.2);
    assert.throws(() => inv.call(-20), /InverseTimeDecay: no finite learning rate at step -20: the formula gives Infinity/);
    assert.equal(inv.call(-40), 0.1 / (1 - 2)); // tf_keras's value, negative
  });

  test('PolynomialDecay: the polynomial continues below 0; with cycle the horizon is tf_keras\'s', () => {
    const lr = new PolynomialDecay({ initialLearningRate: 1, decaySteps: 10, endLearningRate: 0, power: 2 });
    assert.equal(lr.call(-10), 4);
    const cyc = new PolynomialDecay({ initialLearningRate: 1, decaySteps: 10, endLearningRate: 0, power: 1, cycle: true });
    assert.throws(() => cyc.call(-5), /PolynomialDecay: no finite learning rate at step -5: the formula gives -Infinity/);
    assert.equal(cyc.call(-15), 1 * (1 - 1.5)); // horizon -10, as tf_keras
    assert.throws(() => cyc.call(Infinity), /no finite learning rate at step Infinity: the formula gives NaN/);
  });

  test('CosineDecay: a negative step mirrors the cosine, or continues the warmup line', () => {
    const lr = new CosineDecay({ initialLearningRate: 1, decaySteps: 100 });
    assert.equal(lr.call(-25), lr.call(25));
    const warm = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 100, warmupTarget: 1.1, warmupSteps: 10 });
    assert.ok(Math.abs(warm.call(-1) - 0) < 1e-15);
    const noWarmupSteps = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 100, warmupTarget: 1 });
    assert.throws(() => noWarmupSteps.call(-1), /CosineDecay: no finite learning rate at step -1: the formula gives -Infinity/);
  });

  test('CosineDecayRestarts: negative steps run the periods backwards, to their end', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 10, tMul: 2, mMul: 0.5 });
    agrees(lr, -2.5, tf64.restarts(1, 10, 2, 0.5, 0, -2.5), 'step -2.5');
    assert.throws(() => lr.call(-10), /CosineDecayRestarts: step -10 is at or before the start of the periods run backwards/);
    const equal = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 10, tMul: 1, mMul: 0.5 });
    assert.equal(equal.call(-5), 2 * 0.5 * (1 + Math.cos(Math.PI * 0.5)));
    const zero = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 10, tMul: 1, mMul: 0 });
    assert.throws(() => zero.call(-5), /no finite learning rate at step -5/);
  });

  test('a NaN or non-numeric step is refused, naming the schedule', () => {
    const lr = new PiecewiseConstantDecay({ boundaries: [1], values: [1, 2] });
    assert.throws(() => lr.call(NaN), { name: 'RangeError', message: /^PiecewiseConstantDecay: step must be a number .* got NaN$/ });
    assert.throws(() => lr.call('3' as never), { name: 'TypeError', message: /^PiecewiseConstantDecay: step must be a number .* got "3"$/ });
  });

  test('an optimizer whose schedule has no finite rate refuses the step and changes nothing', () => {
    for (const jitCompile of [false, true]) {
      const v = new Variable(new Float32Array([1, 2]), { name: 'w' });
      // The periods last 1 + 0.5 + 0.25 + ... = 2 steps: from step 2 on there is no rate.
      const opt = new Adam({ jitCompile, learningRate: new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 1, tMul: 0.5 }) });
      opt.applyGradients([[new Float32Array([1, 1]), v]]);
      opt.applyGradients([[new Float32Array([1, 1]), v]]);
      const before = Array.from(v.value);
      assert.throws(() => opt.applyGradients([[new Float32Array([1, 1]), v]]), /CosineDecayRestarts: step 2 is at or past the end of all periods/);
      assert.deepEqual(Array.from(v.value), before);
      assert.equal(opt.iterations, 2);
    }
  });
});

describe('CosineDecay with decaySteps 0: the warmup-only schedule', () => {
  test('tf_keras\'s test values: 0, 1.6667, 3.3333, ... then warmupTarget past the warmup', () => {
    const lr = new CosineDecay({ initialLearningRate: 0, decaySteps: 0, warmupTarget: 10, warmupSteps: 1500 });
    const expected = [0, 1.6667, 3.3333, 5, 6.6667, 8.3333];
    expected.forEach((value, i) => assert.ok(Math.abs(lr.call(250 * i) - value) < 1e-4, `step ${250 * i}: ${lr.call(250 * i)}`));
    for (const s of [1500, 1501, 1e9, Infinity]) assert.equal(lr.call(s), 10, `step ${s}`);
    assert.ok(Number.isNaN(tf64.cosine(0, 0, 0, 10, 1500, 1500)), 'tf_keras gives NaN there (0 / 0)');
    assert.ok(Math.abs(lr.call(-150) - -1) < 1e-12);
  });

  test('round-trips through its config and drives an optimizer', () => {
    const lr = new CosineDecay({ initialLearningRate: 0, decaySteps: 0, warmupTarget: 0.1, warmupSteps: 4 });
    const back = CosineDecay.fromConfig(JSON.parse(JSON.stringify(lr.getConfig())));
    assert.equal(back.call(2), lr.call(2));
    const v = new Variable(new Float32Array([1]), { name: 'w' });
    const opt = new Adam({ learningRate: lr });
    for (let i = 0; i < 6; i++) opt.applyGradients([[new Float32Array([1]), v]]);
    assert.equal(opt.learningRate, 0.1);
  });

  test('without a warmup, decaySteps 0 gives no finite rate anywhere in tf_keras: refused', () => {
    assert.throws(() => new CosineDecay({ initialLearningRate: 1, decaySteps: 0 }), {
      name: 'RangeError',
      message: /^CosineDecay: decaySteps must be positive unless there is a warmup \(warmupTarget and warmupSteps > 0\), got decaySteps 0 with warmupTarget null and warmupSteps 0$/,
    });
    assert.throws(() => new CosineDecay({ initialLearningRate: 1, decaySteps: 0, warmupTarget: 1 }), /warmupSteps 0$/);
    assert.throws(() => new CosineDecay({ initialLearningRate: 1, decaySteps: -1 }), /decaySteps must be a non-negative finite number, got -1/);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: at every finite step, each schedule's value is finite wherever tf_keras's is (in
// float64, and in float32, its dtype for a Python float, at every float32 step), and equals
// tf_keras's float64 value.

// Options are float32 numbers, so that tf_keras in float32 computes with exactly these options.
const f32 = (min: number, max: number) => fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true }).map((x) => x + 0);
const lr0 = f32(-10, 10);
const positive = f32(1e-3, 1e5);
const fraction = f32(0, 1);
const anyStep = fc.oneof(
  fc.integer({ min: -2_000_000, max: 2_000_000 }),
  fc.double({ min: -1e7, max: 1e7, noNaN: true }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

type Ref = ReturnType<typeof tfKeras>;

interface Case {
  schedule: LearningRateSchedule;
  reference(f: Ref, s: number): number;
  /** This port's deliberate value where tf_keras has none (the warmup-only schedule's plateau). */
  override?(s: number): number | undefined;
}

const increasing = fc
  .array(f32(1e-3, 1e4), { minLength: 1, maxLength: 5 })
  .chain((gaps) => f32(-1e4, 1e4).map((start) => gaps.reduce<number[]>((out, g) => [...out, (out.at(-1) ?? start) + g], [])));

const cases: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ a: lr0, d: positive, rate: f32(0, 2), st: fc.boolean() }).map(({ a, d, rate, st }): Case => ({
    schedule: new ExponentialDecay({ initialLearningRate: a, decaySteps: d, decayRate: rate, staircase: st }),
    reference: (f: Ref, s: number) => f.exponential(a, d, rate, st, s),
  })),
  fc.record({ a: lr0, d: positive, rate: f32(0, 5), st: fc.boolean() }).map(({ a, d, rate, st }): Case => ({
    schedule: new InverseTimeDecay({ initialLearningRate: a, decaySteps: d, decayRate: rate, staircase: st }),
    reference: (f: Ref, s: number) => f.inverseTime(a, d, rate, st, s),
  })),
  fc.tuple(increasing, fc.array(lr0, { minLength: 6, maxLength: 6 })).map(([boundaries, pool]): Case => {
    const values = pool.slice(0, boundaries.length + 1).map((v) => v + 0);
    return { schedule: new PiecewiseConstantDecay({ boundaries, values }), reference: (f: Ref, s: number) => f.piecewise(boundaries, values, s) };
  }),
  fc.record({ a: lr0, d: positive, end: lr0, power: fc.oneof(fc.integer({ min: 0, max: 3 }), f32(0, 4)), cycle: fc.boolean() })
    .map(({ a, d, end, power, cycle }): Case => ({
      schedule: new PolynomialDecay({ initialLearningRate: a, decaySteps: d, endLearningRate: end, power, cycle }),
      reference: (f: Ref, s: number) => f.polynomial(a, d, end, power, cycle, s),
    })),
  fc.record({ a: lr0, d: fc.oneof(fc.constant(0), positive), alpha: fraction, target: fc.option(lr0, { nil: null }), warmup: fc.oneof(fc.constant(0), positive) })
    .filter(({ d, target, warmup }) => d > 0 || (target !== null && warmup > 0))
    .map(({ a, d, alpha, target, warmup }): Case => ({
      schedule: new CosineDecay({ initialLearningRate: a, decaySteps: d, alpha, warmupTarget: target, warmupSteps: warmup }),
      reference: (f: Ref, s: number) => f.cosine(a, d, alpha, target, warmup, s),
      override: (s: number) => (d === 0 && target !== null && s >= warmup ? target : undefined),
    })),
  fc.record({ a: lr0, first: positive, tMul: fc.oneof(fc.constant(1), f32(0.1, 4)), mMul: f32(0, 2), alpha: fraction })
    .map(({ a, first, tMul, mMul, alpha }): Case => ({
      schedule: new CosineDecayRestarts({ initialLearningRate: a, firstDecaySteps: first, tMul, mMul, alpha }),
      reference: (f: Ref, s: number) => f.restarts(a, first, tMul, mMul, alpha, s),
    })),
);

describe('property: finite wherever tf_keras is finite', () => {
  test('every schedule, every finite step (negative and fractional included)', () => {
    fc.assert(
      fc.property(cases, fc.array(anyStep, { minLength: 1, maxLength: 6 }), (c, steps) => {
        for (const s of steps) {
          const what = `${c.schedule.constructor.name} ${JSON.stringify(c.schedule.getConfig())} step ${s}`;
          const special = c.override?.(s);
          if (special !== undefined) {
            assert.ok(c.schedule.call(s) === special, what);
            continue;
          }
          const ref32 = c.reference(tf32, s);
          const ref64 = c.reference(tf64, s);
          // float32 only where the step itself is a float32 number: tf_keras first casts the step to
          // the rate's dtype, so in float32 a step of 1e-300 is 0 (and the two are different steps).
          // One exception: PolynomialDecay with cycle below step 0, where float32 can round
          // step / decaySteps onto a multiple that float64 misses (-5 / 0.001f: -5000 in float32,
          // -4999.9998 in float64); tf_keras in float64 then gives NaN for a fractional power too.
          const float32Differs = c.schedule instanceof PolynomialDecay && c.schedule.cycle && s < 0;
          if (Number.isFinite(ref64) || (Math.fround(s) === s && !float32Differs && Number.isFinite(ref32))) {
            const value = c.schedule.call(s); // must not throw
            assert.ok(Number.isFinite(value), `${what}: tf_keras gives ${ref32} (float32), ${ref64} (float64); got ${value}`);
          }
          agrees(c.schedule, s, ref64, what);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
