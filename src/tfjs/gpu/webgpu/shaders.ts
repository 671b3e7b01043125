import { STEP_SCALARS as S, stateRows, type FusedUpdateAttrs } from '../kernel-names.js';

/** Threads per workgroup of the update shader. */
export const UPDATE_WORKGROUP = 64;
/** Threads per workgroup of the sums-of-squares shader (one workgroup per gradient). */
export const SUMS_WORKGROUP = 256;

const f32 = (binding: number, name: string, access: 'read' | 'read_write') =>
  `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<f32>;`;

/**
 * The whole update of one variable, one thread per element, in the order of the kernels
 * (src/kernels/kernel.ts): norm-clip factor, clipvalue, decay, m, v, the AMSGrad maximum, the
 * update, the EMA and its overwrite. Writes the new parameter and every state row. The variable's
 * size and position come from a uniform, so one pipeline serves every variable.
 * Bindings: scalars, grad, param, state, paramOut, stateOut, info, then sums with norm clipping.
 */
export function updateShader(a: FusedUpdateAttrs): string {
  const { vhat, average } = stateRows(a.amsgrad, a.ema);
  const row = (r: number) => (r === 0 ? 'i' : `${r}u * n + i`);
  let scale = '1.0';
  if (a.normClipping === 'clipnorm') scale = 'scale_of(sqrt(sums[info.index]))';
  if (a.normClipping === 'globalClipnorm') scale = 'global_scale()';
  return `
struct Info { size: u32, index: u32 }
${f32(0, 'scalars', 'read')}
${f32(1, 'grad', 'read')}
${f32(2, 'param', 'read')}
${f32(3, 'state', 'read')}
${f32(4, 'paramOut', 'read_write')}
${f32(5, 'stateOut', 'read_write')}
@group(0) @binding(6) var<uniform> info: Info;
${a.normClipping === 'none' ? '' : f32(7, 'sums', 'read')}

fn scale_of(norm: f32) -> f32 {
  let limit = scalars[${S.clipLimit}];
  return limit / max(norm, limit);
}
${a.normClipping === 'globalClipnorm' ? `
fn global_scale() -> f32 {
  let norm = sqrt(sums[0]);
  // A non-finite global norm makes every gradient NaN, as the pipeline's rule says.
  // Tested on the bits: WGSL lets compilers assume finite floats in comparisons.
  if ((bitcast<u32>(norm) & 0x7fffffffu) >= 0x7f800000u) { var nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits); }
  return scale_of(norm);
}` : ''}

@compute @workgroup_size(${UPDATE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * ${UPDATE_WORKGROUP}u;
  let n = info.size;
  if (i >= n) { return; }
  var g = grad[i] * ${scale};
  let limit = scalars[${S.clipValue}];
  if (limit > 0.0) { g = min(max(g, -limit), limit); }
  var p = param[i];
  let decay = scalars[${S.firstDecay}u + info.index];
  if (decay != 0.0) { p = p - p * decay; }
  let m0 = state[i];
  let v0 = state[${row(1)}];
  let m = m0 + (g - m0) * scalars[${S.oneMinusBeta1}];
  let v = v0 + (g * g - v0) * scalars[${S.oneMinusBeta2}];
  stateOut[i] = m;
  stateOut[${row(1)}] = v;
  var second = v;
  ${vhat < 0 ? '' : `second = max(state[${row(vhat)}], v);
  stateOut[${row(vhat)}] = second;`}
  p = p - (scalars[${S.alpha}] * m) / (sqrt(second) + scalars[${S.epsilon}]);
  ${average < 0 ? '' : `let momentum = scalars[${S.emaMomentum}];
  let avg = momentum * state[${row(average)}] + (1.0 - momentum) * p;
  stateOut[${row(average)}] = avg;
  if (scalars[${S.emaOverwrite}] > 0.5) { p = avg; }`}
  paramOut[i] = p;
}
`;
}

/**
 * Sums of squares of up to `sizes.length` gradients (bound after the output), one workgroup
 * each, written to `sums[first + k]`: a strided pass per thread, then a tree in workgroup memory.
 */
export function sumsShader(sizes: readonly number[], first: number): string {
  const bindings = sizes.map((_, k) => f32(k + 1, `g${k}`, 'read')).join('\n');
  const loops = sizes.map((size, k) => `if (w == ${k}u) { for (var i = lid; i < ${size}u; i += ${SUMS_WORKGROUP}u) { let x = g${k}[i]; s += x * x; } }`).join('\n  ');
  return `
${f32(0, 'sums', 'read_write')}
${bindings}
var<workgroup> partial: array<f32, ${SUMS_WORKGROUP}>;

@compute @workgroup_size(${SUMS_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  var s = 0.0;
  ${loops}
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = ${SUMS_WORKGROUP / 2}u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { sums[${first}u + w] = partial[0]; }
}
`;
}

/** The sum of `count` partial sums into `total[0]` (one thread: a few dozen values). */
export function totalShader(count: number): string {
  return `
${f32(0, 'total', 'read_write')}
${f32(1, 'sums', 'read')}

@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var k = 0u; k < ${count}u; k++) { s += sums[k]; }
  total[0] = s;
}
`;
}
