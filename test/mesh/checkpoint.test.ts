// Checkpoints do not depend on the mesh: saved on 2 replicas, resumed on 3 or on none, a run
// continues exactly as one that never stopped.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Adam, Mesh, Variable, type VariableStore } from '../../src/index.js';
import { KERNEL_SETS } from '../support.js';
import { CONFIGS, assertBitsEqual, assertSameState, fixedOrderMean, makeVariables, replicaGradients } from './support.js';

const BEFORE = 4;
const AFTER = 4;

let two: Mesh;
let three: Mesh;
before(async () => { [two, three] = await Promise.all([Mesh.local({ replicas: 2 }), Mesh.local({ replicas: 3 })]); });
after(() => { two.dispose(); three.dispose(); });

/** Replica gradients of step `s`: 2 replicas before the checkpoint, 3 after. */
const partsOf = (s: number) => replicaGradients(500 + s, s < BEFORE ? 2 : 3);

for (const { jitCompile, label: kernelLabel } of KERNEL_SETS) {
  test(`save on 2 replicas, resume on 3 and on none, ${kernelLabel}`, async () => {
    const options = () => ({ ...CONFIGS[1].options(), jitCompile });
    // Never stopping: one optimizer fed each step's fixed-order mean.
    const reference = { opt: new Adam(options()), vars: makeVariables(9) };
    for (let s = 0; s < BEFORE + AFTER; s++) {
      reference.opt.applyGradients(fixedOrderMean(partsOf(s)).map((g, i) => [g, reference.vars[i]] as const));
    }

    const first = { opt: new Adam({ ...options(), mesh: two }), vars: makeVariables(9) };
    for (let s = 0; s < BEFORE; s++) await two.step(first.opt, first.vars, { gradients: partsOf(s) });
    const store: VariableStore = {};
    first.opt.saveOwnVariables(store);
    const weights = first.opt.getWeights();
    const values = first.vars.map((v) => v.read());
    const plain = new Adam(options());
    assert.deepEqual(first.opt.getConfig(), plain.getConfig(), 'getConfig is the one without a mesh');
    assert.deepEqual(first.opt.variables.map((v) => v.name), reference.opt.variables.map((v) => v.name), 'state names');

    // Resume on 3 replicas (loadOwnVariables) and without a mesh (setWeights).
    const onThree = { opt: new Adam({ ...options(), mesh: three }), vars: values.map((v, i) => new Variable(v.slice(), { name: `w${i}` })) };
    onThree.opt.build(onThree.vars);
    onThree.opt.loadOwnVariables(store);
    const onNone = { opt: new Adam(options()), vars: values.map((v, i) => new Variable(v.slice(), { name: `w${i}` })) };
    onNone.opt.build(onNone.vars);
    onNone.opt.setWeights(weights);
    for (let s = BEFORE; s < BEFORE + AFTER; s++) {
      await three.step(onThree.opt, onThree.vars, { gradients: partsOf(s) });
      onNone.opt.applyGradients(fixedOrderMean(partsOf(s)).map((g, i) => [g, onNone.vars[i]] as const));
    }
    assertSameState(onThree, reference, 'resumed on 3 replicas');
    assertSameState(onNone, reference, 'resumed without a mesh');
    const saved: VariableStore = {};
    onThree.opt.saveOwnVariables(saved);
    const expected: VariableStore = {};
    reference.opt.saveOwnVariables(expected);
    assert.deepEqual(Object.keys(saved), Object.keys(expected));
    for (const key of Object.keys(expected)) assertBitsEqual(saved[key], expected[key], `store["${key}"]`);
  });
}

