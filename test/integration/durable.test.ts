// Durable runs against the real stack: resuming a failed run, schedules with
// overlap `skip`, and runs that survive a Temporal or S3 restart. The restarts
// happen on a stack of this file's own, so other test files are not disturbed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { restartService, startPrivateStack, type PrivateStack } from '../../infra/stack.js';
import { spawnWorker } from '../../infra/worker-process.js';
import { connectClient } from '../../cli/connect.js';
import { preparePlan, submit } from '../../cli/run-commands.js';
import { resumeRun } from '../../cli/resume.js';
import { runLinks } from '../../activities/run-links.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, scheduledActivities, startPipeline, testClient } from '../helpers/runs.js';

const fixtures = join(packageRoot(), 'test', 'fixtures', 'spec');
const stepOf = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!;
let worker: WorkerHandle;

before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

describe('resume', () => {
  test('a resumed failed run executes only the steps that had not succeeded', async () => {
    const store = ArtifactStore.fromEnv();
    const marker = `s3://${store.bucket}/test/resume-marker-${Date.now()}`;
    const first = await startPipeline(join(fixtures, 'resume.yaml'), [`marker=${marker}`]);
    const failed = await finish(first);
    assert.equal(failed.status.state, 'failed');
    assert.deepEqual(
      failed.status.steps.map((s) => [s.id, s.state]),
      [
        ['prep', 'succeeded'],
        ['side', 'succeeded'],
        ['gate', 'failed'],
        ['after', 'cancelled'],
      ],
    );

    await store.putJson(marker, { ok: true }, { kind: 'other' });
    const { handle, reused, rerun } = await resumeRun(await testClient(), store, first.workflowId);
    assert.deepEqual(reused.sort(), ['prep', 'side']);
    assert.deepEqual(rerun, ['gate', 'after']);
    const resumed = await finish(handle);
    assert.equal(resumed.status.state, 'succeeded');
    assert.equal(resumed.status.resumedFrom, first.workflowId);
    assert.equal(resumed.status.outputs?.final, 'gate after prepared');
    for (const id of ['prep', 'side']) {
      assert.equal(stepOf(resumed.status, id).state, 'cached');
      assert.equal(stepOf(resumed.status, id).reusedFrom, first.workflowId);
      assert.equal(stepOf(resumed.status, id).childId, undefined, `${id} must not run again`);
    }
    for (const id of ['gate', 'after'])
      assert.deepEqual(await scheduledActivities(`${handle.workflowId}--${id}`), ['runStep']);
    assert.deepEqual((await runLinks(store, first.workflowId)).resumedBy, [handle.workflowId]);
  });

  test('resume --from reruns that step and everything after it', async () => {
    const store = ArtifactStore.fromEnv();
    const marker = `s3://${store.bucket}/test/resume-marker-from-${Date.now()}`;
    await store.putJson(marker, { ok: true }, { kind: 'other' });
    const first = await finish(await startPipeline(join(fixtures, 'resume.yaml'), [`marker=${marker}`]));
    assert.equal(first.status.state, 'succeeded');
    const { handle, reused, rerun } = await resumeRun(await testClient(), store, first.status.runId, { from: 'prep' });
    assert.deepEqual(reused, ['side']);
    assert.deepEqual(rerun, ['prep', 'gate', 'after']);
    assert.equal((await finish(handle)).status.state, 'succeeded');
  });
});

describe('schedules', () => {
  test('a schedule triggered twice with overlap skip while its run is going starts one run', async () => {
    const id = `diamond-skip-${Date.now()}`;
    const created = await bpoflow([
      'schedule',
      'create',
      join(fixtures, 'diamond.yaml'),
      '--id',
      id,
      '--every',
      '24h',
      '--overlap',
      'skip',
      '--set',
      'sleepMs=4000',
    ]);
    assert.equal(created.code, 0, created.stderr);
    try {
      for (let i = 0; i < 2; i++) {
        const t = await bpoflow(['schedule', 'trigger', id]);
        assert.equal(t.code, 0, t.stderr);
        await sleep(1500);
      }
      const client = await testClient();
      const d = await client.schedule.getHandle(id).describe();
      assert.equal(d.info.recentActions.length, 1, 'the second trigger is skipped while the first run is going');
      const runId = d.info.recentActions[0]!.action.workflow.workflowId;
      const done = await finish(client.workflow.getHandle(runId));
      assert.equal(done.status.state, 'succeeded');
      const described = await bpoflow(['schedule', 'describe', id, '--json']);
      assert.equal(JSON.parse(described.stdout).runs.length, 1);
    } finally {
      await bpoflow(['schedule', 'delete', id]);
    }
  });
});

describe('service faults', () => {
  let stack: PrivateStack;
  let home: string;
  let faultWorker: Awaited<ReturnType<typeof spawnWorker>>;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'bpoflow-faults-'));
    stack = await startPrivateStack(home);
    env = { ...process.env, ...stack.env };
    faultWorker = await spawnWorker(['--queues', 'cpu'], env);
  });
  after(async () => {
    await faultWorker?.stop();
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  async function runOnFaultStack(file: string, set: string[], fault: () => Promise<unknown>): Promise<RunStatus> {
    const client = await connectClient(env);
    const store = ArtifactStore.fromEnv(env);
    await store.ensureBucket();
    const handle = await submit(client, await preparePlan(file, { set }, store));
    for (let i = 0; i < 200; i++) {
      const s = await handle.query<RunStatus>('status');
      if (s.steps.some((x) => x.state === 'running')) break;
      await sleep(100);
    }
    await sleep(700);
    await fault();
    const result = await handle.result().then(
      () => undefined,
      (e: Error) => e,
    );
    const status = await handle.query<RunStatus>('status');
    assert.equal(result, undefined, `the run must complete: ${String(result)}`);
    return status;
  }

  test('a run completes when the Temporal server restarts mid-run', async () => {
    const status = await runOnFaultStack(join(fixtures, 'diamond.yaml'), ['sleepMs=3000'], () =>
      restartService(home, 'temporal'),
    );
    assert.equal(status.state, 'succeeded');
    assert.equal(status.outputs?.d, 'b after a+c');
  });

  test('a run completes when the S3 server restarts mid-run', async () => {
    const status = await runOnFaultStack(join(fixtures, 'sharded.yaml'), ['shardSleepMs=3000'], () =>
      restartService(home, 's3'),
    );
    assert.equal(status.state, 'succeeded');
    assert.equal(status.outputs?.lines, 12);
    const text = (await ArtifactStore.fromEnv(env).readBytes(String(status.outputs?.data))).toString();
    assert.equal(text.split('\n').filter(Boolean).length, 12);
  });
});
