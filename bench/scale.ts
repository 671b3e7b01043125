/**
 * The "scale" workload: models larger than one WebAssembly memory (4 GiB) step with the compiled
 * kernels, and their per-parameter rate against a 16M model of the same shape on the same threads.
 * Each model runs in its own process (the 600M one holds about 10 GB: p, m, v in kernel memory and
 * the float32 gradients in ordinary arrays). `npm run bench` runs it after the main table;
 * `--quick` and `--no-scale` skip it; `node --import tsx bench/scale.ts` runs it alone.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { lastLine, runProcess } from './proc.js';

const M = 1_000_000;

/** One scale model: `count` float32 variables of `size` elements. */
export interface ScaleModel {
  readonly id: string;
  readonly title: string;
  readonly count: number;
  readonly size: number;
  readonly amsgrad: boolean;
  readonly ema: boolean;
}

export const SCALE_MODELS: readonly ScaleModel[] = [
  { id: 's16', title: 'f32, 8 × 2M = 16M', count: 8, size: 2 * M, amsgrad: false, ema: false },
  { id: 's600', title: 'f32, 8 × 75M = 600M', count: 8, size: 75 * M, amsgrad: false, ema: false },
  { id: 's16x', title: 'f32 AMSGrad + EMA, 8 × 2M = 16M', count: 8, size: 2 * M, amsgrad: true, ema: true },
  { id: 's300x', title: 'f32 AMSGrad + EMA, 4 × 75M = 300M', count: 4, size: 75 * M, amsgrad: true, ema: true },
];

/** What one child reports. */
export interface ScaleResult {
  readonly id: string;
  readonly params: number;
  readonly threads: number;
  readonly memories: number;
  /** Bytes of kernel memory storages (variables and state). */
  readonly kernelBytes: number;
  readonly buildSeconds: number;
  readonly firstStepSeconds: number;
  /** Parameters per second over the timed steps (median of the per-step rates). */
  readonly rate: number;
  readonly steps: number;
}

/** Runs one model in this process and returns its figures. */
async function measure(model: ScaleModel): Promise<ScaleResult> {
  const { Adam, Variable } = await import('../src/index.js');
  const { loadCompiledKernels } = await import('../src/kernels/compiled/index.js');
  const kernels = loadCompiledKernels();
  if (kernels === null || kernels.name !== 'compiled') throw new Error('compiled kernels unavailable');
  const compiled = kernels as import('../src/kernels/compiled/kernels.js').CompiledKernels;
  const variables = Array.from({ length: model.count }, (_, i) => new Variable(new Float32Array(model.size).fill(0.01 * (i + 1)), { name: `w${i}` }));
  const opt = new Adam({ learningRate: 1e-4, amsgrad: model.amsgrad, useEma: model.ema, emaMomentum: 0.99 });
  let t = performance.now();
  opt.build(variables);
  const buildSeconds = (performance.now() - t) / 1000;
  const grads = variables.map((v) => new Float32Array(v.size).fill(1e-3));
  const pairs = variables.map((v, i) => [grads[i], v] as const);
  t = performance.now();
  opt.applyGradients(pairs);
  const firstStepSeconds = (performance.now() - t) / 1000;
  // Let the worker threads start, then warm up once more.
  await new Promise((resolve) => setTimeout(resolve, 200));
  opt.applyGradients(pairs);
  const params = model.count * model.size;
  const steps = Math.max(3, Math.min(20, Math.round(3e9 / params)));
  const rates: number[] = [];
  for (let s = 0; s < steps; s++) {
    t = performance.now();
    opt.applyGradients(pairs);
    rates.push(params / ((performance.now() - t) / 1000));
  }
  rates.sort((a, b) => a - b);
  const value = variables[0].value[0];
  if (!Number.isFinite(value)) throw new Error(`the step produced ${value}`);
  return {
    id: model.id, params, threads: compiled.threadCount, memories: compiled.memoryCount, kernelBytes: compiled.bytesInUse,
    buildSeconds, firstStepSeconds, rate: rates[Math.floor(rates.length / 2)], steps,
  };
}

/** Runs every scale model, each in a fresh process; returns the lines to print. */
export async function runScaleBench(timeoutSeconds = 900): Promise<string[]> {
  const self = fileURLToPath(import.meta.url);
  const results = new Map<string, ScaleResult | string>();
  for (const model of SCALE_MODELS) {
    const run = await runProcess(process.execPath, ['--import', 'tsx', self, '--child', model.id], timeoutSeconds, process.env);
    if (run.status === 0) results.set(model.id, JSON.parse(lastLine(run.stdout)) as ScaleResult);
    else results.set(model.id, run.error ?? lastLine(run.stderr) ?? `exit ${run.status}`);
  }
  const mps = (r: number): string => (r / 1e6).toFixed(0);
  const lines = [
    '',
    `Scale (compiled kernels, float32 gradients in ordinary arrays) on ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, 1-min load ${os.loadavg()[0].toFixed(1)}:`,
    '| model | params | threads | memories | kernel memory | build | first step | M params/s | vs 16M |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const model of SCALE_MODELS) {
    const r = results.get(model.id)!;
    if (typeof r === 'string') {
      lines.push(`| ${model.title} | ${(model.count * model.size / M).toFixed(0)}M | | | | | | failed: ${r.replace(/\|/g, '/')} | |`);
      continue;
    }
    const small = results.get(model.id.startsWith('s300') ? 's16x' : 's16');
    const ratio = model.id.startsWith('s16') || small === undefined || typeof small === 'string' ? '' : `${(r.rate / small.rate).toFixed(2)}×`;
    lines.push(`| ${model.title} | ${(r.params / M).toFixed(0)}M | ${r.threads} | ${r.memories} | ${(r.kernelBytes / 2 ** 30).toFixed(1)} GiB | ${r.buildSeconds.toFixed(1)} s | ${r.firstStepSeconds.toFixed(2)} s | ${mps(r.rate)} | ${ratio} |`);
  }
  lines.push('Target: the 600M rate ≥ 0.9× the 16M rate of the same shape and threads; both large models step.');
  return lines;
}

const entry = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (entry) {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    const model = SCALE_MODELS.find((m) => m.id === process.argv[childIndex + 1]);
    if (model === undefined) throw new Error(`no scale model ${process.argv[childIndex + 1]}`);
    measure(model).then((r) => console.log(JSON.stringify(r)), (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    });
  } else {
    runScaleBench().then((lines) => console.log(lines.join('\n')), (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
  }
}
