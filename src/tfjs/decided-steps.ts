import type * as tf from '@tensorflow/tfjs-core';
import type { Adam as CoreAdam, DeviceStep } from '../adam.js';
import { Variable } from '../variable.js';
import type { GradientPair } from './gradients.js';

/**
 * The core pipeline deciding the steps of an engine whose arithmetic runs on the device (tensor
 * ops, fused GPU programs): each TensorFlow.js variable has a one-element stand-in in the core,
 * which decides the learning rate, the scalars, the clipping rule, the decay factor of each
 * variable (exclusions by name or identity) and the EMA flags, and counts the steps. Only what
 * needs the gradients' values (their norms) is left to the device.
 */
export class DecidedSteps {
  private readonly proxies = new Map<tf.Variable, Variable>();

  constructor(
    private readonly core: CoreAdam,
    private readonly excluded: ReadonlySet<tf.Variable>,
  ) {}

  /** Builds the core with stand-ins for these variables, in this order (first call only). */
  build(variables: readonly tf.Variable[]): void {
    if (this.core.built) return;
    for (const variable of variables) {
      if (!this.proxies.has(variable)) this.proxies.set(variable, new Variable(new Float32Array(1), { name: variable.name }));
    }
    const excluded = [...this.proxies].filter(([v]) => this.excluded.has(v)).map(([, proxy]) => proxy);
    if (excluded.length > 0) this.core.excludeFromWeightDecay({ varList: excluded });
    this.core.build([...this.proxies.values()]);
  }

  /** Drops missing gradients with a warning (all missing is an error), as the core does. */
  present(pairs: readonly GradientPair[]): (GradientPair & { grad: tf.Tensor })[] {
    const owner = this.core.name;
    const present = pairs.filter((p): p is GradientPair & { grad: tf.Tensor } => p.grad !== null);
    const missing = pairs.filter((p) => p.grad === null).map((p) => `'${p.variable.name}'`);
    if (present.length === 0) throw new Error(`${owner}: no gradients provided for any variable: ${missing.join(', ')}`);
    if (missing.length > 0) console.warn(`${owner}: gradients do not exist for variables ${missing.join(', ')}; they are not updated`);
    return present;
  }

  /** The next step over these variables, checked; nothing changes until {@link DecidedSteps.count}. */
  decide(variables: readonly tf.Variable[]): DeviceStep {
    return this.core.decideDeviceStep(variables.map((v) => this.proxies.get(v)!));
  }

  /** Counts a decided step that ran. */
  count(step: DeviceStep): void {
    this.core.countDeviceStep(step);
  }

  /** Sets the iteration count (the stand-ins hold no state worth loading). */
  loadIteration(iteration: number): void {
    this.core.setWeights([Float64Array.of(iteration), ...this.core.variables.slice(1).map((v) => new Float32Array(v.size))]);
  }

  dispose(): void {
    this.core.dispose();
    for (const proxy of this.proxies.values()) proxy.dispose();
    this.proxies.clear();
  }
}
