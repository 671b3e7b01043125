import type { Dtype } from '../../storage.js';
import type { StepScalars } from '../kernel.js';
import type { Arena } from './arena.js';

/** Flag bits shared with assembly/adam.ts. */
export const AMSGRAD = 1;
export const EMA = 2;
export const OVERWRITE = 4;
export const CLIP = 8;

/** Bytes of a scalar block (assembly/adam.ts: SCALARS). */
export const SCALAR_BLOCK_BYTES = 64;

/** The per-call flag bits; per-variable masks then drop those a variable lacks the slot for. */
export function stepFlags(s: StepScalars): number {
  let flags = 0;
  if (s.amsgrad) flags |= AMSGRAD;
  if (s.emaMomentum !== null) flags |= s.emaOverwrite ? EMA | OVERWRITE : EMA;
  if (s.clipValue > 0) flags |= CLIP;
  return flags;
}

/**
 * Writes a step's scalars at byte offset `ptr` as values of the variables' dtype, in the order
 * assembly/adam.ts reads them. Float32 variables get f32 scalars: Keras computes a float32
 * variable's step in float32. `1 - momentum` is formed here in float64, as the reference does.
 */
export function writeScalars(arena: Arena, dtype: Dtype, ptr: number, s: StepScalars, decay: number): void {
  const mom = s.emaMomentum ?? 0;
  const view = dtype === 'float64' ? arena.f64 : arena.f32;
  const k = dtype === 'float64' ? ptr >>> 3 : ptr >>> 2;
  view[k] = s.alpha;
  view[k + 1] = s.epsilon;
  view[k + 2] = s.oneMinusBeta1;
  view[k + 3] = s.oneMinusBeta2;
  view[k + 4] = s.clipValue > 0 ? s.clipValue : Infinity;
  view[k + 5] = mom;
  view[k + 6] = 1 - mom;
  view[k + 7] = decay;
}
