// In Chromium, on a page without cross-origin isolation (ordinary WebAssembly memory): the first
// step with a 4M-float gradient buffer works; and the Content-Security-Policy the compiled kernels
// need ('wasm-unsafe-eval'): without it the reference kernels run, with one console notice.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import type { BrowserChecks } from './fixtures/browser-page/main.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = existsSync(CHROMIUM) ? false : 'Chromium not installed: apt-get install chromium';
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

let work = '';
let site = '';
let context: BrowserContext | undefined;

/** Serves `site` on 127.0.0.1 with `headers` on every response. */
async function serve(headers: Record<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(site, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(site + sep)) return void response.writeHead(403).end();
    readFile(file).then(
      (body) => response.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function runPage(headers: Record<string, string>): Promise<{ checks: BrowserChecks; console: string[] }> {
  const { server, url } = await serve(headers);
  const page = await context!.newPage();
  const messages: string[] = [];
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__checks?.done === true, undefined, { timeout: 120_000, polling: 100 });
    return { checks: (await page.evaluate(() => window.__checks)) as BrowserChecks, console: messages };
  } finally {
    await page.close();
    server.close();
  }
}

before(async () => {
  if (skip) return;
  const { build } = await import('vite');
  const { chromium } = await import('playwright-core');
  work = await mkdtemp(join(tmpdir(), 'adam-browser-'));
  site = join(work, 'site');
  const pageRoot = join(root, 'test', 'fixtures', 'browser-page');
  await build({ root: pageRoot, configFile: false, base: './', logLevel: 'error', build: { outDir: site, emptyOutDir: true, target: 'es2022', minify: false } });
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await context?.close();
  if (work !== '') await rm(work, { recursive: true, force: true });
});

function assertBigStep(checks: BrowserChecks): void {
  assert.equal(checks.error, undefined, checks.error);
  assert.deepEqual(checks.bigStep && { ...checks.bigStep, first: Math.round(checks.bigStep.first * 1e5) / 1e5, last: Math.round(checks.bigStep.last * 1e5) / 1e5 }, { first: 0.9, last: 0.9, iterations: 1 });
}

test('no cross-origin isolation: compiled kernels on an ordinary memory, the first big gradient-buffer step works', { skip, timeout: 180_000 }, async (t) => {
  const { checks, console: messages } = await runPage({});
  assert.equal(checks.crossOriginIsolated, false);
  assertBigStep(checks);
  assert.equal(checks.kernelName, 'compiled');
  assert.deepEqual(checks.warnings, []);
  t.diagnostic(`1M floats, ms per step: compiled ${checks.msPerStep?.default.toFixed(2)}, reference ${checks.msPerStep?.reference.toFixed(2)}; console: ${messages.length}`);
});

test('Content-Security-Policy: without \'wasm-unsafe-eval\' the reference kernels run, with one notice; with it, the compiled ones', { skip, timeout: 180_000 }, async (t) => {
  const strict = await runPage({ 'content-security-policy': "default-src 'self'; script-src 'self'" });
  assertBigStep(strict.checks);
  assert.equal(strict.checks.kernelName, 'reference');
  assert.equal(strict.checks.warnings?.length, 1, JSON.stringify(strict.checks.warnings));
  assert.match(strict.checks.warnings![0], /adam-optimizer: compiled kernels unavailable \(.*\); using the reference kernels\./);
  const allowed = await runPage({ 'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'" });
  assertBigStep(allowed.checks);
  assert.equal(allowed.checks.kernelName, 'compiled');
  assert.deepEqual(allowed.checks.warnings, []);
  const [ref, compiled] = [strict.checks.msPerStep!.default, allowed.checks.msPerStep!.default];
  t.diagnostic(`1M floats, ms per step: without wasm-unsafe-eval ${ref.toFixed(2)} (reference), with it ${compiled.toFixed(2)} (compiled): ${(ref / compiled).toFixed(1)}x; notice: ${strict.checks.warnings![0]}`);
});
