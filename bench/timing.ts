/**
 * Timing: warm up, calibrate the steps per repetition from the warm-up, then take the median rate
 * of several repetitions (process.hrtime.bigint()).
 */
import type { Rate, TimingSettings } from './workloads.js';

export function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Rate of `step` (one optimizer step over `params` parameters): `warmup` steps (the last one timed
 * to size the repetitions), then up to `reps` repetitions of k steps each, k chosen so that a
 * repetition lasts about `minRepSeconds`; slow peers get fewer repetitions (at least `minReps`) to
 * stay near `budgetSeconds`.
 */
export async function measureRate(
  step: () => void | Promise<void>,
  params: number,
  t: TimingSettings,
): Promise<Rate> {
  let perStep = 0;
  for (let i = 0; i < Math.max(1, t.warmup); i++) {
    const t0 = nowSeconds();
    await step();
    perStep = nowSeconds() - t0;
  }
  const stepsPerRep = Math.max(1, Math.min(t.maxStepsPerRep, Math.ceil(t.minRepSeconds / Math.max(perStep, 1e-9))));
  const repSeconds = stepsPerRep * perStep;
  const reps = Math.max(t.minReps, Math.min(t.reps, Math.floor(t.budgetSeconds / Math.max(repSeconds, 1e-9))));
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < stepsPerRep; k++) await step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push((params * stepsPerRep) / seconds);
  }
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), reps, stepsPerRep };
}

/** Deterministic gradient values in ±[1e-4, 1e-2] (no zeros, no subnormal squares). */
export function fillGradient(target: Float32Array | Float64Array, seed: number): void {
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < target.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const u = x / 4294967296; // [0, 1)
    const magnitude = 1e-4 + Math.abs(u - 0.5) * 0.0198;
    target[i] = u < 0.5 ? -magnitude : magnitude;
  }
}

/** Parameter values near 0.5. */
export function fillParams(target: Float32Array | Float64Array, seed: number): void {
  for (let i = 0; i < target.length; i++) target[i] = 0.5 + 0.001 * ((i + seed) % 97);
}
