/** `npm start`: train, show progress, print the table, write the chart. */
import * as tf from '@tensorflow/tfjs-core';
import cliProgress from 'cli-progress';
import { loadIris } from '../shared/iris.js';
import { selectSettings } from '../shared/settings.js';
import { resolveTrainOptions, trainSetting, warmUp, type RunResult } from '../shared/train.js';
import { parseCli, usage } from './args.js';
import { writeReport } from './report.js';
import { formatTable } from './table.js';

/** Runs the demo; returns the process exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  let cli;
  try {
    cli = parseCli(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage()}`);
    return 2;
  }
  if (cli.help) {
    console.log(usage());
    return 0;
  }
  let settings;
  try {
    settings = selectSettings(cli.only);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }

  // Production mode silences TensorFlow.js's "install tfjs-node" banner; the arithmetic is the same.
  tf.enableProdMode();
  const options = resolveTrainOptions({ epochs: cli.epochs, seed: cli.seed });
  const data = loadIris(options.seed);
  const steps = Math.ceil(data.trainX.length / options.batchSize);
  console.log(
    `Iris: ${data.trainX.length} training / ${data.testX.length} held-out flowers, 4 features, ${data.classes.length} species.`,
  );
  console.log(
    `Model: dense 4 -> ${options.hiddenUnits} (relu) -> ${data.classes.length} (softmax), TensorFlow.js ${tf.version_core} cpu backend.`,
  );
  console.log(
    `Training ${settings.length} settings x ${options.epochs} epochs (batch ${options.batchSize}, ${steps} steps/epoch, lr ${options.learningRate}, seed ${options.seed}).\n`,
  );

  const bar = new cliProgress.SingleBar(
    {
      format: 'training {bar} {value}/{total} epochs | {setting} | {duration}s elapsed, ETA {eta}s',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  await warmUp(settings, data, options);
  bar.start(settings.length * options.epochs, 0, { setting: settings[0].label });
  const results: RunResult[] = [];
  try {
    for (const setting of settings) {
      bar.update({ setting: setting.label });
      results.push(await trainSetting(setting, data, options, () => bar.increment()));
    }
  } finally {
    bar.stop();
  }

  console.log(`\n${formatTable(results)}\n`);
  console.log('final loss / train acc: on the training set after fit (with EMA: on the averaged weights);');
  console.log('test loss / test acc: on the held-out flowers; kernels: what ran the Adam step.\n');
  const files = await writeReport(cli.out, results, settings, options, 'tfjs');
  console.log(`Loss curves: ${files.svg}`);
  console.log(`Report:      ${files.html}`);
  console.log(`Numbers:     ${files.json}`);
  return 0;
}
