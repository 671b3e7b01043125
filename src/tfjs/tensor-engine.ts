import * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam, DeviceStep } from '../adam.js';
import type { ClippingRule } from '../optimizer.js';
import { DecidedSteps } from './decided-steps.js';
import type { NamedState, StepEngine } from './engine.js';
import type { GradientPair } from './gradients.js';
import { checkStateFits, ITERATION_NAME, stateLayout } from './state.js';

/** The state of one variable, as non-trainable TensorFlow.js variables. */
interface Slots {
  readonly variable: tf.Variable;
  readonly average: tf.Variable | null;
  readonly m: tf.Variable;
  readonly v: tf.Variable;
  readonly vhat: tf.Variable | null;
}

/**
 * Steps as TensorFlow.js ops inside one `tidy`, for backends where reading data back is costly
 * (webgl, webgpu) or where ops are native (tensorflow). The core pipeline decides each step
 * ({@link DecidedSteps}: learning rate, scalars, clipping rule, decay factors, EMA, the count);
 * the ops compute it in the kernels' order (src/kernels/kernel.ts), the norms for clipping on
 * the device. The step's scalars become tensors once per step, not once per variable. The state
 * lives in non-trainable variables.
 */
export class TensorEngine implements StepEngine {
  readonly kind = 'tensor-ops' as const;
  private readonly slots = new Map<tf.Variable, Slots>();
  private order: Slots[] = [];
  private readonly steps: DecidedSteps;

  constructor(
    private readonly core: CoreAdam,
    excluded: ReadonlySet<tf.Variable>,
  ) {
    this.steps = new DecidedSteps(core, excluded);
  }

  build(variables: readonly tf.Variable[]): void {
    if (this.order.length > 0) return;
    const { useEma, amsgrad } = this.core;
    const order: Slots[] = [];
    tf.tidy(() => {
      for (const variable of variables) {
        if (this.slots.has(variable)) continue;
        const zeros = () => tf.variable(tf.zerosLike(variable), false);
        const slots: Slots = {
          variable,
          average: useEma ? tf.variable(variable, false) : null,
          m: zeros(),
          v: zeros(),
          vhat: amsgrad ? zeros() : null,
        };
        this.slots.set(variable, slots);
        order.push(slots);
      }
    });
    this.order = order;
    this.steps.build(order.map((s) => s.variable));
  }

  has(variable: tf.Variable): boolean {
    return this.slots.has(variable);
  }

  apply(pairs: readonly GradientPair[]): void {
    const present = this.steps.present(pairs);
    const step = this.steps.decide(present.map((p) => p.variable));
    tf.tidy(() => this.run(step, present));
    this.steps.count(step);
  }

  /** The decided step as tensor ops, inside the caller's tidy. */
  private run(step: DeviceStep, present: readonly { variable: tf.Variable; grad: tf.Tensor }[]): void {
    const s = step.scalars;
    const scalar = (x: number) => tf.scalar(x, 'float32');
    const alpha = scalar(s.alpha);
    const epsilon = scalar(s.epsilon);
    const oneMinusBeta1 = scalar(s.oneMinusBeta1);
    const oneMinusBeta2 = scalar(s.oneMinusBeta2);
    const momentum = s.emaMomentum === null ? null : scalar(s.emaMomentum);
    const oneMinusMomentum = s.emaMomentum === null ? null : scalar(1 - s.emaMomentum);
    const decays = new Map<number, tf.Scalar>();
    const grads = this.clip(present.map((p) => p.grad), step.clipping);
    present.forEach(({ variable }, i) => {
      const slots = this.slots.get(variable)!;
      const decay = step.decays[i];
      let p: tf.Tensor = variable;
      if (decay !== 0) {
        if (!decays.has(decay)) decays.set(decay, scalar(decay));
        p = tf.sub(p, tf.mul(p, decays.get(decay)!));
      }
      const g = grads[i];
      const m = tf.add(slots.m, tf.mul(tf.sub(g, slots.m), oneMinusBeta1));
      const v = tf.add(slots.v, tf.mul(tf.sub(tf.mul(g, g), slots.v), oneMinusBeta2));
      let second = v;
      if (slots.vhat !== null) {
        second = tf.maximum(slots.vhat, v);
        slots.vhat.assign(second);
      }
      p = tf.sub(p, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(second), epsilon)));
      slots.m.assign(m);
      slots.v.assign(v);
      if (slots.average !== null && momentum !== null && oneMinusMomentum !== null) {
        const average = tf.add(tf.mul(slots.average, momentum), tf.mul(p, oneMinusMomentum));
        slots.average.assign(average);
        if (s.emaOverwrite) p = average;
      }
      variable.assign(p);
    });
  }

  finalize(variables: readonly tf.Variable[]): void {
    if (!this.core.useEma) return;
    for (const variable of variables) {
      const average = this.slots.get(variable)?.average;
      if (average) variable.assign(average);
    }
  }

  snapshot(): NamedState[] {
    const layout = this.layout();
    const tensors = [
      tf.scalar(this.core.iterations, 'int32'),
      ...this.order.flatMap((s) => (s.average ? [s.average] : [])).map((t) => t.clone()),
      ...this.order.flatMap((s) => [s.m.clone(), s.v.clone()]),
      ...this.order.flatMap((s) => (s.vhat ? [s.vhat.clone()] : [])),
    ];
    return tensors.map((tensor, i) => ({ name: layout[i].name, tensor }));
  }

  load(arrays: readonly Float32Array[]): void {
    const layout = this.layout();
    checkStateFits(layout, arrays, this.core.name, 'setWeights');
    const targets = [
      ...this.order.flatMap((s) => (s.average ? [s.average] : [])),
      ...this.order.flatMap((s) => [s.m, s.v]),
      ...this.order.flatMap((s) => (s.vhat ? [s.vhat] : [])),
    ];
    tf.tidy(() => {
      targets.forEach((target, i) => target.assign(tf.tensor(arrays[i + 1].slice(), target.shape, 'float32')));
    });
    this.steps.loadIteration(arrays[0][0]);
  }

  dispose(): void {
    for (const s of this.order) tf.dispose([s.m, s.v, ...(s.vhat ? [s.vhat] : []), ...(s.average ? [s.average] : [])]);
    this.order = [];
    this.slots.clear();
    this.steps.dispose();
  }

  private layout() {
    const { name, useEma, amsgrad } = this.core;
    return stateLayout(this.order.map((s) => s.variable), { name, useEma, amsgrad });
  }

  /**
   * Step 5 on the device, by the rule the core chose: the clipping factors need the gradients'
   * norms, which stay on the device (the factor formulas are the core's clipping.ts ones).
   */
  private clip(grads: tf.Tensor[], rule: ClippingRule): tf.Tensor[] {
    const norm = (g: tf.Tensor) => tf.sqrt(tf.sum(tf.mul(g, g)));
    if (rule.kind === 'clipnorm') {
      const limit = tf.scalar(rule.limit);
      return grads.map((g) => tf.mul(g, tf.div(limit, tf.maximum(norm(g), limit))));
    }
    if (rule.kind === 'globalClipnorm') {
      const limit = tf.scalar(rule.limit);
      const globalNorm = tf.sqrt(sumInGroups(grads.map((g) => tf.sum(tf.mul(g, g)))));
      // A non-finite global norm makes every gradient NaN, as the core's rule says.
      const scale = tf.where(tf.isFinite(globalNorm), tf.div(limit, tf.maximum(globalNorm, limit)), tf.scalar(NaN));
      return grads.map((g) => tf.mul(g, scale));
    }
    if (rule.kind === 'clipvalue') return grads.map((g) => tf.clipByValue(g, -rule.limit, rule.limit));
    return grads;
  }
}

/**
 * The sum of scalars, by `tf.addN` over at most 7 at a time: a WebGPU compute stage binds at most 8
 * storage buffers (inputs and output), and tfjs-backend-webgpu's AddN does not split its inputs, so
 * a larger one fails validation and its result is silently dropped.
 */
export function sumInGroups(terms: readonly tf.Tensor[]): tf.Tensor {
  const GROUP = 7;
  let list = [...terms];
  while (list.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < list.length; i += GROUP) {
      const group = list.slice(i, i + GROUP);
      next.push(group.length === 1 ? group[0] : tf.addN(group));
    }
    list = next;
  }
  return list[0];
}
