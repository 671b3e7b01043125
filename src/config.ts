import { describe } from './describe.js';
import { deserialize as deserializeSchedule } from './schedules/index.js';

/** Keras config keys (snake_case) and the option each becomes. */
const OPTION_OF_KEY: Record<string, string> = {
  name: 'name',
  learning_rate: 'learningRate',
  weight_decay: 'weightDecay',
  clipnorm: 'clipnorm',
  clipvalue: 'clipvalue',
  global_clipnorm: 'globalClipnorm',
  use_ema: 'useEma',
  ema_momentum: 'emaMomentum',
  ema_overwrite_frequency: 'emaOverwriteFrequency',
  jit_compile: 'jitCompile',
  beta_1: 'beta1',
  beta_2: 'beta2',
  epsilon: 'epsilon',
  amsgrad: 'amsgrad',
  adaptive_epsilon: 'adaptiveEpsilon',
  mesh: 'mesh',
};

/** Keys Keras writes that carry no option here; accepted when they hold their "off" value. */
const INERT_KEYS: Record<string, (value: unknown) => boolean> = {
  is_legacy_optimizer: (value) => value === false || value === null,
  isLegacyOptimizer: (value) => value === false || value === null,
  loss_scale_factor: (value) => value === null,
  lossScaleFactor: (value) => value === null,
  gradient_accumulation_steps: (value) => value === null,
  gradientAccumulationSteps: (value) => value === null,
  // TensorFlow.js adds this while deserializing.
  customObjects: () => true,
};

/**
 * Turns a Keras optimizer config (snake_case as Keras writes it, or camelCase as TensorFlow.js
 * passes it) into constructor options. A serialized schedule becomes a schedule; unknown keys are
 * passed through so the constructor refuses them by name.
 */
export function configToOptions(config: Record<string, unknown>): Record<string, unknown> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`fromConfig expects a config object, got ${describe(config)}`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const inert = INERT_KEYS[key];
    if (inert !== undefined) {
      if (!inert(value)) throw new TypeError(`fromConfig: '${key}' = ${describe(value)} is not supported`);
      continue;
    }
    const option = OPTION_OF_KEY[key] ?? key;
    if (option in options) throw new TypeError(`fromConfig: '${key}' is given twice (as snake_case and camelCase)`);
    options[option] = value;
  }
  const rate = options.learningRate;
  if (rate !== null && typeof rate === 'object') {
    options.learningRate = deserializeSchedule(rate as Parameters<typeof deserializeSchedule>[0]);
  }
  // Keras writes null for unset options; the constructor reads null as "off" for these, and as
  // "default" for the rest.
  for (const key of ['name', 'emaMomentum', 'jitCompile', 'useEma', 'amsgrad', 'adaptiveEpsilon', 'epsilon', 'beta1', 'beta2', 'learningRate']) {
    if (options[key] === null) delete options[key];
  }
  return options;
}
