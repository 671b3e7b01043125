import * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam, DeviceStep } from '../../adam.js';
import { DecidedSteps } from '../decided-steps.js';
import type { NamedState, StepEngine } from '../engine.js';
import type { GradientPair } from '../gradients.js';
import { checkStateFits, ITERATION_NAME, stateLayout } from '../state.js';
import { FUSED_UPDATE, SUMS_OF_SQUARES, stateRows, stepScalarValues, type FusedUpdateAttrs } from './kernel-names.js';

/** A TensorFlow.js variable and its packed state on the device. */
interface Entry {
  readonly variable: tf.Variable;
  readonly size: number;
  /** `[rows, size]`: m, v, then vhat (AMSGrad), then the average (EMA). */
  state: tf.Tensor2D;
}

/**
 * Steps on the GPU in fused programs registered with TensorFlow.js (webgl, webgpu). The core
 * pipeline decides each step ({@link DecidedSteps}); the programs compute it. Per step: one
 * upload (the step's scalars), the gradients' sums of squares in as few reductions as the backend
 * allows (only with norm clipping: the norms never leave the device), and one fused update per
 * variable (webgpu: one dispatch writing the parameter and every state row; webgl: two draws, the
 * parameter and the state).
 */
export class FusedEngine implements StepEngine {
  readonly kind = 'gpu-fused' as const;
  private readonly entries = new Map<tf.Variable, Entry>();
  private order: Entry[] = [];
  private readonly rows: ReturnType<typeof stateRows>;
  private readonly steps: DecidedSteps;

  constructor(
    private readonly core: CoreAdam,
    excluded: ReadonlySet<tf.Variable>,
  ) {
    this.rows = stateRows(core.amsgrad, core.useEma);
    this.steps = new DecidedSteps(core, excluded);
  }

  build(variables: readonly tf.Variable[]): void {
    if (this.order.length > 0) return;
    const { rows, average } = this.rows;
    for (const variable of variables) {
      if (this.entries.has(variable)) continue;
      const size = variable.size;
      const state = tf.tidy(() => {
        const zeros = tf.zeros([average < 0 ? rows : rows - 1, size]);
        return (average < 0 ? zeros : tf.concat([zeros, tf.reshape(variable, [1, size])], 0)) as tf.Tensor2D;
      });
      const entry: Entry = { variable, size, state };
      this.entries.set(variable, entry);
      this.order.push(entry);
    }
    this.steps.build(this.order.map((e) => e.variable));
  }

  has(variable: tf.Variable): boolean {
    return this.entries.has(variable);
  }

  apply(pairs: readonly GradientPair[]): void {
    const present = this.steps.present(pairs);
    const entries = present.map((p) => this.entries.get(p.variable)!);
    const step = this.steps.decide(entries.map((e) => e.variable));
    tf.tidy(() => this.run(step, entries, present.map((p) => p.grad)));
    this.steps.count(step);
  }

  finalize(variables: readonly tf.Variable[]): void {
    const row = this.rows.average;
    if (row < 0) return;
    tf.tidy(() => {
      for (const variable of variables) {
        const entry = this.entries.get(variable);
        if (entry !== undefined) variable.assign(this.row(entry, row));
      }
    });
  }

  snapshot(): NamedState[] {
    const { vhat, average } = this.rows;
    const layout = this.layout();
    return tf.tidy(() => {
      const tensors = [
        tf.scalar(this.core.iterations, 'int32'),
        ...(average < 0 ? [] : this.order.map((e) => this.row(e, average))),
        ...this.order.flatMap((e) => [this.row(e, 0), this.row(e, 1)]),
        ...(vhat < 0 ? [] : this.order.map((e) => this.row(e, vhat))),
      ];
      return tensors.map((tensor, i) => ({ name: layout[i].name, tensor }));
    }) as NamedState[];
  }

  load(arrays: readonly Float32Array[]): void {
    checkStateFits(this.layout(), arrays, this.core.name, 'setWeights');
    const { rows, vhat, average } = this.rows;
    const n = this.order.length;
    const at = (kind: 'm' | 'v' | 'vhat' | 'average', i: number): Float32Array => {
      const ema = average < 0 ? 0 : n;
      if (kind === 'average') return arrays[1 + i];
      if (kind === 'm') return arrays[1 + ema + 2 * i];
      if (kind === 'v') return arrays[2 + ema + 2 * i];
      return arrays[1 + ema + 2 * n + i];
    };
    this.steps.loadIteration(arrays[0][0]);
    this.order.forEach((entry, i) => {
      const packed = new Float32Array(rows * entry.size);
      packed.set(at('m', i), 0);
      packed.set(at('v', i), entry.size);
      if (vhat >= 0) packed.set(at('vhat', i), vhat * entry.size);
      if (average >= 0) packed.set(at('average', i), average * entry.size);
      entry.state.dispose();
      entry.state = tf.tensor2d(packed, [rows, entry.size]);
    });
  }

  dispose(): void {
    for (const entry of this.order) entry.state.dispose();
    this.steps.dispose();
    this.order = [];
    this.entries.clear();
  }

  /** The step on the device, inside the caller's tidy. */
  private run(step: DeviceStep, entries: readonly Entry[], grads: readonly tf.Tensor[]): void {
    const scalars = tf.tensor1d(stepScalarValues(step.scalars, step.clipping, step.decays), 'float32');
    const normClipping = step.clipping.kind === 'clipnorm' || step.clipping.kind === 'globalClipnorm' ? step.clipping.kind : 'none';
    const sums = normClipping === 'none'
      ? null
      : tf.engine().runKernel(SUMS_OF_SQUARES, Object.fromEntries(grads.map((g, i) => [`g${i}`, g])), { total: normClipping === 'globalClipnorm' }) as tf.Tensor;
    entries.forEach((entry, index) => {
      if (entry.size === 0) return;
      const attrs: FusedUpdateAttrs = { size: entry.size, amsgrad: this.core.amsgrad, ema: this.core.useEma, normClipping, index };
      const inputs: tf.NamedTensorMap = { param: entry.variable, grad: grads[index], state: entry.state, scalars };
      if (sums !== null) inputs.sums = sums;
      const [param, state] = tf.engine().runKernel(FUSED_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      entry.variable.assign(tf.reshape(param, entry.variable.shape));
      entry.state.dispose();
      entry.state = tf.keep(state as tf.Tensor2D);
    });
  }

  /** One state row of a variable, in the variable's shape. */
  private row(entry: Entry, row: number): tf.Tensor {
    return tf.reshape(tf.slice(entry.state, [row, 0], [1, entry.size]), entry.variable.shape);
  }

  private layout() {
    const { name, useEma, amsgrad } = this.core;
    return stateLayout(this.order.map((e) => e.variable), { name, useEma, amsgrad });
  }
}
