import * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam } from '../adam.js';
import type { FloatArray } from '../storage.js';
import { Variable } from '../variable.js';
import type { NamedState, StepEngine } from './engine.js';
import type { GradientPair } from './gradients.js';
import { ITERATION_NAME } from './state.js';
import { tensorFrom, tensorIo, viewFloat32, type OwnedArray, type Output, type TensorIo } from './tensor-io.js';

/** A TensorFlow.js variable and the core variable that mirrors it. */
interface Entry extends OwnedArray {
  readonly variable: tf.Variable;
  readonly core: Variable;
  /** The variable's `dataId` when the core copy last equalled it; another one means it was assigned from outside. */
  synced: object | null;
}

/**
 * Steps on typed arrays, through the core optimizer and its kernels (for the cpu and wasm
 * backends). Each TensorFlow.js variable is mirrored by a core variable, keyed by the variable
 * object. Per step: each updated variable first gets the memory of its next value (a new array on
 * cpu, new heap memory on wasm, or with `writeInPlace` its own array when no other tensor can see
 * it: see {@link TensorIo.output}); the gradients are read in place where the backend allows it
 * (cpu: its own array; wasm: a heap view); the core runs the whole step (clipping, weight decay,
 * update, EMA) on all variables at once and writes the new values into that memory as it goes,
 * each tile while it is still in cache; then each variable gets its new tensor. The core copy is
 * refreshed from the variable only when the variable was assigned from outside since the last
 * step (its `dataId` changed).
 */
export class KernelEngine implements StepEngine {
  readonly kind = 'kernels' as const;
  private readonly entries = new Map<tf.Variable, Entry>();

  constructor(
    private readonly core: CoreAdam,
    private readonly excluded: ReadonlySet<tf.Variable>,
    /** Whether new values may go into a variable's own array (the `writeInPlace` option). */
    private readonly inPlace: boolean,
  ) {}

  build(variables: readonly tf.Variable[]): void {
    if (this.core.built) return;
    const entries: Entry[] = [];
    for (const variable of variables) {
      if (this.entries.has(variable)) continue;
      const values = viewFloat32(variable, `variable '${variable.name}'`).slice();
      const entry: Entry = { variable, core: new Variable(values, { name: variable.name, shape: variable.shape }), synced: variable.dataId, owned: null };
      this.entries.set(variable, entry);
      entries.push(entry);
    }
    const excluded = entries.filter((e) => this.excluded.has(e.variable)).map((e) => e.core);
    if (excluded.length > 0) this.core.excludeFromWeightDecay({ varList: excluded });
    this.core.build(entries.map((e) => e.core));
  }

  has(variable: tf.Variable): boolean {
    return this.entries.has(variable);
  }

  apply(pairs: readonly GradientPair[]): void {
    const io = tensorIo();
    const entries: Entry[] = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const entry = this.entries.get(pairs[i].variable)!;
      if (entry.variable.dataId !== entry.synced) this.sync(entry, io);
      entries[i] = entry;
    }
    // Every output is made before any array is read: on wasm a new tensor's memory may grow the
    // heap, which detaches the views made before it.
    const outputs: (Output | null)[] = new Array(pairs.length);
    const targets: (FloatArray | null)[] = new Array(pairs.length);
    const corePairs: [FloatArray | null, Variable][] = new Array(pairs.length);
    try {
      for (let i = 0; i < pairs.length; i++) {
        outputs[i] = pairs[i].grad === null ? null : io.output(entries[i].variable, entries[i], this.inPlace);
      }
      for (let i = 0; i < pairs.length; i++) {
        const grad = pairs[i].grad;
        corePairs[i] = [grad === null ? null : io.read(grad), entries[i].core];
        targets[i] = outputs[i]?.array ?? null;
      }
      // The views above stay valid: nothing allocates TensorFlow.js memory until the step is done.
      this.core.applyGradientsWritingTo(corePairs, targets);
    } catch (error) {
      for (const output of outputs) output?.abort();
      // The core copies may hold part of a step the variables never got (an interrupted step):
      // the next step reads every variable afresh.
      for (const entry of entries) entry.synced = null;
      throw error;
    }
    this.commit(entries, outputs);
  }

  finalize(variables: readonly tf.Variable[]): void {
    if (!this.core.useEma || !this.core.built) return;
    const entries = variables.map((v) => this.entries.get(v)).filter((e): e is Entry => e !== undefined);
    this.core.finalizeVariableValues(entries.map((e) => e.core));
    this.writeBack(entries, tensorIo());
  }

  snapshot(): NamedState[] {
    return tf.tidy(() => {
      const [iteration, ...slots] = this.core.variables;
      return [
        { name: ITERATION_NAME, tensor: tf.scalar(iteration.value[0], 'int32') },
        ...slots.map((v) => ({ name: v.name, tensor: tensorFrom(toFloat32(v.value), v.shape) })),
      ];
    }) as NamedState[];
  }

  load(arrays: readonly Float32Array[]): void {
    const [iteration, ...slots] = arrays;
    this.core.setWeights([Float64Array.of(iteration[0]), ...slots]);
  }

  dispose(): void {
    // Gives the core's kernel memory (slots, averages) back to the arena.
    this.core.dispose();
    // The core copies of the variables live in kernel memory too.
    for (const entry of this.entries.values()) entry.core.dispose();
    this.entries.clear();
  }

  /** Refreshes the core copy: the variable was assigned from outside since the last step. */
  private sync(entry: Entry, io: TensorIo): void {
    entry.core.assign(io.read(entry.variable));
    entry.synced = entry.variable.dataId;
  }

  /** Copies the core's values into each variable, through outputs as a step writes them. */
  private writeBack(entries: readonly Entry[], io: TensorIo): void {
    const outputs = entries.map((entry) => io.output(entry.variable, entry, this.inPlace));
    entries.forEach((entry, i) => outputs[i].array.set(entry.core.value as Float32Array));
    this.commit(entries, outputs);
  }

  /** Gives each variable its output as its new value (new tensors in one `tidy`). */
  private commit(entries: readonly Entry[], outputs: readonly (Output | null)[]): void {
    tf.tidy(() => {
      for (let i = 0; i < entries.length; i++) {
        const output = outputs[i];
        if (output === null) continue;
        output.commit();
        entries[i].synced = entries[i].variable.dataId;
      }
    });
  }
}

function toFloat32(values: FloatArray): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}
