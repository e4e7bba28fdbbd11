import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { generate, generateTokens, pickToken } from '../../../ml/sample.js';
import { Rng } from '../../../ml/rng.js';
import { getTokenizer } from '../../../ml/tokenizer.js';
import { trainSft } from '../../../ml/train/sft.js';
import { microModel, useBackend } from './_helpers.js';

await useBackend();
const tok = getTokenizer('byte');

test('KV-cached greedy decoding matches full recomputation, with left padding', () => {
  const model = microModel(21);
  const prompts = ['hi', 'a longer prompt', 'xyz'];
  const a = generateTokens(model, tok, prompts, { temperature: 0, maxNewTokens: 12, useCache: true });
  const b = generateTokens(model, tok, prompts, { temperature: 0, maxNewTokens: 12, useCache: false });
  assert.deepEqual(a.tokens, b.tokens);
  // Batched (left-padded) rows produce what each prompt produces alone.
  for (let i = 0; i < prompts.length; i++) {
    const solo = generateTokens(model, tok, [prompts[i]!], { temperature: 0, maxNewTokens: 12 });
    assert.deepEqual(solo.tokens[0], a.tokens[i]);
  }
  model.dispose();
});

test('sampling is deterministic for a seed and varies across seeds', () => {
  const model = microModel(22);
  const opts = { temperature: 1.5, topK: 50, topP: 0.95, maxNewTokens: 16 };
  const a = generate(model, tok, ['abc', 'de'], { ...opts, seed: 1 });
  const b = generate(model, tok, ['abc', 'de'], { ...opts, seed: 1 });
  const c = generate(model, tok, ['abc', 'de'], { ...opts, seed: 2 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  model.dispose();
});

test('top-k / top-p restrict the candidate set', () => {
  const logits = new Float32Array([0, 5, 4, -1, 3]);
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) assert.ok([1, 2].includes(pickToken(logits, 1, 2, 1, rng)));
  for (let i = 0; i < 200; i++) assert.equal(pickToken(logits, 1, 0, 0.5, rng), 1); // p(1) ≈ 0.67 > 0.5
  assert.equal(pickToken(logits, 0, 0, 1, rng), 1);
});

test('stop sequences and EOS end generation; a trained model reproduces its data', async () => {
  const model = microModel(23);
  const r = await trainSft({
    model,
    examples: [{ prompt: 'Q:', response: ' hello. world' }],
    config: { maxSteps: 150, batchSize: 1, learningRate: 1e-2, lrSchedule: 'constant' },
  });
  r.dispose();
  const [full] = generate(model, tok, ['Q:'], { temperature: 0, maxNewTokens: 30 });
  assert.equal(full, ' hello. world'); // stopped at EOS, EOS not rendered
  const [cut] = generate(model, tok, ['Q:'], { temperature: 0, maxNewTokens: 30, stop: ['.'] });
  assert.equal(cut, ' hello');
  model.dispose();
  assert.ok(tf.memory().numTensors < 10);
});
