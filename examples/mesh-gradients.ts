/**
 * The gradient module of examples/mesh-standalone.ts: every replica imports it and calls
 * `gradients` with its part of each batch. It reads the current parameters from shared memory and
 * writes its gradients (mean squared error of a linear model) into `grads`.
 */
import type { GradientContext } from 'adam-optimizer';

/** One replica's part of a batch: rows of features and their targets. */
export interface Part {
  readonly x: number[][];
  readonly y: number[];
}

export function gradients({ params, grads, input }: GradientContext<Part>): { loss: number } {
  const [w, b] = params;
  const [gw, gb] = grads;
  gw.fill(0);
  gb.fill(0);
  let loss = 0;
  const n = input.x.length;
  for (let i = 0; i < n; i++) {
    const row = input.x[i];
    let error = b[0] - input.y[i];
    for (let j = 0; j < w.length; j++) error += w[j] * row[j];
    loss += (error * error) / n;
    for (let j = 0; j < w.length; j++) gw[j] += (2 * error * row[j]) / n;
    gb[0] += (2 * error) / n;
  }
  return { loss };
}
