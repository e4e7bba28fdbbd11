// The bpo.* kinds on the real stack with a micro model: breadth selection,
// sharded augmentation (== unsharded), uniform depth, sharded gradient
// clustering (== unsharded), length depth, budgets and bounds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { Gpt2Model, makeConfig, selectBackend, serializeModel } from '../../ml/index.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const dir = join(packageRoot(), 'test', 'fixtures', 'bpo-data');
let worker: WorkerHandle;
let modelUri: string;
const store = () => ArtifactStore.fromEnv();
const out = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!.outputs!;
const lines = async (uri: unknown) =>
  (await store().readBytes(String(uri)))
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  worker = await startWorker();
  await selectBackend();
  const model = Gpt2Model.init(makeConfig('micro', 258), 5, 'byte');
  const s = store();
  modelUri = (
    await s.putBundle(`s3://${s.bucket}/test/bpo/micro-${Date.now()}`, serializeModel(model).files, { kind: 'model' })
  ).uri;
  model.dispose();
});
after(async () => {
  await worker?.stop();
});

describe('bpo kinds', () => {
  test('select → augment (sharded) → uniform / gradient-cluster (sharded) / length', async () => {
    const { status, error } = await finish(await startPipeline(join(dir, 'bpo-kinds.yaml'), [`model=${modelUri}`]));
    assert.equal(error, undefined, String(error));
    assert.equal(status.state, 'succeeded');

    const sel = out(status, 'select');
    assert.equal(sel.prompts, 6);
    assert.equal(sel.poolPrompts, 12);
    assert.equal((await lines(sel.data)).length, 6);
    const selection = await store().readJson<{ quotas: number[]; prompts: { cluster: number; selected: boolean }[] }>(
      String(sel.selection),
    );
    assert.equal(
      selection.quotas.reduce((a, b) => a + b, 0),
      6,
    );
    assert.ok(
      selection.quotas.every((q) => q >= 1),
      'every cluster keeps a prompt',
    );

    const aug = out(status, 'augment');
    const aug1 = out(status, 'augment1');
    assert.equal(aug.prompts, 6);
    assert.equal(aug.samples, 24);
    assert.ok(Number(aug.tokens) > 0);
    const multi = await lines(aug.responses);
    assert.ok(multi.length <= 6);
    for (const m of multi) assert.ok((m.responses as unknown[]).length >= 2 && (m.responses as unknown[]).length <= 4);
    // Shards see the same seeded stream per prompt: the merged output equals the unsharded one.
    assert.deepEqual(multi, await lines(aug1.responses));
    assert.deepEqual(await lines(aug.data), await lines(aug1.data));
    for (const p of await lines(aug.data)) assert.ok(Number(p.score_chosen) > Number(p.score_rejected));

    const uni = out(status, 'uniform');
    assert.equal(uni.poolPairs, 42);
    assert.equal(uni.pairs, 24 + 3 * 2, '24 one-pair prompts keep theirs, 3 deep prompts keep 2 each');
    const budget = Number(uni.pairs);

    const g = out(status, 'gradient');
    const g1 = out(status, 'gradient1');
    assert.equal(g.pairs, budget);
    assert.equal(g.budget, budget);
    const alloc = await store().readJson<{
      prompts: { prompt: string; depth: number; score: number; available: number }[];
    }>(String(g.allocation));
    assert.equal(alloc.prompts.length, 27);
    assert.equal(
      alloc.prompts.reduce((a, p) => a + p.depth, 0),
      budget,
    );
    for (const p of alloc.prompts) assert.ok(p.depth >= 1 && p.depth <= Math.min(4, p.available), JSON.stringify(p));
    const clusters = await store().readJson<{ points: { x: number; y: number; cluster: number; prompt: string }[] }>(
      String(g.clusters),
    );
    assert.equal(clusters.points.length, 42);
    assert.ok(
      clusters.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.cluster >= 0 && p.cluster < 3),
    );
    // The sharded feature pass merges to exactly what one run computes.
    assert.deepEqual(await store().readJson(String(g.allocation)), await store().readJson(String(g1.allocation)));
    assert.deepEqual(await lines(g.data), await lines(g1.data));
    assert.equal((await lines(g.data)).length, budget);

    // Validation-set usefulness: with the pool as the validation set, the same direction, so the same allocation.
    const gv = out(status, 'gradient-val');
    const allocOf = async (o: Record<string, unknown>) =>
      store().readJson<{ direction: string; prompts: unknown[] }>(String(o.allocation));
    const [av, a1] = [await allocOf(gv), await allocOf(g1)];
    assert.deepEqual([av.direction, a1.direction], ['validation', 'pool']);
    assert.deepEqual(av.prompts, a1.prompts);
    assert.deepEqual(await lines(gv.data), await lines(g1.data));

    // Learned reward: scores are mean token log-probs (negative), and each pair prefers the higher one.
    const learned = out(status, 'augment-learned');
    const scored = await lines(learned.responses);
    assert.ok(scored.length > 0);
    for (const m of scored)
      for (const r of m.responses as { score: number }[])
        assert.ok(Number.isFinite(r.score) && r.score < 0, `log-prob score ${r.score}`);
    for (const p of await lines(learned.data)) assert.ok(Number(p.score_chosen) > Number(p.score_rejected));

    const len = out(status, 'length');
    assert.equal(len.pairs, budget);
    const la = await store().readJson<{ prompts: { depth: number; score: number; available: number }[] }>(
      String(len.allocation),
    );
    for (const p of la.prompts) assert.ok(p.depth >= 1 && p.depth <= Math.min(4, p.available));
  });

  test('a budget below the minimum depths fails as BadInput without retries', async () => {
    const { status, error } = await finish(await startPipeline(join(dir, 'bpo-badbudget.yaml')));
    assert.ok(error);
    const step = status.steps.find((s) => s.id === 'length')!;
    assert.equal(step.state, 'failed');
    assert.equal(step.attempts, 1);
    assert.equal(step.error?.type, 'BadInput');
    assert.match(step.error?.message ?? '', /below the sum of minimum depths/);
  });
});
