/** Checkpoints (latest / fallback on corruption / retention) and model channels. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ArtifactStore, sha256Hex } from '../../store/artifacts.js';
import { Checkpoints } from '../../store/checkpoints.js';
import { Channels } from '../../store/channels.js';
import { integrationStore, uniqueRun } from '../fixtures/store/env.js';

let store: ArtifactStore;
before(async () => {
  store = integrationStore();
  await store.ensureBucket();
});

const state = (step: number) => ({
  'model.safetensors': Buffer.from(`weights@${step}`.repeat(1000)),
  'optimizer.pt': Buffer.from(`adam@${step}`),
  'trainer_state.json': Buffer.from(JSON.stringify({ step })),
});

test('checkpoints: latest, fallback when the latest is corrupt, retention keeps last K and best', async () => {
  const run = uniqueRun('ckpt');
  const ck = new Checkpoints(store);
  assert.equal(await ck.latestCheckpoint(run, 'train'), null);
  const losses: Record<number, number> = { 100: 0.9, 200: 0.4, 300: 0.6, 400: 0.7, 500: 0.65 };
  for (const step of [100, 200, 300])
    await ck.save(run, 'train', { files: state(step), meta: { step, metric: { loss: losses[step]! } } });
  const l = await ck.latestCheckpoint(run, 'train');
  assert.equal(l!.step, 300);
  assert.ok(l!.uri.endsWith('/checkpoints/0000000300'));
  assert.deepEqual(Buffer.from(l!.files['trainer_state.json']!).toString(), '{"step":300}');
  assert.deepEqual(l!.metric, { loss: 0.6 });

  // tamper with the latest's weights -> falls back to step 200
  const m300 = await store.manifest(l!.uri);
  await store.objects.put(store.bucket, m300.files!['model.safetensors']!.blob, Buffer.from('garbage'));
  const f1 = await ck.latestCheckpoint(run, 'train');
  assert.equal(f1!.step, 200);
  assert.equal(f1!.skipped.length, 1);
  assert.match(f1!.skipped[0]!.reason, /integrity check failed/);
  assert.equal(sha256Hex(f1!.files['model.safetensors']!), sha256Hex(state(200)['model.safetensors']));

  // delete a blob of step 200 as well -> falls back to 100
  const m200 = await store.manifest(f1!.uri);
  await store.objects.remove(store.bucket, m200.files!['optimizer.pt']!.blob);
  const f2 = await ck.latestCheckpoint(run, 'train');
  assert.equal(f2!.step, 100);
  assert.equal(f2!.skipped.length, 2);
  assert.match(f2!.skipped[1]!.reason, /missing/);

  // retention: keep last 2 + best by lowest loss
  const run2 = uniqueRun('ret');
  const kept = new Checkpoints(store, { retention: { keepLast: 2, best: { metric: 'loss', mode: 'min' } } });
  for (const step of [100, 200, 300, 400, 500])
    await kept.save(run2, 'train', { files: state(step), meta: { step, metric: { loss: losses[step]! } } });
  assert.deepEqual(
    (await kept.list(run2, 'train')).map((c) => c.step),
    [200, 400, 500],
  );
  // "higher is better"
  const res = await kept.prune(run2, 'train', { keepLast: 1, best: { metric: 'loss', mode: 'max' } });
  assert.deepEqual(
    (await kept.list(run2, 'train')).map((c) => c.step),
    [400, 500],
  );
  assert.equal(res.removed.length, 1);
  assert.equal((await kept.latestCheckpoint(run2, 'train'))!.step, 500);
});

test('channels: promote, latest, history; concurrent promotions are serialized', async () => {
  const run = uniqueRun('chan');
  const channel = `ch-${run}`;
  const ch = new Channels(store);
  assert.equal(await ch.latest(channel), null);
  const m1 = await store.putBundle(
    store.runUri(run, 'train', 'model-1'),
    { 'w.bin': Buffer.from('one') },
    { kind: 'model' },
  );
  const m2 = await store.putBundle(
    store.runUri(run, 'train', 'model-2'),
    { 'w.bin': Buffer.from('two') },
    { kind: 'model' },
  );
  const p1 = await ch.promote(channel, m1.uri, { metrics: { winrate: 0.55 }, runId: run });
  assert.equal(p1.seq, 1);
  const p2 = await ch.promote(channel, m2.uri, { metrics: { winrate: 0.61 }, runId: run });
  assert.equal(p2.seq, 2);
  const cur = await ch.latest(channel);
  assert.equal(cur!.modelUri, m2.uri);
  assert.equal(cur!.sha256, m2.sha256);
  assert.deepEqual(cur!.metrics, { winrate: 0.61 });
  const h = await ch.history(channel);
  assert.deepEqual(
    h.map((p) => [p.seq, p.modelUri]),
    [
      [1, m1.uri],
      [2, m2.uri],
    ],
  );
  assert.ok(h[0]!.historyKey.startsWith(`models/${channel}/history/`) && h[0]!.historyKey.endsWith('-00000001.json'));

  // 6 concurrent promoters (separate clients): every promotion gets a distinct seq, none lost
  const racers = Array.from({ length: 6 }, (_, i) =>
    new Channels(integrationStore()).promote(channel, i % 2 ? m1.uri : m2.uri, { metrics: { i } }),
  );
  const results = await Promise.all(racers);
  assert.deepEqual(
    results.map((r) => r.seq).sort((a, b) => a - b),
    [3, 4, 5, 6, 7, 8],
  );
  const h2 = await ch.history(channel);
  assert.deepEqual(
    h2.map((p) => p.seq),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.equal((await ch.latest(channel))!.seq, 8);
  await assert.rejects(ch.promote(channel, store.runUri(run, 'train', 'nope'), {}), /not found/);
  await assert.rejects(ch.promote('../x', m1.uri), /unsafe/);
});
