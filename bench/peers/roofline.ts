/**
 * The memory-bandwidth probe: bench/probe/roofline.c compiled now with gcc (-O3 -march=native,
 * IEEE arithmetic: no -ffast-math), run single-threaded on the workloads' sizes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { lastLine, runProcess } from '../proc.js';
import type { PeerResult, Rate, Workload } from '../workloads.js';

/** Bytes one fp32 Adam step moves per parameter: g, p, m, v read; p, m, v written. */
export const ADAM_BYTES_F32 = 28;

export const GCC_FLAGS = ['-O3', '-march=native', '-fno-math-errno', '-std=c11'];

export interface RooflineFigures {
  readonly compiler: string;
  readonly params: number;
  readonly copyBytesPerSec: number;
  readonly triadBytesPerSec: number;
  readonly adam32: number;
  readonly adam64: number;
  readonly amsgrad32: number;
  readonly full32: number;
  readonly chunkCount?: number;
  readonly chunkSize?: number;
  readonly adam32Chunks?: number;
  readonly full32Chunks?: number;
  /** With OpenMP: the threads of the multi-threaded loop, and its rates. */
  readonly threads?: number;
  readonly adam32Threads?: number;
  readonly adam32ChunksThreads?: number;
}

/** Compiles and runs the probe; `big` is the 1-variable size, `count`×`size` the many-variable layout. */
export async function runRoofline(
  big: number, count: number, size: number, steps: number, reps: number, timeoutSeconds: number, threads: number,
): Promise<RooflineFigures | { skipped: string }> {
  const source = fileURLToPath(new URL('../probe/roofline.c', import.meta.url));
  const version = await runProcess('gcc', ['--version'], 30);
  if (version.status !== 0) return { skipped: `gcc not available (${version.error ?? lastLine(version.stderr)})` };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adam-roofline-'));
  try {
    const binary = path.join(dir, 'roofline');
    // With OpenMP when gcc has it (one more row: the same loop on `threads` threads), else without.
    let cc = await runProcess('gcc', [...GCC_FLAGS, '-fopenmp', '-o', binary, source, '-lm'], 120);
    if (cc.status !== 0) cc = await runProcess('gcc', [...GCC_FLAGS, '-o', binary, source, '-lm'], 120);
    if (cc.status !== 0) return { skipped: `gcc failed: ${cc.error ?? lastLine(cc.stderr)}` };
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OMP_PROC_BIND: 'false' };
    const run = await runProcess(binary, ['1', String(big), String(steps), String(reps), String(count), String(size)], timeoutSeconds, env);
    if (run.status !== 0) return { skipped: `probe failed: ${run.error ?? lastLine(run.stderr)}` };
    const figures = JSON.parse(lastLine(run.stdout)) as Omit<RooflineFigures, 'compiler'>;
    return { ...figures, compiler: (version.stdout.split('\n')[0] ?? 'gcc').trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function single(median: number): Rate {
  return { median, min: median, max: median, reps: 1, stepsPerRep: 0 };
}

/**
 * The probe's rows for one workload. `c-roofline` is the roofline the targets use: the plain fp32
 * Adam loop on the workload's layout (1 variable or many).
 */
export function rooflineRows(r: RooflineFigures, w: Workload): PeerResult[] {
  const many = w.roofline === 'adam32Chunks';
  const adam = many ? r.adam32Chunks : r.adam32;
  const layout = many ? `${r.chunkCount}×${r.chunkSize}` : `1×${r.params}`;
  const rows: PeerResult[] = [];
  const row = (key: string, label: string, rate: number | undefined, note: string): void => {
    if (rate !== undefined && Number.isFinite(rate)) rows.push({ workload: w.id, key, label, rate: single(rate), note });
  };
  if (w.dtype === 'float64') {
    row('c-adam64', 'C fp64 Adam loop', r.adam64, `1 thread, ${layout}, 56 B/param`);
    row('c-stream', 'STREAM triad ÷ 56 B', r.triadBytesPerSec / 56, 'single-thread bandwidth bound');
    return rows;
  }
  row('c-roofline', 'C fp32 Adam loop (roofline)', adam, `1 thread, ${layout}, ${ADAM_BYTES_F32} B/param`);
  if (r.threads !== undefined && r.threads > 1 && !w.amsgrad && !w.full) {
    row('c-roofline-threads', `C fp32 Adam loop, ${r.threads} threads`, many ? r.adam32ChunksThreads : r.adam32Threads, `OpenMP, ${layout}, ${ADAM_BYTES_F32} B/param`);
  }
  if (w.amsgrad) row('c-amsgrad', 'C fp32 AMSGrad loop', r.amsgrad32, `1 thread, ${layout}, 36 B/param`);
  if (w.full) row('c-full', 'C fp32 full-feature loop', many ? r.full32Chunks : r.full32, `1 thread, ${layout}, 40 B/param incl. the norm pass`);
  row('c-stream', `STREAM triad ÷ ${ADAM_BYTES_F32} B`, r.triadBytesPerSec / ADAM_BYTES_F32, 'single-thread bandwidth bound');
  return rows;
}
