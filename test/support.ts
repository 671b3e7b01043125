import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Adam, Variable } from '../src/index.js';

/** Every numeric test runs against both kernel sets. */
export const KERNEL_SETS = [
  { jitCompile: false, label: 'reference kernels' },
  { jitCompile: true, label: 'compiled kernels' },
] as const;

export function forEachKernelSet(body: (jitCompile: boolean) => void): void {
  for (const { jitCompile, label } of KERNEL_SETS) describe(label, () => body(jitCompile));
}

/** Elementwise |a - e| <= atol + rtol * |e|, with a message naming the first offending index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-6, atol = 1e-7, what = 'values' }: { rtol?: number; atol?: number; what?: string } = {},
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    const ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    assert.ok(ok, `${what}[${i}]: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Everything a step may change: variable values, optimizer state and iterations. */
export function snapshot(opt: Adam, variables: readonly Variable[]): { values: number[][]; state: number[][]; iterations: number } {
  return {
    values: variables.map((v) => Array.from(v.value)),
    state: opt.built ? opt.getWeights().map((w) => Array.from(w)) : [],
    iterations: opt.iterations,
  };
}

/** Runs `fn` with console.warn captured; returns the messages. */
export function captureWarnings(fn: () => void): string[] {
  const messages: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    messages.push(args.map(String).join(' '));
  };
  try {
    fn();
  } finally {
    console.warn = original;
  }
  return messages;
}

/** A deterministic pseudo-random generator (mulberry32) for test data. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The test oracle: one Adam step in float64 written straight from docs/semantics.md section 2
 * (dense, no clipping), independent of the library's kernels.
 */
export function oracleStep(
  p: number[], g: number[], m: number[], v: number[], vhat: number[] | null,
  o: { lr: number; b1: number; b2: number; eps: number; t: number; adaptive?: boolean; decay?: number },
): void {
  const alpha = (o.lr * Math.sqrt(1 - o.b2 ** o.t)) / (1 - o.b1 ** o.t);
  const eps = o.adaptive ? o.eps * Math.sqrt(1 - o.b2 ** o.t) : o.eps;
  for (let i = 0; i < p.length; i++) {
    if (o.decay) p[i] -= p[i] * o.decay;
    m[i] += (g[i] - m[i]) * (1 - o.b1);
    v[i] += (g[i] * g[i] - v[i]) * (1 - o.b2);
    let second = v[i];
    if (vhat) second = vhat[i] = Math.max(vhat[i], v[i]);
    p[i] -= (alpha * m[i]) / (Math.sqrt(second) + eps);
  }
}
