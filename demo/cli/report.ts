/** What `npm start` writes to its output folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chartRows, renderChartSvg, type ChartRow } from '../shared/chart.js';
import type { DemoSetting } from '../shared/settings.js';
import type { ResolvedTrainOptions, RunResult } from '../shared/train.js';
import { formatTable } from './table.js';

/** Paths of the files written. */
export interface ReportFiles {
  readonly svg: string;
  readonly html: string;
  readonly json: string;
}

export function chartTitle(options: ResolvedTrainOptions): string {
  return `Iris classifier, TensorFlow.js cpu backend: loss per epoch (seed ${options.seed})`;
}

function rowsOf(results: readonly RunResult[], baselineId: string): ChartRow[] {
  return results.flatMap((r) =>
    r.losses.flatMap((loss, epoch) => chartRows(r.label, epoch, loss, r.testLosses[epoch], r.id === baselineId)),
  );
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function html(svg: string, results: readonly RunResult[], settings: readonly DemoSetting[], options: ResolvedTrainOptions): string {
  const described = settings.map((s) => `<li><b>${escapeHtml(s.label)}</b>: <code>${escapeHtml(s.description)}</code></li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>adam-optimizer demo: Iris loss curves</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1000px; }
  pre { background: #f6f6f6; padding: 1rem; overflow-x: auto; }
  code { font-size: 0.9em; }
</style>
</head>
<body>
<h1>adam-optimizer on Iris</h1>
<p>${options.epochs} epochs, batch size ${options.batchSize}, base learning rate ${options.learningRate},
hidden layer of ${options.hiddenUnits} units, seed ${options.seed}. Produced by <code>npm start</code>.</p>
${svg}
<h2>Results</h2>
<pre>${escapeHtml(formatTable(results))}</pre>
<h2>Settings</h2>
<ul>
${described}
</ul>
</body>
</html>
`;
}

/** Writes loss-curves.svg, report.html (self-contained) and results.json into `outDir`. */
export async function writeReport(
  outDir: string,
  results: readonly RunResult[],
  settings: readonly DemoSetting[],
  options: ResolvedTrainOptions,
  baselineId: string,
): Promise<ReportFiles> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const svg = await renderChartSvg(settings.map((s) => s.label), chartTitle(options), rowsOf(results, baselineId));
  const files: ReportFiles = {
    svg: join(dir, 'loss-curves.svg'),
    html: join(dir, 'report.html'),
    json: join(dir, 'results.json'),
  };
  await writeFile(files.svg, svg);
  await writeFile(files.html, html(svg, results, settings, options));
  await writeFile(files.json, `${JSON.stringify({ options, results }, null, 2)}\n`);
  return files;
}
