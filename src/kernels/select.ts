import type { AdamKernels } from './kernel.js';
import { referenceKernels } from './reference.js';
export function selectKernels(jitCompile: boolean): AdamKernels {
  void jitCompile;
  return referenceKernels;
}
