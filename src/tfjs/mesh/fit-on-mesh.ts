import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Adam as CoreAdam } from '../../adam.js';
import { configToOptions } from '../../config.js';
import { describe } from '../../describe.js';
import { Mesh } from '../../mesh/index.js';
import type { AdamOptions as CoreAdamOptions } from '../../adam.js';
import { Variable } from '../../variable.js';
import { isKerasAdam } from '../marker.js';
import type { Adam } from '../adam.js';
import type { ReplicaBatch, ReplicaBatchResult, ReplicaModelInit } from './protocol.js';

/** Logs as `fit` gives them to callbacks: loss, metrics, and `val_` ones at epoch ends. */
export type MeshLogs = Record<string, number>;

/** Callbacks {@link fitOnMesh} calls, as `model.fit`'s custom callbacks are called. */
export interface MeshFitCallbacks {
  onTrainBegin?(logs?: MeshLogs): void | Promise<void>;
  onTrainEnd?(logs?: MeshLogs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: MeshLogs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: MeshLogs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: MeshLogs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: MeshLogs): void | Promise<void>;
}

/** Arguments of {@link fitOnMesh}: those of `model.fit`, plus where and how the replicas run. */
export interface MeshFitArgs {
  /** Number of replicas (worker threads). Default: one per core. */
  replicas?: number;
  /** The TensorFlow.js backend each replica runs: 'cpu' (default) or 'wasm'. */
  backend?: 'cpu' | 'wasm';
  epochs?: number;
  /** Default 32, as `fit`. Each batch is split into one contiguous part per replica. */
  batchSize?: number;
  /** Shuffle the training rows before each epoch (default true), with a seeded generator. */
  shuffle?: boolean;
  /** The shuffle's seed (default 0): the same seed gives the same batches. */
  seed?: number;
  validationData?: [tf.Tensor, tf.Tensor];
  /** The last fraction of the rows (before shuffling) is held out for validation, as in `fit`. */
  validationSplit?: number;
  callbacks?: MeshFitCallbacks;
  /** 0: silent (default); 1: one line per epoch on the console. */
  verbose?: 0 | 1;
}

/** What {@link fitOnMesh} resolves to: per-epoch logs, as `model.fit`'s `History`. */
export interface MeshHistory {
  readonly epoch: number[];
  readonly history: Record<string, number[]>;
}

const FIT_KEYS = ['replicas', 'backend', 'epochs', 'batchSize', 'shuffle', 'seed', 'validationData', 'validationSplit', 'callbacks', 'verbose'];

/** The gradient module the replicas run (next to this one). */
function replicaModule(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './replica-model.ts' : './replica-model.js', here);
}

/**
 * `model.fit(x, y, args)` on a mesh of replicas: each replica (a worker thread) rebuilds the model
 * from its topology and weights and runs its own backend; each batch is split over them; their
 * gradients are averaged in replica order and the model's optimizer (Adam from
 * `adam-optimizer/tfjs`) takes the step with its state spread over the replicas (ZeRO stage 1).
 * When it ends, the model holds the trained weights (EMA finalized as `fit` does) and the
 * optimizer the state, exactly as after an ordinary `fit`.
 *
 * Single-input, single-output models compiled with one loss given by name.
 */
export async function fitOnMesh(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, args: MeshFitArgs = {}): Promise<MeshHistory> {
  const checked = checkArgs(model, x, y, args);
  const optimizer = model.optimizer as unknown as Adam;
  const { epochs, batchSize, shuffle, seed, verbose, callbacks } = checked;
  const rowCount = x.shape[0];
  const heldOut = checked.validationSplit > 0 ? Math.floor(rowCount * checked.validationSplit) : 0;
  const trainRows = rowCount - heldOut;
  if (trainRows < 1) throw new RangeError(`fitOnMesh: validationSplit ${checked.validationSplit} leaves no rows to train on`);
  const validation = checked.validationData ?? (heldOut > 0
    ? [tf.slice(x, trainRows, heldOut), tf.slice(y, trainRows, heldOut)] as [tf.Tensor, tf.Tensor]
    : null);

  // The training set goes to shared memory once; batches are lists of row indices.
  const share = (t: tf.Tensor) => {
    const values = t.dataSync();
    const buffer = new SharedArrayBuffer(Math.max(values.length * 4, 4));
    new Float32Array(buffer).set(values);
    return { buffer, shape: [...t.shape] };
  };
  const trainable = model.trainableWeights;
  const weightIndex = new Map(model.weights.map((w, i) => [w, i]));
  const init: ReplicaModelInit = {
    topology: JSON.stringify(model.toJSON(null, false)),
    weights: model.weights.map((w) => ({ values: w.read().dataSync() as Float32Array, shape: [...w.shape] as number[] })),
    trainable: trainable.map((w) => weightIndex.get(w)!),
    loss: model.loss as string,
    metrics: model.metricsNames.slice(1),
    backend: checked.backend,
    x: share(x), y: share(y),
  };
  const mesh = await Mesh.local({ replicas: checked.replicas, gradientModule: replicaModule(), initData: init });
  try {
    const core = await coreOptimizerOnMesh(optimizer, mesh, trainable);
    const variables = coreVariables.get(core)!;
    const history: MeshHistory = { epoch: [], history: {} };
    const names = model.metricsNames;
    await callbacks.onTrainBegin?.({});
    for (let epoch = 0; epoch < epochs; epoch++) {
      await callbacks.onEpochBegin?.(epoch, {});
      const order = Int32Array.from({ length: trainRows }, (_, i) => i);
      if (shuffle) seededShuffle(order, seed + epoch);
      const totals = new Float64Array(names.length);
      let seen = 0;
      for (let batch = 0, start = 0; start < trainRows; batch++, start += batchSize) {
        const rows = order.subarray(start, Math.min(start + batchSize, trainRows));
        await callbacks.onBatchBegin?.(batch, { batch, size: rows.length });
        const inputs = splitBatch(rows, mesh.replicas);
        const { results } = await mesh.step(core, variables, { inputs });
        const logs = batchLogs(results as ReplicaBatchResult[], names);
        names.forEach((name, k) => { totals[k] += logs[name] * rows.length; });
        seen += rows.length;
        await callbacks.onBatchEnd?.(batch, { batch, size: rows.length, ...logs });
      }
      const epochLogs: MeshLogs = {};
      names.forEach((name, k) => { epochLogs[name] = totals[k] / seen; });
      // The model gets the weights (and the averaged batch-norm statistics) at every epoch's end.
      await syncModel(model, mesh, variables);
      if (validation !== null) {
        const evaluated = model.evaluate(validation[0], validation[1], { batchSize }) as tf.Scalar | tf.Scalar[];
        const list = Array.isArray(evaluated) ? evaluated : [evaluated];
        list.forEach((t, k) => { epochLogs[`val_${names[k]}`] = t.dataSync()[0]; });
        tf.dispose(list);
      }
      history.epoch.push(epoch);
      for (const [key, value] of Object.entries(epochLogs)) (history.history[key] ??= []).push(value);
      if (verbose >= 1) console.log(`Epoch ${epoch + 1} / ${epochs}  ${Object.entries(epochLogs).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ')}`);
      await callbacks.onEpochEnd?.(epoch, epochLogs);
    }
    // Hand the state and the weights back: the model and its optimizer as after an ordinary fit.
    await syncModel(model, mesh, variables);
    const tfVariables = trainable.map((w) => w.read() as tf.Variable);
    optimizer.build(tfVariables);
    const state = core.getWeights();
    const tensors = state.map((values, i) => ({ name: core.variables[i].name, tensor: i === 0 ? tf.scalar(values[0], 'int32') : tf.tensor(values, core.variables[i].shape as number[], 'float32') }));
    await optimizer.setWeights(tensors);
    tf.dispose(tensors.map((t) => t.tensor));
    if (epochs > 0 && optimizer.useEma && optimizer.finalizeEmaOnFitEnd) optimizer.finalizeVariableValues(tfVariables);
    await callbacks.onTrainEnd?.({});
    return history;
  } finally {
    mesh.dispose();
    if (validation !== null && checked.validationData === null) tf.dispose(validation);
  }
}

/** The core variables of each mesh optimizer made here, in the model's trainable order. */
const coreVariables = new WeakMap<CoreAdam, Variable[]>();

/** A core Adam on the mesh with the model optimizer's hyperparameters and state. */
async function coreOptimizerOnMesh(optimizer: Adam, mesh: Mesh, trainable: readonly tfl.LayerVariable[]): Promise<CoreAdam> {
  const options = configToOptions(optimizer.getConfig() as Record<string, unknown>) as CoreAdamOptions;
  const core = new CoreAdam({ ...options, learningRate: optimizer.learningRateSchedule, mesh });
  const variables = trainable.map((w) => new Variable(w.read().dataSync().slice() as Float32Array, { name: w.name, shape: w.shape as number[] }));
  if (!optimizer.built) core.iterations = optimizer.iterations;
  // Weight-decay exclusions set on the model's optimizer apply on the mesh too.
  const exclusions = optimizer.weightDecayExclusions;
  const excludedVariables = trainable.flatMap((w, i) => (exclusions.variables.has(w.read() as tf.Variable) ? [variables[i]] : []));
  core.excludeFromWeightDecay({ varList: excludedVariables, varNames: [...exclusions.patterns] });
  core.build(variables);
  if (optimizer.built) {
    const state = await optimizer.getWeights();
    core.setWeights(state.map((s) => s.tensor.dataSync() as Float32Array));
  }
  coreVariables.set(core, variables);
  return core;
}

/** Writes the mesh's parameters (and the replicas' averaged non-trainable weights) into the model. */
async function syncModel(model: tfl.LayersModel, mesh: Mesh, variables: readonly Variable[]): Promise<void> {
  model.trainableWeights.forEach((w, i) => {
    const value = tf.tensor((variables[i].value as Float32Array).slice(), w.shape as number[]); // a copy: the shared values keep changing
    w.write(value);
    value.dispose();
  });
  if (model.nonTrainableWeights.length === 0) return;
  // Batch-norm statistics: each replica updates its copy with its own rows; they are averaged in
  // replica order, given back to every replica and written into the model.
  const perReplica = (await mesh.call('nonTrainableWeights', () => null)) as Float32Array[][];
  const averaged = perReplica[0].map((first, i) => {
    const out = new Float32Array(first.length);
    for (let j = 0; j < out.length; j++) {
      let sum = 0;
      for (const r of perReplica) sum += r[i][j];
      out[j] = sum / perReplica.length;
    }
    return out;
  });
  await mesh.call('setNonTrainableWeights', () => averaged);
  model.nonTrainableWeights.forEach((w, i) => {
    const value = tf.tensor(averaged[i], w.shape as number[]);
    w.write(value);
    value.dispose();
  });
}

/** One contiguous part of the batch per replica (the first ones one row longer when it does not split evenly). */
export function splitBatch(rows: Int32Array, parts: number): ReplicaBatch[] {
  const base = Math.floor(rows.length / parts);
  const extra = rows.length % parts;
  const out: ReplicaBatch[] = [];
  for (let r = 0, start = 0; r < parts; r++) {
    const count = base + (r < extra ? 1 : 0);
    // Means of unequal parts are weighted so that their average is the batch mean.
    out.push({ rows: rows.slice(start, start + count), scale: extra === 0 ? 1 : (parts * count) / rows.length });
    start += count;
  }
  return out;
}

function batchLogs(results: readonly ReplicaBatchResult[], names: readonly string[]): MeshLogs {
  const total = results.reduce((n, r) => n + r.rows, 0);
  const logs: MeshLogs = {};
  names.forEach((name, k) => {
    let sum = 0;
    for (const r of results) sum += (k === 0 ? r.loss : r.metrics[k - 1]) * r.rows;
    logs[name] = sum / total;
  });
  return logs;
}

/** Fisher-Yates with mulberry32: the same seed, the same order. */
export function seededShuffle(order: Int32Array, seed: number): void {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

function checkArgs(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, args: MeshFitArgs) {
  if (args === null || typeof args !== 'object') throw new TypeError(`fitOnMesh: args must be an object, got ${describe(args)}`);
  for (const key of Object.keys(args)) {
    if (!FIT_KEYS.includes(key)) throw new TypeError(`fitOnMesh: unknown option '${key}' (known: ${FIT_KEYS.join(', ')})`);
  }
  if (!isKerasAdam(model.optimizer)) {
    throw new TypeError('fitOnMesh: compile the model with Adam from adam-optimizer/tfjs (its state is what the mesh spreads over the replicas)');
  }
  if (typeof model.loss !== 'string') throw new TypeError(`fitOnMesh: the model must be compiled with one loss given by name, got ${describe(model.loss)}`);
  for (const layer of model.layers) {
    const l = layer as unknown as Record<string, unknown>;
    const regularized = ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'depthwiseRegularizer', 'pointwiseRegularizer', 'recurrentRegularizer', 'embeddingsRegularizer']
      .find((key) => l[key] !== undefined && l[key] !== null);
    if (regularized !== undefined) throw new TypeError(`fitOnMesh: layer '${layer.name}' has a ${regularized}; regularization losses are not supported on the mesh yet`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new TypeError('fitOnMesh: only models with one input and one output are supported');
  if (!(x instanceof tf.Tensor) || !(y instanceof tf.Tensor) || x.shape[0] !== y.shape[0]) {
    throw new TypeError(`fitOnMesh: x and y must be tensors with the same number of rows, got ${describe(x)} and ${describe(y)}`);
  }
  const positiveInt = (name: string, value: unknown, fallback: number): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TypeError(`fitOnMesh: ${name} must be a non-negative integer, got ${describe(value)}`);
    return v;
  };
  const batchSize = positiveInt('batchSize', args.batchSize, 32);
  if (batchSize < 1) throw new RangeError('fitOnMesh: batchSize must be >= 1, got 0');
  const validationSplit = args.validationSplit ?? 0;
  if (typeof validationSplit !== 'number' || !(validationSplit >= 0 && validationSplit < 1)) {
    throw new RangeError(`fitOnMesh: validationSplit must be in [0, 1), got ${describe(args.validationSplit)}`);
  }
  const backend = args.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'wasm') throw new TypeError(`fitOnMesh: backend must be 'cpu' or 'wasm', got ${describe(args.backend)}`);
  const validationData = args.validationData ?? null;
  if (validationData !== null && (!Array.isArray(validationData) || validationData.length !== 2)) {
    throw new TypeError(`fitOnMesh: validationData must be [x, y] tensors, got ${describe(validationData)}`);
  }
  return {
    replicas: args.replicas, backend, epochs: positiveInt('epochs', args.epochs, 1), batchSize,
    shuffle: args.shuffle ?? true, seed: positiveInt('seed', args.seed, 0), validationSplit, validationData,
    callbacks: args.callbacks ?? {}, verbose: args.verbose ?? 0,
  };
}
