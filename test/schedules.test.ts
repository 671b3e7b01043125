/*
 * Tests of the Keras learning-rate schedules (src/schedules).
 *
 * Checked against tf_keras/optimizers/schedules/learning_rate_schedule.py. Where tf_keras differs
 * from the task's formula table, or where this port deliberately differs from tf_keras:
 *
 * - Precision: tf_keras computes in the dtype of initial_learning_rate, float32 for a Python float;
 *   this port always computes in float64, so results agree with Keras to float32 precision only.
 * - CosineDecay: tf_keras caps the step at warmup_steps + decay_steps *before* choosing between
 *   warmup and decay. When warmup_target is None, warmup_steps is ignored altogether. When
 *   warmup_target is set and warmup_steps is 0 there is no warmup phase and the decay starts from
 *   warmup_target, so step 0 gives warmup_target, not initial_learning_rate.
 * - CosineDecayRestarts: the t_mul == 1 branch is taken only for t_mul exactly 1. The period index
 *   floor(log(1 - c(1 - t_mul)) / log(t_mul)) can round one low at the exact step of a restart
 *   (t_mul = 1.5, first_decay_steps = 32, step 422 gives the end-of-period value 0 instead of the
 *   new peak; float64 Python agrees). This port keeps that formula. With t_mul < 1 the periods sum
 *   to first_decay_steps / (1 - t_mul) steps; tf_keras returns NaN from there on, this port throws
 *   (as it does wherever tf_keras's value is not finite; see test/schedules-keras-steps.test.ts).
 * - PolynomialDecay: matches the table (the cycle multiplier is 1 at step 0). tf_keras divides by
 *   the uncast decay_steps inside ceil, the same in float64. This port caps s/D at 1 so a rounding
 *   hair past the horizon cannot give NaN for a fractional power.
 * - PiecewiseConstantDecay: tf_keras casts boundaries to the step's dtype (int64 for an integer
 *   step), which truncates fractional boundaries; for integer steps the result is the same. tf_keras
 *   accepts an empty boundaries list and then fails with IndexError when called; this port rejects
 *   it at construction. tf_keras does not check that boundaries increase; this port does.
 * - Validation: tf_keras checks only len(values) == len(boundaries) + 1. This port also rejects
 *   non-finite numbers, decay steps <= 0, negative decay rates (NaN or a zero denominator), a
 *   negative polynomial power (Infinity at the horizon), t_mul <= 0 and m_mul < 0.
 * - serialize: tf_keras writes {module, class_name, config, registered_name}; this port writes
 *   {class_name, config}, which tf_keras' schedules.deserialize also reads (a missing `module` is
 *   looked up among the schedule classes).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CosineDecay,
  CosineDecayRestarts,
  ExponentialDecay,
  InverseTimeDecay,
  LearningRateSchedule,
  PiecewiseConstantDecay,
  PolynomialDecay,
  deserialize,
  isLearningRateSchedule,
  registerSchedule,
  registeredScheduleNames,
  serialize,
  type JsonValue,
} from '../src/schedules/index.js';

/** Asserts `actual` equals `expected` up to a relative 1e-12 (plus 1e-15 absolute near zero). */
function close(actual: number, expected: number, message?: string): void {
  // Both NaN counts as agreement: e.g. 0 * Infinity once m_mul ** restarts overflows, in tf_keras too.
  const ok = actual === expected || (Number.isNaN(actual) && Number.isNaN(expected)) ||
    Math.abs(actual - expected) <= 1e-12 * Math.abs(expected) + 1e-15;
  assert.ok(ok, `${message ?? ''} expected ${expected}, got ${actual}`);
}

// Reference formulas, written from the tf_keras source independently of src/schedules.
const ref = {
  exponential(lr0: number, d: number, rate: number, staircase: boolean, s: number): number {
    const p = staircase ? Math.floor(s / d) : s / d;
    return lr0 * rate ** p;
  },
  inverseTime(lr0: number, d: number, rate: number, staircase: boolean, s: number): number {
    const p = staircase ? Math.floor(s / d) : s / d;
    return lr0 / (1 + rate * p);
  },
  piecewise(boundaries: number[], values: number[], s: number): number {
    const i = boundaries.findIndex((b) => s <= b);
    return i === -1 ? values[values.length - 1] : values[i];
  },
  polynomial(lr0: number, d: number, end: number, power: number, cycle: boolean, s: number): number {
    let horizon = d;
    if (cycle) horizon = d * (s === 0 ? 1 : Math.ceil(s / d));
    else s = Math.min(s, d);
    return (lr0 - end) * (1 - Math.min(1, s / horizon)) ** power + end;
  },
  cosine(lr0: number, d: number, alpha: number, target: number | null, warmup: number, s: number): number {
    const decay = (x: number, from: number) => from * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * x) / d)) + alpha);
    if (target === null) return decay(Math.min(s, d), lr0);
    s = Math.min(s, d + warmup);
    return s < warmup ? lr0 + ((target - lr0) * s) / warmup : decay(s - warmup, target);
  },
  restarts(lr0: number, first: number, tMul: number, mMul: number, alpha: number, s: number): number {
    let c = s / first;
    let i: number;
    if (tMul === 1) {
      i = Math.floor(c);
      c -= i;
    } else {
      i = Math.floor(Math.log(1 - c * (1 - tMul)) / Math.log(tMul));
      c = (c - (1 - tMul ** i) / (1 - tMul)) / tMul ** i;
    }
    return lr0 * ((1 - alpha) * 0.5 * mMul ** i * (1 + Math.cos(Math.PI * c)) + alpha);
  },
};

describe('ExponentialDecay', () => {
  const lr = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.96 });

  test('matches literal values (python3 float64)', () => {
    close(lr.call(0), 0.1);
    close(lr.call(50), 0.09797958971132713);
    close(lr.call(100), 0.096);
    close(lr.call(250), 0.09029798987795908);
    close(lr.call(1e6), 5.156207612125979e-179);
  });

  test('staircase floors the exponent', () => {
    const st = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.96, staircase: true });
    close(st.call(0), 0.1);
    close(st.call(99), 0.1);
    close(st.call(99.999), 0.1);
    close(st.call(100), 0.096);
    close(st.call(250), 0.09216);
  });

  test('matches the formula at fractional and large steps', () => {
    for (const s of [0.5, 1, 7.25, 1234, 98765.4321, 2 ** 40]) {
      close(lr.call(s), ref.exponential(0.1, 100, 0.96, false, s), `step ${s}`);
    }
  });
});

describe('InverseTimeDecay', () => {
  test('matches literal values', () => {
    const lr = new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 });
    close(lr.call(0), 0.1);
    close(lr.call(2), 0.05);
    close(lr.call(3), 0.04);
    close(lr.call(7.5), 0.021052631578947368);
  });

  test('staircase floors step / decaySteps', () => {
    const lr = new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });
    close(lr.call(9), 0.1);
    close(lr.call(10), 0.06666666666666667);
    close(lr.call(15), 0.06666666666666667);
    close(lr.call(25), 0.05);
  });

  test('matches the formula', () => {
    const lr = new InverseTimeDecay({ initialLearningRate: 0.3, decaySteps: 7, decayRate: 1.3 });
    for (const s of [0, 1, 6.9, 7, 100, 1e9]) close(lr.call(s), ref.inverseTime(0.3, 7, 1.3, false, s), `step ${s}`);
  });
});

describe('PiecewiseConstantDecay', () => {
  const lr = new PiecewiseConstantDecay({ boundaries: [100000, 110000], values: [1, 0.5, 0.1] });

  test('a boundary belongs to the interval that ends there', () => {
    assert.equal(lr.call(0), 1);
    assert.equal(lr.call(100000), 1);
    assert.equal(lr.call(100000.5), 0.5);
    assert.equal(lr.call(100001), 0.5);
    assert.equal(lr.call(110000), 0.5);
    assert.equal(lr.call(110001), 0.1);
    assert.equal(lr.call(1e12), 0.1);
  });

  test('a single boundary', () => {
    const one = new PiecewiseConstantDecay({ boundaries: [0], values: [3, 2] });
    assert.equal(one.call(0), 3);
    assert.equal(one.call(1e-9), 2);
  });

  test('keeps its own copy of the arrays', () => {
    const boundaries = [10];
    const values = [1, 2];
    const s = new PiecewiseConstantDecay({ boundaries, values });
    boundaries[0] = 0;
    values[0] = 9;
    assert.equal(s.call(5), 1);
    assert.deepEqual(s.getConfig(), { boundaries: [10], values: [1, 2], name: null });
  });
});

describe('PolynomialDecay', () => {
  test('matches literal values without cycle (power 0.5)', () => {
    const lr = new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10000, endLearningRate: 0.01, power: 0.5 });
    close(lr.call(0), 0.1);
    close(lr.call(5000), 0.07363961030678928);
    close(lr.call(10000), 0.01);
    close(lr.call(20000), 0.01);
  });

  test('defaults: endLearningRate 1e-4, power 1', () => {
    const lr = new PolynomialDecay({ initialLearningRate: 1, decaySteps: 10 });
    close(lr.call(5), (1 - 1e-4) * 0.5 + 1e-4);
    assert.deepEqual(lr.getConfig(), {
      initial_learning_rate: 1,
      decay_steps: 10,
      end_learning_rate: 1e-4,
      power: 1,
      cycle: false,
      name: null,
    });
  });

  test('cycle: multiplier 1 at step 0, horizon grows to the next multiple of decaySteps', () => {
    const lr = new PolynomialDecay({ initialLearningRate: 1, decaySteps: 100, endLearningRate: 0, power: 1, cycle: true });
    close(lr.call(0), 1);
    close(lr.call(50), 0.5);
    close(lr.call(100), 0); // the end of the first cycle is the end rate
    close(lr.call(150), 0.25); // between cycles: horizon 200
    close(lr.call(200), 0);
    close(lr.call(250), 0.16666666666666663); // horizon 300
  });

  test('cycle with power 2 (python3 literals)', () => {
    const lr = new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 100, endLearningRate: 0.001, power: 2, cycle: true });
    close(lr.call(0), 0.1);
    close(lr.call(1), 0.0980299);
    close(lr.call(100), 0.001);
    close(lr.call(101), 0.025257475);
    close(lr.call(150), 0.0071875);
  });
});

describe('CosineDecay', () => {
  test('no warmup: literal values', () => {
    const lr = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 1000 });
    close(lr.call(0), 0.1);
    close(lr.call(250), 0.08535533905932738);
    close(lr.call(500), 0.05);
    close(lr.call(1000), 0);
    close(lr.call(5000), 0);
  });

  test('alpha is the final fraction of the initial rate', () => {
    const lr = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 1000, alpha: 0.1 });
    close(lr.call(250), 0.08681980515339464);
    close(lr.call(500), 0.05500000000000001);
    close(lr.call(1000), 0.01);
    close(lr.call(1e7), 0.01);
  });

  test('warmup: lr0 at step 0, warmupTarget at warmupSteps, alpha * target at the end', () => {
    const lr = new CosineDecay({ initialLearningRate: 0.01, decaySteps: 1000, alpha: 0.2, warmupTarget: 0.1, warmupSteps: 100 });
    close(lr.call(0), 0.01);
    close(lr.call(50), 0.055);
    close(lr.call(99), 0.0991);
    close(lr.call(100), 0.1);
    close(lr.call(600), 0.06);
    close(lr.call(1100), 0.2 * 0.1);
    close(lr.call(5000), 0.2 * 0.1);
  });

  test('warmupTarget with warmupSteps 0 starts the decay at warmupTarget (as tf_keras)', () => {
    const lr = new CosineDecay({ initialLearningRate: 0.01, decaySteps: 1000, warmupTarget: 0.1 });
    close(lr.call(0), 0.1);
    close(lr.call(500), 0.05);
  });

  test('warmupSteps without warmupTarget is ignored (as tf_keras)', () => {
    const a = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 1000, warmupSteps: 500 });
    const b = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 1000 });
    for (const s of [0, 100, 500, 999, 2000]) assert.equal(a.call(s), b.call(s));
  });
});

describe('CosineDecayRestarts', () => {
  test('literal values with tMul 2, mMul 0.5', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 10, tMul: 2, mMul: 0.5 });
    close(lr.call(0), 1);
    close(lr.call(5), 0.5);
    close(lr.call(9.999), 2.4674010778991118e-8);
    close(lr.call(10), 0.5); // restart: the peak is scaled by mMul
    close(lr.call(20), 0.25); // half-way through the 20-step second period
    close(lr.call(30), 0.25); // third period, peak 0.25
    close(lr.call(70), 0.125); // fourth period starts after 10 + 20 + 40 steps
  });

  test('defaults tMul 2, mMul 1, alpha 0: the rate jumps back to lr0 at each restart', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 100 });
    for (const restart of [100, 300, 700, 1500]) {
      assert.ok(lr.call(restart - 1e-6) < 1e-9, `just before ${restart}`);
      close(lr.call(restart), 0.1, `at ${restart}`);
    }
  });

  test('tMul lengthens the periods: half-way points', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 10, tMul: 3 });
    close(lr.call(5), 0.5); // period 0: [0, 10)
    close(lr.call(25), 0.5); // period 1: [10, 40), 30 steps
    close(lr.call(85), 0.5); // period 2: [40, 130), 90 steps
  });

  test('tMul 1: equal periods, alpha floor (python3 literals)', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 1, mMul: 0.5, alpha: 0.1 });
    close(lr.call(0), 0.1);
    close(lr.call(5), 0.05500000000000001);
    close(lr.call(10), 0.05500000000000001);
    close(lr.call(15), 0.0325);
    close(lr.call(20), 0.0325);
  });

  test('tMul 3, mMul 0.9, alpha 0.05 (python3 literals)', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 0.01, firstDecaySteps: 100, tMul: 3, mMul: 0.9, alpha: 0.05 });
    close(lr.call(123), 0.008926599046613694);
    close(lr.call(400), 0.008195000000000001);
    close(lr.call(1000), 0.00242375);
    close(lr.call(1234.5), 0.0006001274658938492);
  });

  test('keeps tf_keras rounding of the period index at an exact restart', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 32, tMul: 1.5 });
    close(lr.call(260), 1);
    close(lr.call(422), 0); // python3: floor(4.999999999999999) = 4
    close(lr.call(665), 1);
  });

  test('tMul < 1: periods shrink; the step past their total length throws', () => {
    const lr = new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 10, tMul: 0.5 });
    close(lr.call(10), 1); // second period [10, 15)
    close(lr.call(12.5), 0.5);
    assert.throws(() => lr.call(20), { name: 'RangeError', message: /step 20 is at or past the end of all periods \(.*20\)/ });
    assert.throws(() => lr.call(1e6), { name: 'RangeError', message: /step 1000000/ });
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: random valid options, compared with the reference formulas and round-tripped.

const finite = fc.double({ min: -10, max: 10, noNaN: true });
const positive = fc.double({ min: 1e-3, max: 1e5, noNaN: true });
const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const name = fc.option(fc.string(), { nil: null });
const step = fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.double({ min: 0, max: 1e7, noNaN: true }));
const increasing = fc
  .array(fc.double({ min: 1e-3, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 6 })
  .map((gaps) => gaps.reduce<number[]>((out, g) => [...out, (out.at(-1) ?? -1) + g], []));

/** A random valid schedule, its class, and a reference function of the step. */
interface Case {
  schedule: LearningRateSchedule;
  expected: (s: number) => number;
}

const cases: fc.Arbitrary<Case> = fc.oneof(
  fc
    .record({ lr0: finite, d: positive, rate: fc.double({ min: 0, max: 2, noNaN: true }), st: fc.boolean(), name })
    .map(({ lr0, d, rate, st, name }) => ({
      schedule: new ExponentialDecay({ initialLearningRate: lr0, decaySteps: d, decayRate: rate, staircase: st, name }),
      expected: (s: number) => ref.exponential(lr0, d, rate, st, s),
    })),
  fc
    .record({ lr0: finite, d: positive, rate: fc.double({ min: 0, max: 5, noNaN: true }), st: fc.boolean(), name })
    .map(({ lr0, d, rate, st, name }) => ({
      schedule: new InverseTimeDecay({ initialLearningRate: lr0, decaySteps: d, decayRate: rate, staircase: st, name }),
      expected: (s: number) => ref.inverseTime(lr0, d, rate, st, s),
    })),
  fc
    .tuple(increasing, fc.array(finite, { minLength: 7, maxLength: 7 }), name)
    .map(([boundaries, pool, name]) => {
      const values = pool.slice(0, boundaries.length + 1).map((v) => v + 0);
      return {
        schedule: new PiecewiseConstantDecay({ boundaries, values, name }),
        expected: (s: number) => ref.piecewise(boundaries, values, s),
      };
    }),
  fc
    .record({ lr0: finite, d: positive, end: finite, power: fc.double({ min: 0, max: 4, noNaN: true }), cycle: fc.boolean(), name })
    .map(({ lr0, d, end, power, cycle, name }) => ({
      schedule: new PolynomialDecay({ initialLearningRate: lr0, decaySteps: d, endLearningRate: end, power, cycle, name }),
      expected: (s: number) => ref.polynomial(lr0, d, end, power, cycle, s),
    })),
  fc
    .record({ lr0: finite, d: positive, alpha: fraction, target: fc.option(finite, { nil: null }), warmup: fc.oneof(fc.constant(0), positive), name })
    .map(({ lr0, d, alpha, target, warmup, name }) => ({
      schedule: new CosineDecay({ initialLearningRate: lr0, decaySteps: d, alpha, warmupTarget: target, warmupSteps: warmup, name }),
      expected: (s: number) => ref.cosine(lr0, d, alpha, target, warmup, s),
    })),
  fc
    .record({ lr0: finite, first: positive, tMul: fc.oneof(fc.constant(1), fc.double({ min: 1, max: 4, noNaN: true })), mMul: fc.double({ min: 0, max: 2, noNaN: true }), alpha: fraction, name })
    .map(({ lr0, first, tMul, mMul, alpha, name }) => ({
      schedule: new CosineDecayRestarts({ initialLearningRate: lr0, firstDecaySteps: first, tMul, mMul, alpha, name }),
      expected: (s: number) => ref.restarts(lr0, first, tMul, mMul, alpha, s),
    })),
);

/** The result of `call`, or the thrown message, so that two schedules can be compared. */
function outcome(schedule: LearningRateSchedule, s: number): number | string {
  try {
    return schedule.call(s);
  } catch (e) {
    return (e as Error).message;
  }
}

/** `initial_learning_rate` -> `initialLearningRate`, as TensorFlow.js converts config keys. */
function camelKeys(config: Record<string, JsonValue>): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/_(.)/g, (_, c: string) => c.toUpperCase()), v]));
}

describe('properties', () => {
  test('every schedule matches its reference formula at random steps', () => {
    fc.assert(
      fc.property(cases, fc.array(step, { minLength: 1, maxLength: 5 }), ({ schedule, expected }, steps) => {
        for (const s of steps) {
          const want = expected(s);
          // Where the formula is not finite (0 * Infinity once m_mul ** restarts overflows, in
          // tf_keras too), call refuses instead of returning it.
          if (Number.isFinite(want)) close(schedule.call(s), want, `${schedule.constructor.name} step ${s}`);
          else assert.throws(() => schedule.call(s), RangeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('serialize -> JSON -> deserialize round-trips config and values (snake_case and camelCase)', () => {
    fc.assert(
      fc.property(cases, fc.array(step, { minLength: 1, maxLength: 5 }), ({ schedule }, steps) => {
        const json = JSON.parse(JSON.stringify(serialize(schedule)));
        for (const spec of [json, { ...json, config: camelKeys(json.config) }]) {
          const back = deserialize(spec);
          assert.equal(back.constructor, schedule.constructor);
          assert.deepEqual(back.getConfig(), schedule.getConfig());
          for (const s of steps) assert.equal(outcome(back, s), outcome(schedule, s));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('cosine decay stays between alpha * lr0 and lr0 for lr0 >= 0', () => {
    fc.assert(
      fc.property(positive, positive, fraction, step, (lr0, d, alpha, s) => {
        const v = new CosineDecay({ initialLearningRate: lr0, decaySteps: d, alpha }).call(s);
        assert.ok(v <= lr0 * (1 + 1e-15) && v >= alpha * lr0 * (1 - 1e-12), `${v} outside [${alpha * lr0}, ${lr0}]`);
      }),
    );
  });

  test('staircase schedules are constant within a period', () => {
    fc.assert(
      fc.property(positive, fc.integer({ min: 0, max: 1000 }), fraction, (d, k, f) => {
        const opts = { initialLearningRate: 1, decaySteps: d, decayRate: 0.5, staircase: true };
        for (const lr of [new ExponentialDecay(opts), new InverseTimeDecay(opts)]) {
          const s0 = k * d;
          const s1 = s0 + f * d * 0.999;
          // Only compare when both steps provably fall in period k despite rounding.
          if (Math.floor(s0 / d) === k && Math.floor(s1 / d) === k) assert.equal(lr.call(s1), lr.call(s0));
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Serialization

describe('serialization', () => {
  test('serialize writes the Keras class name and snake_case config', () => {
    const s = new CosineDecay({ initialLearningRate: 0.1, decaySteps: 1000, name: 'cos' });
    assert.deepEqual(serialize(s), {
      class_name: 'CosineDecay',
      config: { initial_learning_rate: 0.1, decay_steps: 1000, alpha: 0, name: 'cos', warmup_target: null, warmup_steps: 0 },
    });
    const r = new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 50 });
    assert.deepEqual(r.getConfig(), { initial_learning_rate: 0.1, first_decay_steps: 50, t_mul: 2, m_mul: 1, alpha: 0, name: null });
  });

  test('reads Keras-written configs with module and registered_name', () => {
    // As written by tf_keras' schedules.serialize (new-style format) and Keras 3.
    const text = JSON.stringify({
      module: 'keras.optimizers.schedules',
      class_name: 'ExponentialDecay',
      config: { initial_learning_rate: 0.1, decay_steps: 100000, decay_rate: 0.96, staircase: true, name: null },
      registered_name: null,
    });
    const s = deserialize(JSON.parse(text));
    assert.ok(s instanceof ExponentialDecay);
    assert.equal(s.staircase, true);
    close(s.call(200000), 0.1 * 0.96 ** 2);

    const poly = deserialize({
      class_name: 'PolynomialDecay',
      config: { cycle: false, decay_steps: 10000, end_learning_rate: 0.01, initial_learning_rate: 0.1, name: null, power: 0.5 },
    });
    close(poly.call(5000), 0.07363961030678928);

    const cos = deserialize({
      module: 'keras.optimizers.schedules',
      class_name: 'CosineDecay',
      config: { initial_learning_rate: 0, decay_steps: 1000, alpha: 0, name: 'CosineDecay', warmup_target: 0.1, warmup_steps: 1000 },
      registered_name: null,
    });
    close(cos.call(500), 0.05);
  });

  test('accepts a dotted class path and the TF.js className spelling', () => {
    const config = { boundaries: [10], values: [1, 0.5], name: null };
    assert.ok(deserialize({ class_name: 'keras.optimizers.schedules.PiecewiseConstantDecay', config }) instanceof PiecewiseConstantDecay);
    assert.ok(deserialize({ class_name: 'tf_keras.optimizers.schedules.PiecewiseConstantDecay', config }) instanceof PiecewiseConstantDecay);
    assert.ok(deserialize({ className: 'PiecewiseConstantDecay', config }) instanceof PiecewiseConstantDecay);
  });

  test('accepts camelCase config keys (TensorFlow.js) and ignores customObjects', () => {
    const s = deserialize({
      className: 'CosineDecayRestarts',
      config: { initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 1, mMul: 0.5, alpha: 0, name: null, customObjects: {} },
      customObjects: { anything: 1 },
    });
    assert.ok(s instanceof CosineDecayRestarts);
    assert.equal(s.tMul, 1);
    close(s.call(10), 0.05);
    const p = PolynomialDecay.fromConfig({ initialLearningRate: 1, decay_steps: 10, endLearningRate: 0 });
    close(p.call(5), 0.5);
  });

  test('the same option under both spellings must agree', () => {
    const ok = ExponentialDecay.fromConfig({ decay_steps: 10, decaySteps: 10, initial_learning_rate: 1, decay_rate: 0.5 });
    assert.equal(ok.decaySteps, 10);
    assert.throws(() => ExponentialDecay.fromConfig({ decay_steps: 10, decaySteps: 20, initial_learning_rate: 1, decay_rate: 0.5 }), {
      name: 'TypeError',
      message: /ExponentialDecay: config gives decaySteps twice with different values, 10 and 20/,
    });
  });

  test('unknown class names list the registered schedules', () => {
    assert.throws(() => deserialize({ class_name: 'StepDecay', config: {} }), {
      name: 'Error',
      message: /unknown learning rate schedule "StepDecay"; registered schedules are .*CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay/,
    });
  });

  test('malformed specs and configs', () => {
    assert.throws(() => deserialize(null as never), { name: 'TypeError', message: /expected \{class_name, config\}, got null/ });
    assert.throws(() => deserialize({ config: {} } as never), { name: 'TypeError', message: /class_name must be a string, got undefined/ });
    assert.throws(() => deserialize({ class_name: 'ExponentialDecay', config: [] as never }), {
      name: 'TypeError',
      message: /config of ExponentialDecay must be an object, got an array/,
    });
    assert.throws(
      () => deserialize({ class_name: 'ExponentialDecay', config: { initial_learning_rate: 1, decay_steps: 1, decay_rate: 1, decay: 2 } }),
      { name: 'TypeError', message: /ExponentialDecay: unknown config key "decay"; expected one of initial_learning_rate/ },
    );
    assert.throws(() => deserialize({ class_name: 'PolynomialDecay', config: { initial_learning_rate: 1 } }), {
      name: 'TypeError',
      message: /PolynomialDecay: decaySteps must be a positive finite number, got undefined/,
    });
  });

  test('isLearningRateSchedule', () => {
    assert.equal(isLearningRateSchedule(new ExponentialDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: 1 })), true);
    assert.equal(isLearningRateSchedule({ call: () => 1, getConfig: () => ({}) }), true);
    assert.equal(isLearningRateSchedule(0.001), false);
    assert.equal(isLearningRateSchedule(null), false);
    assert.equal(isLearningRateSchedule(() => 1), false);
  });
});

// ---------------------------------------------------------------------------------------------
// User-defined schedules

/** A user schedule: lr0 / sqrt(step + 1). */
class InverseSqrt extends LearningRateSchedule {
  static override readonly className = 'InverseSqrt';
  constructor(readonly lr0: number) {
    super();
  }
  call(step: number): number {
    return this.lr0 / Math.sqrt(step + 1);
  }
  getConfig(): Record<string, JsonValue> {
    return { initial_learning_rate: this.lr0, name: null };
  }
  static fromConfig(config: Record<string, unknown>): InverseSqrt {
    return new InverseSqrt(Number(config.initial_learning_rate ?? config.initialLearningRate));
  }
}

/** Another user schedule, registered under a Keras `package>Name` name. */
class Constant extends LearningRateSchedule {
  static override readonly className = 'Constant';
  constructor(readonly value: number) {
    super();
  }
  call(): number {
    return this.value;
  }
  getConfig(): Record<string, JsonValue> {
    return { value: this.value };
  }
  static fromConfig(config: Record<string, unknown>): Constant {
    return new Constant(config.value as number);
  }
}

describe('registerSchedule', () => {
  test('a registered user schedule round-trips', () => {
    registerSchedule(InverseSqrt);
    registerSchedule(InverseSqrt); // registering the same class again is harmless
    assert.ok(registeredScheduleNames().includes('InverseSqrt'));
    const spec = serialize(new InverseSqrt(0.5));
    assert.deepEqual(spec, { class_name: 'InverseSqrt', config: { initial_learning_rate: 0.5, name: null } });
    const back = deserialize(JSON.parse(JSON.stringify(spec)));
    assert.ok(back instanceof InverseSqrt);
    close(back.call(3), 0.25);
    // As Keras 3 writes a registered custom object; customObjects is stripped from the config.
    const keras = deserialize({ module: null, class_name: 'InverseSqrt', config: { initial_learning_rate: 2, customObjects: {} }, registered_name: 'Custom>InverseSqrt' });
    close(keras.call(0), 2);
  });

  test('a Keras registered_name (package>Name) finds the class', () => {
    registerSchedule(Constant, 'my_package>Constant');
    const back = deserialize({ module: null, class_name: 'Constant', config: { value: 3 }, registered_name: 'my_package>Constant' });
    assert.ok(back instanceof Constant);
    assert.equal(back.call(), 3);
    assert.deepEqual(serialize(back), { class_name: 'my_package>Constant', config: { value: 3 } });
    assert.ok(deserialize(serialize(back)) instanceof Constant);
  });

  test('rejects name clashes and classes without a name or fromConfig', () => {
    class Impostor extends InverseSqrt {}
    assert.throws(() => registerSchedule(Impostor), { name: 'Error', message: /"InverseSqrt" is already registered to another class/ });
    assert.throws(() => registerSchedule(Impostor, 'ExponentialDecay'), { name: 'Error', message: /"ExponentialDecay" is already registered/ });
    abstract class Nameless extends LearningRateSchedule {
      static fromConfig(): LearningRateSchedule {
        return new InverseSqrt(1);
      }
    }
    assert.throws(() => registerSchedule(Nameless as never), {
      name: 'TypeError',
      message: /Nameless needs a static className or an explicit name, got "LearningRateSchedule"/,
    });
    assert.throws(() => registerSchedule({} as never), { name: 'TypeError', message: /expected a LearningRateSchedule class with a static fromConfig, got \{\}/ });
  });
});

// ---------------------------------------------------------------------------------------------
// Validation: every option, with a message naming the option and the bad value.

/** Asserts `fn` throws `kind` with a message matching `pattern`. */
function rejects(fn: () => unknown, kind: 'TypeError' | 'RangeError', pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.equal(e.name, kind, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('validation', () => {
  const exp = { initialLearningRate: 0.1, decaySteps: 100, decayRate: 0.96 };

  test('ExponentialDecay options', () => {
    rejects(() => new ExponentialDecay({ ...exp, decaySteps: 0 }), 'RangeError', /^ExponentialDecay: decaySteps must be a positive finite number, got 0$/);
    rejects(() => new ExponentialDecay({ ...exp, decaySteps: -5 }), 'RangeError', /decaySteps must be a positive finite number, got -5/);
    rejects(() => new ExponentialDecay({ ...exp, decaySteps: Infinity }), 'RangeError', /decaySteps .* got Infinity/);
    rejects(() => new ExponentialDecay({ ...exp, initialLearningRate: NaN }), 'RangeError', /initialLearningRate must be a finite number, got NaN/);
    rejects(() => new ExponentialDecay({ ...exp, initialLearningRate: '0.1' as never }), 'TypeError', /initialLearningRate must be a finite number, got "0.1"/);
    rejects(() => new ExponentialDecay({ ...exp, initialLearningRate: 1n as never }), 'TypeError', /initialLearningRate must be a finite number, got 1/);
    rejects(() => new ExponentialDecay({ ...exp, decayRate: -0.5 }), 'RangeError', /decayRate must be a non-negative finite number, got -0.5/);
    rejects(() => new ExponentialDecay({ ...exp, decayRate: undefined as never }), 'TypeError', /decayRate must be a finite number|decayRate .* got undefined/);
    rejects(() => new ExponentialDecay({ ...exp, staircase: 'yes' as never }), 'TypeError', /staircase must be a boolean, got "yes"/);
    rejects(() => new ExponentialDecay({ ...exp, name: 5 as never }), 'TypeError', /name must be a string or null, got 5/);
    rejects(() => new ExponentialDecay({ ...exp, decay_steps: 100 } as never), 'TypeError', /ExponentialDecay: unknown option "decay_steps"/);
    rejects(() => new ExponentialDecay(null as never), 'TypeError', /ExponentialDecay: options must be an object, got null/);
  });

  test('InverseTimeDecay options', () => {
    const base = { initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 };
    rejects(() => new InverseTimeDecay({ ...base, decaySteps: 0 }), 'RangeError', /^InverseTimeDecay: decaySteps must be a positive finite number, got 0$/);
    rejects(() => new InverseTimeDecay({ ...base, decayRate: -1 }), 'RangeError', /InverseTimeDecay: decayRate must be a non-negative finite number, got -1/);
    rejects(() => new InverseTimeDecay({ ...base, initialLearningRate: -Infinity }), 'RangeError', /initialLearningRate .* got -Infinity/);
    rejects(() => new InverseTimeDecay({ ...base, staircase: 1 as never }), 'TypeError', /staircase must be a boolean, got 1/);
    rejects(() => new InverseTimeDecay({ ...base, decayrate: 1 } as never), 'TypeError', /unknown option "decayrate"/);
  });

  test('PiecewiseConstantDecay options', () => {
    rejects(() => new PiecewiseConstantDecay({ boundaries: [10, 5], values: [1, 2, 3] }), 'RangeError', /boundaries must be strictly increasing, got boundaries\[1\] = 5 after boundaries\[0\] = 10/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [5, 5], values: [1, 2, 3] }), 'RangeError', /boundaries must be strictly increasing, got boundaries\[1\] = 5/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [10], values: [1] }), 'RangeError', /values must have one more entry than boundaries \(2\), got 1: values = \[1\]/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [10], values: [1, 2, 3] }), 'RangeError', /values must have .* got 3/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [], values: [1] }), 'RangeError', /boundaries must contain at least one boundary, got \[\]/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [NaN], values: [1, 2] }), 'RangeError', /boundaries\[0\] must be a finite number, got NaN/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [1], values: [1, 'a' as never] }), 'TypeError', /values\[1\] must be a finite number, got "a"/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: 10 as never, values: [1, 2] }), 'TypeError', /boundaries must be an array of finite numbers, got 10/);
    rejects(() => new PiecewiseConstantDecay({ boundaries: [1], values: [1, 2], bounds: [] } as never), 'TypeError', /unknown option "bounds"/);
  });

  test('PolynomialDecay options', () => {
    const base = { initialLearningRate: 0.1, decaySteps: 10 };
    rejects(() => new PolynomialDecay({ ...base, decaySteps: 0 }), 'RangeError', /^PolynomialDecay: decaySteps must be a positive finite number, got 0$/);
    rejects(() => new PolynomialDecay({ ...base, power: -1 }), 'RangeError', /power must be a non-negative finite number, got -1/);
    rejects(() => new PolynomialDecay({ ...base, endLearningRate: NaN }), 'RangeError', /endLearningRate must be a finite number, got NaN/);
    rejects(() => new PolynomialDecay({ ...base, endLearningRate: null as never }), 'TypeError', /endLearningRate must be a finite number, got null/);
    rejects(() => new PolynomialDecay({ ...base, cycle: 'false' as never }), 'TypeError', /cycle must be a boolean, got "false"/);
    rejects(() => new PolynomialDecay({ ...base, cycles: true } as never), 'TypeError', /unknown option "cycles"/);
  });

  test('CosineDecay options', () => {
    const base = { initialLearningRate: 0.1, decaySteps: 10 };
    rejects(() => new CosineDecay({ ...base, decaySteps: 0 }), 'RangeError', /^CosineDecay: decaySteps must be positive unless there is a warmup/);
    rejects(() => new CosineDecay({ ...base, alpha: Infinity }), 'RangeError', /alpha must be a finite number, got Infinity/);
    rejects(() => new CosineDecay({ ...base, warmupTarget: '0.1' as never }), 'TypeError', /warmupTarget must be a finite number or null, got "0.1"/);
    rejects(() => new CosineDecay({ ...base, warmupTarget: NaN }), 'RangeError', /warmupTarget must be a finite number, got NaN/);
    rejects(() => new CosineDecay({ ...base, warmupSteps: -1 }), 'RangeError', /warmupSteps must be a non-negative finite number, got -1/);
    rejects(() => new CosineDecay({ ...base, warmupStep: 10 } as never), 'TypeError', /unknown option "warmupStep"/);
  });

  test('CosineDecayRestarts options', () => {
    const base = { initialLearningRate: 0.1, firstDecaySteps: 10 };
    rejects(() => new CosineDecayRestarts({ ...base, firstDecaySteps: 0 }), 'RangeError', /^CosineDecayRestarts: firstDecaySteps must be a positive finite number, got 0$/);
    rejects(() => new CosineDecayRestarts({ ...base, tMul: 0 }), 'RangeError', /tMul must be a positive finite number, got 0/);
    rejects(() => new CosineDecayRestarts({ ...base, tMul: -2 }), 'RangeError', /tMul must be a positive finite number, got -2/);
    rejects(() => new CosineDecayRestarts({ ...base, mMul: -1 }), 'RangeError', /mMul must be a non-negative finite number, got -1/);
    rejects(() => new CosineDecayRestarts({ ...base, alpha: NaN }), 'RangeError', /alpha must be a finite number, got NaN/);
    rejects(() => new CosineDecayRestarts({ ...base, t_mul: 2 } as never), 'TypeError', /unknown option "t_mul"/);
  });

  test('call takes any numeric step but NaN (negative steps: test/schedules-keras-steps.test.ts)', () => {
    const all: LearningRateSchedule[] = [
      new ExponentialDecay(exp),
      new InverseTimeDecay(exp),
      new PiecewiseConstantDecay({ boundaries: [1], values: [1, 2] }),
      new PolynomialDecay({ initialLearningRate: 1, decaySteps: 1 }),
      new CosineDecay({ initialLearningRate: 1, decaySteps: 1 }),
      new CosineDecayRestarts({ initialLearningRate: 1, firstDecaySteps: 1 }),
    ];
    for (const s of all) {
      const cls = s.constructor.name;
      assert.ok(Number.isFinite(s.call(-0.25)), `${cls} at -0.25`);
      rejects(() => s.call(NaN), 'RangeError', new RegExp(`^${cls}: step must be a number .*got NaN$`));
      rejects(() => s.call('3' as never), 'TypeError', /step must be a number .*got "3"/);
    }
  });
});
