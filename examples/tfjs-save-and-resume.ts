/**
 * Save a TensorFlow.js model together with this package's optimizer
 * (`model.save(handler, { includeOptimizer: true })`), load it into a fresh model with
 * `tf.loadLayersModel`, resume `fit`, and get exactly the weights of a run that never stopped.
 *
 * The optimizer's config (the learning-rate schedule included) goes into model.json's
 * `training_config`, its state (iteration, m, v, vhat) into weights.bin after the model's weights.
 * The weight-decay exclusions are not part of a Keras config: set them again after loading.
 *
 *   npx tsx examples/tfjs-save-and-resume.ts
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { Adam, isKerasAdam, schedules } from 'adam-optimizer/tfjs';

tf.enableProdMode(); // quiet: no "install tfjs-node" banner
await tf.setBackend('cpu');

// 200 seeded points: inside the unit disc (0) or in the ring from 1.3 to 2 (1).
let seed = 11;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const points: number[][] = [];
const labels: number[] = [];
for (let i = 0; i < 200; i++) {
  const radius = i % 2 === 0 ? random() : 1.3 + 0.7 * random();
  const angle = 2 * Math.PI * random();
  points.push([radius * Math.cos(angle), radius * Math.sin(angle)]);
  labels.push(i % 2);
}
const x = tf.tensor2d(points);
const y = tf.tensor2d(labels, [labels.length, 1]);
const epochs = 8;
const firstEpochs = 3;
const batchSize = 25;

function newModel(): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [2], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const optimizer = new Adam({
    learningRate: new schedules.CosineDecay({ initialLearningRate: 0.05, decaySteps: epochs * (points.length / batchSize) }),
    amsgrad: true,
    weightDecay: 0.01,
    globalClipnorm: 1,
  });
  optimizer.excludeFromWeightDecay({ varNames: ['bias'] });
  model.compile({ optimizer, loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return model;
}

const fitOptions = (n: number) => ({ epochs: n, batchSize, shuffle: false, verbose: 0 as const });
const weightsOf = (model: tfl.LayersModel) => model.getWeights().flatMap((w) => Array.from(w.dataSync()));

// 1. The uninterrupted run.
const straight = newModel();
await straight.fit(x, y, fitOptions(epochs));

// 2. Train the first epochs, then save the model with its optimizer to a folder.
const first = newModel();
await first.fit(x, y, fitOptions(firstEpochs));
const folder = await mkdtemp(join(tmpdir(), 'adam-optimizer-tfjs-'));
await first.save(tf.io.withSaveHandler(async (artifacts) => {
  const { weightData, ...json } = artifacts;
  await writeFile(join(folder, 'model.json'), JSON.stringify(json));
  await writeFile(join(folder, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData!)));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}), { includeOptimizer: true });
const saved = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as tf.io.ModelArtifacts;
const optimizerConfig = (saved.trainingConfig as unknown as { optimizer_config: { class_name: string; config: Record<string, unknown> } }).optimizer_config;
const stateCount = (saved.weightSpecs ?? []).filter((s) => s.group === 'optimizer').length;
console.log(`saved after ${firstEpochs} epochs to ${folder}`);
console.log(`  training_config.optimizer_config: ${optimizerConfig.class_name}, amsgrad ${String(optimizerConfig.config.amsgrad)}, learning_rate ${(optimizerConfig.config.learning_rate as { class_name: string }).class_name}`);
console.log(`  optimizer state in weights.bin: ${stateCount} arrays`);

// 3. A fresh process would start here: load the model and its optimizer, and resume.
const bytes = await readFile(join(folder, 'weights.bin'));
const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
const resumed = await tfl.loadLayersModel(tf.io.fromMemory({ ...saved, weightData }));
const optimizer = resumed.optimizer;
if (!isKerasAdam(optimizer)) throw new Error('the loaded optimizer is not adam-optimizer\'s Adam');
const loaded = optimizer as unknown as Adam;
loaded.excludeFromWeightDecay({ varNames: ['bias'] }); // not part of the config
console.log(`loaded: ${loaded.getClassName()} from adam-optimizer, iterations ${loaded.iterations}`);
await resumed.fit(x, y, fitOptions(epochs - firstEpochs));
await rm(folder, { recursive: true, force: true });

// 4. Compare.
const a = weightsOf(straight);
const b = weightsOf(resumed);
const difference = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
const lossOf = (model: tfl.LayersModel) => ((model.evaluate(x, y) as tf.Scalar[])[0].dataSync()[0]).toFixed(6);
console.log(`\nuninterrupted (${epochs} epochs, ${(straight.optimizer as unknown as Adam).iterations} steps): loss ${lossOf(straight)}`);
console.log(`saved + loaded + resumed (${loaded.iterations} steps): loss ${lossOf(resumed)}`);
console.log(`largest weight difference: ${difference}`);
if (difference !== 0) {
  console.log('resumed run differs from the uninterrupted run');
  process.exitCode = 1;
} else {
  console.log('identical: the resumed model equals the uninterrupted one, bit for bit');
}
