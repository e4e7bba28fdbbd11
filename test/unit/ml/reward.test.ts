// The Bradley–Terry reward model: scores read at the last token (padding does
// not change them), training separates chosen from rejected, exact resume,
// and the Hugging Face GPT2ForSequenceClassification folder both ways:
// a committed transformers-made fixture scores the same here (always), and a
// model trained here scores the same in transformers (when a Python with
// torch + transformers exists: $BPOFLOW_PYTHON or ~/.cache/bpoflow/py).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  RewardModel,
  deserializeRewardModel,
  isRewardBundle,
  pairwiseStats,
  scoreTexts,
  serializeRewardModel,
  trainReward,
} from '../../../ml/reward.js';
import { serializeModel } from '../../../ml/model-files.js';
import { readTrainProgress } from '../../../ml/train/state.js';
import { PAIRS, maxAbsDiff, microModel, useBackend } from './_helpers.js';

await useBackend();

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../../test/fixtures/ml');

const rm0 = (seed = 3) => RewardModel.withNewHead(microModel(seed), seed + 100);
const items = (pairs: typeof PAIRS, which: 'chosen' | 'rejected') =>
  pairs.map((p) => ({ prompt: p.prompt, response: p[which] }));

test('a reward is read at the sequence end: the same alone, in a padded batch, in any batch size', () => {
  const m = rm0();
  const all = [...items(PAIRS, 'chosen'), ...items(PAIRS, 'rejected')];
  const batched = scoreTexts(m, all, { batchSize: 8 });
  const single = all.map((it) => scoreTexts(m, [it], { batchSize: 1 })[0]!);
  assert.ok(maxAbsDiff(batched, single) < 1e-5, `batched vs single: ${maxAbsDiff(batched, single)}`);
  assert.equal(new Set(batched.map((x) => x.toFixed(6))).size, all.length, 'different texts score differently');
  m.dispose();
});

test('Bradley–Terry training separates chosen from rejected; the loss starts at ln 2', async () => {
  const m = rm0(5);
  const rows: Record<string, number>[] = [];
  const r = await trainReward({
    model: m,
    pairs: PAIRS,
    config: { maxSteps: 40, batchSize: 4, learningRate: 5e-3, seed: 1 },
    onStep: (x) => void rows.push(x),
  });
  r.dispose();
  assert.ok(Math.abs(rows[0]!.loss! - Math.LN2) < 0.05, `first loss ${rows[0]!.loss} ≈ ln 2 (head init is small)`);
  assert.ok(rows.at(-1)!.loss! < 0.1, `last loss ${rows.at(-1)!.loss}`);
  assert.equal(rows.at(-1)!.accuracy, 1);
  for (const k of ['margin', 'rewards/chosen', 'rewards/rejected', 'grad_norm', 'learning_rate'])
    assert.ok(Number.isFinite(rows.at(-1)![k]), k);
  const s = pairwiseStats(scoreTexts(m, items(PAIRS, 'chosen')), scoreTexts(m, items(PAIRS, 'rejected')));
  assert.equal(s.accuracy, 1);
  assert.ok(s.margin > 2, `margin ${s.margin}`);
  m.dispose();
});

test('interrupted + resumed reward training is bit-identical to a straight run', async () => {
  const config = {
    seed: 2,
    maxSteps: 6,
    batchSize: 2,
    gradAccumSteps: 2,
    learningRate: 5e-3,
    weightDecay: 0.1,
    warmupSteps: 1,
    maxGradNorm: 0.5,
  };
  const straight = rm0(9);
  (await trainReward({ model: straight, pairs: PAIRS, config })).dispose();

  const first = rm0(9);
  let saved: Uint8Array | null = null;
  const r1 = await trainReward({
    model: first,
    pairs: PAIRS,
    config,
    shouldCheckpoint: (s) => s === 2,
    onCheckpoint: (b) => void (saved = b),
    shouldStop: (s) => s === 2,
  });
  r1.dispose();
  first.dispose();
  assert.ok(saved);
  assert.equal(readTrainProgress(saved).kind, 'reward');
  const resumed = rm0(1234); // different init: everything must come from the state
  const r2 = await trainReward({ model: resumed, pairs: PAIRS, config, state: saved });
  assert.equal(r2.step, 6);
  r2.dispose();
  for (const [name, v] of straight.params) assert.deepEqual(resumed.params.get(name)!.dataSync(), v.dataSync(), name);
  straight.dispose();
  resumed.dispose();
});

test('the bundle is a transformers GPT2ForSequenceClassification folder and round-trips exactly', () => {
  const m = rm0(11);
  const { files } = serializeRewardModel(m);
  const cfg = JSON.parse(new TextDecoder().decode(files['config.json'])) as Record<string, unknown>;
  assert.deepEqual(cfg.architectures, ['GPT2ForSequenceClassification']);
  assert.equal(cfg.num_labels, 1);
  assert.equal(cfg.pad_token_id, 257);
  assert.ok(isRewardBundle(files));
  assert.ok(!isRewardBundle(serializeModel(microModel(1)).files));
  const back = deserializeRewardModel(files);
  assert.deepEqual(scoreTexts(back, items(PAIRS, 'chosen')), scoreTexts(m, items(PAIRS, 'chosen')));
  assert.throws(
    () => deserializeRewardModel(serializeModel(microModel(1)).files),
    /not a reward model: config.json names GPT2LMHeadModel/,
  );
  m.dispose();
  back.dispose();
});

test('a reward model made by transformers (committed fixture) scores the same here', async () => {
  const dir = path.join(fixtures, 'hf-reward');
  const files = {
    'config.json': await readFile(path.join(dir, 'config.json')),
    'model.safetensors': await readFile(path.join(dir, 'model.safetensors')),
  };
  const expected = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8')) as {
    ids: number[][];
    scores: number[];
  };
  const m = deserializeRewardModel(files);
  const ours = tf.tidy(() => {
    const lengths = expected.ids.map((row) => row.filter((t) => t !== 257).length);
    return m.rewards(tf.tensor2d(expected.ids, undefined, 'int32'), lengths).dataSync();
  });
  assert.ok(
    maxAbsDiff(ours, expected.scores) < 1e-4,
    `max |Δ| ${maxAbsDiff(ours, expected.scores)}: ${[...ours]} vs ${expected.scores}`,
  );
  m.dispose();
});

function findPython(): string | null {
  for (const py of [process.env.BPOFLOW_PYTHON, path.join(os.homedir(), '.cache/bpoflow/py/bin/python')].filter(
    Boolean,
  ) as string[]) {
    if (!existsSync(py)) continue;
    try {
      execFileSync(py, ['-c', 'import torch, transformers'], { stdio: 'ignore', timeout: 120_000 });
      return py;
    } catch {
      /* next */
    }
  }
  return null;
}
const python = findPython();

test(
  'a reward model trained here scores the same in transformers',
  { skip: python ? false : 'no python with torch+transformers ($BPOFLOW_PYTHON, ~/.cache/bpoflow/py)' },
  async () => {
    const m = rm0(13);
    (
      await trainReward({ model: m, pairs: PAIRS, config: { maxSteps: 5, batchSize: 4, learningRate: 1e-2 } })
    ).dispose();
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'bpoflow-rm-'));
    try {
      const dir = path.join(tmp, 'rm');
      await mkdir(dir);
      for (const [name, bytes] of Object.entries(serializeRewardModel(m).files))
        await writeFile(path.join(dir, name), bytes);
      const ids = [
        [81, 58, 32, 50, 43, 50, 63, 32, 65, 58, 32, 52],
        [83, 97, 121, 257, 257, 257, 257, 257, 257, 257, 257, 257],
      ];
      const out = execFileSync(python!, [path.join(fixtures, 'hf_reward.py'), 'eval', dir, JSON.stringify(ids)], {
        encoding: 'utf8',
        timeout: 180_000,
      });
      const hf = (JSON.parse(out.trim().split('\n').at(-1)!) as { scores: number[] }).scores;
      const ours = tf.tidy(() => m.rewards(tf.tensor2d(ids, undefined, 'int32'), [12, 3]).dataSync());
      assert.ok(maxAbsDiff(ours, hf) < 1e-4, `max |Δ| ${maxAbsDiff(ours, hf)}`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
      m.dispose();
    }
  },
);
