// The gradient module of fitOnMesh: each replica rebuilds the model from its topology and
// weights, on its own TensorFlow.js backend, and computes the gradients of its part of each batch.
import type { GradientContext } from '../../mesh/index.js';
import type { ReplicaBatch, ReplicaBatchResult, ReplicaModelInit } from './protocol.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tfl = typeof import('@tensorflow/tfjs-layers');

interface Replica {
  readonly tf: Tf;
  readonly model: import('@tensorflow/tfjs-layers').LayersModel;
  readonly trainable: import('@tensorflow/tfjs-core').Variable[];
  readonly shapes: number[][];
  readonly x: Float32Array;
  readonly xShape: readonly number[];
  readonly y: Float32Array;
  readonly yShape: readonly number[];
}

let replica: Replica | null = null;

export async function init(data: ReplicaModelInit): Promise<void> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  const tfl: Tfl = await import('@tensorflow/tfjs-layers');
  await import('@tensorflow/tfjs-backend-cpu');
  tf.enableProdMode();
  if (data.backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const { createRequire } = await import('node:module');
    const path = await import('node:path');
    const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(main) + path.sep);
  }
  if (!(await tf.setBackend(data.backend))) throw new Error(`fitOnMesh replica: the TensorFlow.js backend '${data.backend}' did not start`);
  await tf.ready();
  const model = await tfl.models.modelFromJSON(JSON.parse(data.topology));
  const initial = data.weights.map((w) => tf.tensor(w.values, [...w.shape]));
  model.setWeights(initial);
  tf.dispose(initial);
  model.compile({ optimizer: 'sgd', loss: data.loss, metrics: [...data.metrics] });
  const trainable = model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs-core').Variable);
  replica = {
    tf, model, trainable, shapes: model.trainableWeights.map((w) => [...w.shape] as number[]),
    x: new Float32Array(data.x.buffer), xShape: data.x.shape, y: new Float32Array(data.y.buffer), yShape: data.y.shape,
  };
}

function rowsOf(all: Float32Array, shape: readonly number[], rows: Int32Array): Float32Array {
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) out.set(all.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
  return out;
}

export function gradients(ctx: GradientContext<ReplicaBatch>): ReplicaBatchResult {
  if (replica === null) throw new Error('fitOnMesh replica: not initialized');
  const { tf, model, trainable, shapes } = replica;
  // A Sequential keeps its compiled loss and metrics on the functional model inside it.
  const compiled = (model as { model?: import('@tensorflow/tfjs-layers').LayersModel }).model ?? model;
  const { rows, scale } = ctx.input;
  if (rows.length === 0) {
    // A batch with fewer rows than replicas: this part is empty and adds nothing (scale 0).
    for (const g of ctx.grads) g.fill(0);
    return { loss: 0, metrics: compiledMetricsCount(model).map(() => 0), rows: 0 };
  }
  // The shared parameters become this replica's model weights.
  ctx.params.forEach((p, i) => {
    const value = tf.tensor(p as Float32Array, shapes[i]);
    trainable[i].assign(value);
    value.dispose();
  });
  return tf.tidy(() => {
    const x = tf.tensor(rowsOf(replica!.x, replica!.xShape, rows), [rows.length, ...replica!.xShape.slice(1)]);
    const y = tf.tensor(rowsOf(replica!.y, replica!.yShape, rows), [rows.length, ...replica!.yShape.slice(1)]);
    let metrics: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const prediction = model.apply(x, { training: true }) as import('@tensorflow/tfjs-core').Tensor;
      const loss = tf.mean(compiled.lossFunctions[0](y, prediction)) as import('@tensorflow/tfjs-core').Scalar;
      metrics = compiled.metricsTensors.map(([fn]) => tf.mean(fn(y, prediction)).dataSync()[0]);
      return loss;
    }, trainable);
    trainable.forEach((v, i) => {
      const g = grads[v.name].dataSync() as Float32Array;
      const out = ctx.grads[i];
      if (scale === 1) out.set(g);
      else for (let j = 0; j < g.length; j++) out[j] = g[j] * scale;
    });
    return { loss: value.dataSync()[0], metrics, rows: rows.length };
  });
}

function compiledMetricsCount(model: import('@tensorflow/tfjs-layers').LayersModel): unknown[] {
  return ((model as { model?: import('@tensorflow/tfjs-layers').LayersModel }).model ?? model).metricsTensors;
}

/** The weights that are not trained (e.g. batch-norm statistics), as this replica has them. */
export function nonTrainableWeights(): Float32Array[] {
  if (replica === null) throw new Error('fitOnMesh replica: not initialized');
  return replica.model.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
}

export function setNonTrainableWeights(values: Float32Array[]): void {
  if (replica === null) throw new Error('fitOnMesh replica: not initialized');
  const { tf, model } = replica;
  model.nonTrainableWeights.forEach((w, i) => {
    const value = tf.tensor(values[i], w.shape as number[]);
    w.write(value);
    value.dispose();
  });
}
