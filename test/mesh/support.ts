import assert from 'node:assert/strict';
import { Adam, Variable, schedules, type AdamOptions, type FloatArray } from '../../src/index.js';
import { random } from '../support.js';

/** Sizes whose total (65) no replica count 2..4 divides; one float64 variable among float32 ones. */
export const SHAPES: { size: number; dtype: 'float32' | 'float64' }[] = [
  { size: 7, dtype: 'float32' }, { size: 13, dtype: 'float32' }, { size: 1, dtype: 'float32' },
  { size: 29, dtype: 'float32' }, { size: 10, dtype: 'float64' }, { size: 5, dtype: 'float32' },
];

export const CONFIGS: { label: string; options: () => AdamOptions }[] = [
  { label: 'plain Adam', options: () => ({ learningRate: 0.01 }) },
  {
    label: 'AMSGrad + weight decay + global clipnorm + EMA + schedule',
    options: () => ({
      learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.02, decaySteps: 2, decayRate: 0.9 }),
      amsgrad: true, weightDecay: 0.05, globalClipnorm: 0.5, useEma: true, emaMomentum: 0.8, emaOverwriteFrequency: 3,
    }),
  },
];

export function makeVariables(seed: number): Variable[] {
  const rand = random(seed);
  return SHAPES.map(({ size, dtype }, i) => {
    const values = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
    for (let j = 0; j < size; j++) values[j] = rand() * 2 - 1;
    return new Variable(values, { name: `w${i}` });
  });
}

/** Each replica's gradients for one step (deterministic in the seed). */
export function replicaGradients(seed: number, replicas: number): FloatArray[][] {
  const rand = random(seed);
  return Array.from({ length: replicas }, () => SHAPES.map(({ size, dtype }) => {
    const g = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
    for (let j = 0; j < size; j++) g[j] = Math.sinh((rand() * 2 - 1) * 3); // full-mantissa values, so that summation order shows
    return g;
  }));
}

/** The test's own fixed-order mean: sum in replica order 0, 1, 2, ... in float64, divide, round once. */
export function fixedOrderMean(parts: readonly FloatArray[][]): FloatArray[] {
  return parts[0].map((first, i) => {
    const out = first instanceof Float64Array ? new Float64Array(first.length) : new Float32Array(first.length);
    for (let j = 0; j < out.length; j++) {
      let sum = 0;
      for (const part of parts) sum += part[i][j];
      out[j] = sum / parts.length;
    }
    return out;
  });
}

/** Bit-for-bit equality (NaN equal to NaN, +0 not equal to -0). */
export function assertBitsEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}[${i}]: mesh ${actual[i]}, single optimizer ${expected[i]}`);
  }
}

export function assertSameState(mesh: { opt: Adam; vars: Variable[] }, single: { opt: Adam; vars: Variable[] }, what: string): void {
  assert.equal(mesh.opt.iterations, single.opt.iterations, `${what}: iterations`);
  mesh.vars.forEach((v, i) => assertBitsEqual(v.value, single.vars[i].value, `${what}: ${v.name}`));
  const a = mesh.opt.getWeights();
  const b = single.opt.getWeights();
  assert.equal(a.length, b.length, `${what}: state count`);
  a.forEach((w, i) => assertBitsEqual(w, b[i], `${what}: state ${mesh.opt.variables[i].name}`));
}
