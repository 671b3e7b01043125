/**
 * The memory-bandwidth probe: bench/probe/roofline.c compiled now with gcc (-O3 -march=native,
 * IEEE arithmetic: no -ffast-math), run on the workloads' sizes on one thread and (with OpenMP) on
 * as many threads as our optimizer uses.
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
  /** With OpenMP: the threads of the multi-threaded loops, and their rates. */
  readonly threads?: number;
  readonly adam32Threads?: number;
  readonly adam64Threads?: number;
  readonly amsgrad32Threads?: number;
  readonly full32Threads?: number;
  readonly adam32ChunksThreads?: number;
  readonly full32ChunksThreads?: number;
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
 * The probe's rows for one workload: the loop with the workload's features and layout on one thread
 * (key `c-…`) and, with OpenMP, on `threads` threads (key `c-…-threads`). `c-roofline` is plain
 * fp32 Adam. The multi-threaded loop cuts all arrays' elements, in order, into one range per thread,
 * so many small arrays are shared out between the threads rather than each one split.
 */
export function rooflineRows(r: RooflineFigures, w: Workload): PeerResult[] {
  const many = w.roofline === 'adam32Chunks';
  const layout = many ? `${r.chunkCount}×${r.chunkSize}` : `1×${r.params}`;
  const rows: PeerResult[] = [];
  const threads = r.threads !== undefined && r.threads > 1 ? r.threads : null;
  const row = (key: string, label: string, one: number | undefined, multi: number | undefined, bytes: string): void => {
    if (one !== undefined && Number.isFinite(one)) rows.push({ workload: w.id, key, label: `${label}, 1 thread`, rate: single(one), note: `${layout}, ${bytes}` });
    if (threads !== null && multi !== undefined && Number.isFinite(multi)) {
      rows.push({ workload: w.id, key: `${key}-threads`, label: `${label}, ${threads} threads`, rate: single(multi), note: `OpenMP over all arrays' elements, ${layout}, ${bytes}` });
    }
  };
  if (w.dtype === 'float64') {
    row('c-adam64', 'C fp64 Adam loop', r.adam64, r.adam64Threads, '56 B/param');
    rows.push({ workload: w.id, key: 'c-stream', label: 'STREAM triad ÷ 56 B', rate: single(r.triadBytesPerSec / 56), note: 'single-thread bandwidth bound' });
    return rows;
  }
  if (w.amsgrad) row('c-amsgrad', 'C fp32 AMSGrad loop', r.amsgrad32, r.amsgrad32Threads, '36 B/param');
  else if (w.full) row('c-full', 'C fp32 full-feature loop', many ? r.full32Chunks : r.full32, many ? r.full32ChunksThreads : r.full32Threads, '40 B/param incl. the norm pass');
  else row('c-roofline', 'C fp32 Adam loop', many ? r.adam32Chunks : r.adam32, many ? r.adam32ChunksThreads : r.adam32Threads, `${ADAM_BYTES_F32} B/param`);
  rows.push({ workload: w.id, key: 'c-stream', label: `STREAM triad ÷ ${ADAM_BYTES_F32} B`, rate: single(r.triadBytesPerSec / ADAM_BYTES_F32), note: 'single-thread bandwidth bound' });
  return rows;
}
