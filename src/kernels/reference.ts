import { clipByValue } from '../clipping.js';
import { HeapStorage, newFloatArray, type Dtype, type FloatArray, type Storage } from '../storage.js';
import type { AdamKernels, DenseSlotSet, SparseSlotSet, StepScalars } from './kernel.js';

/**
 * The reference kernels: plain loops that read like docs/semantics.md, section 2. They are the
 * executable specification and the fallback where compiled kernels cannot run.
 */
export const referenceKernels: AdamKernels = {
  name: 'reference',

  allocate(dtype: Dtype, length: number): Storage {
    return new HeapStorage(newFloatArray(dtype, length));
  },

  place(values: FloatArray): Storage {
    return new HeapStorage(values);
  },

  gradientBuffer(dtype: Dtype, length: number): Storage {
    return new HeapStorage(newFloatArray(dtype, length));
  },

  release(): void {
    // Ordinary arrays go to the garbage collector.
  },

  sumOfSquares(values: FloatArray): number {
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
    return sum;
  },

  sumsOfSquares(values: readonly FloatArray[], out: Float64Array): void {
    for (let i = 0; i < values.length; i++) out[i] = this.sumOfSquares(values[i]);
  },

  denseStep(sets: readonly DenseSlotSet[], s: StepScalars): void {
    for (const set of sets) denseStepOne(set, s);
  },

  sparseStep(set: SparseSlotSet, s: StepScalars): void {
    const p = set.param.array;
    const m = set.m.array;
    const v = set.v.array;
    applyDecay(p, set.decay);
    // m -= m * (1 - b1); m[rows] += g_rows * (1 - b1)   (and the same for v with g^2)
    for (let i = 0; i < m.length; i++) {
      m[i] -= m[i] * s.oneMinusBeta1;
      v[i] -= v[i] * s.oneMinusBeta2;
    }
    const { indices, rows, rowSize } = set;
    for (let r = 0; r < indices.length; r++) {
      const base = indices[r] * rowSize;
      for (let j = 0; j < rowSize; j++) {
        const g = rows[r * rowSize + j];
        m[base + j] += g * s.oneMinusBeta1;
        v[base + j] += g * g * s.oneMinusBeta2;
      }
    }
    const second = amsgradMax(v, set.vhat, s.amsgrad);
    for (let i = 0; i < p.length; i++) p[i] -= (s.alpha * m[i]) / (Math.sqrt(second[i]) + s.epsilon);
    applyEma(p, set.average, s);
  },
};

function denseStepOne(set: DenseSlotSet, s: StepScalars): void {
  const p = set.param.array;
  const m = set.m.array;
  const v = set.v.array;
  const g = set.grad;
  applyDecay(p, set.decay);
  for (let i = 0; i < p.length; i++) {
    const gi = clipValue(g[i] * set.gradScale, s.clipValue);
    m[i] += (gi - m[i]) * s.oneMinusBeta1;
    v[i] += (gi * gi - v[i]) * s.oneMinusBeta2;
  }
  const second = amsgradMax(v, set.vhat, s.amsgrad);
  for (let i = 0; i < p.length; i++) p[i] -= (s.alpha * m[i]) / (Math.sqrt(second[i]) + s.epsilon);
  applyEma(p, set.average, s);
  set.copyTo?.set(p);
}

/** Decoupled weight decay: var -= var * weight_decay * lr. */
function applyDecay(p: FloatArray, decay: number): void {
  if (decay === 0) return;
  for (let i = 0; i < p.length; i++) p[i] -= p[i] * decay;
}

function clipValue(g: number, limit: number): number {
  return limit > 0 ? clipByValue(g, limit) : g;
}

/** AMSGrad: vhat = max(vhat, v); the update then divides by vhat instead of v. */
function amsgradMax(v: FloatArray, vhat: Storage | null, amsgrad: boolean): FloatArray {
  if (!amsgrad || vhat === null) return v;
  const h = vhat.array;
  for (let i = 0; i < h.length; i++) h[i] = Math.max(h[i], v[i]);
  return h;
}

/** average = momentum * average + (1 - momentum) * var; then var = average when overwriting. */
function applyEma(p: FloatArray, average: Storage | null, s: StepScalars): void {
  if (average === null || s.emaMomentum === null) return;
  const a = average.array;
  const mom = s.emaMomentum;
  for (let i = 0; i < p.length; i++) a[i] = mom * a[i] + (1 - mom) * p[i];
  if (s.emaOverwrite) p.set(a);
}
