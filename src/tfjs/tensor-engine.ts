import * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam } from '../adam.js';
import { describe } from '../describe.js';
import { readHyperparameter } from '../hyperparameters.js';
import { isLearningRateSchedule } from '../schedules/index.js';
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
 * (webgl, webgpu) or where ops are native (tensorflow). The order of operations is the core's
 * (semantics.md sections 1 and 2): learning rate, missing gradients, clipping, weight decay,
 * update, EMA, iterations. The core optimizer holds the hyperparameters and the iteration count
 * (it stays unbuilt); the state lives in non-trainable variables.
 */
export class TensorEngine implements StepEngine {
  readonly kind = 'tensor-ops' as const;
  private readonly slots = new Map<tf.Variable, Slots>();
  private order: Slots[] = [];
  private scheduled: number | null = null;

  constructor(
    private readonly core: CoreAdam,
    private readonly isExcluded: (variable: tf.Variable) => boolean,
  ) {}

  get lastLearningRate(): number | null {
    return this.scheduled;
  }

  refreshSchedule(): void {
    this.scheduled = this.scheduleAt(this.core.iterations);
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
    this.scheduled = this.scheduleAt(this.core.iterations);
  }

  has(variable: tf.Variable): boolean {
    return this.slots.has(variable);
  }

  apply(pairs: readonly GradientPair[]): void {
    const core = this.core;
    const iterations = core.iterations;
    const learningRate = this.learningRateForStep(iterations);
    const present = this.dropMissing(pairs);
    const beta1 = readBeta('beta1', core.beta1);
    const beta2 = readBeta('beta2', core.beta2);
    const t = iterations + 1;
    const correction2 = Math.sqrt(1 - Math.pow(beta2, t));
    const alpha = (learningRate * correction2) / (1 - Math.pow(beta1, t));
    const epsilon = core.adaptiveEpsilon ? core.epsilon * correction2 : core.epsilon;
    const frequency = core.emaOverwriteFrequency;
    const overwrite = core.useEma && frequency !== null && frequency > 0 && (iterations + 1) % frequency === 0;
    const momentum = core.emaMomentum;

    tf.tidy(() => {
      const grads = this.clip(present.map((p) => p.grad!));
      present.forEach(({ variable }, i) => {
        const s = this.slots.get(variable)!;
        const decay = core.weightDecay === null || this.isExcluded(variable) ? 0 : core.weightDecay * learningRate;
        let p: tf.Tensor = variable;
        if (decay !== 0) p = tf.sub(p, tf.mul(p, decay));
        const g = grads[i];
        const m = tf.add(s.m, tf.mul(tf.sub(g, s.m), 1 - beta1));
        const v = tf.add(s.v, tf.mul(tf.sub(tf.mul(g, g), s.v), 1 - beta2));
        let second = v;
        if (s.vhat !== null) {
          second = tf.maximum(s.vhat, v);
          s.vhat.assign(second);
        }
        p = tf.sub(p, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(second), epsilon)));
        s.m.assign(m);
        s.v.assign(v);
        if (s.average !== null) {
          const average = tf.add(tf.mul(s.average, momentum), tf.mul(p, 1 - momentum));
          s.average.assign(average);
          if (overwrite) p = average;
        }
        variable.assign(p);
      });
    });
    core.iterations = iterations + 1;
    if (isLearningRateSchedule(core.learningRateSchedule)) this.scheduled = learningRate;
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
    // Unbuilt in this mode, the core keeps the count.
    this.core.iterations = arrays[0][0];
    this.scheduled = this.scheduleAt(this.core.iterations);
  }

  dispose(): void {
    for (const s of this.order) tf.dispose([s.m, s.v, ...(s.vhat ? [s.vhat] : []), ...(s.average ? [s.average] : [])]);
    this.order = [];
    this.slots.clear();
  }

  private layout() {
    const { name, useEma, amsgrad } = this.core;
    return stateLayout(this.order.map((s) => s.variable), { name, useEma, amsgrad });
  }

  private scheduleAt(step: number): number | null {
    const source = this.core.learningRateSchedule;
    if (!isLearningRateSchedule(source)) return null;
    return readHyperparameter(`${this.core.name}: learningRate schedule at step ${step}`, () => source.call(step));
  }

  /** Step 1: a schedule at the pre-increment count, or the number / function's value. */
  private learningRateForStep(iterations: number): number {
    const source = this.core.learningRateSchedule;
    if (isLearningRateSchedule(source)) return this.scheduleAt(iterations)!;
    return readHyperparameter(`${this.core.name}: learningRate`, source);
  }

  /** Step 4: missing gradients are dropped with a warning; all missing is an error (the core's messages). */
  private dropMissing(pairs: readonly GradientPair[]): GradientPair[] {
    const owner = this.core.name;
    const present = pairs.filter((p) => p.grad !== null);
    const missing = pairs.filter((p) => p.grad === null).map((p) => `'${p.variable.name}'`);
    if (present.length === 0) throw new Error(`${owner}: no gradients provided for any variable: ${missing.join(', ')}`);
    if (missing.length > 0) console.warn(`${owner}: gradients do not exist for variables ${missing.join(', ')}; they are not updated`);
    return present;
  }

  /** Step 5: at most one clipping rule, clipnorm > globalClipnorm > clipvalue. */
  private clip(grads: tf.Tensor[]): tf.Tensor[] {
    const { clipnorm, globalClipnorm, clipvalue } = this.core;
    const norm = (g: tf.Tensor) => tf.sqrt(tf.sum(tf.mul(g, g)));
    if (clipnorm !== null && clipnorm > 0) {
      return grads.map((g) => tf.mul(g, tf.div(clipnorm, tf.maximum(norm(g), clipnorm))));
    }
    if (globalClipnorm !== null && globalClipnorm > 0) {
      const globalNorm = tf.sqrt(sumInGroups(grads.map((g) => tf.sum(tf.mul(g, g)))));
      // A non-finite global norm makes every gradient NaN, as the reference does.
      const scale = tf.where(tf.isFinite(globalNorm), tf.div(globalClipnorm, tf.maximum(globalNorm, globalClipnorm)), tf.scalar(NaN));
      return grads.map((g) => tf.mul(g, scale));
    }
    if (clipvalue !== null && clipvalue > 0) return grads.map((g) => tf.clipByValue(g, -clipvalue, clipvalue));
    return grads;
  }
}

function readBeta(name: string, value: number | (() => number)): number {
  const beta = readHyperparameter(`Adam: ${name}`, value);
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`Adam: ${name} must be in [0, 1), got ${describe(beta)}`);
  return beta;
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
