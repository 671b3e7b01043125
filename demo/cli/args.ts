/** Command-line options of `npm start`. */
import { parseArgs } from 'node:util';
import { SETTINGS } from '../shared/settings.js';

export interface CliOptions {
  readonly epochs: number;
  readonly seed: number;
  readonly out: string;
  /** Setting ids to run; empty means all. */
  readonly only: string[];
  readonly help: boolean;
}

export const DEFAULTS = { epochs: 100, seed: 42, out: './demo-output' } as const;

export function usage(): string {
  return [
    'Usage: npm start -- [options]',
    '',
    'Trains a small classifier on the Iris data set with TensorFlow.js (cpu backend), once per',
    "optimizer setting (this package's Adam under several options, and tf.train.adam as the",
    'baseline), prints a table of the results and writes a loss-curve chart.',
    '',
    'Options:',
    `  --epochs N     passes over the training set per setting (default ${DEFAULTS.epochs})`,
    `  --seed N       seed of the split, the data order and the initial weights (default ${DEFAULTS.seed})`,
    `  --out DIR      folder for loss-curves.svg, report.html and results.json (default ${DEFAULTS.out})`,
    `  --only IDS     comma-separated settings to run (default: all): ${SETTINGS.map((s) => s.id).join(', ')}`,
    '  -h, --help     show this help',
  ].join('\n');
}

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text.trim())) throw new Error(`--${name} expects a whole number, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
  return value;
}

/** Parses argv (without node and the script); throws an Error with a readable message on bad input. */
export function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      epochs: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const only = (values.only ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return {
    epochs: integer('epochs', values.epochs, DEFAULTS.epochs, 1),
    seed: integer('seed', values.seed, DEFAULTS.seed, 0),
    out: values.out ?? DEFAULTS.out,
    only,
    help: values.help ?? false,
  };
}
