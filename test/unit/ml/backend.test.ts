import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../ml/backend.js';
import { maxAbsDiff, microModel } from './_helpers.js';

test('tensorflow preference falls back with a reason when tfjs-node is absent', async () => {
  let native = false;
  try {
    const spec: string = '@tensorflow/tfjs-node';
    await import(spec);
    native = true;
  } catch {
    /* expected here */
  }
  const r = await selectBackend('tensorflow');
  if (native) return assert.equal(r.name, 'tensorflow');
  assert.equal(r.name, 'wasm');
  assert.match(r.reason, /tensorflow requested but unavailable/);
  assert.equal(tf.getBackend(), 'wasm');
});

test('wasm and cpu run the same model code to float32 agreement', async () => {
  const ids = [[1, 2, 3, 4, 5, 6]];
  const logitsOn = async (pref: 'wasm' | 'cpu') => {
    const r = await selectBackend(pref);
    assert.equal(r.name, pref);
    assert.match(r.reason, new RegExp(`${pref} requested`));
    const m = microModel(12);
    const out = tf.tidy(() => m.forward(tf.tensor2d(ids, [1, 6], 'int32')).logits.dataSync() as Float32Array);
    m.dispose();
    return out;
  };
  const a = await logitsOn('wasm');
  const b = await logitsOn('cpu');
  assert.ok(maxAbsDiff(a, b) < 1e-4, `max diff ${maxAbsDiff(a, b)}`);
  await selectBackend('auto');
});
