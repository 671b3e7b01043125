/**
 * TensorFlow.js's own `tf.train.adam` on the cpu and wasm backends: pre-made gradient tensors,
 * `optimizer.applyGradients`, everything disposed afterwards.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

import { fillGradient, fillParams, measureRate } from '../timing.js';
import { LEARNING_RATE, totalParams, type ChildTask, type PeerResult } from '../workloads.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** Loads tfjs-core with the backend registered and selected; returns the module and a note. */
export async function loadTfjs(backend: 'cpu' | 'wasm'): Promise<{ tf: Tf; note: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  let note = '';
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
    wasm.setWasmPaths(dist + path.sep);
  }
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    note = `simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'}`;
  }
  return { tf, note: `tfjs ${tf.version_core}${note ? `, ${note}` : ''}` };
}

export async function runTfjs(task: ChildTask): Promise<PeerResult> {
  const w = task.workload;
  const backend = task.peer === 'tfjs-wasm' ? 'wasm' : 'cpu';
  const { tf, note } = await loadTfjs(backend);
  const tensorsAtStart = tf.memory().numTensors;
  const variables: import('@tensorflow/tfjs-core').Variable[] = [];
  const grads: { name: string; tensor: import('@tensorflow/tfjs-core').Tensor }[] = [];
  for (let i = 0; i < w.count; i++) {
    const p = new Float32Array(w.size);
    fillParams(p, i);
    const g = new Float32Array(w.size);
    fillGradient(g, i);
    const name = `bench_${backend}_${w.id}_${i}`;
    const initial = tf.tensor1d(p, 'float32');
    variables.push(tf.variable(initial, true, name));
    initial.dispose();
    grads.push({ name, tensor: tf.tensor1d(g, 'float32') });
  }
  const optimizer = tf.train.adam(LEARNING_RATE, 0.9, 0.999, 1e-7);
  const step = (): void => {
    optimizer.applyGradients(grads);
  };
  const rate = await measureRate(step, totalParams(w), task.timing);
  const tensorsBeforeDispose = tf.memory().numTensors;
  optimizer.dispose();
  for (const v of variables) v.dispose();
  for (const g of grads) g.tensor.dispose();
  const leaked = tf.memory().numTensors - tensorsAtStart;
  const notes = [note];
  if (leaked !== 0) notes.push(`${leaked} tensors left after dispose (of ${tensorsBeforeDispose})`);
  return { workload: w.id, key: task.peer, label: `tf.train.adam (${backend})`, rate, note: notes.join('; ') };
}
