// Headless Chromium for the GPU tests and the browser benchmark: bundles a page entry with esbuild,
// serves it on 127.0.0.1, and opens it with WebGPU enabled (WebGL 2 needs no flag).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** False when Chromium is installed, else the reason to skip. */
export const chromiumMissing: false | string = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`;

/** A page open on the bundled `entry`, and how to close everything. */
export interface OpenPage {
  readonly page: Page;
  readonly pageErrors: string[];
  readonly console: string[];
  close(): Promise<void>;
}

/** Bundles `entry` (a TypeScript module), serves it, and opens it in headless Chromium. */
export async function openPage(entry: string): Promise<OpenPage> {
  const { build } = await import('esbuild');
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(join(tmpdir(), 'adam-gpu-'));
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(work, 'page.js'), logLevel: 'error' });
  await writeFile(join(work, 'index.html'), '<!doctype html><meta charset="utf-8"><title>gpu</title><script type="module" src="page.js"></script>');
  const server: Server = createServer((request, response) => {
    const name = request.url === '/page.js' ? 'page.js' : 'index.html';
    readFile(join(work, name)).then(
      (body) => response.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    // WebGPU on SwiftShader; not combined with --use-angle=..., which loses the device.
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  const consoleLines: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => (window as unknown as { gpuReady?: boolean }).gpuReady === true, undefined, { timeout: 60_000 });
  return {
    page,
    pageErrors,
    console: consoleLines,
    close: async () => {
      await context.close();
      server.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
