// The browser page (demo/web): built with Vite, served on 127.0.0.1, driven in headless Chromium.
// It must train, its loss must fall, its numbers must equal a Node run of the same shared code
// and seed, and this package's Adam must have run on the compiled (WebAssembly SIMD) kernels.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DemoResult } from '../demo/web/main.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EPOCHS = 8;
const SEED = 7;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** A static file server for `dir` on 127.0.0.1 and a free port. */
async function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(dir + sep)) {
      response.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

const skip = existsSync(CHROMIUM) ? false : 'Chromium not installed: apt-get install chromium';

test('the browser demo trains Iris on the compiled kernels, and its losses equal a Node run', { skip, timeout: 300_000 }, async (t) => {
  const { build } = await import('vite');
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(join(tmpdir(), 'adam-web-demo-'));
  const outDir = join(work, 'site');
  const webRoot = join(root, 'demo', 'web');
  let server: Server | undefined;
  try {
    await build({
      root: webRoot,
      configFile: join(webRoot, 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir, emptyOutDir: true, minify: false, sourcemap: false },
    });
    assert.ok(existsSync(join(outDir, 'index.html')), 'vite wrote index.html');

    const served = await serve(outDir);
    server = served.server;
    const context = await chromium.launchPersistentContext(join(work, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      ],
    });
    let result: DemoResult;
    const pageErrors: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${served.url}?epochs=${EPOCHS}&seed=${SEED}`);
      await page.waitForFunction(() => window.__demoResult?.done === true, undefined, { timeout: 240_000, polling: 250 });
      result = (await page.evaluate(() => window.__demoResult)) as DemoResult;
      const lines = await page.locator('#chart svg path').count();
      assert.ok(lines > 0, 'the live chart drew lines');
    } finally {
      await context.close();
    }
    assert.deepEqual(pageErrors, []);
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.epochs, EPOCHS);
    assert.equal(result.seed, SEED);
    assert.equal(result.backend, 'cpu');
    assert.equal(result.kernelName, 'compiled', 'the Adam steps ran on the compiled WebAssembly SIMD kernels');
    const runs = result.runs ?? [];

    // The same shared training code and seed, in this Node process.
    const tf = await import('@tensorflow/tfjs-core');
    tf.enableProdMode(); // no "install tfjs-node" banner; the same arithmetic
    const { SETTINGS } = await import('../demo/shared/settings.js');
    const { trainAll } = await import('../demo/shared/train.js');
    const node = await trainAll(SETTINGS, { epochs: EPOCHS, seed: SEED });
    assert.deepEqual(runs.map((r) => r.id), node.map((r) => r.id));
    let largest = 0;
    for (const [i, browser] of runs.entries()) {
      const expected = node[i];
      assert.equal(browser.losses.length, EPOCHS);
      assert.ok(browser.losses[EPOCHS - 1] < 0.8 * browser.losses[0], `${browser.label}: loss falls (${browser.losses.join(', ')})`);
      if (browser.id !== 'tfjs') assert.equal(browser.kernelName, 'compiled', `${browser.label} ran on the compiled kernels`);
      const pairs: [string, number[], number[]][] = [
        ['losses', browser.losses, expected.losses],
        ['testLosses', browser.testLosses, expected.testLosses],
        ['final', [browser.trainLoss, browser.testLoss, browser.trainAccuracy, browser.testAccuracy],
          [expected.trainLoss, expected.testLoss, expected.trainAccuracy, expected.testAccuracy]],
      ];
      for (const [what, actual, wanted] of pairs) {
        actual.forEach((a, k) => {
          const e = wanted[k];
          largest = Math.max(largest, Math.abs(a - e) / Math.max(Math.abs(e), 1e-30));
          assert.ok(Math.abs(a - e) <= 1e-4 * Math.abs(e) + 1e-7, `${browser.label} ${what}[${k}]: browser ${a}, Node ${e}`);
        });
      }
    }
    t.diagnostic(`${runs.length} settings x ${EPOCHS} epochs; largest relative difference browser vs Node: ${largest}`);
  } finally {
    server?.close();
    await rm(work, { recursive: true, force: true });
  }
});
