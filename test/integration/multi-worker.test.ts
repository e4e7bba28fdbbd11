// Several worker processes on one machine: a sharded step spreads over them,
// every shard runs exactly once, and a worker stopped with SIGTERM drains its
// running shard instead of losing it. The fixture's step runs on its own queue
// (`multiworker`), so only the workers started here take its shards (other test
// files share the stack and serve cpu/gpu). Also: `--backend tensorflow` fails
// fast when native TensorFlow is missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const fixtures = join(packageRoot(), 'test', 'fixtures', 'spec');
const wide = join(fixtures, 'sharded-wide.yaml');
const SHARDS = 6;
const workerArgs = ['--queues', 'multiworker', '--concurrency', 'multiworker=2'];
let workers: WorkerHandle[] = [];

const expectedText = () =>
  readFileSync(join(fixtures, 'data', 'lines.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.toUpperCase() + '\n')
    .join('');

interface ShardAttempt {
  index: number;
  /** The attempt that closed the activity (1 = never retried). */
  attempt: number;
  identity: string;
}

/** The runStep shards a step's child workflow scheduled, from its history; fails on any timed-out/failed attempt. */
async function shardAttempts(childId: string): Promise<{ shards: ShardAttempt[]; failures: string[] }> {
  const history = await (await testClient()).workflow.getHandle(childId).fetchHistory();
  const scheduled = new Map<number, number>(); // scheduled event id -> shard index
  const shards: ShardAttempt[] = [];
  const failures: string[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s && s.activityType?.name === 'runStep') {
      const input = JSON.parse(Buffer.from(s.input!.payloads![0]!.data!).toString()) as { shard?: { index: number } };
      scheduled.set(Number(e.eventId), input.shard!.index);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.has(Number(started.scheduledEventId))) {
      shards.push({
        index: scheduled.get(Number(started.scheduledEventId))!,
        attempt: started.attempt ?? 0,
        identity: started.identity ?? '',
      });
    }
    if (
      e.activityTaskFailedEventAttributes ||
      e.activityTaskTimedOutEventAttributes ||
      e.activityTaskCanceledEventAttributes
    ) {
      failures.push(String(e.eventType));
    }
  }
  return {
    shards: [...scheduled.values()].map(
      (index) => shards.find((s) => s.index === index) ?? { index, attempt: 0, identity: '' },
    ),
    failures,
  };
}

async function assertEveryShardOnce(runId: string): Promise<ShardAttempt[]> {
  const { shards, failures } = await shardAttempts(`${runId}--fan`);
  assert.deepEqual(failures, [], 'no shard attempt failed, timed out or was cancelled');
  assert.deepEqual(
    shards.map((s) => s.index).sort((a, b) => a - b),
    Array.from({ length: SHARDS }, (_, i) => i),
    'one ActivityTaskScheduled per shard index',
  );
  for (const s of shards) assert.equal(s.attempt, 1, `shard ${s.index} ran on attempt ${s.attempt}: it was retried`);
  return shards;
}

async function assertMergedOutput(status: RunStatus): Promise<void> {
  assert.equal(status.state, 'succeeded');
  assert.equal(status.outputs?.lines, 12);
  const text = (await ArtifactStore.fromEnv().readBytes(String(status.outputs?.data))).toString();
  assert.equal(text, expectedText(), 'the merged output is complete and in shard order');
}

before(async () => {
  // Start them one after the other: three cold starts at once on two busy cores is slow.
  for (let i = 0; i < 3; i++) workers.push(await startWorker(workerArgs));
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe('several workers', () => {
  test('3 workers: a sharded step spreads over them and every shard runs exactly once', async () => {
    const handle = await startPipeline(wide, ['shardSleepMs=1500']);
    const { status, error } = await finish(handle);
    assert.equal(error, undefined);
    await assertMergedOutput(status);
    const shards = await assertEveryShardOnce(handle.workflowId);
    const ran = String(status.outputs?.worker).split(',');
    const pids = workers.map((w) => String(w.proc.pid));
    for (const w of ran)
      assert.ok(pids.includes(w.split(':').at(-1)!), `shard ran on ${w}, not one of this test's workers (${pids})`);
    console.log(
      `3 workers: ${SHARDS} shards ran on ${ran.length} workers (${ran.join(', ')}); history identities: ${[...new Set(shards.map((s) => s.identity))].join(', ')}`,
    );
    assert.ok(ran.length > 1, `the shards should spread over more than one worker, all ran on ${ran}`);
  });

  test('SIGTERM drains a worker: its running shard finishes, nothing is lost, it exits 0', async () => {
    const handle = await startPipeline(wide, ['shardSleepMs=4000']);
    // Wait for a worker to log a started shard of this run, then stop that worker.
    let victim: WorkerHandle | undefined;
    for (let i = 0; i < 300 && !victim; i++) {
      victim = workers.find((w) =>
        w
          .output()
          .split('\n')
          .some((l) => l.includes('"step started"') && l.includes(handle.workflowId) && l.includes('"shard"')),
      );
      if (!victim) await sleep(100);
    }
    assert.ok(victim, 'no worker started a shard of the run within 30 s');
    const stopped = Date.now();
    const code = await victim.stop('SIGTERM');
    const drainMs = Date.now() - stopped;
    assert.equal(code, 0, `the stopped worker should exit 0:\n${victim.output().slice(-2000)}`);
    assert.match(victim.output(), /"worker stopped"/);
    const { status, error } = await finish(handle);
    assert.equal(error, undefined);
    await assertMergedOutput(status);
    await assertEveryShardOnce(handle.workflowId);
    const ran = String(status.outputs?.worker);
    assert.ok(
      ran.includes(`:${victim.proc.pid}`),
      `the stopped worker (${victim.proc.pid}) should have finished its shard; shards ran on ${ran}`,
    );
    console.log(`SIGTERM: worker ${victim.proc.pid} drained in ${drainMs} ms and exited 0; shards ran on ${ran}`);
    workers = workers.filter((w) => w !== victim);
  });

  test('--backend tensorflow fails fast when native TensorFlow is not installed', async (t) => {
    let native = false;
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(pkg);
        native = true;
      } catch {
        /* not installed: the case under test */
      }
    }
    if (native) return t.skip('tfjs-node is installed here');
    const started = Date.now();
    // A dead Temporal address: the check must come before any connection attempt.
    const res = await bpoflow(['worker', '--backend', 'tensorflow', '--queues', 'none'], {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /--backend tensorflow: native TensorFlow is not available/);
    assert.match(res.stderr, /@tensorflow\/tfjs-node-gpu/);
    assert.match(res.stderr, /--backend auto/);
    assert.doesNotMatch(res.stderr + res.stdout, /worker ready/);
    console.log(
      `--backend tensorflow without tfjs-node: exit ${res.code} in ${Date.now() - started} ms: ${res.stderr.trim().split('\n').at(-1)}`,
    );
  });

  test('--backend tensorflow reports the device it got before connecting', async (t) => {
    let pkg: string | undefined;
    for (const p of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(p);
        pkg = p;
        break;
      } catch {
        /* not installed */
      }
    }
    if (!pkg) return t.skip('native tfjs-node is not installed (bash infra/native-tf.sh --link)');
    // A dead Temporal address: the worker selects its backend, logs it, then fails to connect.
    const res = await bpoflow(['worker', '--backend', 'tensorflow', '--queues', 'none'], {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      BPOFLOW_LOG_FORMAT: 'json',
    });
    assert.equal(res.code, 1, res.stderr);
    const line = (res.stdout + res.stderr).split('\n').find((l) => l.includes('"tensor backend selected"'));
    assert.ok(line, `no backend line in:\n${res.stdout}${res.stderr}`);
    const logged = JSON.parse(line) as { backend: string; device: string; reason: string };
    assert.equal(logged.backend, 'tensorflow');
    assert.equal(logged.reason, `native TensorFlow via ${pkg}`);
    // No GPU in CI: the CPU build says so and why; the GPU build on a GPU host names the GPU.
    assert.match(
      logged.device,
      pkg.endsWith('-gpu') ? /^(GPU .+|CPU only: .+)$/ : /^CPU only: @tensorflow\/tfjs-node is the CPU build/,
    );
    assert.match(res.stderr, /cannot connect to Temporal at 127\.0\.0\.1:1/);
    console.log(`--backend tensorflow: device "${logged.device}"`);
  });
});
