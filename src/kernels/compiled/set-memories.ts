import type { Storage } from '../../storage.js';
import type { DenseSlotSet } from '../kernel.js';
import type { KernelMemory } from './memories.js';

/**
 * The memory of each variable of a dense step, remembered by position while the same list of sets
 * comes again with the same variable storages and no storage has been given back since: a step over
 * thousands of variables then reads none of their storage objects, each of which would be a cache
 * miss after the last step's kernels streamed through memory. A set seen for the first time at its
 * position gets the full check (`lookup`).
 */
export class SetMemories {
  private sets: readonly DenseSlotSet[] | null = null;
  private releases = -1;
  private readonly params: Storage[] = [];
  private readonly memories: (KernelMemory | null)[] = [];

  /** Starts a step over `sets`; `releases` counts the storages given back in every memory so far. */
  begin(sets: readonly DenseSlotSet[], releases: number): void {
    if (sets === this.sets && releases === this.releases) return;
    this.sets = sets;
    this.releases = releases;
    this.params.length = 0;
    this.memories.length = 0;
  }

  /** The memory of `param`, the variable of the set at `position`: null when it is not ours. */
  memoryOf(position: number, param: Storage, lookup: (param: Storage) => KernelMemory | null): KernelMemory | null {
    if (this.params[position] === param) return this.memories[position];
    const memory = lookup(param);
    this.params[position] = param;
    this.memories[position] = memory;
    return memory;
  }
}
