// The mesh in Chromium: Web Worker replicas on a cross-origin-isolated page give the single
// optimizer's numbers bit for bit; without isolation, Mesh.local says what is missing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const skip = !existsSync(CHROMIUM) ? 'Chromium not installed: apt-get install chromium' : !existsSync(join(dist, 'index.js')) ? 'no build in dist/ (npm run build)' : false;

const GRADIENT_MODULE = `
export function gradients({ rank, params, grads, input }) {
  for (let i = 0; i < grads.length; i++) for (let j = 0; j < grads[i].length; j++) grads[i][j] = params[i][j] * input - rank;
  return { rank };
}`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>mesh</title><script type="module">
import { Adam, Mesh, Variable } from '/dist/index.js';
window.__result = (async () => {
  try {
    const isolated = self.crossOriginIsolated;
    const mesh = await Mesh.local({ replicas: 2, gradientModule: new URL('/grad.js', location.href) });
    const make = () => [new Variable(new Float32Array([0.5, -1, 2, 0.25, 3]), { name: 'a' }), new Variable(new Float64Array([1.5, -0.75, 0.1]), { name: 'b' })];
    const options = { learningRate: 0.05, amsgrad: true, weightDecay: 0.01, globalClipnorm: 0.7, useEma: true, emaOverwriteFrequency: 2 };
    const onMesh = { opt: new Adam({ ...options, mesh }), vars: make() };
    const single = { opt: new Adam(options), vars: make() };
    for (let s = 0; s < 4; s++) {
      const parts = [0, 1].map((r) => onMesh.vars.map((v) => v.value.map((_, j) => Math.sin(100 * s + 10 * r + j) * 2)));
      await mesh.step(onMesh.opt, onMesh.vars, { gradients: parts });
      const mean = parts[0].map((g, i) => g.map((x, j) => (x + parts[1][i][j]) / 2));
      single.opt.applyGradients(mean.map((g, i) => [g, single.vars[i]]));
    }
    const flat = (o) => [...o.vars.flatMap((v) => Array.from(v.value)), ...o.opt.getWeights().flatMap((w) => Array.from(w))];
    const meshValues = flat(onMesh);
    const singleValues = flat(single);
    const { results } = await mesh.step(onMesh.opt, onMesh.vars, { inputs: [0.5, 2] });
    mesh.dispose();
    return { isolated, mesh: meshValues, single: singleValues, iterations: onMesh.opt.iterations, results, kernelName: onMesh.opt.kernelName };
  } catch (error) {
    return { error: String(error && error.message || error) };
  }
})();
</script>`;

async function serve(isolated: boolean): Promise<{ server: Server; url: string }> {
  const headers: Record<string, string> = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const js = { ...headers, 'content-type': 'text/javascript; charset=utf-8' };
    if (path === '/' ) { response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGE); return; }
    if (path === '/grad.js') { response.writeHead(200, js).end(GRADIENT_MODULE); return; }
    const file = normalize(join(root, path));
    if (!file.startsWith(dist + sep)) { response.writeHead(404).end(); return; }
    readFile(file).then((body) => response.writeHead(200, js).end(body), () => response.writeHead(404).end('not found'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

interface PageResult { error?: string; isolated?: boolean; mesh?: number[]; single?: number[]; iterations?: number; results?: unknown[]; kernelName?: string }

async function runPage(isolated: boolean): Promise<PageResult> {
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(join(tmpdir(), 'adam-mesh-web-'));
  const { server, url } = await serve(isolated);
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
    return (await page.evaluate(() => (window as unknown as { __result: Promise<unknown> }).__result)) as PageResult;
  } finally {
    await context.close();
    server.close();
    await rm(work, { recursive: true, force: true });
  }
}

test('in Chromium, a cross-origin-isolated page trains on Web Worker replicas, bit for bit', { skip, timeout: 120_000 }, async () => {
  const result = await runPage(true);
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.isolated, true);
  assert.equal(result.iterations, 5);
  assert.deepEqual(result.results, [{ rank: 0 }, { rank: 1 }]);
  assert.equal(result.kernelName, 'compiled');
  // After the 4 steps fed from the page: weights and state (JSON turns each number into the
  // shortest string that reads back as the same double, so equal strings are equal bits).
  assert.ok(result.mesh!.length > 0);
  assert.deepEqual(result.mesh, result.single);
});

test('in Chromium, a page without cross-origin isolation gets an error that says so', { skip, timeout: 120_000 }, async () => {
  const result = await runPage(false);
  assert.match(result.error ?? '', /shared memory needs a cross-origin-isolated page: serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
});
