/**
 * The browser page: trains the demo's Iris classifier with the shared training code, draws the
 * loss curves live, and leaves the numbers in `window.__demoResult` (read by test/web-demo.test.ts).
 *
 * URL parameters: ?epochs=N&seed=N&only=id,id (the same meaning as `npm start`'s options).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addChartRows, chartRows, createChartView } from '../shared/chart.js';
import { loadIris } from '../shared/iris.js';
import { selectSettings } from '../shared/settings.js';
import { resolveTrainOptions, trainSetting, useCpuBackend, warmUp, type RunResult } from '../shared/train.js';

/** What the page exposes when training ends. */
export interface DemoResult {
  readonly done: true;
  readonly seed?: number;
  readonly epochs?: number;
  readonly runs?: RunResult[];
  /** The kernels that ran this package's Adam steps ('compiled' or 'reference'). */
  readonly kernelName?: string;
  readonly backend?: string;
  readonly error?: string;
}

declare global {
  interface Window {
    __demoResult?: DemoResult;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const positive = (text: string | null, fallback: number, min: number) => {
  const n = Number(text);
  return text !== null && Number.isInteger(n) && n >= min ? n : fallback;
};
const defaults = resolveTrainOptions();
const epochsInput = $<HTMLInputElement>('epochs');
const seedInput = $<HTMLInputElement>('seed');
epochsInput.value = String(positive(params.get('epochs'), defaults.epochs, 1));
seedInput.value = String(positive(params.get('seed'), defaults.seed, 0));
const only = (params.get('only') ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function status(text: string): void {
  $('status').textContent = text;
}

function table(results: readonly RunResult[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rows = results.map((r) => `<tr><td>${r.label}</td><td>${r.trainLoss.toFixed(4)}</td><td>${r.testLoss.toFixed(4)}</td>`
    + `<td>${pct(r.trainAccuracy)}</td><td>${pct(r.testAccuracy)}</td><td>${r.msPerEpoch.toFixed(1)}</td><td>${r.kernelName}</td></tr>`);
  return `<table><thead><tr><th>setting</th><th>final loss</th><th>test loss</th><th>train acc</th><th>test acc</th>`
    + `<th>ms/epoch</th><th>kernels</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

let running = false;
let view: ReturnType<typeof createChartView> | undefined;

async function train(): Promise<void> {
  if (running) return;
  running = true;
  $<HTMLButtonElement>('start').disabled = true;
  window.__demoResult = undefined;
  $('results').innerHTML = '';
  const options = resolveTrainOptions({ epochs: Number(epochsInput.value), seed: Number(seedInput.value) });
  try {
    const settings = selectSettings(only);
    await useCpuBackend();
    const data = loadIris(options.seed);
    const chart = $('chart');
    chart.innerHTML = '';
    view?.finalize();
    const current = createChartView(settings.map((s) => s.label), `Iris, TensorFlow.js cpu backend: loss per epoch (seed ${options.seed})`, {
      renderer: 'svg',
      container: chart,
    });
    view = current;
    await current.runAsync();
    status('warming up (two untimed epochs per setting)…');
    await warmUp(settings, data, options);
    const results: RunResult[] = [];
    for (const setting of settings) {
      results.push(await trainSetting(setting, data, options, async ({ epoch, loss, testLoss }) => {
        status(`training ${setting.label}: epoch ${epoch + 1}/${options.epochs}, loss ${loss.toFixed(4)}`);
        await addChartRows(current, chartRows(setting.label, epoch, loss, testLoss, setting.id === 'tfjs'));
      }));
    }
    const ours = [...new Set(results.filter((r) => r.kernelName !== 'tfjs').map((r) => r.kernelName))];
    const kernelName = ours.length > 0 ? ours.join(' + ') : 'none';
    status(`done: ${settings.length} settings x ${options.epochs} epochs on the ${tf.getBackend()} backend; `
      + `adam-optimizer steps ran on the ${kernelName} kernels.`);
    $('results').innerHTML = table(results);
    window.__demoResult = { done: true, seed: options.seed, epochs: options.epochs, runs: results, kernelName, backend: tf.getBackend() };
  } catch (error) {
    const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
    status(`failed: ${message}`);
    window.__demoResult = { done: true, error: message };
  } finally {
    running = false;
    $<HTMLButtonElement>('start').disabled = false;
  }
}

$('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  void train();
});
void train();
