/**
 * Benchmark helper: the TensorFlow.js adapter (`adam-optimizer/tfjs`) against TensorFlow.js' own
 * `tf.train.adam`, on the same backend, variables and gradients. Self-contained: `bench/run.ts`
 * calls {@link benchTfjsAdapter} in a child process.
 *
 *   node --import tsx bench/tfjs-adapter.ts [cpu|wasm] [size,size,...|16M|4096x1K] [steps]
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Adam } from '../src/tfjs/index.js';
import { tensorIo, type OwnedArray } from '../src/tfjs/tensor-io.js';

let wasmPathsSet = false;

async function useBackend(backend: 'cpu' | 'wasm'): Promise<void> {
  tf.enableProdMode();
  if (backend === 'wasm' && !wasmPathsSet) {
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    setWasmPaths(path.join(path.dirname(pkg), 'dist') + path.sep);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`benchTfjsAdapter: the ${backend} backend did not start`);
  await tf.ready();
}

/** A garbage collection before each timed round where gc is exposed (the bench children expose it): neither side pays for the other's garbage. */
const settle = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Seconds taken by `steps` calls of `step`. */
function time(step: () => void, steps: number): number {
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (performance.now() - start) / 1000;
}

/** A fast side's round: at least `steps` steps and at least this long, so that one slow step (GC, the machine) weighs little. */
const MIN_ROUND_SECONDS = 0.25;

/** Steps per second over a round of at least `steps` steps lasting at least MIN_ROUND_SECONDS. */
function stepsPerSecond(step: () => void, steps: number): number {
  const start = performance.now();
  let done = 0;
  while (done < steps || performance.now() - start < MIN_ROUND_SECONDS * 1000) {
    step();
    done++;
  }
  return done / ((performance.now() - start) / 1000);
}

/** Rounds of timing, each side once per round, alternating; the fastest round of each side counts. */
const ROUNDS = 3;
/** No new round starts after this many seconds (the first always runs). */
const BUDGET_SECONDS = 30;

/**
 * Times the adapter's Adam (rounds of at least `steps` steps and 0.25 s) and `tf.train.adam` (rounds
 * of a quarter as many steps, at least one: it is much slower) on `backend`, one variable per entry
 * of `sizes` (float32, that many elements), with fixed gradients. Ours first warms up for a round,
 * theirs takes one untimed step (both build their state then); then up to three rounds alternate
 * between the two sides, each after a gc(), and the fastest round of each counts (the machine may
 * be shared). Each side steps its own variables, with the same values and gradients. Each step
 * runs in `tf.tidy`, as `model.fit` runs it, with default options (`jitCompile: true`: the
 * compiled kernels where they are available; `writeInPlace` as given, default false). Returns
 * parameters updated per second (`sum(sizes) * steps / seconds`) for both.
 */
export async function benchTfjsAdapter(backend: 'cpu' | 'wasm', sizes: number[], steps: number, options: { writeInPlace?: boolean } = {}): Promise<{ ours: number; tfjs: number }> {
  if (!(steps >= 1) || !Number.isInteger(steps)) throw new RangeError(`benchTfjsAdapter: steps must be a positive integer, got ${steps}`);
  await useBackend(backend);
  const params = sizes.reduce((a, b) => a + b, 0);
  // Each side steps its own copy of the variables: sharing them, every round would start with the
  // other side's outside assignment, which ours answers with a one-off copy (as after setWeights).
  const variablesOf = (side: string) =>
    sizes.map((n, i) => tf.variable(tf.fill([n], 0.5 + (i % 7) * 0.01), true, `bench_tfjs_adapter/${side}/${i}`));
  const oursVariables = variablesOf('ours');
  const theirVariables = variablesOf('theirs');
  const gradients = sizes.map((n, i) => tf.tidy(() => tf.sin(tf.add(tf.range(0, n, 1, 'float32'), i))));
  const gradientsOf = (variables: tf.Variable[]): tf.NamedTensorMap =>
    Object.fromEntries(variables.map((v, i) => [v.name, gradients[i]]));
  const oursGrads = gradientsOf(oursVariables);
  const theirGrads = gradientsOf(theirVariables);
  const ours = new Adam({ learningRate: 1e-3, writeInPlace: options.writeInPlace ?? false });
  const theirs: tf.Optimizer = tf.train.adam(1e-3);
  const theirSteps = Math.max(1, Math.floor(steps / 4));
  const oursStep = () => tf.tidy(() => ours.applyGradients(oursGrads));
  const theirStep = () => tf.tidy(() => theirs.applyGradients(theirGrads));
  try {
    // Ours warms up as long as a round (the JIT tiers up over the first steps); theirs takes one step.
    stepsPerSecond(oursStep, steps);
    theirStep();
    let oursBest = 0;
    let theirBest = Infinity;
    const start = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0 && (performance.now() - start) / 1000 > BUDGET_SECONDS) break;
      settle();
      oursBest = Math.max(oursBest, stepsPerSecond(oursStep, steps));
      settle();
      theirBest = Math.min(theirBest, time(theirStep, theirSteps));
    }
    return { ours: params * oursBest, tfjs: (params * theirSteps) / theirBest };
  } finally {
    ours.dispose();
    theirs.dispose();
    tf.dispose([...oursVariables, ...theirVariables, ...gradients]);
  }
}

/**
 * The floor of the adapter's default path: its write-back alone, with no optimizer. TensorFlow.js
 * tensors are immutable, so each step gives every variable a new tensor holding its new values
 * (cpu: a fresh array; wasm: new heap memory), through the same code as the adapter's write-back.
 * Returns parameters written per second (the fastest of up to three rounds).
 */
export async function benchNewTensorFloor(backend: 'cpu' | 'wasm', sizes: number[], steps: number): Promise<number> {
  await useBackend(backend);
  const params = sizes.reduce((a, b) => a + b, 0);
  const variables = sizes.map((n, i) => tf.variable(tf.fill([n], 0.5), true, `bench_tensor_floor/${i}`));
  const values = sizes.map((n) => new Float32Array(n).fill(0.25));
  const slots: OwnedArray[] = sizes.map(() => ({ owned: null }));
  const step = (): void => {
    const io = tensorIo();
    tf.tidy(() => {
      for (let i = 0; i < variables.length; i++) {
        const output = io.output(variables[i], slots[i], false);
        output.array.set(values[i]);
        output.commit();
      }
    });
  };
  try {
    stepsPerSecond(step, steps);
    let best = 0;
    for (let round = 0; round < ROUNDS; round++) best = Math.max(best, stepsPerSecond(step, steps));
    return params * best;
  } finally {
    tf.dispose(variables);
  }
}

function parseSizes(arg: string | undefined): number[] {
  if (arg === undefined || arg === '16M') return [16 << 20];
  if (arg === '4096x1K') return new Array<number>(4096).fill(1024);
  return arg.split(',').map(Number);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const backend = (process.argv[2] ?? 'cpu') as 'cpu' | 'wasm';
  const sizes = parseSizes(process.argv[3]);
  const steps = Number(process.argv[4] ?? 4);
  const { ours, tfjs } = await benchTfjsAdapter(backend, sizes, steps);
  const m = (x: number) => `${(x / 1e6).toFixed(1)} M params/s`;
  console.log(`${backend}, ${sizes.length} x ${sizes[0]}: adapter ${m(ours)}, tf.train.adam ${m(tfjs)}, ${(ours / tfjs).toFixed(1)}x`);
}
