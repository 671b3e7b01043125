// The package as npm packs it: CommonJS require() of both entry points (Node 20.19+), the clear
// message where require() cannot load ES modules, LICENSE and metadata, and source maps whose
// sources are shipped, so that stack traces point at existing files.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, posix } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'adam-pack-'));
const installed = join(work, 'node_modules', 'adam-optimizer');
let files: string[] = [];

before(() => {
  // What `npm pack` would publish (scripts skipped: `npm test` has just built dist/).
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  files = info.files.map((f) => f.path);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, info.filename), '-C', installed, '--strip-components=1']);
  // The optional peer dependencies of adam-optimizer/tfjs, as a user would have installed them.
  symlinkSync(join(root, 'node_modules', '@tensorflow'), join(work, 'node_modules', '@tensorflow'), 'dir');
});
after(() => rmSync(work, { recursive: true, force: true }));

const CHECK = `'use strict';
const core = require('adam-optimizer');
const tfjs = require('adam-optimizer/tfjs');
const v = new core.Variable(new Float32Array([1, 2]), { name: 'w' });
new core.AdamW({ learningRate: 0.1 }).applyGradients([[new Float32Array([1, 1]), v]]);
console.log(JSON.stringify({
  core: [typeof core.Adam, typeof core.AdamW, typeof core.schedules.CosineDecay],
  tfjs: [typeof tfjs.Adam, typeof tfjs.AdamW, typeof tfjs.registerAdam],
  value: Array.from(v.value),
}));
`;

test('require() of both entry points works from a .cjs file (require(esm), Node 20.19+)', () => {
  const script = join(work, 'check.cjs');
  writeFileSync(script, CHECK);
  const out = execFileSync(process.execPath, [script], { cwd: work, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop()!) as { core: string[]; tfjs: string[]; value: number[] };
  assert.deepEqual(result.core, ['function', 'function', 'function']);
  assert.deepEqual(result.tfjs, ['function', 'function', 'function']);
  assert.ok(Math.abs(result.value[0] - 0.8999) < 1e-3, `one AdamW step moved w: ${result.value}`);
});

test('where require() cannot load ES modules, it fails with a message saying how to import', () => {
  const script = join(work, 'check.cjs');
  writeFileSync(script, CHECK);
  const message = /adam-optimizer is an ES module package, and this Node.js version cannot load ES modules with require\(\)\. Use import \{ Adam \} from 'adam-optimizer'.*await import\('adam-optimizer'\).*Node\.js 20\.19\+/;
  // Node 20.19+ can switch require(esm) off, which is what older Node versions do.
  const old = spawnSync(process.execPath, ['--no-experimental-require-module', script], { cwd: work, encoding: 'utf8' });
  assert.notEqual(old.status, 0);
  assert.match(old.stderr, message);
  // The stub itself, run directly.
  const stub = spawnSync(process.execPath, [join(installed, 'cjs', 'esm-only.cjs')], { encoding: 'utf8' });
  assert.match(stub.stderr, message);
  assert.match(stub.stderr, /code: 'ERR_REQUIRE_ESM'/);
});

test('the modules have no top-level await (require(esm) refuses it)', () => {
  for (const file of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
    const source = readFileSync(join(installed, file), 'utf8');
    const topLevel = source.split('\n').filter((line) => /^(await |const .*= await |export .*await )/.test(line));
    assert.deepEqual(topLevel, [], file);
  }
});

test('LICENSE and the repository, homepage and bugs fields ship', () => {
  assert.ok(files.includes('LICENSE'));
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match((pkg.repository as { url: string }).url, /^git\+https:\/\/github\.com\/.+\.git$/);
  assert.match(pkg.homepage as string, /^https:\/\//);
  assert.match((pkg.bugs as { url: string }).url, /\/issues$/);
});

test('every source map\'s sources ship, and a stack trace from the package maps to them', () => {
  const maps = files.filter((f) => f.endsWith('.js.map'));
  assert.ok(maps.length > 10);
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const target = posix.normalize(posix.join(posix.dirname(map), source));
      assert.ok(files.includes(target), `${map} points at ${target}, which is not in the package`);
    }
  }
  const out = execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e',
    "import { Adam } from 'adam-optimizer'; try { new Adam({ beta1: 2 }); } catch (e) { console.log(e.stack); }"], { cwd: work, encoding: 'utf8' });
  const frame = /\((\/[^():]+\/node_modules\/adam-optimizer\/src\/[^():]+\.ts):\d+:\d+\)/.exec(out);
  assert.ok(frame !== null, `a frame in src/*.ts: ${out}`);
  assert.ok(existsSync(normalize(frame[1])), `${frame[1]} exists`);
});

test('"sideEffects" lists modules that ship; the README names them', () => {
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { sideEffects: string[] };
  const readme = readFileSync(join(installed, 'README.md'), 'utf8');
  assert.doesNotMatch(readme, /declares `"sideEffects": false`/);
  for (const entry of pkg.sideEffects) {
    assert.ok(files.includes(posix.normalize(entry)), `${entry} is in the package`);
    assert.ok(readme.includes(`\`${posix.normalize(entry)}\``), `the README names ${entry}`);
  }
});
