// A replica that throws or dies fails the step with its message, and changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Adam, Mesh, ReplicaError, Variable } from '../../src/index.js';
import { snapshot } from '../support.js';
import type { LinearInput } from './fixtures/linear-gradients.js';

const gradientModule = new URL('./fixtures/linear-gradients.ts', import.meta.url);

function batch(seed: number, fail?: LinearInput['fail']): LinearInput {
  const x = Array.from({ length: 4 }, (_, n) => [Math.sin(seed + n), Math.cos(seed * 2 + n), (n % 3) - 1]);
  return { x, y: x.map((row) => row[0] * 2 - row[1] + 0.5), fail };
}

async function setup(replicas: number) {
  const mesh = await Mesh.local({ replicas, gradientModule, initData: { hello: 'replica' } });
  const vars = [new Variable(new Float32Array([0.1, -0.2, 0.3]), { name: 'w' }), new Variable(new Float32Array([0]), { name: 'b' })];
  const opt = new Adam({ mesh, learningRate: 0.05, useEma: true, amsgrad: true });
  await mesh.step(opt, vars, { inputs: Array.from({ length: replicas }, (_, r) => batch(r)) });
  return { mesh, vars, opt };
}

test('an error thrown in a replica reaches the caller with its message and stack; nothing changes', async () => {
  const { mesh, vars, opt } = await setup(2);
  try {
    const before = snapshot(opt, vars);
    const error = await mesh.step(opt, vars, { inputs: [batch(5), batch(6, 'throw')] }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ReplicaError, `got ${String(error)}`);
    assert.equal(error.rank, 1);
    assert.match(error.message, /mesh replica 1 failed during 'gradients': bad batch on replica 1/);
    assert.match(error.replicaStack, /RangeError: bad batch on replica 1/);
    assert.match(error.replicaStack, /computeLoss/);
    assert.match(error.replicaStack, /linear-gradients/);
    assert.deepEqual(snapshot(opt, vars), before);
    // The mesh keeps working after an error thrown in user code.
    const result = await mesh.step(opt, vars, { inputs: [batch(5), batch(6)] });
    assert.equal(result.iterations, 2);
    assert.equal(typeof (result.results[0] as { loss: number }).loss, 'number');
    assert.deepEqual(await mesh.call('initData', () => null), [{ hello: 'replica' }, { hello: 'replica' }]);
  } finally {
    mesh.dispose();
  }
});

test('a replica that dies while computing gradients fails the step; nothing changes', async () => {
  const { mesh, vars, opt } = await setup(2);
  try {
    const before = snapshot(opt, vars);
    await assert.rejects(mesh.step(opt, vars, { inputs: [batch(1), batch(2, 'exit')] }), /mesh replica 1 stopped during 'gradients' \(its thread exited with code 3\); the step was not applied/);
    assert.deepEqual(snapshot(opt, vars), before);
    await assert.rejects(mesh.step(opt, vars, { inputs: [batch(1), batch(2)] }), /mesh replica 1 has stopped .*dispose this mesh and start a new one/);
    assert.deepEqual(snapshot(opt, vars), before);
  } finally {
    mesh.dispose();
  }
});

test('a replica that dies during the optimizer step fails it; parameters and state stay as they were', async () => {
  const { mesh, vars, opt } = await setup(3);
  try {
    const grads = [new Float32Array([0.5, -0.5, 1]), new Float32Array([0.25])];
    opt.applyGradients(grads.map((g, i) => [g, vars[i]] as const)); // the mesh now has every buffer this step needs
    const before = snapshot(opt, vars);
    // Replica 1 blocks, then exits: the step's update reaches it while it cannot answer.
    await mesh.call('exitSoon', (rank) => rank === 1);
    await sleep(50); // replica 1 is now busy, and exits before it reads another command
    assert.throws(() => opt.applyGradients(grads.map((g, i) => [g, vars[i]] as const)), /mesh replica 1 stopped during 'step'; the step was not applied/);
    assert.deepEqual(snapshot(opt, vars), before);
  } finally {
    mesh.dispose();
  }
});
