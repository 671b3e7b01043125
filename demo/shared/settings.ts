/**
 * The optimizer settings the demo compares: this package's Adam (the TensorFlow.js adapter)
 * under several options, and TensorFlow.js's own `tf.train.adam` as the baseline.
 */
import * as tf from '@tensorflow/tfjs-core';
import { schedules } from '../../src/index.js';
import { Adam } from '../../src/tfjs/index.js';
import { BASELINE_LABEL } from './chart.js';

/** What a setting needs to know to build its optimizer. */
export interface SettingContext {
  /** The base learning rate every setting starts from. */
  readonly learningRate: number;
  /** Optimizer steps (batches) per epoch. */
  readonly stepsPerEpoch: number;
  readonly epochs: number;
}

/** One optimizer configuration of the comparison. */
export interface DemoSetting {
  /** Short identifier, used on the command line and in URLs. */
  readonly id: string;
  /** The series name in the table and the chart. */
  readonly label: string;
  /** The options in words. */
  readonly description: string;
  /** A fresh optimizer for one training run. */
  create(context: SettingContext): tf.Optimizer;
}

/** Every setting, baseline first. */
export const SETTINGS: readonly DemoSetting[] = [
  {
    id: 'tfjs',
    label: BASELINE_LABEL,
    description: "TensorFlow.js's own Adam (the baseline): tf.train.adam(learningRate)",
    create: ({ learningRate }) => tf.train.adam(learningRate),
  },
  {
    id: 'defaults',
    label: 'Adam',
    description: 'new Adam({ learningRate }): the Keras defaults otherwise',
    create: ({ learningRate }) => new Adam({ learningRate }),
  },
  {
    id: 'amsgrad',
    label: 'Adam amsgrad',
    description: 'new Adam({ learningRate, amsgrad: true })',
    create: ({ learningRate }) => new Adam({ learningRate, amsgrad: true }),
  },
  {
    id: 'weight-decay',
    label: 'AdamW no-bias',
    description: "new Adam({ learningRate, weightDecay: 0.05 }) with excludeFromWeightDecay({ varNames: ['bias'] })",
    create: ({ learningRate }) => {
      const optimizer = new Adam({ learningRate, weightDecay: 0.05 });
      optimizer.excludeFromWeightDecay({ varNames: ['bias'] });
      return optimizer;
    },
  },
  {
    id: 'clipnorm',
    label: 'Adam globalClipnorm',
    description: 'new Adam({ learningRate, globalClipnorm: 0.5 })',
    create: ({ learningRate }) => new Adam({ learningRate, globalClipnorm: 0.5 }),
  },
  {
    id: 'ema',
    label: 'Adam EMA',
    description: 'new Adam({ learningRate, useEma: true, emaMomentum: 0.99 }); the average replaces the weights when fit ends',
    create: ({ learningRate }) => new Adam({ learningRate, useEma: true, emaMomentum: 0.99 }),
  },
  {
    id: 'cosine',
    label: 'Adam cosine+warmup',
    description: 'learningRate: new schedules.CosineDecay({ initialLearningRate: lr / 10, warmupTarget: 2 lr, warmupSteps: 5 epochs, decaySteps: the rest, alpha: 0.05 })',
    create: ({ learningRate, stepsPerEpoch, epochs }) => {
      const total = stepsPerEpoch * epochs;
      const warmupSteps = Math.min(5 * stepsPerEpoch, Math.floor(total / 2));
      return new Adam({
        learningRate: new schedules.CosineDecay({
          initialLearningRate: learningRate / 10,
          warmupTarget: 2 * learningRate,
          warmupSteps,
          decaySteps: Math.max(1, total - warmupSteps),
          alpha: 0.05,
        }),
      });
    },
  },
];

/** The settings named by `ids` (all of them when `ids` is empty), in the order of {@link SETTINGS}. */
export function selectSettings(ids: readonly string[]): DemoSetting[] {
  if (ids.length === 0) return [...SETTINGS];
  const unknown = ids.filter((id) => !SETTINGS.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new Error(`unknown setting(s) ${unknown.join(', ')}; choose from ${SETTINGS.map((s) => s.id).join(', ')}`);
  }
  return SETTINGS.filter((s) => ids.includes(s.id));
}
