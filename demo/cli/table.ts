/** The results table printed by `npm start`. */
import type { RunResult } from '../shared/train.js';

const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

/** A plain-text table, one row per setting, columns aligned. */
export function formatTable(results: readonly RunResult[]): string {
  const header = ['setting', 'final loss', 'test loss', 'train acc', 'test acc', 'ms/epoch', 'kernels'];
  const rows = results.map((r) => [
    r.label,
    r.trainLoss.toFixed(4),
    r.testLoss.toFixed(4),
    percent(r.trainAccuracy),
    percent(r.testAccuracy),
    r.msPerEpoch.toFixed(1),
    r.kernelName,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === 0 || c === cells.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
