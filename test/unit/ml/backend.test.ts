import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { defaultBackendPref, selectBackend } from '../../../ml/backend.js';
import { maxAbsDiff, microModel, useBackend } from './_helpers.js';

async function nativeInstalled(): Promise<boolean> {
  for (const spec of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as string[]) {
    try {
      await import(spec);
      return true;
    } catch {
      /* absent (or broken: selectBackend reports that) */
    }
  }
  return false;
}

const logitsOn = async (pref: 'wasm' | 'cpu' | 'tensorflow') => {
  const r = await selectBackend(pref);
  assert.equal(r.name, pref, r.reason);
  const m = microModel(12);
  const x = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
  const logits = tf.tidy(() => m.forward(x).logits);
  const out = (await logits.data()) as Float32Array; // read outside tidy
  tf.dispose([x, logits]);
  m.dispose();
  return out;
};

test('tensorflow preference: native TensorFlow with a device report, or wasm with the reason', async () => {
  const r = await selectBackend('tensorflow');
  if (await nativeInstalled()) {
    assert.equal(r.name, 'tensorflow', r.reason);
    assert.match(r.reason, /^native TensorFlow via @tensorflow\/tfjs-node(-gpu)?$/);
    assert.equal(tf.getBackend(), 'tensorflow');
    // "GPU <name>", or "CPU only: <why>" — on the CPU build the why names the build.
    assert.match(r.device, /^(GPU .+|CPU only: .+)$/);
    if (r.reason.endsWith('tfjs-node')) assert.match(r.device, /^CPU only: @tensorflow\/tfjs-node is the CPU build/);
  } else {
    assert.equal(r.name, 'wasm');
    assert.match(
      r.reason,
      /tensorflow requested but unavailable \(@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /,
    );
    assert.equal(tf.getBackend(), 'wasm');
  }
  await useBackend();
});

test('wasm and cpu run the same model code to float32 agreement', async () => {
  const a = await logitsOn('wasm');
  const b = await logitsOn('cpu');
  assert.ok(maxAbsDiff(a, b) < 1e-4, `max diff ${maxAbsDiff(a, b)}`);
  assert.match((await selectBackend('wasm')).reason, /wasm requested/);
  assert.match((await selectBackend('cpu')).device, /^CPU only: /);
  await useBackend();
});

test('native TensorFlow and cpu run the same model code to float32 agreement', async (t) => {
  if (!(await nativeInstalled())) return t.skip('native tfjs-node is not installed (bash infra/native-tf.sh --link)');
  const a = await logitsOn('tensorflow');
  const b = await logitsOn('cpu');
  assert.ok(maxAbsDiff(a, b) < 1e-4, `max diff ${maxAbsDiff(a, b)}`);
  await useBackend();
});

test('BPOFLOW_BACKEND is the preference when none is named; a bad value is an error naming it', () => {
  const saved = process.env.BPOFLOW_BACKEND;
  try {
    delete process.env.BPOFLOW_BACKEND;
    assert.equal(defaultBackendPref(), 'auto');
    process.env.BPOFLOW_BACKEND = 'cpu';
    assert.equal(defaultBackendPref(), 'cpu');
    process.env.BPOFLOW_BACKEND = 'cuda';
    assert.throws(() => defaultBackendPref(), {
      message: 'BPOFLOW_BACKEND=cuda: expected one of auto, wasm, cpu, tensorflow',
    });
  } finally {
    if (saved === undefined) delete process.env.BPOFLOW_BACKEND;
    else process.env.BPOFLOW_BACKEND = saved;
  }
});
