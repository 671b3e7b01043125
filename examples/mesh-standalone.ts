/**
 * Data-parallel training without TensorFlow.js: fit y = 3 x0 - 2 x1 + 0.5 x2 + 1 on every core.
 * Each replica (a worker thread) runs the gradient function of examples/mesh-gradients.ts on its
 * part of each batch; the mesh averages the parts in replica order, and each replica updates the
 * optimizer state of its share of the parameters (ZeRO stage 1).
 *
 *   npx tsx examples/mesh-standalone.ts
 */
import { Adam, Mesh, Variable } from 'adam-optimizer';
import type { Part } from './mesh-gradients.js';

const mesh = await Mesh.local({
  replicas: 2, // default: one per core
  gradientModule: new URL('./mesh-gradients.ts', import.meta.url),
});

// Synthetic data: 1024 rows, 3 features, a little noise; a fixed generator for reproducibility.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const rows = Array.from({ length: 1024 }, () => [rand(), rand(), rand()]);
const targets = rows.map(([a, b, c]) => 3 * a - 2 * b + 0.5 * c + 1 + 0.01 * rand());

const weights = new Variable(new Float32Array(3), { name: 'linear/kernel' });
const bias = new Variable(new Float32Array(1), { name: 'linear/bias' });
const optimizer = new Adam({ mesh, learningRate: 0.05, globalClipnorm: 1, useEma: true, emaMomentum: 0.9 });

const batchSize = 128;
for (let epoch = 1; epoch <= 20; epoch++) {
  let loss = 0;
  for (let start = 0; start < rows.length; start += batchSize) {
    // Each replica gets an equal part of the batch.
    const per = batchSize / mesh.replicas;
    const inputs: Part[] = Array.from({ length: mesh.replicas }, (_, r) => ({
      x: rows.slice(start + r * per, start + (r + 1) * per),
      y: targets.slice(start + r * per, start + (r + 1) * per),
    }));
    const { results } = await mesh.step(optimizer, [weights, bias], { inputs });
    loss += results.reduce((sum: number, r) => sum + (r as { loss: number }).loss, 0) / mesh.replicas;
  }
  if (epoch % 5 === 0) console.log(`epoch ${epoch}  loss ${(loss / (rows.length / batchSize)).toFixed(6)}`);
}
optimizer.finalizeVariableValues([weights, bias]); // EMA: the averages become the weights
const [w0, w1, w2] = weights.value;
console.log(`learned: y = ${w0.toFixed(3)} x0 + ${w1.toFixed(3)} x1 + ${w2.toFixed(3)} x2 + ${bias.value[0].toFixed(3)}`);
console.log(`shares (elements of state per replica): ${mesh.shareSizes.join(', ')}`);
mesh.dispose();
