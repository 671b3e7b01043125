/**
 * Trajectories against PyTorch: every case of the reference fixtures, run through the public
 * `Adam` with both kernel sets, every variable compared after every step (and the EMA averages at
 * the end).
 *
 * Fixtures (copied into the project; tests never read anything outside it):
 * - fixtures/torch-trajectories.json: the shared reference runs (PyTorch 1.13).
 * - fixtures/torch-generated.json: written by `npm run reference:generate`
 *   (scripts/reference/generate_trajectories.py, which documents the format and how each Keras
 *   rule is mapped onto PyTorch).
 *
 * Bounds: |got - want| <= max(rtol * |want|, atol), float64 rtol 1e-9 / atol 1e-12, float32
 * rtol 1e-5 / atol 1e-6. The reported "relative error" is |got - want| / max(|want|, atol / rtol),
 * so that it is within bound exactly when it is <= rtol.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import { Adam, IndexedSlices, Variable } from '../src/index.js';

type Dtype = 'float32' | 'float64';
type Config = Record<string, unknown>;

interface DenseCase {
  config: Config;
  dtype: Dtype;
  shapes: number[][];
  init: number[][];
  /** grads[step][variable]: flat raw gradients, before clipping */
  grads: number[][][];
  /** expected[step][variable]: flat values after the step */
  expected: number[][][];
  /** final moving averages, per variable (null or absent without use_ema) */
  ema?: number[][] | null;
}

interface SparseCase {
  config: Config;
  dtype: Dtype;
  dense_shape: number[];
  init: number[];
  /** per step: row indices (with repeats) and their rows, flattened */
  sparse_grads: { indices: number[]; values: number[] }[];
  /** expected[step]: flat values after the step */
  expected: number[][];
  ema?: number[] | null;
}

type Case = DenseCase | SparseCase;

interface Fixture {
  seed: number;
  torch: string;
  cases: Case[];
}

const FIXTURE_FILES = ['torch-trajectories.json', 'torch-generated.json'] as const;

const TOLERANCE: Record<Dtype, { rtol: number; atol: number }> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float64: { rtol: 1e-9, atol: 1e-12 },
};

function loadFixture(file: string): Fixture {
  const fixture = JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')) as Fixture;
  assert.ok(Array.isArray(fixture.cases) && fixture.cases.length > 0, `${file}: no cases`);
  return fixture;
}

function isSparse(c: Case): c is SparseCase {
  return 'dense_shape' in c;
}

const KERAS_DEFAULTS: Config = { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 };

/** A short name for a case: kind, dtype and the options that differ from the defaults. */
function describeCase(c: Case): string {
  const cfg = c.config;
  const parts: string[] = [];
  const lr = cfg.learning_rate;
  if (lr !== null && typeof lr === 'object') {
    const schedule = lr as { class_name?: string; config?: { staircase?: boolean } };
    parts.push(`lr=${schedule.class_name}${schedule.config?.staircase ? ' (staircase)' : ''}`);
  } else if (lr !== undefined && lr !== KERAS_DEFAULTS.learning_rate) {
    parts.push(`lr=${lr}`);
  }
  for (const [key, label] of [['beta_1', 'b1'], ['beta_2', 'b2'], ['epsilon', 'eps']] as const) {
    if (cfg[key] !== undefined && cfg[key] !== KERAS_DEFAULTS[key]) parts.push(`${label}=${cfg[key]}`);
  }
  parts.push(cfg.adaptive_epsilon ? 'adaptive eps' : 'eps-hat');
  if (cfg.amsgrad) parts.push('amsgrad');
  if (cfg.weight_decay != null) parts.push(`wd=${cfg.weight_decay}`);
  for (const key of ['clipnorm', 'global_clipnorm', 'clipvalue'] as const) {
    if (cfg[key]) parts.push(`${key}=${cfg[key]}`);
  }
  if (cfg.use_ema) {
    const momentum = cfg.ema_momentum ?? 0.99;
    const every = cfg.ema_overwrite_frequency ? `, overwrite every ${cfg.ema_overwrite_frequency}` : '';
    parts.push(`ema(${momentum}${every})`);
  }
  const kind = isSparse(c) ? `sparse [${c.dense_shape.join('x')}]` : `dense x${c.shapes.length}`;
  return `${c.dtype} ${kind}: ${parts.join(', ')}`;
}

/** Worst normalized error per dtype, per kernel set and overall. */
const worst = {
  all: { float32: 0, float64: 0 } as Record<Dtype, number>,
  reference: { float32: 0, float64: 0 } as Record<Dtype, number>,
  compiled: { float32: 0, float64: 0 } as Record<Dtype, number>,
};
let casesRun = 0;

interface Mismatch {
  where: string;
  index: number;
  want: number;
  got: number;
  error: number;
}

/** Compares one variable's values; records the error and returns the mismatches. */
function compare(
  dtype: Dtype,
  kernelSet: 'reference' | 'compiled',
  got: ArrayLike<number>,
  want: readonly number[],
  where: string,
): Mismatch[] {
  assert.equal(got.length, want.length, `${where}: ${got.length} values, expected ${want.length}`);
  const { rtol, atol } = TOLERANCE[dtype];
  const floor = atol / rtol;
  const mismatches: Mismatch[] = [];
  let caseWorst = 0;
  for (let k = 0; k < want.length; k++) {
    const w = want[k];
    const g = got[k];
    const error = Number.isFinite(g) ? Math.abs(g - w) / Math.max(Math.abs(w), floor) : Infinity;
    if (error > caseWorst) caseWorst = error;
    if (!(error <= rtol)) mismatches.push({ where, index: k, want: w, got: g, error });
  }
  worst.all[dtype] = Math.max(worst.all[dtype], caseWorst);
  worst[kernelSet][dtype] = Math.max(worst[kernelSet][dtype], caseWorst);
  return mismatches;
}

function failOn(mismatches: Mismatch[], c: Case): void {
  if (mismatches.length === 0) return;
  const shown = mismatches
    .slice(0, 6)
    .map((m) => `  ${m.where}[${m.index}]: expected ${m.want}, got ${m.got} (relative error ${m.error.toExponential(2)})`)
    .join('\n');
  assert.fail(
    `${mismatches.length} value(s) beyond ${c.dtype} bound ${TOLERANCE[c.dtype].rtol} ` +
      `(config ${JSON.stringify(c.config)}):\n${shown}`,
  );
}

function runCase(c: Case, jitCompile: boolean): void {
  const kernelSet = jitCompile ? 'compiled' : 'reference';
  const typed = (xs: readonly number[]) => (c.dtype === 'float64' ? Float64Array.from(xs) : Float32Array.from(xs));
  const shapes = isSparse(c) ? [c.dense_shape] : c.shapes;
  const inits = isSparse(c) ? [c.init] : c.init;
  const variables = shapes.map((shape, i) => new Variable(typed(inits[i]), { name: `v${i}`, shape }));
  const optimizer = Adam.fromConfig({ ...c.config, jit_compile: jitCompile });
  const steps = isSparse(c) ? c.sparse_grads.length : c.grads.length;
  assert.equal(c.expected.length, steps, 'fixture: one expected entry per step');

  for (let s = 0; s < steps; s++) {
    const pairs: [Float32Array | Float64Array | IndexedSlices, Variable][] = isSparse(c)
      ? [[new IndexedSlices(typed(c.sparse_grads[s].values), c.sparse_grads[s].indices, c.dense_shape), variables[0]]]
      : c.grads[s].map((g, i) => [typed(g), variables[i]]);
    const iterations = optimizer.applyGradients(pairs);
    assert.equal(iterations, s + 1, `applyGradients returns the new iterations count`);
    const want = isSparse(c) ? [c.expected[s]] : c.expected[s];
    const mismatches = variables.flatMap((v, i) => compare(c.dtype, kernelSet, v.value, want[i], `step ${s + 1} (of ${steps}), v${i}`));
    failOn(mismatches, c); // stop at the first step that goes wrong: later steps only diverge further
  }

  if (c.ema != null) {
    const ema = isSparse(c) ? [c.ema] : c.ema;
    // docs/semantics.md 1.3: the averages come right after the `iteration` counter, one per variable
    const state = optimizer.variables;
    assert.ok(state.length >= 1 + variables.length, `optimizer.variables holds the ${variables.length} averages`);
    failOn(
      variables.flatMap((_, i) => compare(c.dtype, kernelSet, state[1 + i].value, ema[i], `optimizer.variables[${1 + i}] (average of v${i})`)),
      c,
    );
    optimizer.finalizeVariableValues(variables);
    failOn(
      variables.flatMap((v, i) => compare(c.dtype, kernelSet, v.value, ema[i], `after finalizeVariableValues, v${i}`)),
      c,
    );
  }
  casesRun++;
}

const fixtures = FIXTURE_FILES.map((file) => ({ file, fixture: loadFixture(file) }));

describe('Adam trajectories vs PyTorch', () => {
  for (const jitCompile of [false, true]) {
    describe(`jitCompile: ${jitCompile}`, () => {
      for (const { file, fixture } of fixtures) {
        describe(`${file} (torch ${fixture.torch}, seed ${fixture.seed})`, () => {
          fixture.cases.forEach((c, index) => {
            test(`#${index} ${describeCase(c)}`, () => runCase(c, jitCompile));
          });
        });
      }
    });
  }

  after(() => {
    const fmt = (r: Record<Dtype, number>) => `float32=${r.float32.toExponential(3)}, float64=${r.float64.toExponential(3)}`;
    console.log(
      `trajectory worst relative error ${fmt(worst.all)} ` +
        `(jitCompile false: ${fmt(worst.reference)}; true: ${fmt(worst.compiled)}; ${casesRun} case runs passed; ` +
        `bounds float32 ${TOLERANCE.float32.rtol}, float64 ${TOLERANCE.float64.rtol})`,
    );
    for (const dtype of ['float32', 'float64'] as const) {
      assert.ok(
        worst.all[dtype] <= TOLERANCE[dtype].rtol,
        `worst ${dtype} relative error ${worst.all[dtype]} exceeds ${TOLERANCE[dtype].rtol}`,
      );
    }
  });
});
