// The CLI answers without a worker: `status`, `watch` and `resume` of finished
// runs read their history; a running run nobody serves is reported with the
// task queue that has no worker, within seconds; `cancel` is recorded and takes
// effect when a worker polls. Runs in a namespace of its own, so no other
// test's worker can serve its runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { packageRoot } from '../../spec/package-root.js';
import { preparePlan, submit } from '../../cli/run-commands.js';
import { describeRun } from '../../cli/run-view.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { WORKFLOW_QUEUE } from '../../cli/connect.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { testClient } from '../helpers/runs.js';
import type { RunStatus } from '../../workflows/pipeline.js';

const { temporal } = proto;
const specDir = join(packageRoot(), 'test', 'fixtures', 'spec');
const NS = `bpoflow-noworker-${randomBytes(3).toString('hex')}`;
const env = { TEMPORAL_NAMESPACE: NS };
let client: Client;
const workers: WorkerHandle[] = [];

/** A fresh namespace with bpoflow's search attributes, and a client for it. */
async function newNamespace(name: string): Promise<Client> {
  const base = await testClient();
  await base.workflowService.registerNamespace({
    namespace: name,
    workflowExecutionRetentionPeriod: { seconds: 86_400 as never },
  });
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  // The namespace reaches every service after the server's namespace cache refreshes.
  for (let i = 0; ; i++) {
    try {
      await base.connection.operatorService.addSearchAttributes({
        namespace: name,
        searchAttributes: { BpoflowPipeline: keyword, BpoflowSpecHash: keyword },
      });
      break;
    } catch (err) {
      if (i >= 60) throw err;
      await sleep(500);
    }
  }
  return new Client({ connection: base.connection, namespace: name });
}

before(async () => {
  client = await newNamespace(NS);
});
after(async () => {
  for (const w of workers) await w.stop('SIGKILL');
});

async function start(file: string, set: string[] = [], on: Client = client): Promise<WorkflowHandle> {
  const plan = await preparePlan(join(specDir, file), { set }, ArtifactStore.fromEnv());
  for (let i = 0; ; i++) {
    try {
      return await submit(on, plan);
    } catch (err) {
      // search attributes just added may take a moment to be accepted
      if (i >= 40) throw err;
      await sleep(500);
    }
  }
}

const timed = async <T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const t = Date.now();
  const value = await f();
  return { value, ms: Date.now() - t };
};

async function cliTimed(args: string[], namespace = NS) {
  const t = Date.now();
  const r = await bpoflow(args, { TEMPORAL_NAMESPACE: namespace });
  return { ...r, ms: Date.now() - t };
}

describe('the CLI without a worker', () => {
  test("a step whose queue has no worker: status names the step's queue", async () => {
    // A namespace of its own, where no worker ever polled `cpu`.
    const ns = `${NS}-steps`;
    const own = await newNamespace(ns);
    const w = await startWorker(['--queues', 'gpu'], { TEMPORAL_NAMESPACE: ns });
    try {
      const handle = await start('diamond.yaml', ['sleepMs=0'], own);
      let live = await describeRun(own, handle.workflowId);
      for (let i = 0; i < 100 && !live.warnings?.length; i++) {
        await sleep(200);
        live = await describeRun(own, handle.workflowId);
      }
      assert.equal(live.source, 'query', 'the workflow worker answers');
      assert.equal(live.steps[0]!.state, 'running');
      assert.deepEqual(live.warnings, [
        `step "a": no worker is polling task queue "cpu" (step activities; never seen): start \`bpoflow worker\` for it; the run continues when one polls`,
      ]);
      const st = await cliTimed(['status', handle.workflowId], ns);
      assert.match(st.stdout, /warning: step "a": no worker is polling task queue "cpu"/);
      assert.match(
        (await cliTimed(['cancel', handle.workflowId], ns)).stdout,
        /^cancel requested for /,
        'with a workflow worker, cancel goes through the update',
      );
      await handle.result().catch(() => undefined);
      const [fromHistory, fromQuery] = [
        await describeRun(own, handle.workflowId),
        await handle.query<RunStatus>('status'),
      ];
      assert.equal(fromHistory.state, 'cancelled');
      assert.deepEqual(
        fromHistory.steps.map((x) => x.state),
        fromQuery.steps.map((x) => x.state),
      );
    } finally {
      await w.stop();
    }
  });

  test('a run submitted with no worker at all: status names the queue, cancel is recorded and takes effect once a worker polls', async () => {
    const handle = await start('diamond.yaml', ['sleepMs=0']);
    const run = handle.workflowId;

    const { value: live, ms } = await timed(() => describeRun(client, run));
    assert.ok(ms < 5000, `describeRun took ${ms} ms`);
    assert.equal(live.state, 'running');
    assert.equal(live.source, 'history');
    assert.deepEqual(
      live.steps.map((s) => s.state),
      ['pending', 'pending', 'pending', 'pending'],
    );
    assert.match(
      live.warnings?.[0] ?? '',
      new RegExp(`no worker is polling task queue "${WORKFLOW_QUEUE}" \\(workflow tasks; never seen\\)`),
    );

    const st = await cliTimed(['status', run]);
    console.log(`no worker: bpoflow status ${st.ms} ms (CLI start included), describeRun ${ms} ms`);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`warning: no worker is polling task queue "${WORKFLOW_QUEUE}"`));
    const json = JSON.parse((await cliTimed(['status', run, '--json'])).stdout) as {
      state: string;
      warnings: string[];
      source: string;
    };
    assert.equal(json.state, 'running');
    assert.equal(json.source, 'history');
    assert.equal(json.warnings.length, 1);

    const cancel = await cliTimed(['cancel', run, '--reason', 'no worker test']);
    console.log(`no worker: bpoflow cancel ${cancel.ms} ms`);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(
      cancel.stdout,
      new RegExp(
        `cancel of ${run} recorded \\(no worker test\\); no worker is serving task queue "${WORKFLOW_QUEUE}" now, so it takes effect when one polls it`,
      ),
    );
    const history = await handle.fetchHistory();
    assert.ok(
      history.events!.some((e) => e.workflowExecutionCancelRequestedEventAttributes?.cause === 'no worker test'),
      'the cancel request is in the history',
    );

    // A worker comes: the run ends cancelled, no step ran.
    workers.push(await startWorker(['--queues', 'cpu'], env));
    await handle.result().catch(() => undefined);
    const final = await cliTimed(['status', run, '--json']);
    const s = JSON.parse(final.stdout) as { state: string; source: string; steps: { state: string }[] };
    assert.equal(s.state, 'cancelled');
    assert.equal(s.source, 'history');
    assert.equal(final.code, 1, 'a cancelled run exits 1');
    // The history says what the workflow itself says (its query, answered by the worker now here).
    const q = await handle.query<RunStatus>('status');
    assert.deepEqual(
      s.steps.map((x) => x.state),
      q.steps.map((x) => x.state),
    );
    assert.equal(q.state, 'cancelled');
  });

  test('finished runs after their worker stopped: status, watch and resume answer at once', async () => {
    if (!workers.length) workers.push(await startWorker(['--queues', 'cpu'], env));
    const ok = await start('diamond.yaml', ['sleepMs=0']);
    await ok.result();
    const failed = await start('failing.yaml');
    await failed.result().catch(() => undefined);
    const liveOk = await describeRun(client, ok.workflowId);
    assert.equal(liveOk.source, 'history', 'a finished run is read from its history');
    for (const h of [ok, failed]) {
      const [fromHistory, fromQuery] = [await describeRun(client, h.workflowId), await h.query<RunStatus>('status')];
      const view = (r: {
        state: string;
        error?: string;
        steps: { id: string; state: string; attempts: number; error?: unknown; outputs?: unknown }[];
      }) => ({
        state: r.state,
        error: r.error,
        steps: r.steps.map((x) => [x.id, x.state, x.attempts, x.error, x.outputs]),
      });
      assert.deepEqual(view(fromHistory), view(fromQuery), `history and query agree on ${h.workflowId}`);
    }
    for (const w of workers.splice(0)) await w.stop('SIGKILL');

    const st = await cliTimed(['status', ok.workflowId]);
    console.log(`worker gone: status of a finished run ${st.ms} ms`);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`${ok.workflowId}  succeeded`));
    assert.match(st.stdout, /output d = b after a\+c/);
    assert.ok(st.ms < 15_000, `status took ${st.ms} ms`);
    const w = await cliTimed(['watch', ok.workflowId]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /✓ d\s+succeeded/);
    const f = await cliTimed(['status', failed.workflowId, '--json']);
    assert.equal(f.code, 1);
    const fs = JSON.parse(f.stdout) as { state: string; error: string; steps: { id: string; state: string }[] };
    assert.equal(fs.state, 'failed');
    assert.equal(fs.error, 'step "broken" failed: BadInput: failing on purpose (attempt 1)');
    assert.deepEqual(
      fs.steps.map((x) => x.state),
      ['succeeded', 'failed', 'cancelled'],
    );

    const nothing = await cliTimed(['resume', ok.workflowId]);
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal(
      nothing.stdout,
      `run ${ok.workflowId} succeeded: nothing to resume (to run steps again: bpoflow resume ${ok.workflowId} --from STEP)\n`,
    );

    const resumed = await cliTimed(['resume', failed.workflowId, '--json']);
    console.log(`worker gone: resume of a failed run ${resumed.ms} ms`);
    assert.equal(resumed.code, 0, resumed.stderr);
    const r = JSON.parse(resumed.stdout) as { runId: string; reused: string[]; rerun: string[] };
    assert.deepEqual(r.reused, ['flaky']);
    assert.deepEqual(r.rerun, ['broken', 'after']);
    const news = JSON.parse((await cliTimed(['status', r.runId, '--json'])).stdout) as {
      steps: { id: string; state: string }[];
      warnings: string[];
    };
    assert.deepEqual(
      news.steps.map((x) => x.state),
      ['cached', 'pending', 'pending'],
    );
    assert.match(news.warnings[0]!, new RegExp(`task queue "${WORKFLOW_QUEUE}"`));
  });

  test('a running run whose worker was killed: status says so within 5 s, cancel does not hang', async () => {
    const w = await startWorker(['--queues', 'cpu'], env);
    workers.push(w);
    const handle = await start('diamond.yaml', ['sleepMs=60000']);
    let live = await describeRun(client, handle.workflowId);
    for (let i = 0; i < 200 && live.steps[0]!.state !== 'running'; i++) {
      await sleep(100);
      live = await describeRun(client, handle.workflowId);
    }
    assert.equal(live.source, 'query', 'with its worker, the run answers its query');
    assert.equal(live.steps[0]!.state, 'running');
    await w.stop('SIGKILL');
    workers.splice(workers.indexOf(w), 1);

    const { value: gone, ms } = await timed(() => describeRun(client, handle.workflowId));
    console.log(`worker killed: describeRun of the running run ${ms} ms`);
    assert.ok(ms < 5000, `describeRun took ${ms} ms`);
    assert.equal(gone.source, 'history');
    assert.equal(gone.steps[0]!.state, 'running');
    assert.equal(gone.steps[3]!.state, 'pending');
    assert.match(gone.warnings?.[0] ?? '', new RegExp(`task queue "${WORKFLOW_QUEUE}"`));
    const st = await cliTimed(['status', handle.workflowId]);
    console.log(`worker killed: bpoflow status ${st.ms} ms (CLI start included)`);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`warning: .*task queue "${WORKFLOW_QUEUE}"`));

    const cancel = await cliTimed(['cancel', handle.workflowId]);
    console.log(`worker killed: bpoflow cancel ${cancel.ms} ms`);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /recorded .* takes effect when one polls it/);
    assert.ok(cancel.ms < 15_000, `cancel took ${cancel.ms} ms`);
    workers.push(await startWorker(['--queues', 'cpu'], env));
    await handle.result().catch(() => undefined);
    assert.equal((await describeRun(client, handle.workflowId)).state, 'cancelled');
  });
});
