// model.compile / fit / fitDataset with the adapter: a small classifier learns under every option,
// and the EMA is finalized when fit ends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { schedules } from '../../src/index.js';
import { Adam, FinalizeEmaOnFitEnd, isKerasAdam, type AdamOptions } from '../../src/tfjs/index.js';
import { accuracy, blobs, blobTensors, classifier, useBackend, weightsOf } from './support.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
before(async () => {
  await useBackend('cpu');
  data = blobTensors(240, 5);
});
after(() => tf.dispose([data.x, data.y]));

const EPOCHS = 12;
const BATCH = 24; // 10 steps per epoch

async function train(options: AdamOptions, configure?: (opt: Adam) => void): Promise<{ model: tfl.Sequential; opt: Adam; acc: number }> {
  const model = classifier();
  const opt = new Adam(options);
  configure?.(opt);
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(data.x, data.y, { epochs: EPOCHS, batchSize: BATCH, shuffle: false, verbose: 0 });
  return { model, opt, acc: accuracy(model, data.x, data.y) };
}

describe('a 2-layer classifier on separable blobs (240 points, 3 classes, 120 steps)', () => {
  const runs: [string, AdamOptions, ((opt: Adam) => void)?][] = [
    ['defaults (lr 0.01)', { learningRate: 0.01 }],
    ['amsgrad', { learningRate: 0.01, amsgrad: true }],
    ['weight decay, biases excluded', { learningRate: 0.01, weightDecay: 0.05 }, (opt) => opt.excludeFromWeightDecay({ varNames: ['bias'] })],
    ['global clipnorm', { learningRate: 0.01, globalClipnorm: 0.5 }],
    ['clipnorm', { learningRate: 0.01, clipnorm: 0.5 }],
    ['clipvalue', { learningRate: 0.01, clipvalue: 0.05 }],
    ['EMA', { learningRate: 0.01, useEma: true, emaMomentum: 0.9 }],
    ['a schedule', { learningRate: new schedules.CosineDecay({ initialLearningRate: 0.001, warmupTarget: 0.02, warmupSteps: 30, decaySteps: 90 }) }],
    ['everything, on the tensor-ops path', { learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.02, decaySteps: 40, decayRate: 0.5 }), amsgrad: true, weightDecay: 0.01, globalClipnorm: 1, useEma: true, emaMomentum: 0.9, execution: 'tensor-ops' }],
  ];
  for (const [label, options, configure] of runs) {
    test(`${label}: accuracy >= 0.95`, async () => {
      const { model, opt, acc } = await train(options, configure);
      assert.ok(acc >= 0.95, `accuracy ${acc}`);
      assert.equal(opt.iterations, EPOCHS * 10);
      assert.equal(opt.getClassName(), 'Adam');
      model.dispose();
      opt.dispose();
    });
  }

  test('a large weight decay shrinks the kernels', async () => {
    const decayed = await train({ learningRate: 0.01, weightDecay: 0.5 }, (opt) => opt.excludeFromWeightDecay({ varNames: ['bias'] }));
    const plain = await train({ learningRate: 0.01 });
    const norm = (w: Float32Array) => Math.sqrt(w.reduce((s, x) => s + x * x, 0));
    const [k1, , k2] = weightsOf(decayed.model);
    const [p1, , p2] = weightsOf(plain.model);
    assert.ok(norm(k1) < norm(p1) && norm(k2) < norm(p2), 'kernels shrink under decay');
    decayed.model.dispose();
    plain.model.dispose();
    decayed.opt.dispose();
    plain.opt.dispose();
  });
});

describe('the model and the optimizer', () => {
  test('compile accepts it, and it is recognized by its marker, not instanceof', () => {
    const opt = new Adam();
    assert.ok(opt instanceof tf.Optimizer);
    assert.ok(isKerasAdam(opt));
    // tf.Optimizer's Symbol.hasInstance is duck-typed: TensorFlow.js' own Adam passes `instanceof Adam`...
    const theirs = tf.train.adam();
    const passesInstanceof: boolean = (theirs as unknown) instanceof Adam;
    assert.ok(passesInstanceof);
    // ...but not the marker.
    assert.ok(!isKerasAdam(theirs));
    theirs.dispose();
    opt.dispose();
  });

  test('fitDataset trains too', async () => {
    const { points, labels } = blobs(240, 5);
    const dataset = {
      size: null,
      async iterator() {
        let i = 0;
        return {
          async next() {
            if (i >= points.length) return { value: undefined, done: true };
            const value = { xs: tf.tensor2d(points.slice(i, i + BATCH)), ys: tf.tensor2d(labels.slice(i, i + BATCH)) };
            i += BATCH;
            return { value, done: false };
          },
        };
      },
    };
    const model = classifier();
    const opt = new Adam({ learningRate: 0.01, useEma: true, emaMomentum: 0.5 });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await model.fitDataset(dataset as never, { epochs: EPOCHS, verbose: 0 });
    assert.equal(opt.iterations, EPOCHS * 10);
    assert.ok(accuracy(model, data.x, data.y) >= 0.95);
    // fitDataset finalizes the EMA as fit does.
    const state = await opt.getWeights();
    weightsOf(model).forEach((w, i) => assert.deepEqual(w, state[1 + i].tensor.dataSync(), `weight ${i} is its average`));
    model.dispose();
    opt.dispose();
  });
});

describe('EMA finalized when fit ends', () => {
  async function emaRun(finalizeEmaOnFitEnd: boolean | undefined, epochs = 3) {
    const model = classifier();
    const opt = new Adam({ learningRate: 0.01, useEma: true, emaMomentum: 0.8, ...(finalizeEmaOnFitEnd === undefined ? {} : { finalizeEmaOnFitEnd }) });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    let seenAtTrainEnd: Float32Array[] = [];
    await model.fit(data.x, data.y, {
      epochs,
      batchSize: BATCH,
      shuffle: false,
      verbose: 0,
      callbacks: { onTrainEnd: async () => { seenAtTrainEnd = weightsOf(model); } },
    });
    const averages = (await opt.getWeights()).slice(1, 1 + model.trainableWeights.length).map((w) => w.tensor.dataSync().slice());
    return { model, opt, averages, seenAtTrainEnd };
  }

  test('by default: the weights become their averages, before the user callbacks run', async () => {
    const { model, opt, averages, seenAtTrainEnd } = await emaRun(undefined);
    const weights = weightsOf(model);
    weights.forEach((w, i) => assert.deepEqual(w, averages[i], `weight ${i}`));
    seenAtTrainEnd.forEach((w, i) => assert.deepEqual(w, averages[i], `user onTrainEnd saw weight ${i} final`));
    model.dispose();
    opt.dispose();
  });

  test('finalizeEmaOnFitEnd: false keeps the trained weights; the property can be changed later', async () => {
    const { model, opt, averages } = await emaRun(false);
    const weights = weightsOf(model);
    assert.ok(weights.some((w, i) => w.some((x, j) => x !== averages[i][j])));
    // epochs: 0 runs no epoch, so nothing is finalized even when enabled (as Keras).
    opt.finalizeEmaOnFitEnd = true;
    await model.fit(data.x, data.y, { epochs: 0, verbose: 0 });
    assert.deepEqual(weightsOf(model), weights);
    // Finalizing by hand does what fit would have done.
    opt.finalizeVariableValues(model.trainableWeights);
    weightsOf(model).forEach((w, i) => assert.deepEqual(w, averages[i]));
    model.dispose();
    opt.dispose();
  });

  test('without EMA, or with another optimizer, the callback does nothing', async () => {
    const callback = new FinalizeEmaOnFitEnd();
    const model = classifier();
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    callback.setModel(model);
    callback.setParams({ epochs: 1 });
    const before = weightsOf(model);
    await callback.onTrainEnd();
    assert.deepEqual(weightsOf(model), before);
    model.optimizer.dispose();
    model.dispose();
  });
});
