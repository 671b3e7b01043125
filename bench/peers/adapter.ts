/**
 * The project's TensorFlow.js adapter against tf.train.adam, through `bench/tfjs-adapter.ts`
 * (written separately): `benchTfjsAdapter(backend, sizes, steps)` resolves to
 * `{ ours, tfjs }`, read here as parameters per second of each.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { ChildTask, PeerResult } from '../workloads.js';

export type BenchTfjsAdapter = (
  backend: 'cpu' | 'wasm',
  sizes: number[],
  steps: number,
  options?: { writeInPlace?: boolean },
) => Promise<{ ours: number; tfjs: number }>;

export type BenchNewTensorFloor = (backend: 'cpu' | 'wasm', sizes: number[], steps: number) => Promise<number>;

/** Path of the adapter benchmark module, whether or not it exists. */
export function adapterModulePath(): string {
  return fileURLToPath(new URL('../tfjs-adapter.ts', import.meta.url));
}

export function adapterAvailable(): boolean {
  return existsSync(adapterModulePath());
}

export async function runAdapter(task: ChildTask): Promise<PeerResult[]> {
  const w = task.workload;
  const backend = task.peer === 'adapter-wasm' ? 'wasm' : 'cpu';
  // A computed specifier: the module may not exist when this file is type-checked.
  const mod = (await import(pathToFileURL(adapterModulePath()).href)) as { benchTfjsAdapter?: BenchTfjsAdapter; benchNewTensorFloor?: BenchNewTensorFloor };
  if (typeof mod.benchTfjsAdapter !== 'function') throw new Error('bench/tfjs-adapter.ts does not export benchTfjsAdapter');
  const sizes = new Array<number>(w.count).fill(w.size);
  const steps = task.adapterSteps ?? 2;
  const { ours, tfjs } = await mod.benchTfjsAdapter(backend, sizes, steps);
  // The adapter module times rounds of ≥ `steps` steps (and ≥ 0.25 s) of ours and max(1, steps / 4) of tf.train.adam; the fastest round of each.
  const theirSteps = Math.max(1, Math.floor(steps / 4));
  const single = (median: number, n: number) => ({ median, min: median, max: median, reps: 1, stepsPerRep: n });
  const note = 'fastest of up to 3 rounds, by bench/tfjs-adapter.ts';
  const rows: PeerResult[] = [
    {
      workload: w.id, key: `adapter-ours-${backend}`, label: `adapter: ours via tfjs (${backend})`,
      rate: single(ours, steps), note, adapterRatio: ours / tfjs,
    },
    { workload: w.id, key: `adapter-tfjs-${backend}`, label: `adapter: tf.train.adam (${backend})`, rate: single(tfjs, theirSteps), note },
  ];
  if (backend === 'cpu') {
    // The opt-in that skips the new tensor per variable (only the cpu backend allows it).
    const inPlace = await mod.benchTfjsAdapter(backend, sizes, steps, { writeInPlace: true });
    rows.splice(1, 0, {
      workload: w.id, key: 'adapter-inplace-cpu', label: 'adapter: ours via tfjs, writeInPlace (cpu)',
      rate: single(inPlace.ours, steps), note, adapterRatio: inPlace.ours / inPlace.tfjs,
    });
  }
  if (typeof mod.benchNewTensorFloor === 'function') {
    const floor = await mod.benchNewTensorFloor(backend, sizes, steps);
    rows.push({
      workload: w.id, key: `adapter-floor-${backend}`, label: `floor: a new tensor per variable, no optimizer (${backend})`,
      rate: single(floor, steps), note: 'the adapter\'s write-back alone, fastest of 3 rounds, by bench/tfjs-adapter.ts',
    });
  }
  return rows;
}
