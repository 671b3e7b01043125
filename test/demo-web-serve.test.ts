// `npm run demo:web` (vite demo/web) prints the address to open, and the page is served there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('vite demo/web prints its address, and serves the page there', { timeout: 60_000 }, async () => {
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const child = spawn(process.execPath, [vite, 'demo/web', '--port', '0', '--host', '127.0.0.1'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no address printed: ${out}`)), 45_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /Local:\s+(http:\/\/\S+)/.exec(out.replace(/\x1b\[[0-9;]*m/g, ''));
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
      child.on('exit', (code) => reject(new Error(`vite exited (${code}): ${out}`)));
    });
    const response = await fetch(address);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /adam-optimizer in the browser/);
  } finally {
    child.kill('SIGTERM');
  }
});
