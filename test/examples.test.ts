// The examples and the `npm start` demo, run the way a user runs them: as child processes.
// The examples import the package by name ('adam-optimizer'), which resolves to dist/ (npm test builds first).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx file ...args` in the repository root. */
function runTs(file: string, args: readonly string[] = [], timeout = 120_000): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file, ...args],
      { cwd: root, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function expectSuccess(outcome: Outcome, what: string): string {
  assert.equal(outcome.code, 0, `${what} exited with ${outcome.code}\n--- stdout\n${outcome.stdout}\n--- stderr\n${outcome.stderr}`);
  return outcome.stdout;
}

/** Every number after `label` in the text, in order. */
function numbersAfter(text: string, label: string): number[] {
  const pattern = new RegExp(`${label}\\s+(-?[\\d.]+(?:e[-+]?\\d+)?)`, 'gi');
  return [...text.matchAll(pattern)].map((m) => Number(m[1]));
}

test('examples/standalone.ts fits a cubic to sin(x): the loss falls to the least-squares optimum', async () => {
  const out = expectSuccess(await runTs('examples/standalone.ts'), 'standalone');
  const losses = numbersAfter(out, 'loss');
  assert.ok(losses.length >= 5, out);
  assert.ok(losses[0] > 0.4, `first loss ${losses[0]}`);
  const final = losses[losses.length - 1];
  assert.ok(final < 0.0047, `final loss ${final} should be near 0.004574 (the best cubic)`);
  assert.match(out, /sin\(x\) ~ /);
});

test('examples/mesh-standalone.ts trains on 2 replicas with a gradient module of its own', async () => {
  const out = expectSuccess(await runTs('examples/mesh-standalone.ts'), 'mesh-standalone');
  const losses = numbersAfter(out, 'loss');
  assert.ok(losses.length === 4, out);
  assert.ok(losses[3] < 1e-3 && losses[3] < losses[0] / 100, `losses ${losses.join(', ')}`);
  const learned = /y = (-?[\d.]+) x0 \+ (-?[\d.]+) x1 \+ (-?[\d.]+) x2 \+ (-?[\d.]+)/.exec(out);
  assert.ok(learned !== null, out);
  [3, -2, 0.5, 1].forEach((truth, i) => assert.ok(Math.abs(Number(learned[i + 1]) - truth) < 0.02, `coefficient ${i}: ${learned[i + 1]}`));
  assert.match(out, /shares \(elements of state per replica\): 3, 1/);
});

test('examples/tfjs-model.ts trains a TensorFlow.js model compiled with this Adam', async () => {
  const out = expectSuccess(await runTs('examples/tfjs-model.ts'), 'tfjs-model');
  const losses = numbersAfter(out, 'loss');
  assert.ok(losses.length >= 2, out);
  assert.ok(losses[losses.length - 1] < losses[0] / 2, `loss should at least halve: ${losses.join(', ')}`);
  const accuracy = numbersAfter(out, 'accuracy');
  assert.ok(accuracy.length > 0 && accuracy[accuracy.length - 1] >= 0.9, out);
});

test('examples/save-and-resume.ts: the resumed run equals the uninterrupted run', async () => {
  const out = expectSuccess(await runTs('examples/save-and-resume.ts'), 'save-and-resume');
  assert.match(out, /largest difference: 0\n/);
  assert.match(out, /identical/);
});

test('examples/tfjs-save-and-resume.ts: a model saved with its optimizer, loaded and resumed equals the uninterrupted run', async () => {
  const out = expectSuccess(await runTs('examples/tfjs-save-and-resume.ts'), 'tfjs-save-and-resume');
  assert.match(out, /optimizer_config: Adam, amsgrad true, learning_rate CosineDecay/);
  assert.match(out, /loaded: Adam from adam-optimizer/);
  assert.match(out, /largest weight difference: 0\n/);
});

test('npm start: --help lists the options; a bad option exits 2', async () => {
  const help = expectSuccess(await runTs('demo/cli/main.ts', ['--help']), 'npm start --help');
  for (const option of ['--epochs', '--seed', '--out', '--help']) assert.ok(help.includes(option), `--help lists ${option}`);
  const bad = await runTs('demo/cli/main.ts', ['--epochs', 'many']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--epochs expects a whole number/);
});

test('npm start: trains every setting, prints the table and writes the chart', async () => {
  const out = await mkdtemp(join(tmpdir(), 'adam-demo-'));
  try {
    const stdout = expectSuccess(await runTs('demo/cli/main.ts', ['--epochs', '3', '--seed', '5', '--out', out]), 'npm start');
    const { SETTINGS } = await import('../demo/shared/settings.js');
    assert.match(stdout, /setting\s+final loss\s+test loss\s+train acc\s+test acc\s+ms\/epoch\s+kernels/);
    for (const setting of SETTINGS) {
      const row = stdout.split('\n').find((line) => line.startsWith(setting.label) && /^\s{2,}\d/.test(line.slice(setting.label.length)));
      assert.ok(row !== undefined, `a table row for ${setting.label}\n${stdout}`);
      assert.match(row, /\d\.\d{4}\s+\d\.\d{4}\s+\d+\.\d %\s+\d+\.\d %\s+\d+\.\d/);
    }
    const svgPath = join(out, 'loss-curves.svg');
    assert.ok(stdout.includes(svgPath), `the chart's path is printed\n${stdout}`);
    const svg = await readFile(svgPath, 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\s*$/);
    assert.ok((svg.match(/<path/g) ?? []).length >= SETTINGS.length * 2, 'one line per setting and panel');
    for (const setting of SETTINGS) assert.ok(svg.includes(`>${setting.label}<`), `the legend names ${setting.label}`);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    assert.match(html, /<svg /);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { results: { losses: number[] }[] };
    assert.equal(json.results.length, SETTINGS.length);
    for (const r of json.results) assert.equal(r.losses.length, 3);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
