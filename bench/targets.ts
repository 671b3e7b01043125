/**
 * The targets, evaluated on what one run measured. Each compares like with like: the same
 * features and the same number of threads on both sides (ours on one thread runs in a child with
 * ADAM_OPTIMIZER_THREADS=1; the C loop on several threads uses OpenMP with as many threads as ours).
 * Informational: they never fail the run.
 */
import type { PeerResult, Workload } from './workloads.js';

/** Workloads that also get a row of ours with typed-array gradients on one thread. */
export const ONE_THREAD_ROWS: readonly string[] = ['a', 'b', 'c', 'd', 'e', 'e2'];

export interface Target {
  readonly name: string;
  /** The measured ratio against the goal, or null when a figure is missing. */
  readonly value: number | null;
  readonly goal: number;
  /** Ours (numerator) and the row compared with (denominator), as labelled in the table, with rates. */
  readonly detail: string;
  /**
   * About the most the ratio can be, given a floor the path cannot avoid (measured alone in the
   * same run) added to the work it does, and how it is derived; absent where no floor applies.
   */
  readonly bound?: { readonly value: number | null; readonly how: string };
}

function find(results: readonly PeerResult[], workload: string, key: string): PeerResult | undefined {
  return results.find((x) => x.workload === workload && x.key === key);
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

const mps = (x: number | null): string => (x === null ? '—' : `${(x / 1e6).toFixed(x >= 1e8 ? 0 : 1)}`);

/** Our thread count on a row, from its note ("2 threads" / "1 thread"), or null. */
function threadsOf(r: PeerResult | undefined): number | null {
  const m = /(\d+) threads?/.exec(r?.note ?? '');
  return m ? Number(m[1]) : null;
}

/** `ours ÷ against` as a target, naming both rows (as the table labels them) and their rates. */
function compare(
  results: readonly PeerResult[], workload: string, name: string, goal: number, oursKey: string, againstKey: string,
): Target {
  const ours = find(results, workload, oursKey);
  const against = find(results, workload, againstKey);
  const o = ours?.rate?.median ?? null;
  const a = against?.rate?.median ?? null;
  const detail = `${ours?.label ?? oursKey} ${mps(o)} ÷ ${against?.label ?? againstKey} ${mps(a)} M params/s`;
  return { name, goal, value: ratio(o, a), detail };
}

export function evaluateTargets(results: readonly PeerResult[], workloads: readonly Workload[]): Target[] {
  const targets: Target[] = [];
  const has = (id: string): boolean => workloads.some((w) => w.id === id);
  const title = (id: string): string => workloads.find((w) => w.id === id)?.title ?? id;
  // Ours on several threads: as many as the C loop's OpenMP run (the bench passes our count to it).
  const many = (id: string): string => {
    const n = threadsOf(find(results, id, 'ours-typed'));
    return n === null ? 'default threads' : `${n} thread${n === 1 ? '' : 's'}`;
  };
  const rate = (id: string, key: string): number | null => find(results, id, key)?.rate?.median ?? null;
  const likeForLike = (id: string, what: string, cKey: string): void => {
    // On one thread the copy in cannot overlap the step: about 1 / (1/in place + copies/copy) is
    // what is left (the full feature set copies twice: once for the global norm, once for the step).
    const inPlace = rate(id, 'ours-buffer-1thr');
    const copy = rate(id, 'copy-floor');
    const copies = workloads.find((w) => w.id === id)?.full === true ? 2 : 1;
    const reach = inPlace === null || copy === null ? null : 1 / (1 / inPlace + copies / copy);
    targets.push({
      ...compare(results, id, `${what} ≥ 0.9 × C, 1 thread [${id}: ${title(id)}]`, 0.9, 'ours-typed-1thr', cKey),
      bound: { value: ratio(reach, rate(id, cKey)), how: `1 ÷ (1/gradientBuffer 1 thread ${mps(inPlace)} + ${copies}/copy floor ${mps(copy)}) = ${mps(reach)} ÷ C` },
    });
    if (find(results, id, `${cKey}-threads`) !== undefined) {
      // On n threads only the calling thread can read the caller's arrays: the copies come on top
      // of the in-place step's work, shared out at best, and never faster than one thread copies.
      const threads = threadsOf(find(results, id, 'ours-typed'));
      const inPlaceN = rate(id, 'ours-buffer');
      const reachN = inPlaceN === null || copy === null || threads === null
        ? null : Math.min(1 / (1 / inPlaceN + copies / (threads * copy)), copy / copies);
      targets.push({
        ...compare(results, id, `${what} ≥ 0.9 × C, ${many(id)} [${id}: ${title(id)}]`, 0.9, 'ours-typed', `${cKey}-threads`),
        bound: {
          value: ratio(reachN, rate(id, `${cKey}-threads`)),
          how: `1 ÷ (1/gradientBuffer ${threads ?? '?'} threads ${mps(inPlaceN)} + ${copies}/(${threads ?? '?'} × copy floor ${mps(copy)})) = ${mps(reachN)} ÷ C`,
        },
      });
    }
  };
  for (const id of ['a', 'b'].filter(has)) likeForLike(id, 'typed-array grads', 'c-roofline');
  for (const id of ['c'].filter(has)) likeForLike(id, 'f64, typed-array grads', 'c-adam64');
  for (const id of ['e', 'e2'].filter(has)) likeForLike(id, 'full feature set, typed-array grads', 'c-full');
  // The TensorFlow.js adapter against the standalone optimizer with typed-array gradients, both on
  // our default threads, each in its own process.
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [id, goal] of [['a', 0.7], ['b', 0.5]] as const) {
      if (!has(id)) continue;
      // The new tensors come on top of the step: at most floor / (standalone + floor) of the standalone rate.
      const standalone = rate(id, 'ours-typed');
      const floor = rate(id, `adapter-floor-${backend}`);
      const cap = standalone === null || floor === null ? null : floor / (standalone + floor);
      targets.push({
        ...compare(results, id, `adapter (${backend}) ≥ ${goal} × standalone typed-array rate [${id}: ${title(id)}]`, goal, `adapter-ours-${backend}`, 'ours-typed'),
        bound: { value: cap, how: `new-tensor floor ${mps(floor)} ÷ (standalone ${mps(standalone)} + floor)` },
      });
    }
  }
  for (const [id, goal] of [['a', 0.7], ['b', 0.5]] as const) {
    if (has(id) && find(results, id, 'adapter-inplace-cpu') !== undefined) {
      targets.push(compare(results, id, `adapter (cpu, writeInPlace) ≥ ${goal} × standalone typed-array rate [${id}: ${title(id)}]`, goal, 'adapter-inplace-cpu', 'ours-typed'));
    }
  }
  for (const id of ['a', 'b'].filter(has)) {
    targets.push(compare(results, id, `≥ 10 × tf.train.adam on wasm [${id}]`, 10, 'ours-buffer', 'tfjs-wasm'));
  }
  for (const id of ['a', 'b'].filter(has)) {
    const torch = results
      .filter((r) => r.workload === id && r.key.startsWith('torch-') && r.rate)
      .reduce<PeerResult | null>((best, r) => (best === null || r.rate!.median > best.rate!.median ? r : best), null);
    targets.push(compare(results, id, `≥ 5 × PyTorch CPU Adam [${id}]`, 5, 'ours-buffer', torch?.key ?? 'torch-default'));
  }
  for (const [backend, goal] of [['cpu', 20], ['wasm', 3]] as const) {
    for (const id of ['a', 'b'].filter(has)) {
      const row = find(results, id, `adapter-ours-${backend}`);
      targets.push({
        name: `adapter ≥ ${goal} × tf.train.adam on ${backend} [${id}]`, goal,
        value: row?.adapterRatio ?? null, detail: 'benchTfjsAdapter: ours / tf.train.adam, timed alternately in one process',
      });
    }
  }
  return targets;
}
