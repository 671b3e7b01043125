// Semantics section 5: variables, getWeights / setWeights, saveOwnVariables / loadOwnVariables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Adam, IndexedSlices, Variable, schedules, type AdamOptions, type VariableStore } from '../src/index.js';
import { forEachKernelSet, random, snapshot } from './support.js';

forEachKernelSet((jitCompile) => {
  function makeVars() {
    return [
      new Variable(new Float32Array([1, 2, 3, 4, 5, 6]), { name: 'emb', shape: [3, 2] }),
      new Variable(new Float64Array([0.5, -0.5]), { name: 'bias' }),
    ];
  }
  function gradients(step: number, vars: Variable[]) {
    const rand = random(step + 1);
    return [
      [new IndexedSlices(new Float32Array([rand(), rand(), rand(), rand()]), [step % 3, (step + 1) % 3], [3, 2]), vars[0]],
      [new Float64Array([rand() - 0.5, rand() - 0.5]), vars[1]],
    ] as const;
  }

  test('save, restore and continue equals never stopping (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.record({ amsgrad: fc.boolean(), useEma: fc.boolean(), emaOverwriteFrequency: fc.constantFrom(null, 2, 3), weightDecay: fc.constantFrom(null, 0.05), globalClipnorm: fc.constantFrom(null, 0.5) }),
        fc.boolean(),
        (before, after, options, viaStore) => {
          const schedule = () => new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.7 });
          const all: AdamOptions = { ...options, learningRate: schedule(), jitCompile };
          const straightVars = makeVars();
          const straight = new Adam(all);
          for (let s = 0; s < before + after; s++) straight.applyGradients(gradients(s, straightVars));

          const firstVars = makeVars();
          const first = new Adam(all);
          for (let s = 0; s < before; s++) first.applyGradients(gradients(s, firstVars));
          const store: VariableStore = {};
          first.saveOwnVariables(store);
          const weights = first.getWeights();
          const savedValues = firstVars.map((v) => v.read());

          const resumedVars = makeVars();
          resumedVars.forEach((v, i) => v.assign(savedValues[i]));
          const resumed = Adam.fromConfig(JSON.parse(JSON.stringify(first.getConfig())));
          resumed.build(resumedVars);
          if (viaStore) resumed.loadOwnVariables(JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(store).map(([k, v]) => [k, Array.from(v)])))));
          else resumed.setWeights(weights);
          assert.equal(resumed.iterations, before);
          for (let s = before; s < before + after; s++) resumed.applyGradients(gradients(s, resumedVars));
          assert.deepEqual(snapshot(resumed, resumedVars), snapshot(straight, straightVars));
        },
      ),
      { numRuns: 40 },
    );
  });

  test('getWeights returns copies in the order of variables, iteration first', () => {
    const vars = makeVars();
    const opt = new Adam({ jitCompile });
    opt.applyGradients(gradients(0, vars));
    const weights = opt.getWeights();
    assert.equal(weights.length, 5);
    assert.deepEqual(Array.from(weights[0]), [1]);
    weights[1][0] = 12345;
    assert.notEqual(opt.variables[1].value[0], 12345);
  });

  test('state loading is refused before build, with a wrong count or shape, and changes nothing', () => {
    const vars = makeVars();
    const opt = new Adam({ jitCompile });
    assert.throws(() => opt.setWeights([new Float64Array([3])]), /setWeights needs a built optimizer/);
    assert.throws(() => opt.loadOwnVariables({ 0: [3] }), /loadOwnVariables needs a built optimizer/);
    opt.applyGradients(gradients(0, vars));
    const before = snapshot(opt, vars);
    const weights = opt.getWeights();
    assert.throws(() => opt.setWeights(weights.slice(1)), /setWeights expects 5 arrays/);
    const wrongShape = weights.map((w, i) => (i === 3 ? new Float32Array(5) : w));
    assert.throws(() => opt.setWeights(wrongShape), /entry 3 \('Adam\/m\/bias'\) has 5 values, expected 2/);
    assert.throws(() => opt.setWeights([[2.5], ...weights.slice(1)]), /iteration count must be a non-negative integer, got 2.5/);
    const store: VariableStore = {};
    opt.saveOwnVariables(store);
    delete store['4'];
    assert.throws(() => opt.loadOwnVariables(store), /expects 5 entries, the store has 4/);
    store['4'] = ['x' as unknown as number, 0];
    assert.throws(() => opt.loadOwnVariables(store), /value 0 is not a number/);
    assert.deepEqual(snapshot(opt, vars), before);
  });

  test('saveOwnVariables writes keys "0", "1", ...', () => {
    const vars = makeVars();
    const opt = new Adam({ jitCompile, amsgrad: true });
    opt.applyGradients(gradients(0, vars));
    const store: VariableStore = {};
    opt.saveOwnVariables(store);
    assert.deepEqual(Object.keys(store), ['0', '1', '2', '3', '4', '5', '6']);
  });
});

forEachKernelSet((jitCompile) => {
  test('dispose gives the state back; the optimizer refuses to step afterwards, the variables stay', () => {
    const w = new Variable(new Float32Array([1, 2, 3]), { name: 'w' });
    const opt = new Adam({ jitCompile, useEma: true, amsgrad: true });
    opt.applyGradients([[new Float32Array([1, 1, 1]), w]]);
    const after = Array.from(w.value);
    opt.dispose();
    opt.dispose();
    assert.deepEqual(Array.from(w.value), after);
    assert.throws(() => opt.applyGradients([[new Float32Array([1, 1, 1]), w]]), /has been disposed/);
    assert.throws(() => opt.getWeights(), /has been disposed/);
    // The memory is reused by the next optimizer without disturbing the variable.
    const next = new Adam({ jitCompile });
    next.applyGradients([[new Float32Array([1, 1, 1]), w]]);
    assert.ok(w.value[0] < after[0]);
  });
});

forEachKernelSet((jitCompile) => {
  test('Variable.dispose gives its memory back; the variable and steps on it are refused', () => {
    const w = new Variable(new Float32Array([1, 2, 3]), { name: 'gone' });
    const keep = new Variable(new Float32Array([1, 2, 3]), { name: 'kept' });
    const opt = new Adam({ jitCompile });
    opt.applyGradients([[new Float32Array([1, 1, 1]), w], [new Float32Array([1, 1, 1]), keep]]);
    const before = snapshot(opt, [keep]);
    w.dispose();
    w.dispose();
    assert.equal(w.disposed, true);
    assert.throws(() => w.value, /Variable 'gone' has been disposed/);
    assert.throws(() => w.assign([0, 0, 0]), /has been disposed/);
    assert.throws(() => opt.applyGradients([[new Float32Array([1, 1, 1]), keep], [new Float32Array([1, 1, 1]), w]]), /variable 'gone' has been disposed/);
    assert.deepEqual(snapshot(opt, [keep]), before, 'the refused step changed nothing');
    // The others go on; memory handed out again does not disturb them.
    const fresh = new Variable(new Float32Array([5, 5, 5]));
    new Adam({ jitCompile }).applyGradients([[new Float32Array([1, 1, 1]), fresh]]);
    opt.applyGradients([[new Float32Array([1, 1, 1]), keep]]);
    assert.ok(keep.value[0] < before.values[0][0]);
    assert.ok(fresh.value[0] < 5);
  });
});

test('state memory given back and handed out again is not disturbed by later steps of others', () => {
  // Two steps of one list cache the kernel's table; the state's blocks then go back to the arena
  // and are handed to another optimizer's slots, which later steps on a and b must not touch.
  const a = new Variable(new Float32Array(64).fill(1));
  const b = new Variable(new Float32Array(64).fill(1));
  const opt = new Adam({ jitCompile: true });
  const grads = () => [[new Float32Array(64).fill(1), a], [new Float32Array(64).fill(1), b]] as const;
  opt.applyGradients(grads());
  opt.applyGradients(grads());
  opt.dispose();
  const c = new Variable(new Float32Array(64).fill(7));
  const other = new Adam({ jitCompile: true });
  other.build([c]);
  const cBefore = Array.from(c.value);
  const opt2 = new Adam({ jitCompile: true });
  opt2.applyGradients(grads());
  assert.deepEqual(Array.from(c.value), cBefore, 'c untouched by steps on a and b');
});
