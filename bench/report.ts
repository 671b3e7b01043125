/**
 * The results as text: a plain table for stdout and the same as markdown for bench/results.md,
 * the issue's targets (bench/targets.ts: informational pass/fail marks) and the memory figures.
 */
import { evaluateTargets, type Target } from './targets.js';
import type { PeerResult, Workload } from './workloads.js';

export { evaluateTargets, type Target };

/** The peer every ratio is taken from: our compiled kernels reading gradient buffers. */
export const OURS = 'ours-buffer';

export interface Environment {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  readonly mode: string;
  readonly lines: readonly string[];
}

type Status = 'pass' | 'fail' | 'n/a';

function status(t: Target): Status {
  if (t.value === null || !Number.isFinite(t.value)) return 'n/a';
  return t.value >= t.goal ? 'pass' : 'fail';
}

const MARK: Record<Status, string> = { pass: '✔ PASS', fail: '✘ FAIL', 'n/a': '– n/a' };

function rateOf(results: readonly PeerResult[], workload: string, key: string): number | null {
  const r = results.find((x) => x.workload === workload && x.key === key);
  return r?.rate ? r.rate.median : null;
}

function fmtRate(r: PeerResult): string {
  if (!r.rate) return '—';
  const m = r.rate.median / 1e6;
  return m >= 100 ? m.toFixed(0) : m >= 10 ? m.toFixed(1) : m.toFixed(2);
}

function fmtBest(r: PeerResult): string {
  if (!r.rate || r.rate.reps < 2) return '';
  const m = r.rate.max / 1e6;
  return m >= 100 ? m.toFixed(0) : m >= 10 ? m.toFixed(1) : m.toFixed(2);
}

function fmtSpread(r: PeerResult): string {
  if (!r.rate || r.rate.reps < 2) return '';
  const spread = (r.rate.max - r.rate.min) / r.rate.median;
  return `±${((spread / 2) * 100).toFixed(0)}%`;
}

function fmtRatio(ours: number | null, r: PeerResult): string {
  if (!r.rate || ours === null || r.key === OURS) return r.key === OURS && r.rate ? '1.00×' : '';
  const x = ours / r.rate.median;
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
}

function fmtReps(r: PeerResult): string {
  if (!r.rate) return '';
  if (r.rate.stepsPerRep === 0) return '';
  return `${r.rate.reps}×${r.rate.stepsPerRep}`;
}

function noteOf(r: PeerResult): string {
  const parts: string[] = [];
  if (r.skipped) parts.push(`skipped: ${r.skipped}`);
  if (r.note) parts.push(r.note);
  if (r.adapterRatio !== undefined) parts.push(`adapter ratio ${r.adapterRatio.toFixed(2)}×`);
  return parts.join('; ');
}

const HEADERS = ['workload', 'peer', 'kernel', 'M params/s', 'best', 'spread', 'reps×steps', 'ours jit ÷ peer', 'notes'];

function tableRows(results: readonly PeerResult[], workloads: readonly Workload[]): string[][] {
  const rows: string[][] = [];
  for (const w of workloads) {
    const ours = rateOf(results, w.id, OURS);
    for (const r of results.filter((x) => x.workload === w.id)) {
      rows.push([`${w.id}: ${w.title}`, r.label, r.kernelName ?? '', fmtRate(r), fmtBest(r), fmtSpread(r), fmtReps(r), fmtRatio(ours, r), noteOf(r)]);
    }
  }
  return rows;
}

function memoryRows(results: readonly PeerResult[], workloads: readonly Workload[]): string[][] {
  const rows: string[][] = [];
  for (const w of workloads) {
    for (const r of results.filter((x) => x.workload === w.id && x.memory)) {
      const m = r.memory!;
      const ok = Math.abs(m.stateFloatsPerParam - m.expectedFloatsPerParam) < 0.01 ? '✔' : '✘';
      rows.push([
        `${w.id}: ${w.title}`, r.label,
        `${m.stateBytesPerParam.toFixed(2)} B`,
        `${m.stateFloatsPerParam.toFixed(2)} (expect ${m.expectedFloatsPerParam}) ${ok}`,
        `${(m.heapGrowthBytes / 1024).toFixed(1)} KiB`,
        `${(m.arrayBufferGrowthBytes / 1024).toFixed(1)} KiB`,
        `${m.steps} steps on ${m.params.toLocaleString('en-US')} params${m.gcExposed ? ', after gc()' : ', no gc exposed'}`,
      ]);
    }
  }
  return rows;
}

const MEMORY_HEADERS = ['workload', 'peer', 'state/param', 'floats/param', 'heap growth', 'ArrayBuffer growth', 'measured'];

function plainTable(headers: readonly string[], rows: readonly string[][], maxNote = 70): string {
  const cut = rows.map((r) => r.map((c, i) => (i === r.length - 1 && c.length > maxNote ? `${c.slice(0, maxNote - 1)}…` : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cut.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cut.map(line)].join('\n');
}

function markdownTable(headers: readonly string[], rows: readonly string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function targetRows(targets: readonly Target[]): string[][] {
  return targets.map((t) => [
    MARK[status(t)], t.name, t.value === null ? '—' : `${t.value.toFixed(2)}×`, `≥ ${t.goal}×`, t.detail,
    t.bound === undefined ? '' : `${t.bound.value === null ? '—' : `≈ ${t.bound.value.toFixed(2)}×`}: ${t.bound.how}`,
  ]);
}

const TARGET_HEADERS = ['status', 'target', 'measured', 'goal', 'how', 'what a floor leaves (estimate)'];

/** The machine line: what every figure of the run was measured on. */
export function machineLine(env: Environment): string {
  return `${env.cpu}, ${env.cores} cores, node ${env.node}, ${env.date} (${env.mode})`;
}

export function consoleReport(env: Environment, results: readonly PeerResult[], workloads: readonly Workload[], notes: readonly string[]): string {
  const targets = evaluateTargets(results, workloads);
  return [
    `Adam step throughput — ${machineLine(env)}`,
    ...env.lines.map((l) => `  ${l}`),
    '',
    plainTable(HEADERS, tableRows(results, workloads)),
    '',
    `Targets (informational; same threads and features on both sides) — ${machineLine(env)}:`,
    plainTable(TARGET_HEADERS, targetRows(targets), 200),
    '',
    'Memory (ours):',
    plainTable(MEMORY_HEADERS, memoryRows(results, workloads), 200),
    ...(notes.length > 0 ? ['', 'Notes:', ...notes.map((n) => `  - ${n}`)] : []),
  ].join('\n');
}

export function markdownReport(env: Environment, results: readonly PeerResult[], workloads: readonly Workload[], notes: readonly string[], method: readonly string[]): string {
  const targets = evaluateTargets(results, workloads);
  return [
    '# Adam step throughput',
    '',
    'Written by `npm run bench` (bench/run.ts); rerun to refresh. Parameters per second for one Adam step,',
    'median of the timed repetitions; "ours jit ÷ peer" is the rate of `new Adam({ jitCompile: true })` with',
    'gradients in `gradientBuffer()`s divided by the row\'s rate.',
    '',
    `- Date: ${env.date}`,
    `- CPU: ${env.cpu} (${env.cores} cores)`,
    `- Node: ${env.node} on ${env.platform}`,
    `- Mode: ${env.mode}`,
    ...env.lines.map((l) => `- ${l}`),
    '',
    '## Throughput',
    '',
    markdownTable(HEADERS, tableRows(results, workloads)),
    '',
    '## Targets (informational)',
    '',
    `Same threads and features on both sides; ${machineLine(env)}.`,
    '',
    markdownTable(TARGET_HEADERS, targetRows(targets)),
    '',
    '## Memory of our optimizer',
    '',
    markdownTable(MEMORY_HEADERS, memoryRows(results, workloads)),
    '',
    '## Method',
    '',
    ...method.map((m) => `- ${m}`),
    ...(notes.length > 0 ? ['', '## Notes', '', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
