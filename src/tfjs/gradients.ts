import * as tf from '@tensorflow/tfjs-core';
import { describe } from '../describe.js';

/** `{name, tensor}`, as TensorFlow.js' `minimize` passes gradients when given a variable list. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor | null | undefined;
}

/** A variable and its gradient (null when missing). */
export interface GradientPair {
  readonly variable: tf.Variable;
  readonly grad: tf.Tensor | null;
}

/** A `tf.Variable`, or anything that reads as one (a tfjs-layers `LayerVariable`). */
export type VariableLike = tf.Variable | { read(): tf.Tensor };

/** The `tf.Variable` behind a variable or a tfjs-layers `LayerVariable`. */
export function toVariable(x: VariableLike, what: string): tf.Variable {
  if (x instanceof tf.Variable) return x;
  if (x !== null && typeof x === 'object' && typeof (x as { read?: unknown }).read === 'function') {
    const read = (x as { read(): tf.Tensor }).read();
    if (read instanceof tf.Variable) return read;
  }
  throw new TypeError(`${what} must be a tf.Variable or a LayerVariable, got ${describe(x)}`);
}

/**
 * The (variable, gradient) pairs of an `applyGradients` call: a map from variable name to gradient
 * or a `{name, tensor}` list, names looked up among TensorFlow.js' registered variables.
 */
export function resolvePairs(input: tf.NamedTensorMap | readonly NamedTensor[], owner: string): GradientPair[] {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`${owner}: applyGradients expects a map of variable names to gradients or a {name, tensor} list, got ${describe(input)}`);
  }
  const registered = tf.engine().registeredVariables;
  const pairs: GradientPair[] = [];
  const add = (name: string, grad: unknown): void => {
    const variable = registered[name];
    if (variable === undefined) throw new Error(`${owner}: no variable named '${name}' is registered with TensorFlow.js`);
    if (grad === null || grad === undefined) {
      pairs.push({ variable, grad: null });
      return;
    }
    if (!(grad instanceof tf.Tensor)) {
      throw new TypeError(`${owner}: the gradient of '${name}' must be a tf.Tensor, got ${describe(grad)}`);
    }
    pairs.push({ variable, grad });
  };
  if (Array.isArray(input)) {
    const list = input as readonly NamedTensor[];
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      if (item === null || typeof item !== 'object' || typeof item.name !== 'string') {
        throw new TypeError(`${owner}: applyGradients list entry ${i} must be {name, tensor}, got ${describe(item)}`);
      }
    }
    for (const item of list) add(item.name, item.tensor);
  } else {
    const map = input as tf.NamedTensorMap;
    for (const name of Object.keys(map)) add(name, map[name]);
  }
  return pairs;
}

/**
 * Checks what the core cannot see: each gradient has its variable's shape, both are float32, and no
 * variable comes twice. Throws before anything changes.
 */
export function checkPairs(pairs: readonly GradientPair[], owner: string): void {
  const seen = new Set<tf.Variable>();
  for (const { variable, grad } of pairs) {
    if (variable.isDisposed) throw new Error(`${owner}: variable '${variable.name}' is disposed`);
    if (variable.dtype !== 'float32') {
      throw new TypeError(`${owner}: variable '${variable.name}' is ${variable.dtype}; only float32 variables can be trained`);
    }
    if (seen.has(variable)) throw new Error(`${owner}: variable '${variable.name}' appears twice in one applyGradients call`);
    seen.add(variable);
    if (grad === null) continue;
    if (grad.isDisposed) throw new Error(`${owner}: the gradient of '${variable.name}' is disposed`);
    if (grad.dtype !== 'float32') throw new TypeError(`${owner}: the gradient of '${variable.name}' must be float32, got ${grad.dtype}`);
    if (!sameShape(grad.shape, variable.shape)) {
      throw new RangeError(`${owner}: the gradient of '${variable.name}' has shape [${grad.shape.join(', ')}], the variable has shape [${variable.shape.join(', ')}]`);
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
