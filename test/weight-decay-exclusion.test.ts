// excludeFromWeightDecay refuses what it cannot mean (Keras's snake_case keys, a bare list, a
// string instead of a list, empty patterns) and a refused call changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Adam, Variable } from '../src/index.js';
import { forEachKernelSet } from './support.js';

const NAMES = ['dense/kernel', 'dense/bias', 'emb/embeddings', 'out/bias'];

function setup(jitCompile: boolean) {
  const variables = NAMES.map((name, i) => new Variable(new Float32Array([1 + i, -2 - i, 3]), { name }));
  const opt = new Adam({ jitCompile, learningRate: 0.1, weightDecay: 0.1 });
  return { variables, opt };
}

/** Which variables a step with zero gradients left alone: with zero gradients only the decay moves a variable. */
function excludedAfterStep(opt: Adam, variables: Variable[]): string[] {
  const before = variables.map((v) => Array.from(v.value));
  opt.applyGradients(variables.map((v) => [new Float32Array(v.size), v] as const));
  return variables.filter((v, i) => v.value.every((x, j) => x === before[i][j])).map((v) => v.name);
}

forEachKernelSet((jitCompile) => {
  test('mistakes are refused with a message naming the key or entry', () => {
    const { variables, opt } = setup(jitCompile);
    const refusals: [unknown, RegExp][] = [
      [{ var_names: ['bias'] }, /Adam: excludeFromWeightDecay: unknown key 'var_names'; the option is spelled 'varNames' here$/],
      [{ var_list: [variables[0]] }, /unknown key 'var_list'; the option is spelled 'varList' here/],
      [{ bias: true }, /unknown key 'bias' \(known keys: varList, varNames\)/],
      [['bias'], /excludeFromWeightDecay expects an object \{ varList, varNames \}, got an array of length 1 \(pass \{ varNames: \[\.\.\.\] \}/],
      [{ varNames: 'bias' }, /varNames must be an array of strings or RegExps, got "bias" \(write varNames: \["bias"\]; a string would be taken apart\)/],
      [{ varNames: [''] }, /varNames\[0\] is an empty string, which matches every name/],
      [{ varNames: ['bias', new RegExp('')] }, /varNames\[1\] is an empty pattern/],
      [{ varNames: ['bias', '('] }, /varNames\[1\] = "\(" is not a valid regular expression/],
      [{ varNames: [3] }, /varNames\[0\] must be a string or a RegExp, got 3/],
      [{ varList: variables[0] }, /varList must be an array of Variables/],
      [{ varList: [variables[0], 'dense/bias'] }, /varList\[1\] must be a Variable, got "dense\/bias"/],
      [null, /expects an object \{ varList, varNames \}, got null/],
    ];
    for (const [argument, message] of refusals) {
      assert.throws(() => opt.excludeFromWeightDecay(argument as never), message, JSON.stringify(argument));
    }
    // None of them recorded anything: every variable decays.
    assert.deepEqual(excludedAfterStep(opt, variables), []);
  });

  test('what is accepted applies exactly', () => {
    const { variables, opt } = setup(jitCompile);
    opt.excludeFromWeightDecay({ varNames: ['bias'] });
    opt.excludeFromWeightDecay({ varList: [variables[2]], varNames: null as never });
    opt.excludeFromWeightDecay();
    assert.deepEqual(excludedAfterStep(opt, variables), ['dense/bias', 'emb/embeddings', 'out/bias']);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any sequence of calls either applies exactly the given exclusions or throws and changes
// nothing. The oracle below is written from the rules, independently of the implementation.

const PATTERNS = ['bias', 'kernel', '^dense', 'emb.*', 'zzz', '', '(', /BIAS/i, /kernel$/g, new RegExp('')];
const variableIndex = fc.integer({ min: 0, max: NAMES.length - 1 });
const patternArbitrary = fc.oneof(fc.constantFrom(...PATTERNS), fc.constant(7));
const varListValue = fc.oneof(
  fc.array(variableIndex, { maxLength: 3 }).map((ix) => ({ kind: 'list' as const, ix })),
  variableIndex.map((i) => ({ kind: 'single' as const, ix: [i] })),
  fc.constant({ kind: 'strings' as const, ix: [] as number[] }),
  fc.constant({ kind: 'null' as const, ix: [] as number[] }),
);
const varNamesValue = fc.oneof(
  fc.array(patternArbitrary, { maxLength: 3 }),
  fc.constantFrom('bias', 'kernel'),
  fc.constant(null),
);
const call = fc.record(
  { varList: varListValue, varNames: varNamesValue, var_names: fc.array(fc.constantFrom('bias')), shape: fc.constantFrom('array', 'object') },
  { requiredKeys: ['shape'] },
);

type Call = typeof call extends fc.Arbitrary<infer T> ? T : never;

function argumentOf(c: Call, variables: Variable[]): unknown {
  const o: Record<string, unknown> = {};
  if (c.varList !== undefined) {
    o.varList = c.varList.kind === 'list' ? c.varList.ix.map((i) => variables[i])
      : c.varList.kind === 'single' ? variables[c.varList.ix[0]]
      : c.varList.kind === 'strings' ? ['dense/bias'] : null;
  }
  if (c.varNames !== undefined) o.varNames = c.varNames;
  if (c.var_names !== undefined) o.var_names = c.var_names;
  return c.shape === 'array' ? (Array.isArray(o.varNames) ? o.varNames : ['bias']) : o;
}

/** The oracle: the names a valid call excludes, or null for a call that must be refused. */
function expectedExclusions(c: Call): { ids: number[]; patterns: RegExp[] } | null {
  if (c.shape === 'array' || c.var_names !== undefined) return null;
  const list = c.varList;
  if (list !== undefined && (list.kind === 'single' || list.kind === 'strings')) return null;
  const names = c.varNames;
  if (typeof names === 'string') return null;
  const patterns: RegExp[] = [];
  for (const p of names ?? []) {
    if (p === '' || p === '(' || p === 7 || (p instanceof RegExp && p.source === '(?:)')) return null;
    patterns.push(p instanceof RegExp ? new RegExp(p.source, p.flags.replace('g', '')) : new RegExp(p));
  }
  return { ids: list?.ix ?? [], patterns };
}

forEachKernelSet((jitCompile) => {
  test('property: exactly the given exclusions, or a refusal that changes nothing', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 3 }), (calls) => {
        const { variables, opt } = setup(jitCompile);
        const excluded = new Set<string>();
        for (const c of calls) {
          const expected = expectedExclusions(c);
          const run = () => opt.excludeFromWeightDecay(argumentOf(c, variables) as never);
          if (expected === null) {
            assert.throws(run, (e: unknown) => e instanceof Error && /^Adam: excludeFromWeightDecay/.test(e.message));
            continue;
          }
          run();
          for (const i of expected.ids) excluded.add(NAMES[i]);
          for (const name of NAMES) if (expected.patterns.some((p) => p.test(name))) excluded.add(name);
        }
        assert.deepEqual(excludedAfterStep(opt, variables), NAMES.filter((n) => excluded.has(n)));
      }),
      { numRuns: 150 },
    );
  });
});
