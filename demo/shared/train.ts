/**
 * The demo's training code, shared by `npm start` (Node) and the browser page: a small dense
 * classifier for Iris, trained with TensorFlow.js on its cpu backend, once per optimizer setting.
 * Everything random is seeded, so the same seed gives the same numbers in Node and in a browser.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { isKerasAdam, type Adam } from '../../src/tfjs/index.js';
import { loadIris, type IrisSplit } from './iris.js';
import type { DemoSetting } from './settings.js';

/** The knobs of a demo run; the defaults are what `npm start` uses. */
export interface TrainOptions {
  /** Seeds the split, the order of the training set and the weight initializers. Default 42. */
  readonly seed?: number;
  /** Passes over the training set. Default 100. */
  readonly epochs?: number;
  /** Examples per optimizer step. Default 16. */
  readonly batchSize?: number;
  /** Base learning rate of every setting. Default 0.01. */
  readonly learningRate?: number;
  /** Width of the hidden layer. Default 16. */
  readonly hiddenUnits?: number;
}

/** Reported after each epoch of each run. */
export interface EpochEvent {
  readonly setting: DemoSetting;
  /** 0-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's batches. */
  readonly loss: number;
  /** Loss on the held-out test set at the end of the epoch. */
  readonly testLoss: number;
}

/** The outcome of training with one setting. */
export interface RunResult {
  readonly id: string;
  readonly label: string;
  /** Training loss per epoch (the mean over each epoch's batches, as `fit` logs it). */
  readonly losses: number[];
  /** Held-out loss after each epoch. */
  readonly testLosses: number[];
  /** Final losses and accuracies, measured after `fit` returned (with EMA: on the averaged weights). */
  readonly trainLoss: number;
  readonly testLoss: number;
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
  /**
   * Median wall-clock milliseconds of one epoch of `fit` (its steps and the held-out evaluation);
   * the median, so that the first epochs' warm-up (JIT, kernel compilation) does not count.
   */
  readonly msPerEpoch: number;
  /** Which Adam kernels ran the steps: 'compiled' (WebAssembly SIMD), 'reference', or 'tfjs' for the baseline. */
  readonly kernelName: string;
}

/** The resolved options (every default filled in). */
export type ResolvedTrainOptions = Required<TrainOptions>;

export function resolveTrainOptions(options: TrainOptions = {}): ResolvedTrainOptions {
  return {
    seed: options.seed ?? 42,
    epochs: options.epochs ?? 100,
    batchSize: options.batchSize ?? 16,
    learningRate: options.learningRate ?? 0.01,
    hiddenUnits: options.hiddenUnits ?? 16,
  };
}

/** Selects the TensorFlow.js cpu backend (plain JavaScript, the same arithmetic everywhere). */
export async function useCpuBackend(): Promise<void> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * What ran an optimizer's steps: for this package's Adam, 'compiled' (the WebAssembly SIMD
 * kernels) or 'reference' (the plain TypeScript loops) on the typed-array path, 'tensor-ops' on
 * GPU backends; 'tfjs' for TensorFlow.js's own optimizers.
 */
export function kernelNameOf(optimizer: tf.Optimizer): string {
  if (!isKerasAdam(optimizer)) return 'tfjs';
  const adam = optimizer as unknown as Adam;
  return adam.executionPath === 'tensor-ops' ? 'tensor-ops' : adam.kernelName;
}

function buildModel(seed: number, hiddenUnits: number, classes: number): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [4],
        units: hiddenUnits,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      }),
      tfl.layers.dense({
        units: classes,
        activation: 'softmax',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function accuracy(model: tfl.Sequential, x: tf.Tensor2D, labels: readonly number[]): number {
  const predicted = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, -1).dataSync());
  let correct = 0;
  labels.forEach((label, i) => {
    if (predicted[i] === label) correct++;
  });
  return correct / labels.length;
}

function lossOf(model: tfl.Sequential, x: tf.Tensor2D, y: tf.Tensor2D): number {
  const out = model.evaluate(x, y, { batchSize: x.shape[0] }) as tf.Scalar[];
  const value = out[0].dataSync()[0];
  tf.dispose(out);
  return value;
}

/**
 * Trains a fresh model (the same initial weights for every setting of one seed) with the
 * setting's optimizer. The training set is in the seeded order of {@link loadIris} and `fit` does
 * not shuffle, so nothing depends on Math.random.
 */
export async function trainSetting(
  setting: DemoSetting,
  data: IrisSplit,
  options: TrainOptions = {},
  onEpoch?: (event: EpochEvent) => void | Promise<void>,
): Promise<RunResult> {
  const o = resolveTrainOptions(options);
  await useCpuBackend();
  const classes = data.classes.length;
  const trainX = tf.tensor2d(data.trainX);
  const trainY = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(data.trainY, 'int32'), classes), 'float32') as tf.Tensor2D);
  const testX = tf.tensor2d(data.testX);
  const testY = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(data.testY, 'int32'), classes), 'float32') as tf.Tensor2D);
  const model = buildModel(o.seed, o.hiddenUnits, classes);
  const stepsPerEpoch = Math.ceil(data.trainX.length / o.batchSize);
  const optimizer = setting.create({ learningRate: o.learningRate, stepsPerEpoch, epochs: o.epochs });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const losses: number[] = [];
  const testLosses: number[] = [];
  const epochMs: number[] = [];
  let epochStarted = 0;
  try {
    await model.fit(trainX, trainY, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      shuffle: false,
      verbose: 0,
      validationData: [testX, testY],
      callbacks: {
        onEpochBegin: async () => {
          epochStarted = performance.now();
        },
        onEpochEnd: async (epoch, logs) => {
          epochMs.push(performance.now() - epochStarted);
          const loss = Number(logs?.loss);
          const testLoss = Number(logs?.val_loss);
          losses.push(loss);
          testLosses.push(testLoss);
          await onEpoch?.({ setting, epoch, loss, testLoss });
        },
      },
    });
    return {
      id: setting.id,
      label: setting.label,
      losses,
      testLosses,
      trainLoss: lossOf(model, trainX, trainY),
      testLoss: lossOf(model, testX, testY),
      trainAccuracy: accuracy(model, trainX, data.trainY),
      testAccuracy: accuracy(model, testX, data.testY),
      msPerEpoch: median(epochMs),
      kernelName: kernelNameOf(optimizer),
    };
  } finally {
    model.dispose();
    optimizer.dispose();
    tf.dispose([trainX, trainY, testX, testY]);
  }
}

/**
 * Trains each setting for two epochs and throws the results away, so that the JavaScript engine
 * has compiled the training code before any run is timed (otherwise the first setting pays for it).
 * It changes no numbers: every run starts from a fresh model and optimizer.
 */
export async function warmUp(settings: readonly DemoSetting[], data: IrisSplit, options: TrainOptions = {}): Promise<void> {
  for (const setting of settings) await trainSetting(setting, data, { ...options, epochs: 2 });
}

/** Trains every setting in turn on the same seeded split. */
export async function trainAll(
  settings: readonly DemoSetting[],
  options: TrainOptions = {},
  onEpoch?: (event: EpochEvent) => void | Promise<void>,
): Promise<RunResult[]> {
  const o = resolveTrainOptions(options);
  const data = loadIris(o.seed);
  const results: RunResult[] = [];
  for (const setting of settings) results.push(await trainSetting(setting, data, o, onEpoch));
  return results;
}
