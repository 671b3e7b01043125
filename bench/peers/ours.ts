/**
 * Our Adam: compiled kernels (gradients in kernel memory, or plain typed arrays copied in) and the
 * reference kernel. Also measures the optimizer's memory: state bytes per parameter from
 * `opt.variables`, and JS heap growth over many steps.
 */
import { Adam, Variable, type FloatArray, type GradientPair } from '../../src/index.js';
import { loadCompiledKernels, type CompiledKernels } from '../../src/kernels/compiled/index.js';
import { fillGradient, fillParams, measureRate } from '../timing.js';
import { adamOptions, totalParams, type ChildTask, type MemoryReport, type PeerResult, type Workload } from '../workloads.js';

type Variant = 'ours-buffer' | 'ours-typed' | 'ours-reference';

const LABELS: Record<Variant, string> = {
  'ours-buffer': 'ours jit, gradientBuffer',
  'ours-typed': 'ours jit, typed-array grads',
  'ours-reference': 'ours reference (jit off)',
};

interface Setup {
  readonly opt: Adam;
  readonly variables: Variable[];
  readonly step: () => void;
  readonly usesBuffers: boolean;
}

function newArray(w: Workload, length: number): FloatArray {
  return w.dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

/** Variables, optimizer (built) and gradients for `count` × `size`, ready to step. */
function setUp(w: Workload, variant: Variant, count: number, size: number): Setup {
  const variables: Variable[] = [];
  for (let i = 0; i < count; i++) {
    const initial = newArray(w, size);
    fillParams(initial, i);
    variables.push(new Variable(initial, { name: `w${i}` }));
  }
  const opt = new Adam(adamOptions(w, variant !== 'ours-reference'));
  opt.build(variables);
  let grad: (i: number) => FloatArray;
  let usesBuffers = false;
  if (variant === 'ours-buffer' && typeof opt.gradientBuffer === 'function') {
    // Filled once; `.value` is read afresh every step, as the API asks (kernel memory may grow).
    const buffers = variables.map((v) => opt.gradientBuffer(v));
    buffers.forEach((b, i) => fillGradient(b.value, i));
    grad = (i) => buffers[i].value;
    usesBuffers = true;
  } else {
    const arrays = variables.map((v, i) => {
      const g = newArray(w, v.size);
      fillGradient(g, i);
      return g;
    });
    grad = (i) => arrays[i];
  }
  const step = (): void => {
    const pairs: GradientPair[] = new Array(count);
    for (let i = 0; i < count; i++) pairs[i] = [grad(i), variables[i]];
    opt.applyGradients(pairs);
  };
  return { opt, variables, step, usesBuffers };
}

function expectedFloats(w: Workload): number {
  return 2 + (w.amsgrad ? 1 : 0) + (w.full ? 1 : 0);
}

/** Bytes of `opt.variables` (iteration counter included) per parameter. */
function stateBytes(opt: Adam, params: number): { bytes: number; floats: number } {
  let bytes = 0;
  let elementBytes = 4;
  for (const v of opt.variables) {
    const b = v.value.BYTES_PER_ELEMENT;
    bytes += v.size * b;
    if (v.name !== 'iteration') elementBytes = b;
  }
  return { bytes: bytes / params, floats: bytes / params / elementBytes };
}

function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  gc();
  return true;
}

async function measureMemory(w: Workload, variant: Variant, setup: Setup, steps: number, maxParams: number): Promise<MemoryReport> {
  const params = totalParams(w);
  const state = stateBytes(setup.opt, params);
  // The heap measurement runs `steps` steps: on the workload itself when small enough, else on the
  // same variable count with fewer elements each (per-step garbage does not scale with size).
  let heapSetup = setup;
  let heapParams = params;
  if (params > maxParams) {
    const size = Math.max(1, Math.floor(maxParams / w.count));
    heapSetup = setUp(w, variant, w.count, size);
    heapParams = size * w.count;
  }
  // Warm-up: first-step allocations and JIT tier-ups are not per-step growth.
  for (let i = 0; i < Math.min(20, steps); i++) heapSetup.step();
  const gcExposed = collectGarbage();
  const before = process.memoryUsage();
  for (let i = 0; i < steps; i++) heapSetup.step();
  collectGarbage();
  const after = process.memoryUsage();
  return {
    stateBytesPerParam: state.bytes,
    stateFloatsPerParam: state.floats,
    expectedFloatsPerParam: expectedFloats(w),
    heapGrowthBytes: after.heapUsed - before.heapUsed,
    arrayBufferGrowthBytes: after.arrayBuffers - before.arrayBuffers,
    steps,
    params: heapParams,
    gcExposed,
  };
}

export async function runOurs(task: ChildTask): Promise<PeerResult> {
  const w = task.workload;
  const variant = task.peer as Variant;
  const setup = setUp(w, variant, w.count, w.size);
  // One step starts the kernel worker threads (large steps only); let them come up, as they would
  // in any run longer than a few steps.
  setup.step();
  const kernels = variant === 'ours-reference' ? null : (loadCompiledKernels() as CompiledKernels | null);
  for (let waited = 0; kernels !== null && kernels.threadCount > 1 && !kernels.workersReady && waited < 3000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const rate = await measureRate(setup.step, totalParams(w), task.timing);
  const notes: string[] = [];
  if (kernels !== null) notes.push(kernels.workersReady ? `${kernels.threadCount} threads` : '1 thread');
  if (variant === 'ours-buffer' && !setup.usesBuffers) notes.push('no gradientBuffer(): plain arrays');
  if (variant !== 'ours-reference' && setup.opt.kernelName !== 'compiled') notes.push('jitCompile fell back to reference');
  const memory = task.memory ? await measureMemory(w, variant, setup, task.memory.steps, task.memory.maxParams) : undefined;
  // A child run with ADAM_OPTIMIZER_THREADS=1 is a row of its own (the like-for-like targets use both).
  const oneThread = task.threads === 1;
  return {
    workload: w.id,
    key: oneThread ? `${variant}-1thr` : variant,
    label: oneThread ? `${LABELS[variant]}, 1 thread` : LABELS[variant],
    rate,
    kernelName: setup.opt.kernelName,
    note: notes.length > 0 ? notes.join('; ') : undefined,
    memory,
  };
}
