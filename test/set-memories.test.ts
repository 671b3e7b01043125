// The compiled kernels remember which memory each variable of a dense step lives in while the same
// sets come again: the answer must always be the one a fresh lookup gives, and the lookup must be
// skipped only while nothing it depends on changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SetMemories } from '../src/kernels/compiled/set-memories.js';
import type { KernelMemory } from '../src/kernels/compiled/memories.js';
import type { DenseSlotSet } from '../src/kernels/kernel.js';
import type { Storage } from '../src/storage.js';

const storage = (id: number): Storage => ({ id }) as unknown as Storage;
const memory = (id: number): KernelMemory => ({ id }) as unknown as KernelMemory;
const setOf = (param: Storage): DenseSlotSet => ({ param }) as unknown as DenseSlotSet;

type Op =
  | { kind: 'step' }
  | { kind: 'newList' }
  | { kind: 'swap'; position: number; param: number }
  | { kind: 'release'; param: number; memory: number | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: 'step' as const }),
  fc.constant({ kind: 'newList' as const }),
  fc.record({ kind: fc.constant('swap' as const), position: fc.nat(5), param: fc.nat(9) }),
  fc.record({ kind: fc.constant('release' as const), param: fc.nat(9), memory: fc.option(fc.nat(2)) }),
);

test('property: every answer is what a fresh lookup gives, and a repeated step looks nothing up', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
    const params = Array.from({ length: 10 }, (_, i) => storage(i));
    const memories = [memory(0), memory(1), memory(2)];
    // Where each storage lives; it changes only together with the release count (a block given back).
    const home = new Map<Storage, KernelMemory | null>(params.map((p, i) => [p, i === 9 ? null : memories[i % 3]]));
    let releases = 0;
    let lookups = 0;
    const lookup = (param: Storage): KernelMemory | null => {
      lookups++;
      return home.get(param) ?? null;
    };
    const remembered = new SetMemories();
    let sets = Array.from({ length: 6 }, (_, i) => setOf(params[i]));
    let changed = true;
    const step = (): void => {
      lookups = 0;
      remembered.begin(sets, releases);
      sets.forEach((set, i) => assert.equal(remembered.memoryOf(i, set.param, lookup), home.get(set.param) ?? null));
      if (!changed) assert.equal(lookups, 0, 'a step like the last one looked a storage up');
      changed = false;
    };
    step();
    for (const op of ops) {
      if (op.kind === 'newList') sets = sets.map((s) => setOf(s.param));
      if (op.kind === 'swap') sets[op.position] = setOf(params[op.param]);
      if (op.kind === 'release') {
        home.set(params[op.param], op.memory === null ? null : memories[op.memory]);
        releases++;
      }
      if (op.kind !== 'step') changed = true;
      step();
    }
  }), { numRuns: 300 });
});

test('a storage given back is looked up again, though the same sets come again', () => {
  const param = storage(0);
  const sets = [setOf(param)];
  const remembered = new SetMemories();
  remembered.begin(sets, 0);
  assert.equal(remembered.memoryOf(0, param, () => memory(1)), remembered.memoryOf(0, param, () => null));
  remembered.begin(sets, 1);
  assert.equal(remembered.memoryOf(0, param, () => null), null);
});
