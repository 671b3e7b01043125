import type { LocalReplicas } from './local-replicas.js';
import type { SharedRef } from './shared-memory.js';

/**
 * How the replicas' arrays are combined: the only communication a mesh step needs. Every
 * reduction runs in rank order (0, 1, 2, ...), whatever the timing, so results are reproducible.
 * The in-process implementation works on shared memory; one across machines would implement the
 * same three calls over its transport (see the README).
 */
export interface Collectives {
  /** Number of replicas. */
  readonly size: number;
  /**
   * For each array i: the replica `owners[i]` receives in `out[i]` the mean over replicas of
   * `parts[r][i]` (summed in rank order in float64, divided by the replica count, rounded once).
   */
  reduceScatter(parts: readonly (readonly SharedRef[])[], out: readonly SharedRef[], owners: readonly number[]): Promise<void>;
  /**
   * Sums of squares of arrays held by their owners, gathered into `out` (replica r writes the
   * entries it owns; each entry has exactly one owner, so the total per entry is its owner's sum).
   */
  allReduceSumsOfSquares(arrays: readonly SharedRef[], owners: readonly number[], out: SharedRef, jitCompile: boolean): void;
  /**
   * After each replica updated the arrays it owns, every replica sees every array. In shared
   * memory the updates already are in place, so this only orders them before the next read.
   */
  allGather(): Promise<void>;
}

/** {@link Collectives} over one machine's shared memory and worker threads. */
export class SharedMemoryCollectives implements Collectives {
  constructor(private readonly replicas: LocalReplicas) {}

  get size(): number {
    return this.replicas.size;
  }

  async reduceScatter(parts: readonly (readonly SharedRef[])[], out: readonly SharedRef[], owners: readonly number[]): Promise<void> {
    const ranks = ranksOf(owners);
    await this.replicas.send(ranks, (rank) => ({
      type: 'reduce',
      items: out.flatMap((target, i) => (owners[i] === rank ? [{ parts: parts.map((p) => p[i]), out: target }] : [])),
    }));
  }

  allReduceSumsOfSquares(arrays: readonly SharedRef[], owners: readonly number[], out: SharedRef, jitCompile: boolean): void {
    const ranks = ranksOf(owners);
    this.replicas.sendSync(ranks, (rank) => {
      const indices = owners.flatMap((o, i) => (o === rank ? [i] : []));
      return { type: 'sums', jitCompile, arrays: indices.map((i) => arrays[i]), indices, out };
    });
  }

  async allGather(): Promise<void> {
    // Shared memory: the owners wrote their shares in place, and the step's answers order them.
  }
}

/** The distinct ranks in `owners`, ascending. */
export function ranksOf(owners: readonly number[]): number[] {
  return [...new Set(owners)].sort((a, b) => a - b);
}
