/**
 * A TensorFlow.js model compiled with this package's Adam: `model.compile({ optimizer })` and
 * `model.fit` work unchanged, with the Keras options TensorFlow.js's own Adam lacks.
 *
 * The task: tell the inner disc from the outer ring of 400 seeded random points.
 *
 *   npx tsx examples/tfjs-model.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { schedules } from 'adam-optimizer';
import { Adam } from 'adam-optimizer/tfjs';

tf.enableProdMode(); // quiet: no "install tfjs-node" banner
await tf.setBackend('cpu');

// 400 points: label 0 inside radius 1, label 1 in the ring from 1.3 to 2.
let seed = 3;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const points: number[][] = [];
const labels: number[] = [];
for (let i = 0; i < 400; i++) {
  const inner = i % 2 === 0;
  const radius = inner ? random() : 1.3 + 0.7 * random();
  const angle = 2 * Math.PI * random();
  points.push([radius * Math.cos(angle), radius * Math.sin(angle)]);
  labels.push(inner ? 0 : 1);
}
const x = tf.tensor2d(points);
const y = tf.tensor2d(labels, [labels.length, 1]);

const model = tfl.sequential({
  layers: [
    tfl.layers.dense({ inputShape: [2], units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
  ],
});

const epochs = 40;
const stepsPerEpoch = Math.ceil(points.length / 32);
const optimizer = new Adam({
  learningRate: new schedules.CosineDecay({
    initialLearningRate: 0.005, warmupTarget: 0.05, warmupSteps: 5 * stepsPerEpoch, decaySteps: (epochs - 5) * stepsPerEpoch,
  }),
  weightDecay: 0.004, // decoupled (AdamW)...
  globalClipnorm: 1, // ...all gradients clipped together to norm 1...
  useEma: true, // ...and an average of the weights, which replaces them when fit ends
});
optimizer.excludeFromWeightDecay({ varNames: ['bias'] }); // ...but not the biases

model.compile({ optimizer, loss: 'binaryCrossentropy', metrics: ['accuracy'] });
await model.fit(x, y, {
  epochs,
  batchSize: 32,
  shuffle: false, // the points are already in random order; this keeps the run reproducible
  verbose: 0,
  callbacks: {
    onEpochEnd: (epoch, logs) => {
      if (epoch === 0 || (epoch + 1) % 10 === 0) {
        console.log(`epoch ${String(epoch + 1).padStart(3)}  loss ${logs!.loss.toFixed(4)}  accuracy ${logs!.acc.toFixed(3)}`);
      }
    },
  },
});

// fit has ended: the EMA of the weights is now in the model. Evaluate it.
const [loss, accuracy] = (model.evaluate(x, y) as tf.Scalar[]).map((t) => t.dataSync()[0]);
console.log(`\nafter fit (EMA weights): loss ${loss.toFixed(4)}  accuracy ${accuracy.toFixed(3)}`);
console.log(`optimizer: ${optimizer.getClassName()}, ${optimizer.iterations} steps`);
