// pipelines/examples/bpo.yaml, shrunk, on the real stack with a real worker:
// the whole flow succeeds and produces its eval outputs; the reward model it
// trains beats chance on the held-out split (eval.reward), and the
// `reward-model` scorer bpo.augment uses prefers the chosen reply of held-out
// pairs more often than not.
import { readDataset, type DatasetRecord } from '../../formats/index.js';
import { toPairs } from '../../activities/steps/common.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { scoreResponses } from '../../activities/rewards/index.js';
import { selectBackend } from '../../ml/index.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const pipeline = join(packageRoot(), 'pipelines', 'examples', 'bpo.yaml');
// Small enough for the test suite; the reward model keeps its default steps so its accuracy means something.
const SHRUNK = [
  'sftSteps=40',
  'selectFraction=0.25',
  'samples=3',
  'maxNewTokens=24',
  'dpoSteps=6',
  'evalPrompts=8',
  'evalSamples=1',
  'projectionDim=32',
];
let worker: WorkerHandle;
const store = () => ArtifactStore.fromEnv();
const outOf = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!.outputs!;
const recordsOf = async (uri: string) => {
  const records: DatasetRecord[] = [];
  for await (const r of readDataset([await store().readBytes(uri)])) records.push(r);
  return records;
};
const lines = async (uri: unknown) =>
  (await store().readBytes(String(uri)))
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

describe('pipelines/examples/bpo.yaml', () => {
  test('the whole flow on the bundled HH data; the reward model beats chance on held-out pairs', async () => {
    const t0 = Date.now();
    const { status, error } = await finish(await startPipeline(pipeline, SHRUNK));
    assert.equal(
      error,
      undefined,
      `run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${worker.output().slice(-3000)}`,
    );
    for (const s of status.steps) assert.ok(s.state === 'succeeded' || s.state === 'cached', `${s.id} is ${s.state}`);
    const out = status.outputs!;
    console.log(`bpo.yaml (shrunk): ${((Date.now() - t0) / 1000).toFixed(1)} s; outputs ${JSON.stringify(out)}`);

    // The eval outputs exist and are numbers in range.
    for (const k of ['heldOutReward', 'sftHeldOutReward', 'kl']) assert.ok(Number.isFinite(out[k]), `${k} = ${out[k]}`);
    for (const k of ['winRate', 'preferenceAccuracy', 'rewardModelAccuracy'])
      assert.ok(Number(out[k]) >= 0 && Number(out[k]) <= 1, `${k} = ${out[k]}`);
    const split = outOf(status, 'split');
    assert.equal(Number(split.trainRows) + Number(split.testRows), 296, 'every bundled row lands in train or test');
    assert.ok(Number(split.testPrompts) >= 10, `held-out prompts: ${split.testPrompts}`);

    // Reward model: held-out pairwise accuracy well above chance (0.5).
    const rm = outOf(status, 'reward-eval');
    console.log(
      `reward model held-out accuracy ${Number(rm.accuracy).toFixed(3)} on ${rm.pairs} pairs (margin ${Number(rm.margin).toFixed(3)})`,
    );
    assert.equal(rm.pairs, split.testRows);
    assert.ok(Number(rm.accuracy) > 0.6, `held-out accuracy ${rm.accuracy}`);
    const rmUri = String(outOf(status, 'reward').model);
    const files = await store().readBundle(rmUri);
    const cfg = JSON.parse(Buffer.from(files['config.json']!).toString()) as Record<string, unknown>;
    assert.deepEqual(cfg.architectures, ['GPT2ForSequenceClassification']);
    assert.equal(cfg.num_labels, 1);
    const training = (await store().manifest(rmUri)).attributes?.training as Record<string, unknown> | undefined;
    assert.equal(training?.kind, 'reward');
    assert.equal(training?.steps, 60);

    // The scorer bpo.augment uses, on the held-out pairs: chosen beats rejected more often than not.
    await selectBackend();
    // The split keeps HH dialogues as messages: read them back as the kinds do (prompt text + replies).
    const test = toPairs(await recordsOf(String(split.test)), String(split.test));
    const scores = await scoreResponses(
      { type: 'reward-model', model: rmUri },
      test.map((r) => ({ prompt: r.prompt, responses: [r.chosen, r.rejected] })),
      { store: store() },
    );
    const wins = scores.filter(([c, r]) => c! > r!).length;
    console.log(`reward-model scorer prefers chosen on ${wins}/${scores.length} held-out pairs`);
    assert.ok(wins > scores.length / 2, `${wins}/${scores.length}`);

    // bpo.augment scored its samples with the reward model: real scores, pairs ordered by them, the model in lineage.
    const aug = outOf(status, 'augment');
    const pairs = await lines(aug.data);
    assert.ok(pairs.length > 0, 'augmentation made pairs');
    for (const p of pairs) assert.ok(Number(p.score_chosen) > Number(p.score_rejected));
    assert.ok(
      (await store().manifest(String(aug.data))).inputs.some((i) => i.uri === rmUri),
      'the reward model is an input of the augmented pairs',
    );
    assert.equal(outOf(status, 'depth').pairs, out.bpoPairs);
  });
});
