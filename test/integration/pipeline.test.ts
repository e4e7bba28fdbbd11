// The pipeline interpreter against the real stack: parallel branches, the step
// cache, retries and failure, shards, cancellation, and replay of the recorded
// histories with the current workflow code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { bundlePath } from '../../cli/bundle-workflows.js';
import { startWorker, bpoflow, type WorkerHandle } from '../helpers/worker.js';
import {
  finish,
  innermostMessage,
  localActivityMarkers,
  scheduledActivities,
  startPipeline,
  testClient,
} from '../helpers/runs.js';

const fixtures = join(packageRoot(), 'test', 'fixtures', 'spec');
const historiesDir = join(packageRoot(), 'test', 'fixtures', 'histories');
const recorded: string[] = [];
const { History } = proto.temporal.api.history.v1;
let worker: WorkerHandle;

const stepOf = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!;

before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

describe('pipeline workflow', () => {
  // How long the branches overlap is a benchmark (bench/engine.ts, parallelBranches); this
  // checks the scheduling: both branches start before either finishes.
  test('a diamond DAG runs its two branches in parallel', async () => {
    const handle = await startPipeline(join(fixtures, 'diamond.yaml'));
    const { status, error } = await finish(handle);
    assert.equal(error, undefined);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.outputs?.d, 'b after a+c');
    const events = (await handle.fetchHistory()).events ?? [];
    // The index in the run's history where step `id`'s child workflow was started or completed.
    const at = (what: 'started' | 'completed', id: string) => {
      const child = `${handle.workflowId}--${id}`;
      return events.findIndex((e) =>
        what === 'started'
          ? e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === child
          : e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === child,
      );
    };
    for (const id of ['b', 'c'])
      assert.ok(at('started', id) >= 0 && at('completed', id) >= 0, `step ${id} ran as a child`);
    assert.ok(at('started', 'c') < at('completed', 'b'), 'c starts before b finishes');
    assert.ok(at('started', 'b') < at('completed', 'c'), 'b starts before c finishes');
    recorded.push(handle.workflowId);
  });

  test('a cached rerun executes no step activity and says "cached"', async () => {
    const file = join(packageRoot(), 'pipelines', 'examples', 'quickstart.yaml');
    const first = await finish(await startPipeline(file));
    assert.equal(first.status.state, 'succeeded');
    const handle = await startPipeline(file);
    const second = await finish(handle);
    assert.equal(second.status.state, 'succeeded');
    assert.equal(stepOf(second.status, 'stats').state, 'cached');
    assert.deepEqual(second.status.outputs, first.status.outputs);
    // The lookup is a local activity (a marker); no activity goes through a task queue at all.
    assert.deepEqual(await scheduledActivities(`${handle.workflowId}--stats`), []);
    assert.equal(await localActivityMarkers(`${handle.workflowId}--stats`), 1, 'one cache lookup, no record');
    recorded.push(handle.workflowId);
  });

  test('cache: false forces a rerun', async () => {
    const file = join(fixtures, 'stats-nocache.yaml');
    await finish(await startPipeline(file));
    const handle = await startPipeline(file);
    const { status } = await finish(handle);
    assert.equal(stepOf(status, 'stats').state, 'succeeded');
    assert.equal(status.outputs?.prompts, 15);
    assert.deepEqual(await scheduledActivities(`${handle.workflowId}--stats`), ['runStep']);
  });

  test('a failing step retries per its policy, then fails the run with a clear error', async () => {
    const handle = await startPipeline(join(fixtures, 'failing.yaml'));
    const { status, error } = await finish(handle);
    assert.ok(error, 'the run must fail');
    assert.equal(innermostMessage(error), 'step "broken" failed: BadInput: failing on purpose (attempt 1)');
    assert.equal(status.state, 'failed');
    assert.equal(stepOf(status, 'flaky').state, 'succeeded');
    assert.equal(stepOf(status, 'flaky').attempts, 3, 'flaky fails twice, then succeeds on its third attempt');
    assert.equal(stepOf(status, 'broken').state, 'failed');
    assert.equal(stepOf(status, 'broken').attempts, 1, 'BadInput is not retried');
    assert.deepEqual(stepOf(status, 'broken').error, { type: 'BadInput', message: 'failing on purpose (attempt 1)' });
    assert.equal(stepOf(status, 'after').state, 'cancelled');
    recorded.push(handle.workflowId);
  });

  test('shards: 4 fans out and merges in order', async () => {
    const handle = await startPipeline(join(fixtures, 'sharded.yaml'));
    const { status, error } = await finish(handle);
    assert.equal(error, undefined);
    assert.equal(status.outputs?.lines, 12);
    const text = (await ArtifactStore.fromEnv().readBytes(String(status.outputs?.data))).toString();
    const expected = readFileSync(join(fixtures, 'data', 'lines.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.toUpperCase() + '\n')
      .join('');
    assert.equal(text, expected);
    const activities = await scheduledActivities(`${handle.workflowId}--fan`);
    assert.deepEqual(activities.filter((a) => a === 'runStep').length, 4);
    assert.equal(activities.at(-1), 'mergeShards');
    assert.equal(await localActivityMarkers(`${handle.workflowId}--fan`), 2, 'cache lookup and record');
    assert.equal(stepOf(status, 'report').state, 'succeeded', 'the `if` on the merged output held');
    recorded.push(handle.workflowId);
  });

  test('cancel stops a running step', async () => {
    const handle = await startPipeline(join(fixtures, 'diamond.yaml'), ['sleepMs=60000']);
    const client = await testClient();
    for (let i = 0; i < 100; i++) {
      const s = await handle.query<RunStatus>('status');
      if (stepOf(s, 'a').state === 'running') break;
      await sleep(100);
    }
    await sleep(500); // let the activity start on the worker
    const asked = Date.now();
    const res = await bpoflow(['cancel', handle.workflowId]);
    assert.equal(res.code, 0, res.stderr);
    const { status, error } = await finish(handle);
    const took = Date.now() - asked;
    assert.ok(error);
    assert.equal(status.state, 'cancelled');
    assert.equal(stepOf(status, 'a').state, 'cancelled');
    assert.equal(stepOf(status, 'd').state, 'cancelled');
    assert.ok(took < 20_000, `cancellation took ${took} ms`);
    const child = await client.workflow.getHandle(`${handle.workflowId}--a`).describe();
    assert.equal(child.status.name, 'CANCELLED');
  });

  test('history stays small: 200 steps and a 64-shard step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpoflow-wide-'));
    writeFileSync(join(dir, 'lines.txt'), Array.from({ length: 128 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const steps = Array.from(
      { length: 200 },
      (_, i) => `  - { id: s${i}, uses: test.noop@v1, with: { value: "${i}" } }`,
    );
    steps.push('  - { id: fan, uses: test.shard@v1, shards: 64, with: { data: "${{ inputs.lines }}" } }');
    const yaml = [
      'apiVersion: bpoflow/v1',
      'kind: Pipeline',
      'metadata: { name: wide }',
      'defaults: { cache: false }',
      'inputs:',
      '  lines: { path: ./lines.txt }',
      'steps:',
      ...steps,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'wide.yaml'), yaml);
    const handle = await startPipeline(join(dir, 'wide.yaml'));
    const { status, error } = await finish(handle);
    assert.equal(error, undefined);
    assert.equal(status.steps.filter((s) => s.state === 'succeeded').length, 201);
    const client = await testClient();
    const events = async (id: string) => (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
    const parent = await events(handle.workflowId);
    const shardStep = await events(`${handle.workflowId}--fan`);
    console.log(
      `history events: pipeline ${parent} for 201 steps, 64-shard step ${shardStep} (Temporal's limit: 51,200)`,
    );
    assert.ok(parent < 201 * 12, `pipeline history grows by a handful of events per step: ${parent}`);
    assert.ok(shardStep < 64 * 12, `shard history grows by a handful of events per shard: ${shardStep}`);
    assert.equal(
      readFileSync(join(dir, 'lines.txt'), 'utf8').toUpperCase(),
      (await ArtifactStore.fromEnv().readBytes(String(status.steps.at(-1)!.outputs!.data))).toString(),
    );
  });

  test('the workflow code replays every recorded history deterministically', async () => {
    const client = await testClient();
    mkdirSync(historiesDir, { recursive: true });
    const histories: { workflowId: string; history: unknown }[] = [];
    // Binary protobuf, not proto-JSON: it round-trips whatever protobufjs copies npm installed.
    for (const file of readdirSync(historiesDir).filter((f) => f.endsWith('.pb'))) {
      histories.push({
        workflowId: file.replace(/\.pb$/, ''),
        history: History.decode(readFileSync(join(historiesDir, file))),
      });
    }
    for (const id of recorded) {
      for (const wid of [id, ...(await childIds(id))]) {
        const history = await client.workflow.getHandle(wid).fetchHistory();
        histories.push({ workflowId: wid, history });
        if (process.env.BPOFLOW_RECORD_HISTORIES === '1')
          writeFileSync(join(historiesDir, `${wid}.pb`), History.encode(history).finish());
      }
    }
    assert.ok(
      recorded.length >= 4 && histories.length > recorded.length,
      `expected recorded and committed histories, got ${histories.length}`,
    );
    const results = Worker.runReplayHistories({ workflowBundle: { codePath: bundlePath() } }, histories as never);
    let replayed = 0;
    for await (const r of results) {
      assert.equal(r.error, undefined, `replay of ${r.workflowId} failed: ${String(r.error)}`);
      replayed++;
    }
    console.log(`replayed ${replayed} histories`);
    assert.equal(replayed, histories.length);
  });
});

async function childIds(runId: string): Promise<string[]> {
  const status = await (await testClient()).workflow.getHandle(runId).query<RunStatus>('status');
  return status.steps.flatMap((s) => (s.childId ? [s.childId] : []));
}
