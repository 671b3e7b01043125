// The TensorFlow.js adapter on the webgl and webgpu backends, in headless Chromium (SwiftShader):
// every option set gives the cpu backend's kernels numbers, leaks nothing, reads nothing back, and
// raises no GPU validation error.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import type { Execution } from '../../src/tfjs/index.js';
import { optionCases, makeCase, type GpuCase, type GpuResult } from '../browser/cases.js';
import { chromiumMissing, openPage, type OpenPage } from '../browser/chromium.js';
import { runCase } from '../browser/run-case.js';
import { useBackend } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
/** float32 on the device against float32 kernels (whose norms sum in float64). */
const RTOL = 1e-5;
const ATOL = 1e-7;

async function expected(c: GpuCase): Promise<GpuResult> {
  await useBackend('cpu');
  return runCase(c, 'kernels');
}

function assertMatches(actual: GpuResult, wanted: GpuResult, what: string): void {
  assert.equal(actual.iterations, wanted.iterations, `${what}: iterations`);
  const check = (a: number[][], e: number[][], kind: string) => {
    assert.equal(a.length, e.length, `${what}: ${kind} count`);
    a.forEach((row, i) => row.forEach((x, j) => {
      const y = e[i][j];
      assert.ok(Math.abs(x - y) <= RTOL * Math.abs(y) + ATOL, `${what}: ${kind}[${i}][${j}] is ${x}, the kernels give ${y}`);
    }));
  };
  check(actual.weights, wanted.weights, 'weight');
  check(actual.state, wanted.state, 'state');
}

describe('GPU backends in headless Chromium', { skip: chromiumMissing, timeout: 600_000 }, () => {
  let open: OpenPage;
  before(async () => {
    open = await openPage(join(here, '..', 'browser', 'gpu-page.ts'));
  });
  after(async () => {
    await open?.close();
  });

  async function run(backend: string, c: GpuCase, execution: Execution, path: string = execution): Promise<GpuResult> {
    const result = await open.page.evaluate(([b, cc, e]) => window.gpuRun(b, cc, e), [backend, c, execution] as const);
    if ('error' in result) assert.fail(`${backend} ${c.label}: ${result.error}`);
    assert.deepEqual(open.pageErrors, []);
    assert.equal(result.backend, backend);
    assert.equal(result.path, path, `${backend} ${c.label}: the path that ran`);
    assert.deepEqual(result.warnings, [], `${backend} ${c.label}: console warnings`);
    return result;
  }

  function assertClean(r: GpuResult, what: string): void {
    assert.deepEqual(r.gpuErrors, [], `${what}: GPU errors`);
    assert.equal(r.readbacks, 0, `${what}: read-backs inside steps`);
    assert.equal(r.tensorsAfterLast, r.tensorsAfterFirst, `${what}: tensors alive after the first and the last step`);
  }

  for (const backend of ['webgpu', 'webgl']) {
    for (const execution of ['gpu-fused', 'tensor-ops'] as const) {
      test(`${backend}, ${execution}: global clipnorm over 12 and 40 variables (every reduction of the step)`, async () => {
        for (const count of [12, 40]) {
          const c = makeCase(`global clipnorm, ${count} variables`, count, 3, { globalClipnorm: 0.5, clipnorm: null });
          const r = await run(backend, c, execution);
          assertClean(r, `${backend} ${c.label}`);
          assertMatches(r, await expected(c), `${backend} ${c.label}`);
        }
      });
      test(`${backend}, ${execution}: a non-finite global norm makes every weight NaN, as on the kernels`, async () => {
        const base = makeCase('infinite gradient', 9, 1, { globalClipnorm: 1 });
        const grads = base.grads.map((step) => step.map((g, i) => (i === 4 ? g.map((x, j) => (j === 0 ? Infinity : x)) : g)));
        const c: GpuCase = { ...base, grads };
        const r = await run(backend, c, execution);
        assertClean(r, `${backend} ${c.label}`);
        const wanted = await expected(c);
        assert.ok(wanted.weights.flat().every(Number.isNaN), 'the kernels give NaN everywhere');
        assert.ok(r.weights.flat().every(Number.isNaN), `${backend}: NaN everywhere, got ${r.weights.flat().filter((x) => !Number.isNaN(x)).length} numbers`);
      });
      test(`${backend}, ${execution}: variables of thousands of elements (many workgroups, strided sums, 2-D textures)`, async () => {
        const shapes = [[2100], [70, 70], [3], [33, 65]];
        for (const options of [{ clipnorm: 1 }, { globalClipnorm: 2, amsgrad: true, useEma: true }, { clipvalue: 0.3 }]) {
          const c = makeCase(`large ${JSON.stringify(options)}`, shapes.length, 2, options, { shapes });
          const r = await run(backend, c, execution);
          assertClean(r, `${backend} ${c.label}`);
          assertMatches(r, await expected(c), `${backend} ${c.label}`);
        }
      });
      for (const count of [4, 40]) {
        test(`${backend}, ${execution}: every option set, ${count} variables, equals the cpu kernels`, async () => {
          for (const c of optionCases(count)) {
            const r = await run(backend, c, execution);
            assert.equal(r.backend, backend);
            assertClean(r, `${backend} ${c.label}`);
            assertMatches(r, await expected(c), `${backend} ${c.label}`);
          }
        });
      }
    }
    test(`${backend}: gradients in packed textures (as a model's are on WebGL) give the same numbers`, async () => {
      const c = makeCase('packed gradients', 7, 3, { clipnorm: 0.6, amsgrad: true }, { packedGrads: true });
      const wanted = await expected(c);
      for (const execution of ['gpu-fused', 'tensor-ops'] as const) {
        const r = await run(backend, c, execution);
        if (backend === 'webgl') assert.ok(r.packedGrads > 0, 'some gradients are packed');
        assertClean(r, `${backend} ${execution} packed gradients`);
        assertMatches(r, wanted, `${backend} ${execution} packed gradients`);
      }
    });
    // On SwiftShader's WebGPU a synchronous read-back loses the device, so this runs on WebGL only.
    if (backend === 'webgl') {
      test(`${backend}: a tf.Variable learning rate is the one read-back, once per step`, async () => {
        const c = { ...makeCase('variable learning rate', 6, 4, { globalClipnorm: 1 }), learningRateVariable: 0.01 };
        const wanted = await expected(c);
        for (const execution of ['gpu-fused', 'tensor-ops'] as const) {
          const r = await run(backend, c, execution);
          assert.equal(r.readbacks, c.grads.length - 1, `${execution}: one read-back per step after the first`);
          assertMatches(r, wanted, `${backend} ${execution} variable learning rate`);
        }
      });
    }
    test(`${backend}, gpu-fused: a step costs one ${backend === 'webgpu' ? 'dispatch' : 'draw per array written'} per variable, a few for the norms, and one upload`, async () => {
      const n = 12;
      for (const options of [{}, { clipnorm: 1, amsgrad: true }, { globalClipnorm: 1, useEma: true, weightDecay: 0.1, amsgrad: true }]) {
        const c = makeCase('counted', n, 1, options);
        const r = await open.page.evaluate(([b, cc]) => window.gpuCount(b, cc, 'gpu-fused'), [backend, c] as const);
        if ('error' in r) assert.fail(r.error);
        assert.equal(r.path, 'gpu-fused');
        const norms = 'clipnorm' in options || 'globalClipnorm' in options;
        // WebGPU: one dispatch per variable; the norms 7 gradients per dispatch, and the total.
        // WebGL: the parameter and the state per variable; the norms 15 per draw, the total; the upload's draw.
        const limit = backend === 'webgpu'
          ? n + (norms ? Math.ceil(n / 7) + 1 : 0)
          : 2 * n + (norms ? Math.ceil(n / 15) + 1 : 0) + 1;
        assert.ok(r.dispatches <= limit, `${JSON.stringify(options)}: ${r.dispatches} ${backend === 'webgpu' ? 'dispatches' : 'draws'}, at most ${limit}`);
        assert.ok(r.dispatches >= (backend === 'webgpu' ? n : 2 * n), `${JSON.stringify(options)}: ${r.dispatches} is too few to have updated every variable`);
        assert.equal(r.tensorUploads, 1, `${JSON.stringify(options)}: tensors uploaded per step`);
        assert.equal(r.readbacks, 0);
      }
    });
    test(`${backend}: state saved on one path continues on the other`, async () => {
      const base = makeCase('across paths', 5, 4, { amsgrad: true, useEma: true, clipnorm: 0.5, weightDecay: 0.02 }, { reloadAfter: 2 });
      const wanted = await expected(base);
      for (const [from, to] of [['gpu-fused', 'tensor-ops'], ['tensor-ops', 'gpu-fused']] as const) {
        const r = await run(backend, { ...base, reloadExecution: to }, from, to);
        assertMatches(r, wanted, `${backend} ${from} -> ${to}`);
      }
    });
    test(`${backend}, gpu-fused: any option set gives the kernels' numbers (property)`, async () => {
      const options = fc.record({
        learningRate: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
        beta1: fc.double({ min: 0, max: 0.99, noNaN: true }),
        beta2: fc.double({ min: 0.5, max: 0.9999, noNaN: true }),
        epsilon: fc.constantFrom(1e-7, 1e-3, 0.1),
        adaptiveEpsilon: fc.boolean(),
        amsgrad: fc.boolean(),
        weightDecay: fc.option(fc.double({ min: 0, max: 0.5, noNaN: true }), { nil: null }),
        clipping: fc.constantFrom('none', 'clipnorm', 'globalClipnorm', 'clipvalue', 'clipnorm+clipvalue', 'globalClipnorm+clipvalue'),
        limit: fc.double({ min: 0.05, max: 5, noNaN: true }),
        useEma: fc.boolean(),
        emaMomentum: fc.double({ min: 0, max: 1, noNaN: true }),
        emaOverwriteFrequency: fc.constantFrom(null, 1, 2),
        count: fc.integer({ min: 1, max: 9 }),
      });
      await fc.assert(fc.asyncProperty(options, async ({ clipping, limit, count, ...rest }) => {
        const clip = {
          clipnorm: clipping.startsWith('clipnorm') ? limit : null,
          globalClipnorm: clipping.startsWith('globalClipnorm') ? limit : null,
          clipvalue: clipping.endsWith('clipvalue') ? limit / 2 : null,
        };
        const c = makeCase(`property ${clipping}`, count, 2, { ...rest, ...clip });
        const r = await run(backend, c, 'gpu-fused');
        assertClean(r, `${backend} property`);
        assertMatches(r, await expected(c), `${backend} ${JSON.stringify(c.options)}`);
      }), { numRuns: 8, seed: 11 });
    });
    test(`${backend}: a fused program that cannot run gives tensor ops, after one warning`, async () => {
      const c = makeCase('broken program', 3, 2, { useEma: true });
      const r = await open.page.evaluate(([b, cc]) => window.gpuRunBroken(b, cc), [backend, c] as const);
      if ('error' in r) assert.fail(r.error);
      assert.equal(r.path, 'tensor-ops');
      assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
      assert.match(r.warnings[0], new RegExp(`fused GPU programs cannot run on '${backend}' \\(a fused program failed on this device: cannot build this program\\); steps run as tensor ops`));
      assertClean(r, `${backend} broken program`);
      assertMatches(r, await expected(c), `${backend} broken program`);
      // The package's kernel is registered again by the next optimizer.
      await run(backend, c, 'gpu-fused');
    });
    test(`${backend}: 'auto' runs the fused programs, and tensor ops with jitCompile false`, async () => {
      const c = makeCase('auto', 3, 2, { amsgrad: true });
      const wanted = await expected(c);
      assertMatches(await run(backend, c, 'auto', 'gpu-fused'), wanted, `${backend} auto`);
      const off: GpuCase = { ...c, options: { ...c.options, jitCompile: false } };
      assertMatches(await run(backend, off, 'auto', 'tensor-ops'), wanted, `${backend} auto, jitCompile false`);
    });
  }
});
