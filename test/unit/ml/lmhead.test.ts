import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { tokenLogps } from '../../../ml/lmhead.js';
import { Rng } from '../../../ml/rng.js';
import { maxAbsDiff, useBackend } from './_helpers.js';

await useBackend();

function randn(shape: number[], seed: number): tf.Tensor2D {
  const d = new Float32Array(shape[0]! * shape[1]!);
  new Rng(seed).fillNormal(d, 1);
  return tf.tensor2d(d, shape as [number, number]);
}

test('tokenLogps equals logSoftmax(h·Wᵀ) at the targets, with the same gradients', () => {
  // Repeated targets exercise the scatter-add of the one-hot part of the gradient.
  const h = randn([9, 6], 1);
  const w = randn([11, 6], 2);
  const targets = tf.tensor1d([3, 0, 10, 3, 3, 7, 1, 0, 10], 'int32');
  const weights = tf.tensor1d([1, -2, 0.5, 3, 1, -1, 2, 0.25, 1]);
  const reference = (hh: tf.Tensor, ww: tf.Tensor) =>
    tf.sum(tf.mul(tf.logSoftmax(tf.matMul(hh, ww, false, true)), tf.oneHot(targets, 11)), 1);
  const fused = (hh: tf.Tensor, ww: tf.Tensor) => tokenLogps(hh as tf.Tensor2D, ww as tf.Tensor2D, targets);
  const value = (f: typeof reference) => tf.tidy(() => f(h, w).dataSync() as Float32Array);
  assert.ok(
    maxAbsDiff(value(fused), value(reference)) < 1e-5,
    `values differ by ${maxAbsDiff(value(fused), value(reference))}`,
  );
  const grads = (f: typeof reference) =>
    tf.tidy(() =>
      tf
        .grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), weights)))([h, w])
        .map((g) => g.dataSync() as Float32Array),
    );
  const [gh, gw] = grads(fused);
  const [rh, rw] = grads(reference);
  assert.ok(maxAbsDiff(gh!, rh!) < 1e-5, `dh differs by ${maxAbsDiff(gh!, rh!)}`);
  assert.ok(maxAbsDiff(gw!, rw!) < 1e-5, `dW differs by ${maxAbsDiff(gw!, rw!)}`);
  tf.dispose([h, w, targets, weights]);
});
