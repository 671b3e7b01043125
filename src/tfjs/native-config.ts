import * as tf from '@tensorflow/tfjs-core';

type Entry = [tf.serialization.SerializableConstructor<tf.serialization.Serializable>, tf.serialization.FromConfigMethod<tf.serialization.Serializable>];

/** What was registered as 'Adam' before us (TensorFlow.js' own AdamOptimizer). */
let nativeEntry: Entry | null = null;

/** The keys TensorFlow.js' own `AdamOptimizer.getConfig` writes (plus the one its loader adds). */
const NATIVE_KEYS = new Set(['learningRate', 'beta1', 'beta2', 'epsilon', 'customObjects']);

/**
 * Remembers the class registered as `className` before ours replaces it, so that configs written
 * by it still build it.
 */
export function rememberNativeClass(className: string, ours: unknown): void {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className] as Entry | undefined;
  if (entry !== undefined && entry[0] !== ours && nativeEntry === null) nativeEntry = entry;
}

/**
 * The optimizer TensorFlow.js' own Adam would build from `config`, when `config` is one it wrote:
 * only its keys, with a numeric learning rate. Null for every other config (ours, or Keras').
 */
export function nativeAdamFromConfig(config: tf.serialization.ConfigDict): tf.Optimizer | null {
  if (config === null || typeof config !== 'object') return null;
  const keys = Object.keys(config);
  if (!keys.every((k) => NATIVE_KEYS.has(k)) || typeof config.learningRate !== 'number') return null;
  if (nativeEntry !== null) return nativeEntry[1](nativeEntry[0], config) as tf.Optimizer;
  return tf.AdamOptimizer.fromConfig(tf.AdamOptimizer, config) as tf.Optimizer;
}
