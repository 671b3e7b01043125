/**
 * The loss-curve chart, as a Vega-Lite spec compiled to a Vega view: rendered to SVG headless in
 * Node (`npm start`) and live, epoch by epoch, in the browser page. The data arrive through the
 * named data set {@link CHART_DATA}, so both paths insert rows the same way.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The name of the chart's data set. */
export const CHART_DATA = 'points';

/** One point of one curve. */
export interface ChartRow {
  readonly setting: string;
  readonly optimizer: string;
  readonly split: 'training' | 'held-out';
  readonly epoch: number;
  readonly loss: number;
}

/** The label of the baseline setting, TensorFlow.js's own Adam. */
export const BASELINE_LABEL = 'tf.train.adam';
const BASELINE_OPTIMIZER = 'tf.train.adam (tfjs)';

/** The two rows (training, held-out) of one epoch; the baseline's series is dashed. */
export function chartRows(label: string, epoch: number, loss: number, testLoss: number, baseline: boolean): ChartRow[] {
  const optimizer = baseline ? BASELINE_OPTIMIZER : 'adam-optimizer';
  return [
    { setting: label, optimizer, split: 'training', epoch: epoch + 1, loss },
    { setting: label, optimizer, split: 'held-out', epoch: epoch + 1, loss: testLoss },
  ];
}

/** Two panels (training loss per epoch, held-out loss per epoch), one coloured line per setting. */
export function lossChartSpec(labels: readonly string[], title: string): TopLevelSpec {
  // The baseline (the first label when it is tf.train.adam) is black and dashed; the rest take tableau10 colours.
  const palette = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#b279a2', '#eeca3b', '#ff9da6', '#9d755d', '#bab0ac'];
  let next = 0;
  const colors = labels.map((label) => (label === BASELINE_LABEL ? '#222222' : palette[next++ % palette.length]));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: `solid: this package's Adam (adam-optimizer/tfjs) under each setting; dashed black: TensorFlow.js's own ${BASELINE_LABEL}`,
      anchor: 'start',
      fontSize: 15,
      subtitleFontSize: 12,
    },
    data: { name: CHART_DATA },
    background: 'white',
    facet: {
      column: {
        field: 'split',
        type: 'nominal',
        sort: ['training', 'held-out'],
        title: null,
        header: { labelExpr: "datum.value === 'training' ? 'Training loss (mean over each epoch)' : 'Held-out loss (end of each epoch)'", labelFontSize: 13 },
      },
    },
    spec: {
      width: 380,
      height: 300,
      // The baseline is drawn last, on top, so that where the curves coincide its dashes show.
      layer: [
        { mark: { type: 'line', strokeWidth: 1.8, clip: true }, transform: [{ filter: `datum.optimizer !== '${BASELINE_OPTIMIZER}'` }] },
        { mark: { type: 'line', strokeWidth: 1.8, clip: true }, transform: [{ filter: `datum.optimizer === '${BASELINE_OPTIMIZER}'` }] },
      ],
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domainMin: 1, nice: false } },
        y: {
          field: 'loss', type: 'quantitative', title: 'categorical cross-entropy (log scale)',
          scale: { type: 'log', nice: false, padding: 4 }, axis: { tickCount: 8 },
        },
        color: { field: 'setting', type: 'nominal', title: 'setting', scale: { domain: [...labels], range: colors } },
        strokeDash: {
          field: 'optimizer', type: 'nominal', legend: null,
          scale: { domain: ['adam-optimizer', BASELINE_OPTIMIZER], range: [[1, 0], [6, 3]] },
        },
        order: { field: 'epoch', type: 'quantitative' },
      },
    },
    resolve: { scale: { y: 'shared' } },
    config: { font: 'sans-serif', legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 220 } },
  };
}

/** A Vega view of the chart. `renderer: 'none'` renders nothing until `toSVG()` (Node). */
export function createChartView(
  labels: readonly string[],
  title: string,
  options: { renderer?: 'svg' | 'canvas' | 'none'; container?: Element | string } = {},
): vega.View {
  const runtime = vega.parse(compile(lossChartSpec(labels, title)).spec);
  const view = new vega.View(runtime, { renderer: options.renderer ?? 'none', container: options.container, hover: false });
  return view;
}

/** Appends rows to the chart's data set and re-renders. */
export async function addChartRows(view: vega.View, rows: readonly ChartRow[]): Promise<void> {
  view.insert(CHART_DATA, rows as ChartRow[]);
  // The facet's size depends on the data (no data: no panels), so lay the view out again.
  await view.resize().runAsync();
}

/** Renders every row into an SVG document (headless). */
export async function renderChartSvg(labels: readonly string[], title: string, rows: readonly ChartRow[]): Promise<string> {
  const view = createChartView(labels, title);
  try {
    await addChartRows(view, rows);
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
