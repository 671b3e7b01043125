import { describe } from './describe.js';

/** Options removed from Keras or never supported, with what to do instead. */
const REFUSED_OPTIONS: Record<string, string> = {
  lr: "the legacy option 'lr' is not accepted; use 'learningRate'",
  decay: "the legacy option 'decay' is not accepted; use a learning-rate schedule such as schedules.InverseTimeDecay",
  gradientAggregator: "the legacy option 'gradientAggregator' is not accepted (gradients are applied as given)",
  gradient_aggregator: "the legacy option 'gradient_aggregator' is not accepted (gradients are applied as given)",
  gradientTransformers: "the legacy option 'gradientTransformers' is not accepted; use clipnorm, clipvalue or globalClipnorm",
  gradient_transformers: "the legacy option 'gradient_transformers' is not accepted; use clipnorm, clipvalue or globalClipnorm",
};

/** Throws on a refused legacy option or any key not in `known`, naming the key. */
export function checkOptionKeys(owner: string, options: object, known: readonly string[]): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${owner}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const refusal = REFUSED_OPTIONS[key];
    if (refusal !== undefined) throw new TypeError(`${owner}: ${refusal}`);
    throw new TypeError(`${owner}: unknown option '${key}' (known options: ${known.join(', ')})`);
  }
}
