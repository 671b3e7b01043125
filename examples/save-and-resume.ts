/**
 * Save an optimizer mid-training, load it into a fresh one, resume, and get exactly the numbers
 * of a run that was never interrupted.
 *
 * What is saved, to a temporary folder:
 *   optimizer.json  the optimizer's Keras config (getConfig(); the learning-rate schedule included)
 *   state.json      the optimizer's state (saveOwnVariables(): iteration, EMA averages, m, v, vhat)
 *   model.json      the model's own variables
 * The weight-decay exclusions are not part of a Keras config (as in Keras): set them again.
 *
 *   npx tsx examples/save-and-resume.ts
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, Variable, schedules, type VariableStore } from 'adam-optimizer';

// A logistic regression on 256 seeded random points in 3 dimensions, 8 mini-batches of 32.
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(7);
const points = Array.from({ length: 256 }, () => [rand() * 4 - 2, rand() * 4 - 2, rand() * 4 - 2]);
const labels = points.map(([x, y, z]) => (0.8 * x - 1.5 * y + 0.3 * z + 0.5 + (rand() - 0.5) > 0 ? 1 : 0));
const batchSize = 32;
const batches = points.length / batchSize;

interface Model { w: Variable; b: Variable }

function newModel(w: ArrayLike<number> = [0, 0, 0], b: ArrayLike<number> = [0]): Model {
  return {
    w: new Variable(Float32Array.from(w), { name: 'logistic/kernel' }),
    b: new Variable(Float32Array.from(b), { name: 'logistic/bias' }),
  };
}

/** Mean binary cross-entropy of batch `k` (all points when k is -1) and its gradients. */
function lossAndGradients({ w, b }: Model, k: number): { loss: number; gw: Float32Array; gb: Float32Array } {
  const from = k < 0 ? 0 : k * batchSize;
  const to = k < 0 ? points.length : from + batchSize;
  const gw = new Float32Array(3);
  const gb = new Float32Array(1);
  let loss = 0;
  for (let i = from; i < to; i++) {
    const [x, y, z] = points[i];
    const p = 1 / (1 + Math.exp(-(w.value[0] * x + w.value[1] * y + w.value[2] * z + b.value[0])));
    loss -= labels[i] ? Math.log(p) : Math.log(1 - p);
    const d = p - labels[i];
    gw[0] += d * x; gw[1] += d * y; gw[2] += d * z; gb[0] += d;
  }
  const n = to - from;
  for (let j = 0; j < 3; j++) gw[j] /= n;
  gb[0] /= n;
  return { loss: loss / n, gw, gb };
}

const totalSteps = 400;
const stopAt = 150;

function newOptimizer(): Adam {
  const optimizer = new Adam({
    learningRate: new schedules.CosineDecay({ initialLearningRate: 0.01, warmupTarget: 0.1, warmupSteps: 40, decaySteps: totalSteps - 40 }),
    amsgrad: true,
    weightDecay: 0.01,
    globalClipnorm: 1,
    useEma: true,
    emaMomentum: 0.9,
  });
  optimizer.excludeFromWeightDecay({ varNames: ['bias'] });
  return optimizer;
}

/** Steps `from` .. `to` - 1; the mini-batch of step s is s % batches, so a resumed run sees the same data. */
function train(model: Model, optimizer: Adam, from: number, to: number): void {
  for (let step = from; step < to; step++) {
    const { gw, gb } = lossAndGradients(model, step % batches);
    optimizer.applyGradients([[gw, model.w], [gb, model.b]]);
  }
}

// 1. The uninterrupted run.
const straight = newModel();
const straightOptimizer = newOptimizer();
train(straight, straightOptimizer, 0, totalSteps);
straightOptimizer.finalizeVariableValues([straight.w, straight.b]);

// 2. Train to step 150 and save everything.
const first = newModel();
const firstOptimizer = newOptimizer();
train(first, firstOptimizer, 0, stopAt);
const folder = await mkdtemp(join(tmpdir(), 'adam-optimizer-resume-'));
const store: VariableStore = {};
firstOptimizer.saveOwnVariables(store);
const plain = (arrays: VariableStore) => Object.fromEntries(Object.entries(arrays).map(([k, v]) => [k, Array.from(v)]));
await writeFile(join(folder, 'optimizer.json'), JSON.stringify(firstOptimizer.getConfig(), null, 2));
await writeFile(join(folder, 'state.json'), JSON.stringify(plain(store)));
await writeFile(join(folder, 'model.json'), JSON.stringify({ w: Array.from(first.w.value), b: Array.from(first.b.value) }));
console.log(`saved at step ${firstOptimizer.iterations} to ${folder}: optimizer.json, state.json (${Object.keys(store).length} arrays), model.json`);
console.log(`  learning_rate in the config: ${JSON.stringify((firstOptimizer.getConfig().learning_rate as { class_name: string }).class_name)}`);

// 3. A fresh process would start here: rebuild the model and the optimizer from the files.
const config = JSON.parse(await readFile(join(folder, 'optimizer.json'), 'utf8')) as Record<string, unknown>;
const saved = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as { w: number[]; b: number[] };
const state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8')) as VariableStore;
const resumed = newModel(saved.w, saved.b);
const resumedOptimizer = Adam.fromConfig(config);
resumedOptimizer.excludeFromWeightDecay({ varNames: ['bias'] }); // not part of the config
resumedOptimizer.build([resumed.w, resumed.b]); // the state is loaded into a built optimizer
resumedOptimizer.loadOwnVariables(state);
console.log(`loaded: iterations ${resumedOptimizer.iterations}, learning rate ${resumedOptimizer.learningRate.toPrecision(4)}`);
train(resumed, resumedOptimizer, stopAt, totalSteps);
resumedOptimizer.finalizeVariableValues([resumed.w, resumed.b]);
await rm(folder, { recursive: true, force: true });

// 4. Compare.
const show = (m: Model) => [...m.w.value, ...m.b.value].map((x) => x.toFixed(6)).join(', ');
const difference = Math.max(
  ...[0, 1, 2].map((i) => Math.abs(straight.w.value[i] - resumed.w.value[i])),
  Math.abs(straight.b.value[0] - resumed.b.value[0]),
);
console.log(`\nuninterrupted (${straightOptimizer.iterations} steps): w, b = ${show(straight)}  loss ${lossAndGradients(straight, -1).loss.toFixed(6)}`);
console.log(`saved + resumed (${resumedOptimizer.iterations} steps): w, b = ${show(resumed)}  loss ${lossAndGradients(resumed, -1).loss.toFixed(6)}`);
console.log(`largest difference: ${difference}`);
if (difference !== 0) {
  console.log('resumed run differs from the uninterrupted run');
  process.exitCode = 1;
} else {
  console.log('identical: the resumed run equals the uninterrupted run, bit for bit');
}
