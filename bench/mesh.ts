/**
 * Mesh rows: samples per second training an MLP 784 -> 512 -> 512 -> 10 on synthetic data shaped
 * like MNIST (batch 256), with plain `model.fit` and with `fitOnMesh` on 1 and 2 replicas, on the
 * TensorFlow.js cpu and wasm backends. Each run trains a warm-up epoch first; the rate is that of
 * the epochs after it (so replica start-up and first-call compilation are not counted).
 *
 *   npm run bench:mesh [-- --epochs N --samples N --backends cpu,wasm]
 */
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { Adam, fitOnMesh } from '../src/tfjs/index.js';

tf.enableProdMode();
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const EPOCHS = Number(option('epochs', '2'));
const SAMPLES = Number(option('samples', '4096'));
const BACKENDS = option('backends', 'cpu,wasm').split(',') as ('cpu' | 'wasm')[];
const BATCH = 256;

function mlp(): tfl.Sequential {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [784], units: 512, activation: 'relu', kernelInitializer: init(1) }),
      tfl.layers.dense({ units: 512, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

/** Synthetic MNIST-shaped data: 784 pixels in [0, 1), 10 one-hot classes, fixed generator. */
function data(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float32Array(SAMPLES * 784);
  const y = new Float32Array(SAMPLES * 10);
  for (let n = 0; n < SAMPLES; n++) {
    const k = n % 10;
    y[n * 10 + k] = 1;
    for (let j = 0; j < 784; j++) x[n * 784 + j] = rand() * 0.5 + (j % 10 === k ? 0.5 : 0);
  }
  return { x: tf.tensor2d(x, [SAMPLES, 784]), y: tf.tensor2d(y, [SAMPLES, 10]) };
}

/** Epoch timer callbacks: the rate of every epoch after the first. */
function timer() {
  const starts: number[] = [];
  const ends: number[] = [];
  return {
    callbacks: { onEpochBegin: () => { starts.push(performance.now()); }, onEpochEnd: () => { ends.push(performance.now()); } },
    rate: () => {
      const seconds = ends.slice(1).reduce((s, end, i) => s + (end - starts[i + 1]), 0) / 1000;
      return (SAMPLES * (ends.length - 1)) / seconds;
    },
  };
}

async function run(backend: 'cpu' | 'wasm', replicas: number | null): Promise<number> {
  const { x, y } = data();
  const model = mlp();
  model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t = timer();
  if (replicas === null) {
    await model.fit(x, y, { epochs: EPOCHS + 1, batchSize: BATCH, shuffle: true, verbose: 0, callbacks: t.callbacks });
  } else {
    await fitOnMesh(model, x, y, { replicas, backend, epochs: EPOCHS + 1, batchSize: BATCH, shuffle: true, callbacks: t.callbacks });
  }
  tf.dispose([x, y]);
  model.dispose();
  return t.rate();
}

const cores = os.availableParallelism?.() ?? os.cpus().length;
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}, load ${os.loadavg()[0].toFixed(1)}`);
console.log(`MLP 784-512-512-10, batch ${BATCH}, ${SAMPLES} samples, ${EPOCHS} timed epochs after one warm-up`);
console.log('backend  run                  samples/s   vs plain fit');
for (const backend of BACKENDS) {
  if (backend === 'wasm') setWasmPaths(path.resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist') + path.sep);
  await tf.setBackend(backend);
  await tf.ready();
  const plain = await run(backend, null);
  const row = (label: string, rate: number, target: string) =>
    console.log(`${backend.padEnd(8)} ${label.padEnd(20)} ${rate.toFixed(0).padStart(9)}   ${(rate / plain).toFixed(2)}x${target}`);
  row('model.fit', plain, '');
  row('fitOnMesh 1 replica', await run(backend, 1), '  (target: within 10%)');
  row('fitOnMesh 2 replicas', await run(backend, 2), '  (target: >= 1.7x)');
}
