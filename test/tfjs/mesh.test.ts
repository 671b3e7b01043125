// fitOnMesh: a classifier trained on 2 replicas equals a single-process run over the same batches
// with the same reduction order, and reaches the accuracy that run reaches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Adam as CoreAdam, Mesh, Variable } from '../../src/index.js';
import { Adam, fitOnMesh, type AdamOptions } from '../../src/tfjs/index.js';
import { seededShuffle, splitBatch } from '../../src/tfjs/mesh/fit-on-mesh.js';
import { accuracy, assertClose, blobTensors, classifier, loadFromMemory, saveToMemory, useBackend, weightsOf } from './support.js';

const OPTIONS = (): AdamOptions => ({ learningRate: 0.02, amsgrad: true, useEma: true, emaMomentum: 0.9, globalClipnorm: 2 });
const EPOCHS = 3;
const BATCH = 32;
const SEED = 7;

/** The single-process run: the same batches, each split in two, the parts' gradients averaged in order. */
function singleProcessRun(x: tf.Tensor2D, y: tf.Tensor2D, trainRows: number): { weights: Float32Array[]; model: ReturnType<typeof classifier> } {
  const model = classifier();
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const lossFunction = (model as unknown as { model: tfl.LayersModel }).model.lossFunctions[0];
  const options = OPTIONS();
  const core = new CoreAdam({ ...options, learningRate: options.learningRate as number });
  const variables = model.trainableWeights.map((w) => new Variable(w.read().dataSync().slice() as Float32Array, { name: w.name, shape: w.shape as number[] }));
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const xs = x.dataSync();
  const ys = y.dataSync();
  const rowsOf = (all: Float32Array | Int32Array | Uint8Array, width: number, rows: Int32Array) => {
    const out = new Float32Array(rows.length * width);
    rows.forEach((r, i) => out.set(all.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const order = Int32Array.from({ length: trainRows }, (_, i) => i);
    seededShuffle(order, SEED + epoch);
    for (let start = 0; start < trainRows; start += BATCH) {
      const parts = splitBatch(order.subarray(start, Math.min(start + BATCH, trainRows)), 2);
      const partGrads = parts.map(({ rows, scale }) => tf.tidy(() => {
        trainable.forEach((v, i) => v.assign(tf.tensor(variables[i].value.slice(), v.shape)));
        const xb = tf.tensor2d(rowsOf(xs as Float32Array, 4, rows), [rows.length, 4]);
        const yb = tf.tensor2d(rowsOf(ys as Float32Array, 3, rows), [rows.length, 3]);
        const g = tf.variableGrads(() => tf.mean(lossFunction(yb, model.apply(xb, { training: true }) as tf.Tensor)) as tf.Scalar, trainable).grads;
        return trainable.map((v) => Float32Array.from(g[v.name].dataSync(), (e) => e * scale));
      }));
      const mean = variables.map((v, i) => {
        const out = new Float32Array(v.size);
        for (let j = 0; j < out.length; j++) out[j] = (partGrads[0][i][j] + partGrads[1][i][j]) / 2;
        return out;
      });
      core.applyGradients(mean.map((g, i) => [g, variables[i]] as const));
    }
  }
  core.finalizeVariableValues(variables);
  model.trainableWeights.forEach((w, i) => w.write(tf.tensor(variables[i].value, w.shape as number[])));
  return { weights: weightsOf(model), model };
}

test('fitOnMesh on 2 replicas equals the single-process run over the same batches, with fit\'s logs', async () => {
  await useBackend('cpu');
  const { x, y } = blobTensors(300, 5);
  const model = classifier();
  model.compile({ optimizer: new Adam(OPTIONS()), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const batchLogs: Record<string, number>[] = [];
  const epochLogs: Record<string, number>[] = [];
  const history = await fitOnMesh(model, x, y, {
    replicas: 2, epochs: EPOCHS, batchSize: BATCH, shuffle: true, seed: SEED, validationSplit: 0.2,
    callbacks: {
      onBatchEnd: (_batch, logs) => { batchLogs.push(logs!); },
      onEpochEnd: (_epoch, logs) => { epochLogs.push(logs!); },
    },
  });
  const trainRows = 240;
  const batchesPerEpoch = Math.ceil(trainRows / BATCH);
  assert.equal(batchLogs.length, EPOCHS * batchesPerEpoch);
  assert.deepEqual(Object.keys(batchLogs[0]).sort(), ['acc', 'batch', 'loss', 'size']);
  assert.equal(batchLogs[batchesPerEpoch - 1].size, trainRows % BATCH);
  assert.deepEqual(Object.keys(epochLogs[0]).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
  assert.deepEqual(history.history.loss, epochLogs.map((l) => l.loss));
  assert.ok(epochLogs[EPOCHS - 1].loss < epochLogs[0].loss, 'the loss falls');
  // The optimizer holds the state, as after an ordinary fit.
  assert.equal((model.optimizer as unknown as Adam).iterations, EPOCHS * batchesPerEpoch);

  const trainX = tf.slice(x, 0, trainRows) as tf.Tensor2D;
  const trainY = tf.slice(y, 0, trainRows) as tf.Tensor2D;
  const single = singleProcessRun(trainX, trainY, trainRows);
  // Within float32 tolerance: the replicas run the same cpu kernels on the same rows, but the
  // weights pass through tensors and typed arrays on two threads; a reduction order that differed
  // would show as differences far above this.
  weightsOf(model).forEach((w, i) => assertClose(w, single.weights[i], { rtol: 1e-5, atol: 1e-6, what: `weight ${i}` }));
  const meshAccuracy = accuracy(model, x, y);
  assert.equal(meshAccuracy, accuracy(single.model, x, y));
  assert.ok(meshAccuracy >= 0.9, `accuracy ${meshAccuracy}`);
});

test('fitOnMesh refuses models without this Adam, and unknown options', async () => {
  await useBackend('cpu');
  const { x, y } = blobTensors(30, 1);
  const model = classifier();
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  await assert.rejects(fitOnMesh(model, x, y, { replicas: 1 }), /compile the model with Adam from adam-optimizer\/tfjs/);
  model.compile({ optimizer: new Adam(), loss: 'categoricalCrossentropy' });
  await assert.rejects(fitOnMesh(model, x, y, { replicas: 1, epochz: 2 } as never), /unknown option 'epochz'/);
  const regularized = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, kernelRegularizer: tfl.regularizers.l2(), name: 'l2dense' })] });
  regularized.compile({ optimizer: new Adam(), loss: 'categoricalCrossentropy' });
  await assert.rejects(fitOnMesh(regularized, x, y, { replicas: 1 }), /layer 'l2dense' has a kernelRegularizer; regularization losses are not supported on the mesh yet/);
});

test('fitOnMesh with wasm replicas trains; batch-norm statistics are averaged into the model', async () => {
  await useBackend('cpu');
  const { x, y } = blobTensors(120, 3);
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
      tfl.layers.batchNormalization(),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  model.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const before = model.nonTrainableWeights.map((w) => w.read().dataSync().slice());
  const history = await fitOnMesh(model, x, y, { replicas: 2, backend: 'wasm', epochs: 4, batchSize: 30, validationData: [x, y] });
  const losses = history.history.loss;
  assert.ok(losses[losses.length - 1] < losses[0], `losses ${losses.join(', ')}`);
  const after = model.nonTrainableWeights.map((w) => w.read().dataSync());
  assert.ok(after.some((w, i) => w.some((v, j) => v !== before[i][j])), 'the moving statistics moved');
  assert.ok(history.history.val_acc[history.history.val_acc.length - 1] > 0.8, `val_acc ${history.history.val_acc.join(', ')}`);
});

test('the tfjs Adam takes a mesh: model.fit with its state on 2 replicas equals model.fit without', async () => {
  await useBackend('cpu');
  const { x, y } = blobTensors(90, 2);
  const mesh = await Mesh.local({ replicas: 2 });
  try {
    const run = async (withMesh: boolean) => {
      const model = classifier();
      model.compile({ optimizer: new Adam({ ...OPTIONS(), mesh: withMesh ? mesh : null }), loss: 'categoricalCrossentropy' });
      await model.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
      return weightsOf(model);
    };
    const [onMesh, plain] = [await run(true), await run(false)];
    onMesh.forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(plain[i]), `weight ${i}`));
  } finally {
    mesh.dispose();
  }
});

test('after fitOnMesh, model.save writes the ordinary optimizer state, and a batch smaller than the mesh trains', async () => {
  await useBackend('cpu');
  const { x, y } = blobTensors(61, 9);
  const train = async (onMesh: boolean) => {
    const model = classifier();
    model.compile({ optimizer: new Adam({ ...OPTIONS(), globalClipnorm: null }), loss: 'categoricalCrossentropy' });
    // 61 rows in batches of 20: the last batch has 1 row, fewer than the 3 replicas.
    if (onMesh) await fitOnMesh(model, x, y, { replicas: 3, epochs: 1, batchSize: 20, shuffle: false });
    else await model.fit(x, y, { epochs: 1, batchSize: 20, shuffle: false, verbose: 0 });
    return model;
  };
  const [onMesh, plain] = [await train(true), await train(false)];
  weightsOf(onMesh).forEach((w) => assert.ok(w.every(Number.isFinite), 'finite weights'));
  const [a, b] = [await saveToMemory(onMesh), await saveToMemory(plain)];
  // Layer names differ by their counter only (each classifier() makes new layers).
  const specs = (art: tf.io.ModelArtifacts) => art.weightSpecs!.map((s) => [s.name.replace(/Dense\d+/g, 'Dense#'), s.shape.join('x'), s.dtype]);
  assert.deepEqual(specs(a), specs(b));
  assert.equal((onMesh.optimizer as unknown as Adam).iterations, 4);
  const reloaded = await loadFromMemory(a);
  assert.equal((reloaded.optimizer as unknown as Adam).iterations, 4);
  weightsOf(reloaded).forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(weightsOf(onMesh)[i])));
});

test('fitOnMesh on 1 replica takes the step model.fit takes, weight-decay exclusions included', async () => {
  await useBackend('cpu');
  const { x, y } = blobTensors(48, 4);
  const train = async (onMesh: boolean) => {
    const model = classifier();
    const optimizer = new Adam({ learningRate: 0.1, weightDecay: 0.5 });
    optimizer.excludeFromWeightDecay({ varNames: ['bias'] });
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const args = { epochs: 2, batchSize: 48, shuffle: false };
    if (onMesh) await fitOnMesh(model, x, y, { ...args, replicas: 1 });
    else await model.fit(x, y, { ...args, verbose: 0 });
    return weightsOf(model);
  };
  const [onMesh, plain] = [await train(true), await train(false)];
  // A bias decayed by mistake would be off by lr * weightDecay = 5% of itself.
  onMesh.forEach((w, i) => assertClose(w, plain[i], { rtol: 1e-5, atol: 1e-6, what: `weight ${i}` }));
});
