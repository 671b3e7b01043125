/**
 * The benchmark's workloads, peers and timing settings, shared by the orchestrator (bench/run.ts)
 * and the child processes that run one measurement each (bench/child.ts).
 */
import type { AdamOptions } from '../src/index.js';

export type Dtype = 'float32' | 'float64';

/** One Adam step configuration: `count` variables of `size` elements. */
export interface Workload {
  /** Short key: a, b, c, d, e, e2. */
  readonly id: string;
  readonly title: string;
  readonly count: number;
  readonly size: number;
  readonly dtype: Dtype;
  readonly amsgrad: boolean;
  /** Weight decay + global clipnorm + EMA (workload e). */
  readonly full: boolean;
  /** Only dense float32 Adam exists in tf.train.adam. */
  readonly tfjs: boolean;
  /** Which C probe figure is this workload's roofline ('adam32' for 1 variable, 'adam32Chunks' for many). */
  readonly roofline: 'adam32' | 'adam32Chunks';
}

/** Options shared by every Adam of the run (and mirrored in the peers). */
export const LEARNING_RATE = 1e-3;
export const WEIGHT_DECAY = 0.004;
export const GLOBAL_CLIPNORM = 1.0;
export const EMA_MOMENTUM = 0.99;

export function adamOptions(w: Workload, jitCompile: boolean): AdamOptions {
  const options: AdamOptions = { jitCompile, learningRate: LEARNING_RATE, amsgrad: w.amsgrad };
  if (w.full) {
    options.weightDecay = WEIGHT_DECAY;
    options.globalClipnorm = GLOBAL_CLIPNORM;
    options.useEma = true;
    options.emaMomentum = EMA_MOMENTUM;
  }
  return options;
}

export function totalParams(w: Workload): number {
  return w.count * w.size;
}

/** Timing settings: warm-up steps, then `reps` repetitions of enough steps to last `minRepSeconds`. */
export interface TimingSettings {
  readonly warmup: number;
  readonly reps: number;
  /** Fewest repetitions kept even when the peer is slow. */
  readonly minReps: number;
  readonly minRepSeconds: number;
  readonly maxStepsPerRep: number;
  /** Rough wall-clock budget of the timed part; slow peers get fewer repetitions (never < minReps). */
  readonly budgetSeconds: number;
}

export interface BenchMode {
  readonly quick: boolean;
  readonly workloads: readonly Workload[];
  /** Timing of our optimizer, PyTorch and the C probe (fast peers). */
  readonly fast: TimingSettings;
  /** Timing of tf.train.adam and our reference kernel (slow peers). */
  readonly slow: TimingSettings;
  /** Steps the adapter benchmark runs on each backend. */
  readonly adapterSteps: { readonly cpu: number; readonly wasm: number };
  /** Steps of the heap-growth measurement. */
  readonly heapSteps: number;
  /** Largest parameter count the heap measurement runs at (bigger workloads are scaled down). */
  readonly heapMaxParams: number;
  /** Kill a child measurement after this many seconds. */
  readonly childTimeoutSeconds: number;
}

const M = 1024 * 1024;

function workloads(big: number, many: number, manySize: number): Workload[] {
  const one = { count: 1, size: big, roofline: 'adam32' as const };
  const lots = { count: many, size: manySize, roofline: 'adam32Chunks' as const };
  const plain = { dtype: 'float32' as const, amsgrad: false, full: false };
  const sz = (n: number): string => (n >= M ? `${n / M}M` : n >= 1024 ? `${n / 1024}K` : String(n));
  return [
    { id: 'a', title: `dense f32, 1×${sz(big)}`, ...one, ...plain, tfjs: true },
    { id: 'b', title: `dense f32, ${many}×${sz(manySize)}`, ...lots, ...plain, tfjs: true },
    { id: 'c', title: `dense f64, 1×${sz(big)}`, ...one, ...plain, dtype: 'float64', tfjs: false },
    { id: 'd', title: `amsgrad f32, 1×${sz(big)}`, ...one, ...plain, amsgrad: true, tfjs: false },
    { id: 'e', title: `full (wd+gclip+EMA) f32, 1×${sz(big)}`, ...one, ...plain, full: true, tfjs: false },
    { id: 'e2', title: `full (wd+gclip+EMA) f32, ${many}×${sz(manySize)}`, ...lots, ...plain, full: true, tfjs: false },
  ];
}

export function benchMode(quick: boolean): BenchMode {
  if (quick) {
    return {
      quick,
      workloads: workloads(1 * M, 256, 1024),
      fast: { warmup: 2, reps: 3, minReps: 3, minRepSeconds: 0.05, maxStepsPerRep: 50, budgetSeconds: 1 },
      slow: { warmup: 2, reps: 3, minReps: 2, minRepSeconds: 0.05, maxStepsPerRep: 10, budgetSeconds: 1.5 },
      adapterSteps: { cpu: 2, wasm: 4 },
      heapSteps: 100,
      heapMaxParams: 256 * 1024,
      childTimeoutSeconds: 60,
    };
  }
  return {
    quick,
    workloads: workloads(16 * M, 4096, 1024),
    fast: { warmup: 3, reps: 7, minReps: 5, minRepSeconds: 0.25, maxStepsPerRep: 100, budgetSeconds: 3 },
    slow: { warmup: 2, reps: 5, minReps: 3, minRepSeconds: 0.25, maxStepsPerRep: 20, budgetSeconds: 4 },
    adapterSteps: { cpu: 4, wasm: 8 },
    heapSteps: 100,
    heapMaxParams: 1 * M,
    childTimeoutSeconds: 180,
  };
}

/** The peers a child process can measure. */
export type PeerKind =
  | 'ours-buffer'
  | 'ours-typed'
  | 'ours-reference'
  | 'tfjs-cpu'
  | 'tfjs-wasm'
  | 'adapter-cpu'
  | 'adapter-wasm'
  | 'copy-floor';

/** What one child process is asked to do. */
export interface ChildTask {
  readonly peer: PeerKind;
  readonly workload: Workload;
  readonly timing: TimingSettings;
  /** Also measure memory (our optimizer only). */
  readonly memory?: { readonly steps: number; readonly maxParams: number };
  readonly adapterSteps?: number;
  /** Run the child with ADAM_OPTIMIZER_THREADS set to this (1: our kernels' workers off). */
  readonly threads?: number;
}

/** A timing summary: median and spread of the per-repetition rates. */
export interface Rate {
  /** Median parameters per second. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly reps: number;
  readonly stepsPerRep: number;
}

export interface MemoryReport {
  /** Bytes of everything in `opt.variables`, per parameter. */
  readonly stateBytesPerParam: number;
  /** The same in elements of the variables' dtype. */
  readonly stateFloatsPerParam: number;
  readonly expectedFloatsPerParam: number;
  /** heapUsed after - before `steps` steps (after gc when exposed). */
  readonly heapGrowthBytes: number;
  /** process.memoryUsage().arrayBuffers growth over the same steps. */
  readonly arrayBufferGrowthBytes: number;
  readonly steps: number;
  /** Parameters of the heap measurement (the workload's, or scaled down). */
  readonly params: number;
  readonly gcExposed: boolean;
}

/** One row of the results: a peer on a workload. */
export interface PeerResult {
  readonly workload: string;
  /** Stable key of the peer (e.g. 'ours-buffer', 'torch-foreach', 'c-adam'). */
  readonly key: string;
  /** Label printed in the table. */
  readonly label: string;
  readonly rate?: Rate;
  /** Why there is no rate. */
  readonly skipped?: string;
  readonly note?: string;
  readonly kernelName?: string;
  readonly memory?: MemoryReport;
  /** The adapter's own ratio (ours via the adapter / tf.train.adam via the adapter). */
  readonly adapterRatio?: number;
}
