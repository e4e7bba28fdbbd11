// Pure parts of the reward-model kinds: their catalog entries and the
// `reward: { type: reward-model }` spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRewardSpec } from '../../../activities/rewards/index.js';
import { registeredKinds } from '../../../activities/registry.js';
import { BadInput } from '../../../activities/step-kind.js';
import { loadCatalog } from '../../../spec/catalog.js';

test('model.reward and eval.reward are registered and their catalog entries fill defaults', () => {
  const catalog = loadCatalog();
  for (const id of ['model.reward', 'eval.reward']) {
    assert.ok(catalog.get(id, 'v1'), `${id}@v1 is in the catalog`);
    assert.ok(registeredKinds().includes(`${id}@v1`), `${id}@v1 is registered`);
  }
  const rm = catalog.get('model.reward', 'v1')!;
  const args: Record<string, unknown> = { data: 's3://b/d', model: 's3://b/sft' };
  assert.ok(catalog.argsValidator(rm)(args));
  assert.equal(args.batchSize, 8);
  assert.equal(args.learningRate, 0.0001);
  assert.equal(catalog.argsValidator(rm)({ data: 's3://b/d' }), false, 'a backbone (init or model) is required');
  assert.equal(
    catalog.argsValidator(rm)({ data: 's3://b/d', format: 'chat', init: {} }),
    false,
    'chat rows are not pairs',
  );
  const ev = catalog.get('eval.reward', 'v1')!;
  assert.ok(catalog.argsValidator(ev)({ data: 's3://b/d', model: 'channel://rm' }));
  const aug = catalog.get('bpo.augment', 'v1')!;
  assert.ok(
    catalog.argsValidator(aug)({
      prompts: 's3://b/p',
      generator: { type: 'policy', model: 's3://b/m' },
      reward: { type: 'reward-model', model: 's3://b/rm', batchSize: 8 },
    }),
  );
});

test('reward: { type: reward-model } parses, and bad ones say what is wrong', () => {
  assert.deepEqual(parseRewardSpec({ type: 'reward-model', model: 's3://b/rm' }), {
    type: 'reward-model',
    model: 's3://b/rm',
  });
  assert.deepEqual(parseRewardSpec({ type: 'reward-model', model: 's3://b/rm', batchSize: 4 }), {
    type: 'reward-model',
    model: 's3://b/rm',
    batchSize: 4,
  });
  assert.throws(
    () => parseRewardSpec({ type: 'reward-model' }),
    (e: Error) => e instanceof BadInput && /reward.model must be the URI of a reward model/.test(e.message),
  );
  assert.throws(
    () => parseRewardSpec({ type: 'reward-model', model: 's3://b/rm', batchSize: 0 }),
    /reward.batchSize must be a positive integer, got 0/,
  );
  assert.throws(
    () => parseRewardSpec({ type: 'rm' }),
    /reward.type must be verifier, reward-model, model or judge, got "rm"/,
  );
});
