import { describe } from './describe.js';

/**
 * What a value from TensorFlow.js is, when it looks like one (duck-typed: the core does not import
 * TensorFlow.js), or null. Used to turn "expected a Variable" into a message that says what to do.
 */
export function tensorFlowKind(x: unknown): 'tf.Variable' | 'LayerVariable' | 'tf.Tensor' | null {
  if (x === null || typeof x !== 'object') return null;
  const o = x as Record<string, unknown>;
  if (typeof o.read === 'function' && typeof o.write === 'function' && 'originalName' in o) return 'LayerVariable';
  if (typeof o.dataSync === 'function' && typeof o.assign === 'function') return 'tf.Variable';
  if (typeof o.dataSync === 'function' && typeof o.dataId === 'object') return 'tf.Tensor';
  return null;
}

/** `describe(x)`, plus a pointer to `adam-optimizer/tfjs` when `x` is a TensorFlow.js object. */
export function describeForeign(x: unknown): string {
  const kind = tensorFlowKind(x);
  if (kind === null) return describe(x);
  const name = typeof (x as { name?: unknown }).name === 'string' ? ` '${(x as { name: string }).name}'` : '';
  return `a TensorFlow.js ${kind}${name}; this optimizer takes this package's Variable and typed arrays, ` +
    `and for TensorFlow.js models and variables use the optimizer of 'adam-optimizer/tfjs' ` +
    `(import { Adam } from 'adam-optimizer/tfjs')`;
}
