import { STEP_SCALARS as S, stateRows, type FusedUpdateAttrs } from '../kernel-names.js';
import type { WebGLProgramLike } from './backend.js';

/**
 * GLSL computing one element's update in the order of the kernels (src/kernels/kernel.ts), `i`
 * being the element. `emit(name, row)` is placed where the value of a state row is known (so the
 * state program stops there for that row); the parameter is `p` at the end. Inputs: scalars,
 * grad, param, state, then sums with norm clipping.
 */
function updateBody(a: FusedUpdateAttrs, emit: (value: string, row: number) => string): string {
  const { vhat, average } = stateRows(a.amsgrad, a.ema);
  let scale = '1.0';
  if (a.normClipping === 'clipnorm') scale = 'scaleOf(sqrt(getSums(adamIndex)))';
  if (a.normClipping === 'globalClipnorm') scale = 'globalScale()';
  return `
    float g = getGrad(i) * ${scale};
    float limit = getScalars(${S.clipValue});
    if (limit > 0.0) g = min(max(g, -limit), limit);
    float m0 = getState(0, i);
    float m = m0 + (g - m0) * getScalars(${S.oneMinusBeta1});
    ${emit('m', 0)}
    float v0 = getState(1, i);
    float v = v0 + (g * g - v0) * getScalars(${S.oneMinusBeta2});
    ${emit('v', 1)}
    float second = v;
    ${vhat < 0 ? '' : `second = max(getState(${vhat}, i), v);
    ${emit('second', vhat)}`}
    float p = getParam(i);
    float decay = getScalars(${S.firstDecay} + adamIndex);
    if (decay != 0.0) p = p - p * decay;
    p = p - (getScalars(${S.alpha}) * m) / (sqrt(second) + getScalars(${S.epsilon}));
    ${average < 0 ? '' : `float momentum = getScalars(${S.emaMomentum});
    float avg = momentum * getState(${average}, i) + (1.0 - momentum) * p;
    ${emit('avg', average)}
    if (getScalars(${S.emaOverwrite}) > 0.5) p = avg;`}
  `;
}

function helpers(a: FusedUpdateAttrs): string {
  const scaleOf = `float scaleOf(float norm) { float limit = getScalars(${S.clipLimit}); return limit / max(norm, limit); }`;
  if (a.normClipping === 'none') return '';
  if (a.normClipping === 'clipnorm') return scaleOf;
  return `${scaleOf}
  float globalScale() {
    float norm = sqrt(getSums(0));
    // A non-finite global norm makes every gradient NaN, as the pipeline's rule says.
    if (isnan(norm) || isinf(norm)) return NAN;
    return scaleOf(norm);
  }`;
}

function inputs(a: FusedUpdateAttrs): string[] {
  return ['scalars', 'grad', 'param', 'state', ...(a.normClipping === 'none' ? [] : ['sums'])];
}

/**
 * What the update programs share: sizes come as shape uniforms and the variable's position as the
 * uniform `adamIndex`, so one compiled program serves every variable of a model.
 */
function updateProgram(a: FusedUpdateAttrs): Pick<WebGLProgramLike, 'variableNames' | 'enableShapeUniforms' | 'customUniforms'> {
  return { variableNames: inputs(a), enableShapeUniforms: true, customUniforms: [{ name: 'adamIndex', type: 'int' }] };
}

/** The new parameter of one variable: output `[size]`. */
export function paramProgram(a: FusedUpdateAttrs): WebGLProgramLike {
  return {
    ...updateProgram(a),
    outputShape: [a.size],
    userCode: `${helpers(a)}
  void main() {
    int i = getOutputCoords();
    ${updateBody(a, () => '')}
    setOutput(p);
  }`,
  };
}

/** Every state row of one variable (m, v, vhat, average): output `[rows, size]`. */
export function stateProgram(a: FusedUpdateAttrs): WebGLProgramLike {
  const { rows } = stateRows(a.amsgrad, a.ema);
  return {
    ...updateProgram(a),
    outputShape: [rows, a.size],
    userCode: `${helpers(a)}
  void main() {
    ivec2 rc = getOutputCoords();
    int r = rc.x;
    int i = rc.y;
    ${updateBody(a, (value, row) => `if (r == ${row}) { setOutput(${value}); return; }`)}
  }`,
  };
}

/** Sums of squares of a few gradients (flattened sizes `sizes`): output `[sizes.length]`. */
export function sumsProgram(sizes: readonly number[]): WebGLProgramLike {
  const loops = sizes.map((size, k) => `if (k == ${k}) { for (int j = 0; j < ${size}; j++) { float x = getG${k}(j); s += x * x; } }`).join('\n    ');
  return {
    variableNames: sizes.map((_, k) => `G${k}`),
    outputShape: [sizes.length],
    userCode: `
  void main() {
    int k = getOutputCoords();
    float s = 0.0;
    ${loops}
    setOutput(s);
  }`,
  };
}

/** The concatenation of a few 1-D parts of lengths `sizes`. */
export function joinProgram(sizes: readonly number[]): WebGLProgramLike {
  let offset = 0;
  const picks = sizes.map((size, k) => {
    const line = `if (i >= ${offset} && i < ${offset + size}) r = getP${k}(i - ${offset});`;
    offset += size;
    return line;
  }).join('\n    ');
  return {
    variableNames: sizes.map((_, k) => `P${k}`),
    outputShape: [offset],
    userCode: `
  void main() {
    int i = getOutputCoords();
    float r = 0.0;
    ${picks}
    setOutput(r);
  }`,
  };
}

/** The sum of a `[count]` input into `[1]`. */
export function totalProgram(count: number): WebGLProgramLike {
  return {
    variableNames: ['Sums'],
    outputShape: [1],
    userCode: `
  void main() {
    float s = 0.0;
    for (int k = 0; k < ${count}; k++) s += getSums(k);
    setOutput(s);
  }`,
  };
}
