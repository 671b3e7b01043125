/**
 * Adam without TensorFlow.js: fit y = sin(x) on [-pi, pi] with a cubic
 * y ~ a + b x + c x^2 + d x^3, using a Variable for the coefficients and a hand-written gradient
 * of the mean squared error. The best a cubic can do here (least squares) is a loss of 0.004574 at
 * sin(x) ~ 0.8546 x - 0.0928 x^3; Adam gets there.
 *
 *   npx tsx examples/standalone.ts
 */
import { Adam, Variable, schedules } from 'adam-optimizer';

// 200 points of sin on [-pi, pi].
const n = 200;
const xs = Float64Array.from({ length: n }, (_, i) => -Math.PI + (2 * Math.PI * i) / (n - 1));
const ys = xs.map(Math.sin);

// The parameters: one float32 variable holding [a, b, c, d], starting at zero.
const coefficients = new Variable(new Float32Array(4), { name: 'cubic/coefficients' });
// Adam with a learning rate that decays along a cosine from 0.002 to 0 over the run.
const steps = 3000;
const optimizer = new Adam({
  learningRate: new schedules.CosineDecay({ initialLearningRate: 0.002, decaySteps: steps }),
});

/** Mean squared error of the cubic, and its gradient with respect to [a, b, c, d]. */
function lossAndGradient(w: Float32Array | Float64Array): { loss: number; gradient: Float32Array } {
  const gradient = new Float32Array(4);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    const error = w[0] + w[1] * x + w[2] * x * x + w[3] * x * x * x - ys[i];
    loss += error * error;
    // d(error^2)/dw_k = 2 error x^k
    gradient[0] += 2 * error;
    gradient[1] += 2 * error * x;
    gradient[2] += 2 * error * x * x;
    gradient[3] += 2 * error * x * x * x;
  }
  for (let k = 0; k < 4; k++) gradient[k] /= n;
  return { loss: loss / n, gradient };
}

let loss = lossAndGradient(coefficients.value).loss;
console.log(`step     0  loss ${loss.toFixed(6)}`);
for (let step = 1; step <= steps; step++) {
  const { gradient } = lossAndGradient(coefficients.value);
  optimizer.applyGradients([[gradient, coefficients]]);
  if (step % 300 === 0) {
    loss = lossAndGradient(coefficients.value).loss;
    console.log(`step ${String(step).padStart(5)}  loss ${loss.toFixed(6)}`);
  }
}

const [a, b, c, d] = coefficients.value;
console.log(`\nsin(x) ~ ${a.toFixed(4)} + ${b.toFixed(4)} x + ${c.toFixed(4)} x^2 + ${d.toFixed(4)} x^3`);
console.log(`final loss ${loss.toExponential(3)} after ${optimizer.iterations} steps (${optimizer.kernelName} kernels)`);
