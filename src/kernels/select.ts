import { loadCompiledKernels } from './compiled/index.js';
import type { AdamKernels } from './kernel.js';
import { referenceKernels } from './reference.js';

/** The kernel set for `jitCompile`: compiled when asked for and available, else the reference loops. */
export function selectKernels(jitCompile: boolean): AdamKernels {
  if (!jitCompile) return referenceKernels;
  return loadCompiledKernels() ?? referenceKernels;
}
