import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { computeRefLogps, trainDpo } from '../../../ml/train/dpo.js';
import { PAIRS, microModel, useBackend } from './_helpers.js';

await useBackend();

test('no tensor leaks over 1,000 DPO steps', async () => {
  const policy = microModel(80, { n_layer: 1, n_embd: 8, n_head: 1, n_positions: 32 });
  const pairs = PAIRS.slice(0, 2).map((p) => ({
    prompt: p.prompt.slice(-4),
    chosen: p.chosen.slice(0, 2),
    rejected: p.rejected.slice(0, 2),
  }));
  const ref = computeRefLogps(policy, pairs);
  const counts: number[] = [];
  const r = await trainDpo({
    policy,
    pairs,
    refLogps: ref,
    config: { maxSteps: 1000, batchSize: 1, gradAccumSteps: 1, learningRate: 1e-3 },
    onStep: (m) => {
      if (m.step! % 100 === 0) counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(r.step, 1000);
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensor counts drifted: ${counts.join(', ')}`,
  );
  const before = tf.memory().numTensors;
  r.dispose();
  policy.dispose();
  assert.ok(tf.memory().numTensors < before);
  assert.equal(tf.memory().numTensors, 0);
});
