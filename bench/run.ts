/**
 * `npm run bench [-- --quick] [--only a,b] [--out FILE]`: parameters per second of one Adam step,
 * ours against TensorFlow.js, PyTorch and a C roofline, side by side in one run on this machine.
 * Prints the table and writes it, with the machine's description, to bench/results.md. --quick
 * (small sizes, few repetitions) and --only (some workloads: a, b, c, d, e, e2) write markdown only
 * where --out says.
 *
 * Every measurement of a JavaScript peer runs in its own child process (bench/child.ts, with
 * --expose-gc); the C probe and PyTorch run as subprocesses. One thing runs at a time.
 */
import { fork } from 'node:child_process';
import { runProcess } from './proc.js';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import cliProgress from 'cli-progress';

import type { ChildReply } from './child.js';
import { adapterAvailable } from './peers/adapter.js';
import { PARALLEL_MIN_ELEMENTS, defaultThreadCount } from '../src/kernels/compiled/threads.js';
import { GCC_FLAGS, runRoofline, rooflineRows, type RooflineFigures } from './peers/roofline.js';
import { findTorch, runTorch, type TorchInfo } from './peers/torch.js';
import { consoleReport, markdownReport, type Environment } from './report.js';
import { ONE_THREAD_ROWS } from './targets.js';
import { nowSeconds } from './timing.js';
import { runScaleBench } from './scale.js';
import {
  benchMode, totalParams,
  type BenchMode, type ChildTask, type PeerKind, type PeerResult, type Workload,
} from './workloads.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results.md', import.meta.url));

const LABELS: Record<PeerKind, string> = {
  'ours-buffer': 'ours jit, gradientBuffer',
  'ours-typed': 'ours jit, typed-array grads',
  'ours-reference': 'ours reference (jit off)',
  'tfjs-cpu': 'tf.train.adam (cpu)',
  'tfjs-wasm': 'tf.train.adam (wasm)',
  'adapter-cpu': 'adapter (cpu)',
  'adapter-wasm': 'adapter (wasm)',
  'copy-floor': 'floor: copying typed-array grads into kernel memory',
};

interface Step {
  readonly label: string;
  readonly run: () => Promise<void>;
}

/** Runs one task in a fresh node process; failures become skipped rows. */
function runChild(task: ChildTask, timeoutSeconds: number, notes: Set<string>): Promise<PeerResult[]> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [JSON.stringify(task)], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: task.threads === undefined ? process.env : { ...process.env, ADAM_OPTIMIZER_THREADS: String(task.threads) },
    });
    let output = '';
    let reply: ChildReply | null = null;
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.on('message', (m) => { reply = m as ChildReply; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Library notices (e.g. "compiled kernels unavailable") are worth keeping.
      for (const line of output.split('\n')) if (line.startsWith('adam-optimizer:')) notes.add(line.trim());
      const got = reply as ChildReply | null;
      const oneThread = task.threads === 1;
      const skip = (why: string): PeerResult[] => [{
        workload: task.workload.id, key: oneThread ? `${task.peer}-1thr` : task.peer, label: `${LABELS[task.peer]}${oneThread ? ', 1 thread' : ''}`, skipped: why,
      }];
      if (got !== null && 'results' in got) resolve(got.results);
      else if (got !== null) resolve(skip(got.error));
      else if (timedOut) resolve(skip(`timed out after ${timeoutSeconds} s`));
      else {
        const last = output.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? '';
        resolve(skip(`child exited (${signal ?? code})${last ? `: ${last.slice(0, 160)}` : ''}`));
      }
    });
  });
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** The last-level cache size as Linux reports it (e.g. "480M"), or null. */
function lastLevelCache(): string | null {
  for (const index of [3, 2]) {
    try {
      const size = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`, 'utf8').trim();
      const level = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${index}/level`, 'utf8').trim();
      const kib = /^(\d+)K$/.exec(size);
      const pretty = kib ? (Number(kib[1]) >= 1024 ? `${Number(kib[1]) / 1024} MiB` : `${kib[1]} KiB`) : size;
      return `L${level} ${pretty}`;
    } catch {
      /* try the next */
    }
  }
  return null;
}

function methodLines(mode: BenchMode, torch: TorchInfo | { skipped: string }): string[] {
  const t = (s: BenchMode['fast']): string =>
    `${s.warmup} warm-up steps, then ${s.minReps}–${s.reps} repetitions of k steps (k sized to ≥ ${s.minRepSeconds} s a repetition, ≤ ${s.maxStepsPerRep})`;
  return [
    `Fast peers (ours jit, PyTorch): ${t(mode.fast)}; median rate over the repetitions (process.hrtime.bigint(); perf_counter_ns in Python).`,
    `Slow peers (ours reference, tf.train.adam): ${t(mode.slow)}.`,
    '"spread" is half the min–max range of the per-repetition rates, relative to the median.',
    'Each JavaScript measurement runs in a fresh `node --import tsx --expose-gc` process (bench/child.ts); the gradients are made once, before timing.',
    'ours jit, gradientBuffer: `opt.gradientBuffer(v)` filled once, `.value` passed to applyGradients every step (no copy with compiled kernels). ours jit, typed-array grads: ordinary Float32Array/Float64Array gradients (one copy in per step with compiled kernels).',
    `C loops: bench/probe/roofline.c (gcc ${GCC_FLAGS.join(' ')} -fopenmp; IEEE arithmetic, no -ffast-math), the same update per element (28 B/param for fp32 Adam), on 1 thread and on as many OpenMP threads as ours uses; the many-variable layout uses separately allocated arrays, and the threaded loop cuts all arrays' elements, in order, into one range per thread (whole arrays shared out, as our optimizer does). STREAM copy/triad are single-threaded (bytes as STREAM counts them, without write-allocate traffic).`,
    'ours jit, typed-array grads, 1 thread (and gradientBuffer, 1 thread): the same child run with ADAM_OPTIMIZER_THREADS=1 (worker threads off).',
    'floor rows: what a path cannot avoid, measured alone. "copying typed-array grads": the copy of every gradient into kernel memory in 16 KiB tiles on one thread, no step (bench/peers/copy-floor.ts). "a new tensor per variable": the adapter\'s write-back alone, no optimizer, as TensorFlow.js value semantics ask (bench/tfjs-adapter.ts). The targets print the bound each floor sets.',
    'tf.train.adam: pre-made gradient tensors, `optimizer.applyGradients`, disposed afterwards; it has no float64, AMSGrad, weight decay or EMA, so it runs on the dense f32 workloads only.',
    `PyTorch: torch.optim.Adam (AdamW + clip_grad_norm_ + a foreach/loop EMA for the full feature set), default (foreach=None: a per-tensor loop in 1.13), foreach=True, and fused=True where CPU supports it${'python' in torch ? ` (${torch.python}, torch ${torch.version}, ${torch.threads} intra-op thread${torch.threads === 1 ? '' : 's'})` : ''}.`,
    `Memory: state bytes from \`opt.variables\` (iteration counter included) ÷ parameters; heap growth = heapUsed after − before ${mode.heapSteps} steps (after 20 warm-up steps), both after gc(), on the workload or (above ${mode.heapMaxParams.toLocaleString('en-US')} parameters) on the same variable count with fewer elements.`,
    'Adapter rows: bench/tfjs-adapter.ts (`benchTfjsAdapter`), in a fresh process per backend and workload, each step in `tf.tidy` as `model.fit` runs it: ours warms up for a round, then up to 3 rounds alternate between ours (≥ the configured steps and ≥ 0.25 s) and tf.train.adam (a quarter of the steps), each side on its own copy of the variables and after a gc(), and the fastest round of each counts; its "adapter ratio" is the adapter\'s rate over tf.train.adam\'s in that same process.',
    'Targets (bench/targets.ts) name both rows they divide: like with like (same features, same threads) against the C loops, the adapter against the standalone optimizer with typed-array grads, and ours jit (gradientBuffer) against the other peers; they are informational and never fail the run.',
  ];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyIndex = args.indexOf('--only');
  const outIndex = args.indexOf('--out');
  // The full default run writes bench/results.md; a quick or --only run writes only where --out says.
  const out = outIndex >= 0 && args[outIndex + 1] ? path.resolve(args[outIndex + 1]) : quick || onlyIndex >= 0 ? null : RESULTS;
  const mode = benchMode(quick);
  const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',').filter((x) => x !== '') : [];
  const workloads = only.length > 0 ? mode.workloads.filter((w) => only.includes(w.id)) : mode.workloads;
  if (workloads.length === 0) throw new Error(`--only ${only.join(',')}: no such workload (known: ${mode.workloads.map((w) => w.id).join(', ')})`);
  const results: PeerResult[] = [];
  const notes = new Set<string>();
  const envLines: string[] = [];
  const started = nowSeconds();

  // Decide what runs, then run it in order.
  const steps: Step[] = [];
  let roofline: RooflineFigures | { skipped: string } = { skipped: 'not run' };
  let torch: TorchInfo | { skipped: string } = { skipped: 'not probed' };
  // The probe always runs both layouts (from the full list), whatever --only keeps.
  const big = mode.workloads.find((w) => w.roofline === 'adam32')!;
  const many = mode.workloads.find((w) => w.roofline === 'adam32Chunks')!;
  steps.push({
    label: 'C roofline probe',
    run: async () => {
      roofline = await runRoofline(big.size, many.count, many.size, quick ? 5 : 3, quick ? 3 : 5, mode.childTimeoutSeconds, defaultThreadCount());
    },
  });
  steps.push({ label: 'probing python3 for torch', run: async () => { torch = await findTorch(); } });
  const adapter = adapterAvailable();
  if (!adapter) notes.add('bench/tfjs-adapter.ts not present: the TensorFlow.js adapter rows are skipped.');

  for (const w of workloads) {
    const child = (peer: PeerKind, extra: Partial<ChildTask> = {}): Step => ({
      label: `${w.id}: ${LABELS[peer]}`,
      run: async () => {
        const timing = peer === 'ours-reference' || peer.startsWith('tfjs') ? mode.slow : mode.fast;
        results.push(...await runChild({ peer, workload: w, timing, ...extra }, mode.childTimeoutSeconds, notes));
      },
    });
    steps.push({
      label: `${w.id}: C probe rows`,
      run: async () => {
        const r = roofline as RooflineFigures | { skipped: string };
        if ('skipped' in r) results.push({ workload: w.id, key: 'c-roofline', label: 'C fp32 Adam loop (roofline)', skipped: r.skipped });
        else results.push(...rooflineRows(r, w));
      },
    });
    steps.push(child('ours-buffer', { memory: { steps: mode.heapSteps, maxParams: mode.heapMaxParams } }));
    steps.push(child('ours-typed'));
    if (ONE_THREAD_ROWS.includes(w.id)) {
      steps.push({ ...child('ours-typed', { threads: 1 }), label: `${w.id}: ${LABELS['ours-typed']}, 1 thread` });
      // What one thread can reach with typed-array grads: the step in place, plus the copy in.
      steps.push({ ...child('ours-buffer', { threads: 1 }), label: `${w.id}: ${LABELS['ours-buffer']}, 1 thread` });
      steps.push(child('copy-floor'));
    }
    steps.push(child('ours-reference'));
    if (!w.tfjs) {
      const missing = w.dtype === 'float64' ? 'TensorFlow.js has no float64' : w.amsgrad ? 'tf.train.adam has no AMSGrad' : 'tf.train.adam has no weight decay or EMA';
      results.push({ workload: w.id, key: 'tfjs', label: 'tf.train.adam (cpu, wasm)', skipped: missing });
    } else {
      steps.push(child('tfjs-cpu'));
      steps.push(child('tfjs-wasm'));
      if (adapter) {
        steps.push(child('adapter-cpu', { adapterSteps: mode.adapterSteps.cpu }));
        steps.push(child('adapter-wasm', { adapterSteps: mode.adapterSteps.wasm }));
      } else {
        results.push({ workload: w.id, key: 'adapter', label: 'adapter (cpu, wasm)', skipped: 'bench/tfjs-adapter.ts not present' });
      }
    }
    steps.push({
      label: `${w.id}: PyTorch`,
      run: async () => {
        const t = torch as TorchInfo | { skipped: string };
        if ('skipped' in t) results.push({ workload: w.id, key: 'torch-default', label: 'torch Adam', skipped: t.skipped });
        else results.push(...await runTorch(t, w, mode.fast, mode.childTimeoutSeconds));
      },
    });
  }

  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar({
      format: 'bench {bar} {value}/{total} | {elapsed}s elapsed (est. remaining {eta}s) | {task}',
      hideCursor: true, clearOnComplete: true, etaBuffer: 4,
    }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(steps.length, 0, { task: 'starting' });
  const loadAtStart = os.loadavg()[0];
  let loadMax = loadAtStart;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    loadMax = Math.max(loadMax, os.loadavg()[0]);
    if (bar) bar.update(i, { task: s.label });
    else process.stderr.write(`[${i + 1}/${steps.length}] ${s.label} (${(nowSeconds() - started).toFixed(0)} s)\n`);
    await s.run();
  }
  bar?.update(steps.length, { task: 'done' });
  bar?.stop();

  // Keep each workload's rows in a stable order: ours, C probe, tfjs, adapter, torch.
  const order = ['ours-buffer', 'ours-typed', 'copy-floor', 'ours-reference', 'c-', 'tfjs-', 'adapter', 'torch-'];
  const rank = (r: PeerResult): number => {
    const i = order.findIndex((p) => r.key.startsWith(p));
    return i < 0 ? order.length : i;
  };
  const sorted = workloads.flatMap((w) => results.filter((r) => r.workload === w.id).sort((x, y) => rank(x) - rank(y)));

  // The environment lines.
  const ourKernel = results.find((r) => r.key === 'ours-buffer' && r.kernelName)?.kernelName ?? 'unknown';
  envLines.push(`ours with jitCompile: true ran the ${ourKernel} kernels; steps of ${PARALLEL_MIN_ELEMENTS.toLocaleString('en-US')} parameters or more on ${defaultThreadCount()} thread(s) (main + workers; ADAM_OPTIMIZER_THREADS overrides)`);
  const rf = roofline as RooflineFigures | { skipped: string };
  if ('skipped' in rf) {
    envLines.push(`C probe: skipped (${rf.skipped})`);
    notes.add(`C roofline probe skipped: ${rf.skipped}`);
  } else {
    envLines.push(`C probe: ${rf.compiler}; single-thread STREAM copy ${(rf.copyBytesPerSec / 1e9).toFixed(1)} GB/s, triad ${(rf.triadBytesPerSec / 1e9).toFixed(1)} GB/s (on ${rf.params.toLocaleString('en-US')} doubles per array)`);
  }
  const tc = torch as TorchInfo | { skipped: string };
  envLines.push('skipped' in tc ? `PyTorch: skipped (${tc.skipped})` : `PyTorch: ${tc.version} via ${tc.python}, ${tc.threads} intra-op thread${tc.threads === 1 ? '' : 's'}`);
  const tfNote = results.find((r) => r.key === 'tfjs-wasm' && r.note)?.note;
  if (tfNote) envLines.push(`TensorFlow.js wasm backend: ${tfNote}`);
  envLines.push(`bench/tfjs-adapter.ts: ${adapter ? 'present' : 'absent'}`);
  envLines.push(`Total run time: ${(nowSeconds() - started).toFixed(0)} s`);
  const loadAtEnd = os.loadavg()[0];
  loadMax = Math.max(loadMax, loadAtEnd);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  envLines.push(`1-min load average: ${loadAtStart.toFixed(2)} at start, up to ${loadMax.toFixed(2)} during, ${loadAtEnd.toFixed(2)} at end (this run accounts for about 1)`);
  if (loadMax > 1.5 || loadAtStart > 0.5) {
    notes.add(`Other processes competed for the ${cores} CPUs during this run (1-min load average up to ${loadMax.toFixed(1)}; the benchmark itself keeps about one core busy): expect noise, and rerun on an idle machine for figures to quote. "best" shows the fastest repetition, which contention cannot inflate.`);
  }

  if (ourKernel !== 'compiled') {
    notes.add('jitCompile: true used the reference kernels (compiled kernels not wired in or unavailable): the "ours jit" rows measure the TypeScript loop.');
  }
  if (!('skipped' in rf)) {
    const llc = lastLevelCache();
    notes.add(`The 1-variable fp32 working set is ${((totalParams(big) * 16) / 2 ** 20).toFixed(0)} MiB (p, g, m, v), the ${many.count}-variable one ${((totalParams(many) * 16) / 2 ** 20).toFixed(0)} MiB${llc ? `; this machine reports an ${llc} last-level cache, so these "rooflines" may be partly cache figures` : ''}. Compare rows of one run only.`);
  }
  if (quick) notes.add('Quick mode: small sizes that fit in cache, few repetitions; for sanity checks, not for the targets.');

  const env: Environment = {
    date: new Date().toISOString(),
    cpu: `${cpuModel()}${lastLevelCache() ? `, ${lastLevelCache()}` : ''}`,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    mode: quick ? 'quick (--quick)' : 'default',
    lines: envLines,
  };
  const noteList = [...notes];
  console.log(consoleReport(env, sorted, workloads, noteList));
  if (!quick) console.log(`\nMesh rows (bench/mesh.ts, also \`npm run bench:mesh\`):\n${(await runProcess(process.execPath, ['--import', 'tsx', 'bench/mesh.ts'], 3600)).stdout}`);
  if (out !== null) {
    writeFileSync(out, markdownReport(env, sorted, workloads, noteList, methodLines(mode, torch)));
    console.log(`\nWrote ${path.relative(process.cwd(), out)}`);
  } else {
    console.log('\nPartial run (--quick or --only): bench/results.md left as it is (pass --out FILE to write the markdown).');
  }
  // The scale workload (models beyond one 4 GiB memory) runs last, in the default run only.
  if (!quick && onlyIndex < 0 && !args.includes('--no-scale')) {
    process.stderr.write('scale workload: 16M, 600M and 300M models, one process each\n');
    const scale = (await runScaleBench()).join('\n');
    console.log(scale);
    if (out !== null) appendFileSync(out, `${scale}\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
