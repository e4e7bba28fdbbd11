// Run ids under concurrency: 20 submissions of the same plan in the same second all
// start (no WorkflowExecutionAlreadyStartedError) and all succeed, on the real Temporal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { preparePlan, submit } from '../../cli/run-commands.js';
import { packageRoot } from '../../spec/package-root.js';
import { ArtifactStore } from '../../store/artifacts.js';
import type { PipelineResult } from '../../workflows/pipeline.js';
import { testClient } from '../helpers/runs.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';

let worker: WorkerHandle;
before(async () => {
  worker = await startWorker(['--queues', 'cpu,gpu', '--concurrency', 'cpu=8']);
});
after(async () => {
  await worker?.stop();
});

test(
  '20 submits in the same second all start and succeed, with distinct colon-free ids',
  { timeout: 10 * 60_000 },
  async () => {
    const plan = await preparePlan(
      join(packageRoot(), 'test', 'fixtures', 'spec', 'diamond.yaml'),
      { set: ['sleepMs=0'] },
      ArtifactStore.fromEnv(),
    );
    const client = await testClient();
    while (Date.now() % 1000 > 200) await sleep(10); // start early in a second, so all 20 share it
    const t0 = Date.now();
    const handles = await Promise.all(Array.from({ length: 20 }, () => submit(client, plan)));
    const startedMs = Date.now() - t0;
    const ids = handles.map((h) => h.workflowId);
    assert.equal(new Set(ids).size, 20);
    const seconds = new Set(ids.map((id) => /-(\d{8}T\d{6}Z)-/.exec(id)?.[1]));
    assert.equal(seconds.size, 1, `all in one second: ${[...seconds].join(', ')}`);
    for (const id of ids) assert.doesNotMatch(id, /:/);
    // The result, not a status query: 20 queries at once need a worker to replay each run.
    const results = await Promise.all(handles.map((h) => h.result() as Promise<PipelineResult>));
    assert.deepEqual(
      results.map((r) => [r.runId, r.outputs.d, r.steps.map((s) => s.state).join(',')]),
      ids.map((id) => [id, 'b after a+c', 'succeeded,succeeded,succeeded,succeeded']),
    );
    console.log(`# 20 concurrent submits: all started in ${startedMs} ms, all succeeded after ${Date.now() - t0} ms`);
  },
);
