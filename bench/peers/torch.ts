/**
 * PyTorch CPU Adam through a python subprocess (bench/peers/torch_adam.py), when some python3 can
 * import torch: the one on PATH first, then Debian's /usr/bin/python3 (or those in $BENCH_PYTHON).
 */
import { fileURLToPath } from 'node:url';

import { lastLine, runProcess } from '../proc.js';
import {
  EMA_MOMENTUM, GLOBAL_CLIPNORM, LEARNING_RATE, WEIGHT_DECAY,
  type PeerResult, type Rate, type TimingSettings, type Workload,
} from '../workloads.js';

export interface TorchInfo {
  readonly python: string;
  readonly version: string;
  readonly threads: number;
}

/** The first python3 that imports torch, or the reason none does. */
export async function findTorch(): Promise<TorchInfo | { skipped: string }> {
  // BENCH_PYTHON (a ':'-separated list) replaces the candidates.
  const override = process.env.BENCH_PYTHON?.split(':').filter((x) => x !== '');
  const candidates = override && override.length > 0 ? override : ['python3', '/usr/bin/python3', 'python'];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = await runProcess(python, ['-c', 'import torch, json; print(json.dumps([torch.__version__, torch.get_num_threads()]))'], 60);
    if (r.status === 0) {
      try {
        const [version, threads] = JSON.parse(lastLine(r.stdout)) as [string, number];
        return { python, version, threads };
      } catch {
        /* fall through */
      }
    }
    tried.push(`${python}: ${r.error ?? (lastLine(r.stderr) || `exit ${r.status}`)}`);
  }
  return { skipped: `no python3 imports torch (${tried.join('; ')})` };
}

interface ScriptOutput {
  torch: string;
  threads: number;
  results: { variant: string; label: string; rate?: Rate; skipped?: string }[];
}

export const TORCH_VARIANTS = ['default', 'foreach', 'fused'] as const;

/** Runs the PyTorch peers on one workload. */
export async function runTorch(info: TorchInfo, w: Workload, timing: TimingSettings, timeoutSeconds: number): Promise<PeerResult[]> {
  const script = fileURLToPath(new URL('./torch_adam.py', import.meta.url));
  const config = {
    count: w.count, size: w.size, dtype: w.dtype, amsgrad: w.amsgrad, full: w.full,
    lr: LEARNING_RATE, weightDecay: WEIGHT_DECAY, globalClipnorm: GLOBAL_CLIPNORM, emaMomentum: EMA_MOMENTUM,
    variants: TORCH_VARIANTS, timing,
  };
  const r = await runProcess(info.python, [script, JSON.stringify(config)], timeoutSeconds);
  const failed = (why: string): PeerResult[] => [{ workload: w.id, key: 'torch-default', label: 'torch Adam', skipped: why }];
  if (r.error) return failed(r.error);
  if (r.status !== 0) return failed(`python exited ${r.status}: ${lastLine(r.stderr)}`);
  let out: ScriptOutput;
  try {
    out = JSON.parse(lastLine(r.stdout)) as ScriptOutput;
  } catch {
    return failed(`unreadable output: ${r.stdout.slice(0, 200)}`);
  }
  return out.results.map((x) => ({
    workload: w.id,
    key: `torch-${x.variant}`,
    label: x.label,
    rate: x.rate,
    skipped: x.skipped,
    note: x.rate ? `torch ${out.torch}, ${out.threads} thread${out.threads === 1 ? '' : 's'}` : undefined,
  }));
}
