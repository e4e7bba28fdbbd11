// The periodic re-alignment cycle, as shipped in pipelines/examples: bootstrap a
// channel, then a scheduled run that starts from `channel://` (pinned at run
// start), trains only on data that arrived since the last promotion, and
// promotes on improvement.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore, type LineageNode } from '../../store/artifacts.js';
import { runInput } from '../../cli/resume.js';
import { Channels } from '../../store/channels.js';
import { packageRoot } from '../../spec/package-root.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const examples = join(packageRoot(), 'pipelines', 'examples');
let worker: WorkerHandle;

before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

async function nextScheduledRun(client: Client, scheduleId: string, seen: number): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const d = await client.schedule.getHandle(scheduleId).describe();
    if (d.info.recentActions.length > seen) return d.info.recentActions.at(-1)!.action.workflow.workflowId;
    await sleep(200);
  }
  throw new Error(`schedule ${scheduleId} started no run`);
}

test('bootstrap, then a scheduled re-alignment on new data only, promoting on improvement', async () => {
  const store = ArtifactStore.fromEnv();
  const channel = `demo-${Date.now()}`;
  const incoming = `s3://${store.bucket}/incoming/${channel}/`;

  const boot = await finish(await startPipeline(join(examples, 'realign-bootstrap.yaml'), [`channel=${channel}`]));
  assert.equal(boot.status.state, 'succeeded', boot.error?.message);
  assert.equal(boot.status.outputs?.promoted, true, 'an empty channel always takes the first model');
  const first = await new Channels(store).latest(channel);
  assert.equal(first?.modelUri, boot.status.outputs?.model);

  await sleep(1100); // object times have one-second resolution: the new file must be newer than the promotion
  await store.put(`${incoming}batch-1.jsonl`, readFileSync(join(examples, 'data', 'tiny-prefs.jsonl')), {
    kind: 'dataset',
  });

  const scheduleId = `realign-${channel}`;
  const created = await bpoflow([
    'schedule',
    'create',
    join(examples, 'realign.yaml'),
    '--id',
    scheduleId,
    '--every',
    '24h',
    '--overlap',
    'skip',
    '--set',
    `channel=${channel}`,
    '--set',
    `incoming=${incoming}`,
  ]);
  assert.equal(created.code, 0, created.stderr);
  const client = await testClient();
  try {
    assert.equal((await bpoflow(['schedule', 'trigger', scheduleId])).code, 0);
    const run1 = await finish(client.workflow.getHandle(await nextScheduledRun(client, scheduleId, 0)));
    assert.equal(run1.status.state, 'succeeded', run1.error?.message);
    assert.deepEqual(run1.status.channels, { [channel]: first!.modelUri }, 'channel:// is pinned at run start');
    assert.equal(run1.status.outputs?.rows, 40, 'the new file since the promotion');
    const step = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!;
    assert.equal(step(run1.status, 'train').state, 'succeeded');
    const promoted = run1.status.outputs?.promoted === true;
    const latest = await new Channels(store).latest(channel);
    assert.equal(latest?.modelUri, promoted ? run1.status.outputs?.model : first!.modelUri);

    // The lineage of the final model names every input: the new data file, and through the
    // channel's model, the bootstrap pipeline's uploaded dataset.
    const bootInput = (await runInput(client, boot.status.runId)).plan.inputs.data!;
    const names = new Set<string>();
    const walk = (n: LineageNode) => {
      names.add(n.uri);
      n.inputs.forEach(walk);
    };
    walk(await store.lineage(String(run1.status.outputs?.model)));
    for (const uri of [`${incoming}batch-1.jsonl`, first!.modelUri, bootInput])
      assert.ok(names.has(uri), `lineage names ${uri}`);

    // Second run: after a promotion nothing is new, so training is skipped; without one, the same file is still new.
    await sleep(1100);
    assert.equal((await bpoflow(['schedule', 'trigger', scheduleId])).code, 0);
    const run2 = await finish(client.workflow.getHandle(await nextScheduledRun(client, scheduleId, 1)));
    assert.equal(run2.status.state, 'succeeded', run2.error?.message);
    assert.equal(run2.status.outputs?.rows, promoted ? 0 : 40);
    assert.equal(step(run2.status, 'train').state, promoted ? 'skipped' : 'succeeded');
    console.log(`realign: run 1 promoted=${promoted}; run 2 saw ${String(run2.status.outputs?.rows)} new rows`);
  } finally {
    await bpoflow(['schedule', 'delete', scheduleId]);
  }
});
