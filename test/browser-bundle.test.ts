// Both entry points must bundle for the web: a browser user's esbuild (or webpack) build fails on a
// Node built-in that the package's import graph names literally, even one only Node code reaches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';

for (const entry of ['src/index.ts', 'src/tfjs/index.ts']) {
  test(`${entry} bundles for the browser with no Node built-in in its import graph`, async () => {
    const result = await build({
      entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'browser',
      external: ['@tensorflow/*'], logLevel: 'silent', metafile: true,
    });
    assert.deepEqual(result.errors, []);
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.some((f) => f.endsWith('optimizer.ts')), 'the bundle holds the optimizer');
    assert.deepEqual(inputs.filter((f) => f.startsWith('node:')), []);
  });
}
