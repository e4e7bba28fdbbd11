import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { collate, encodeExample } from '../../../ml/data.js';
import { AdamW, clipGlobalNorm } from '../../../ml/optim.js';
import { getTokenizer } from '../../../ml/tokenizer.js';
import { useBackend } from './_helpers.js';

await useBackend();
const tok = getTokenizer('byte');

test('loss mask covers response tokens (+EOS) only, never prompt or padding', () => {
  const a = encodeExample(tok, 'ab', 'cd', 64); // a b c d EOS
  const b = encodeExample(tok, 'x', 'y', 64); // x y EOS
  assert.deepEqual(a, { ids: [97, 98, 99, 100, 256], promptLen: 2 });
  const batch = collate([a, b], tok.padId);
  assert.equal(batch.T, 4);
  assert.deepEqual(Array.from(batch.inputIds), [97, 98, 99, 100, 120, 121, 257, 257]);
  assert.deepEqual(Array.from(batch.targets), [98, 99, 100, 256, 121, 256, 257, 257]);
  assert.deepEqual(Array.from(batch.mask), [0, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(batch.counts, [3, 2]);
});

test('truncation keeps the end of the prompt and the start of the response', () => {
  const e = encodeExample(tok, 'PROMPT-TAIL', 'response-is-long', 10);
  assert.equal(e.ids.length, 10);
  assert.equal(e.promptLen, 5);
  assert.equal(tok.detokenize(e.ids), '-TAILrespo');
});

test('global-norm clipping scales to maxNorm and reports the pre-clip norm', () => {
  const grads = new Map<string, tf.Tensor>([
    ['a', tf.tensor1d([3, 0])],
    ['b', tf.tensor2d([[0, 4]])],
  ]);
  const norm = clipGlobalNorm(grads, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assert.ok(Math.abs(grads.get('a')!.dataSync()[0]! - 0.6) < 1e-6);
  assert.ok(Math.abs(grads.get('b')!.dataSync()[1]! - 0.8) < 1e-6);
  for (const g of grads.values()) g.dispose();
});

test('AdamW: decoupled weight decay on matrices only; first step moves by lr·sign(g)', () => {
  const w = tf.variable(tf.ones([2, 2]));
  const b = tf.variable(tf.ones([2]));
  const opt = new AdamW(
    new Map([
      ['w', w],
      ['b', b],
    ]),
    { weightDecay: 0.5 },
  );
  opt.step(
    new Map([
      ['w', tf.zeros([2, 2])],
      ['b', tf.zeros([2])],
    ]),
    0.1,
  );
  assert.ok(Math.abs(w.dataSync()[0]! - 0.95) < 1e-6, 'matrix decays by (1 - lr·wd)');
  assert.equal(b.dataSync()[0], 1, 'bias not decayed');
  const opt2 = new AdamW(new Map([['b', b]]));
  const g = tf.tensor1d([2, -3]);
  opt2.step(new Map([['b', g]]), 0.1);
  const v = b.dataSync();
  assert.ok(Math.abs(v[0]! - 0.9) < 1e-5 && Math.abs(v[1]! - 1.1) < 1e-5, `got ${Array.from(v)}`);
  g.dispose();
});
