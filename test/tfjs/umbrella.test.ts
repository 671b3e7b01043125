// The umbrella @tensorflow/tfjs package works with this optimizer; and what a program that does not
// import adam-optimizer/tfjs gets when it loads a model saved with it (documented in the README).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Adam, isKerasAdam, schedules } from '../../src/tfjs/index.js';

tf.enableProdMode();

function model(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

const x = () => tf.tensor2d([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]]);
const y = () => tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);

async function save(m: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await m.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }), { includeOptimizer: true });
  return saved!;
}

test('import * as tf from \'@tensorflow/tfjs\': our Adam trains, saves and reloads through the umbrella package', async () => {
  await tf.setBackend('cpu');
  const m = model();
  const optimizer = new Adam({ learningRate: new schedules.CosineDecay({ initialLearningRate: 0.05, decaySteps: 100 }), weightDecay: 0.01 });
  m.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const history = await m.fit(x(), y(), { epochs: 30, batchSize: 6, shuffle: false, verbose: 0 });
  const losses = history.history.loss as number[];
  assert.ok(losses[29] < 0.5 * losses[0], `the loss falls: ${losses[0]} -> ${losses[29]}`);
  assert.equal(optimizer.executionPath, 'kernels');
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(await save(m)));
  assert.ok(isKerasAdam(loaded.optimizer), 'the umbrella loader builds this package\'s Adam');
  await loaded.fit(x(), y(), { epochs: 1, batchSize: 6, shuffle: false, verbose: 0 });
  assert.equal((loaded.optimizer as Adam).iterations, 31);
  loaded.optimizer.dispose();
  optimizer.dispose();
});

test('loaded by a program without adam-optimizer/tfjs: TensorFlow.js\'s own Adam, and fit fails with a shape error', async () => {
  await tf.setBackend('cpu');
  const m = model();
  m.compile({ optimizer: new Adam({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.01, decaySteps: 10, decayRate: 0.9 }), weightDecay: 0.01 }), loss: 'categoricalCrossentropy' });
  await m.fit(x(), y(), { epochs: 2, batchSize: 6, verbose: 0 });
  const saved = await save(m);
  const work = mkdtempSync(join(tmpdir(), 'adam-umbrella-'));
  try {
    const file = join(work, 'model.json');
    writeFileSync(file, JSON.stringify({ ...saved, weightData: Buffer.from(saved.weightData as ArrayBuffer).toString('base64') }));
    const script = fileURLToPath(new URL('../fixtures/load-without-package.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, file], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { constructorName: string; learningRate: string; config: Record<string, unknown>; fitError: string | null };
    assert.equal(result.constructorName, 'AdamOptimizer');
    assert.equal(result.learningRate, 'object', 'the schedule became the learning rate');
    assert.deepEqual(Object.keys(result.config).sort(), ['beta1', 'beta2', 'epsilon', 'learningRate'], 'weight decay and the rest are dropped');
    // Its setWeights reads the Keras-ordered state (m and v interleaved) in its own order (all m, then all v).
    assert.match(result.fitError ?? '', /shape of the new value .* must match|could not be broadcast together with shapes/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
