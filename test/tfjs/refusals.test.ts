// The TensorFlow.js optimizer refuses mistakes and changes nothing, tensors included.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../../src/tfjs/index.js';
import { classifier, useBackend } from './support.js';

before(() => useBackend('cpu'));

for (const execution of ['kernels', 'tensor-ops'] as const) {
  test(`${execution}: a refused setWeights leaves the last getWeights() tensors valid; a corrected retry works`, async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, `sw_${execution}/w`);
    const opt = new Adam({ execution, learningRate: 0.1 });
    tf.tidy(() => opt.applyGradients({ [w.name]: tf.tensor1d([1, -1, 0.5]) }));
    const weights = await opt.getWeights();
    const values = weights.map((x) => Array.from(x.tensor.dataSync()));
    await assert.rejects(opt.setWeights(weights.slice(0, 2)), /setWeights/);
    await assert.rejects(opt.setWeights([weights[0], { name: 'm', tensor: tf.zeros([7]) }, weights[2]]), /setWeights/);
    assert.ok(weights.every((x) => !x.tensor.isDisposed), 'the tensors handed out are still alive');
    assert.deepEqual(weights.map((x) => Array.from(x.tensor.dataSync())), values);
    assert.deepEqual((await opt.getWeights()).map((x) => Array.from(x.tensor.dataSync())), values, 'the state did not change');
    await opt.setWeights(weights); // the retry with the right list
    assert.equal(opt.iterations, 1);
    opt.dispose();
    w.dispose();
  });

  test(`${execution}: excludeFromWeightDecay refuses mistakes, records nothing, then applies exactly`, () => {
    const model = classifier();
    const opt = new Adam({ execution, learningRate: 0.1, weightDecay: 0.5 });
    for (const [argument, message] of [
      [{ var_names: ['bias'] }, /unknown key 'var_names'; the option is spelled 'varNames' here/],
      [['bias'], /expects an object \{ varList, varNames \}, got an array/],
      [{ varNames: 'bias' }, /varNames must be an array of strings or RegExps, got "bias"/],
      [{ varNames: [''] }, /varNames\[0\] is an empty string/],
      [{ varList: [tf.zeros([2])] }, /varList\[0\] must be a tf.Variable or a LayerVariable/],
    ] as const) {
      assert.throws(() => opt.excludeFromWeightDecay(argument as never), message);
    }
    opt.excludeFromWeightDecay({ varNames: ['bias'] });
    const variables = model.trainableWeights.map((lv) => lv.read() as tf.Variable);
    const before = variables.map((v) => Array.from(v.dataSync()));
    // Zero gradients: only weight decay moves a variable.
    tf.tidy(() => opt.applyGradients(Object.fromEntries(variables.map((v) => [v.name, tf.zerosLike(v)]))));
    variables.forEach((v, i) => {
      const unchanged = Array.from(v.dataSync()).every((x, j) => x === before[i][j]);
      assert.equal(unchanged, /bias/.test(v.name), `${v.name}: excluded exactly when it matches 'bias'`);
    });
    opt.dispose();
  });
}
