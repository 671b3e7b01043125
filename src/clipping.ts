/** Per-tensor clipping (`clipnorm`): the factor that brings a gradient's L2 norm down to `clipnorm`. */
export function clipnormScale(norm: number, clipnorm: number): number {
  return clipnorm / Math.max(norm, clipnorm);
}

/**
 * Global clipping (`global_clipnorm`): one factor for every gradient. A non-finite global norm
 * gives NaN, so every gradient becomes NaN, as the reference's clip_by_global_norm does.
 */
export function globalClipnormScale(globalNorm: number, globalClipnorm: number): number {
  if (!Number.isFinite(globalNorm)) return NaN;
  return globalClipnorm / Math.max(globalNorm, globalClipnorm);
}

/** Value clipping (`clipvalue`): clamps one element to [-clipvalue, clipvalue]. */
export function clipByValue(x: number, clipvalue: number): number {
  return Math.min(Math.max(x, -clipvalue), clipvalue);
}
