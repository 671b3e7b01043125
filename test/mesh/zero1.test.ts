// ZeRO-1 on a mesh: weights and state equal, bit for bit, a single optimizer fed the same
// fixed-order mean gradients, for 1-4 replicas and sizes no replica count divides.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Adam, IndexedSlices, Mesh, Variable } from '../../src/index.js';
import { KERNEL_SETS } from '../support.js';
import { CONFIGS, assertSameState, fixedOrderMean, makeVariables, replicaGradients } from './support.js';

const STEPS = 5;

for (const replicas of [1, 2, 3, 4]) {
  describe(`${replicas} replica(s)`, () => {
    let mesh: Mesh;
    before(async () => { mesh = await Mesh.local({ replicas }); });
    after(() => mesh.dispose());

    for (const { jitCompile, label: kernelLabel } of KERNEL_SETS) {
      for (const { label, options } of CONFIGS) {
        test(`${label}, ${kernelLabel}`, async () => {
          const meshRun = { opt: new Adam({ ...options(), jitCompile, mesh }), vars: makeVariables(1) };
          const single = { opt: new Adam({ ...options(), jitCompile }), vars: makeVariables(1) };
          assert.equal(meshRun.opt.kernelName, single.opt.kernelName);
          for (let step = 0; step < STEPS; step++) {
            const parts = replicaGradients(100 + step, replicas);
            const result = await mesh.step(meshRun.opt, meshRun.vars, { gradients: parts });
            assert.equal(result.iterations, step + 1);
            const mean = fixedOrderMean(parts);
            single.opt.applyGradients(mean.map((g, i) => [g, single.vars[i]] as const));
            assertSameState(meshRun, single, `step ${step + 1}`);
          }
          // The EMA is kept on the mesh (tf_keras's mesh path skips it): finalizing gives the averages.
          meshRun.opt.finalizeVariableValues(meshRun.vars);
          single.opt.finalizeVariableValues(single.vars);
          assertSameState(meshRun, single, 'after finalizeVariableValues');
        });
      }
    }

    test('every replica owns a share; shares are whole variables', () => {
      const sizes = mesh.shareSizes;
      assert.equal(sizes.length, replicas);
      assert.ok(sizes.every((s) => s > 0), `shares ${sizes.join(', ')}`);
    });
  });
}

test('applyGradients on a mesh optimizer with ordinary gradient arrays updates the same as without a mesh', async () => {
  const mesh = await Mesh.local({ replicas: 2 });
  try {
    const options = CONFIGS[1].options;
    const meshRun = { opt: new Adam({ ...options(), mesh }), vars: makeVariables(3) };
    const single = { opt: new Adam(options()), vars: makeVariables(3) };
    for (let step = 0; step < 3; step++) {
      const [grads] = replicaGradients(7 + step, 1);
      meshRun.opt.applyGradients(grads.map((g, i) => [g, meshRun.vars[i]] as const));
      single.opt.applyGradients(grads.map((g, i) => [g, single.vars[i]] as const));
      assertSameState(meshRun, single, `step ${step + 1}`);
    }
  } finally {
    mesh.dispose();
  }
});

for (const { jitCompile, label } of KERNEL_SETS) {
  test(`sparse gradients (IndexedSlices) on a mesh optimizer step as without a mesh, ${label}`, async () => {
    const mesh = await Mesh.local({ replicas: 2 });
    try {
      const make = () => [
        new Variable(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), { name: 'table', shape: [4, 3] }),
        new Variable(Float32Array.from({ length: 5 }, (_, i) => Math.cos(i)), { name: 'dense' }),
      ];
      const options = { ...CONFIGS[1].options(), globalClipnorm: null, clipnorm: 0.8, jitCompile };
      const meshRun = { opt: new Adam({ ...options, mesh }), vars: make() };
      const single = { opt: new Adam(options), vars: make() };
      for (let step = 0; step < 3; step++) {
        for (const run of [meshRun, single]) {
          const rows = new IndexedSlices(Float32Array.from({ length: 6 }, (_, i) => Math.sin(step * 7 + i) * 2), [step % 4, 3], [4, 3]);
          const dense = Float32Array.from({ length: 5 }, (_, i) => Math.cos(step * 3 + i));
          run.opt.applyGradients([[rows, run.vars[0]], [dense, run.vars[1]]]);
        }
        assertSameState(meshRun, single, `step ${step + 1}`);
      }
    } finally {
      mesh.dispose();
    }
  });
}

test('mesh options and feeds are checked', async () => {
  await assert.rejects(Mesh.local({ replicas: 0 }), /replicas must be an integer >= 1, got 0/);
  await assert.rejects(Mesh.local({ replicas: 2, workers: 2 } as never), /unknown option 'workers'/);
  assert.throws(() => new Adam({ mesh: {} as never }), /mesh must be a Mesh/);
  const mesh = await Mesh.local({ replicas: 2 });
  try {
    const opt = new Adam({ mesh });
    const vars = makeVariables(5);
    await assert.rejects(mesh.step(new Adam(), vars, { gradients: [] }), /was not created with this mesh/);
    await assert.rejects(mesh.step(opt, vars, { gradients: replicaGradients(1, 3) }), /one list per replica \(2\)/);
    await assert.rejects(mesh.step(opt, vars, { inputs: [1, 2] }), /needs a gradientModule/);
    assert.equal(opt.iterations, 0);
    assert.equal(opt.getConfig().mesh, undefined);
  } finally {
    mesh.dispose();
  }
});
