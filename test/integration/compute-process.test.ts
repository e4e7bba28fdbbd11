// Steps compute in a process of their own (activities/compute-host.ts), against
// the real stack with a real worker:
// - a step whose one synchronous stretch of tensor work lasts 12 s, with a 3 s
//   heartbeat timeout: `bpoflow status RUN` answers during it and the step does
//   not time out;
// - kill -9 of the compute process mid-training: the attempt fails with
//   ComputeProcessDied, the worker lives on, and the retry resumes from the
//   latest checkpoint (at most one checkpoint interval redone);
// - bpo.train on a large dataset for 2 steps computes reference log-probs for
//   the 8 pairs those steps read, and a rerun takes them from the cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArtifactStore } from '../../store/artifacts.js';
import { Checkpoints } from '../../store/checkpoints.js';
import { packageRoot } from '../../spec/package-root.js';
import { parseMetrics } from '../../activities/metrics.js';
import type { RefLogpsCache } from '../../activities/steps/ref-logps.js';
import { describeRun, type LiveRun } from '../../cli/run-view.js';
import { startWorker, timedBpoflow, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const QUEUE = 'compute-test';
let worker: WorkerHandle;

before(async () => {
  worker = await startWorker(['--queues', QUEUE], { BPOFLOW_LOG_LEVEL: 'debug' });
});
after(async () => {
  await worker?.stop();
});

interface LogLine {
  ts: string;
  msg: string;
  run?: string;
  step?: string;
  attempt?: number;
  pid?: number;
  trainStep?: number;
  error?: string;
  [k: string]: unknown;
}
const logLines = (run: string): LogLine[] =>
  worker
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const r = JSON.parse(l) as LogLine;
        return r.run === run ? [r] : [];
      } catch {
        return [];
      }
    });

async function until<T>(
  what: string,
  seconds: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  for (let i = 0; i < seconds * 10; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${seconds} s:\n${worker.output().slice(-3000)}`);
}

test('status answers while a step blocks its compute process for 12 s, and the step does not time out', async () => {
  const handle = await startPipeline(join(packageRoot(), 'test', 'fixtures', 'spec', 'block.yaml'));
  const runId = handle.workflowId;
  const started = await until('the blocking op', 120, () =>
    logLines(runId).find((l) => l.msg === 'blocking op started'),
  );
  const blockEnds = Date.parse(started.ts) + 12_000;

  // While it blocks: the status query path (what `bpoflow status` calls) and the real CLI. The CLI is
  // timed from when its modules are loaded (loading them takes seconds on a busy 2-core machine).
  const client = await testClient();
  const queries: number[] = [];
  const cli: { ms: number; totalMs: number; answeredAt: number; code: number; stderr: string; live: LiveRun }[] = [];
  while (Date.now() < blockEnds - 2_500 && cli.length < 3) {
    const t = Date.now();
    await describeRun(client, runId);
    queries.push(Date.now() - t);
    const res = await timedBpoflow(['status', runId, '--json']);
    cli.push({ ...res, answeredAt: Date.now(), live: JSON.parse(res.stdout || '{}') as LiveRun });
  }
  const { status, error } = await finish(handle);
  assert.equal(
    error,
    undefined,
    `run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${worker.output().slice(-3000)}`,
  );
  const finished = logLines(runId).find((l) => l.msg === 'blocking op finished')!;
  const idle = await timedBpoflow(['status', runId, '--json']);
  assert.equal(idle.code, 0, idle.stderr);

  const during = cli.filter((c) => c.answeredAt < Date.parse(finished.ts));
  console.log(
    `blocking step: op ${finished.ms} ms (${finished.ops} matMuls) in compute process ${started.pid} (worker ${worker.proc.pid}), heartbeat timeout 3 s; ` +
      `status query during it ${queries.join(', ')} ms; \`bpoflow status --json\` during it ${during.map((c) => `${c.ms} ms (${c.totalMs} ms with start-up)`).join(', ')}; ` +
      `after it ${idle.ms} ms (${idle.totalMs} ms with start-up)`,
  );
  assert.ok(queries.length > 0 && during.length > 0, 'status was asked while the op ran');
  for (const ms of queries) assert.ok(ms < 2_000, `the status query took ${ms} ms during the blocking op`);
  for (const c of during) {
    assert.equal(c.code, 0, c.stderr);
    const step = c.live.steps.find((s) => s.id === 'block')!;
    assert.equal(step.state, 'running');
    assert.equal(
      step.progress?.telemetry?.backend !== undefined,
      true,
      `status --json shows the compute backend: ${JSON.stringify(step.progress)}`,
    );
    assert.ok(c.ms < 2_000, `bpoflow status answered in ${c.ms} ms during the op`);
  }
  assert.ok(Number(finished.ms) >= 12_000);
  assert.notEqual(started.pid, worker.proc.pid, 'the op ran outside the worker process');
  const block = status.steps.find((s) => s.id === 'block')!;
  assert.equal(block.attempts, 1, 'no heartbeat timeout, no retry');
  assert.ok(Number(block.outputs?.blockedMs) >= 12_000);
  assert.ok((block.telemetry?.peakRssMb ?? 0) > 0, `peak RSS in the step status: ${JSON.stringify(block.telemetry)}`);
  assert.equal(block.metrics?.peak_rss_mb, block.telemetry?.peakRssMb);
  console.log(`blocking step telemetry: ${JSON.stringify(block.telemetry)}`);
});

test('kill -9 of the compute process mid-training: the retry resumes from the latest checkpoint', async () => {
  const EVERY = 5;
  const STEPS = 30;
  const store = ArtifactStore.fromEnv();
  const handle = await startPipeline(join(packageRoot(), 'test', 'fixtures', 'bpo', 'resume.yaml'), [
    `dpoSteps=${STEPS}`,
    `checkpointEvery=${EVERY}`,
    'pauseMs=300',
    `queue=${QUEUE}`,
  ]);
  const runId = handle.workflowId;
  const ckpts = new Checkpoints(store);
  await until('a checkpoint at step 10', 300, async () => {
    const steps = (await ckpts.list(runId, 'dpo')).map((c) => c.step);
    return Math.max(0, ...steps) >= 2 * EVERY ? true : undefined;
  });
  await sleep(800); // a few steps past it, so some work is really lost
  const child = logLines(runId)
    .filter((l) => l.step === 'dpo' && l.msg === 'compute process started')
    .at(-1)!;
  assert.ok(child?.pid, 'the worker logged the compute process');
  process.kill(child.pid, 'SIGKILL');
  const killedAt = Date.now();
  await sleep(200);
  const doneBeforeCrash = Math.max(
    ...logLines(runId)
      .filter((l) => l.step === 'dpo' && l.msg === 'train step')
      .map((l) => l.trainStep!),
  );
  const ckptAtCrash = Math.max(...(await ckpts.list(runId, 'dpo')).map((c) => c.step));

  const { status, error } = await finish(handle);
  assert.equal(
    error,
    undefined,
    `run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${worker.output().slice(-3000)}`,
  );
  assert.equal(worker.proc.exitCode, null, 'the worker itself lives on');
  const dpo = status.steps.find((s) => s.id === 'dpo')!;
  assert.equal(dpo.attempts, 2);
  const failed = logLines(runId).find((l) => l.step === 'dpo' && l.msg === 'step failed')!;
  assert.match(String(failed.error), /ComputeProcessDied: compute process \d+ was killed by SIGKILL/);
  const lines = logLines(runId).filter((l) => l.step === 'dpo' && l.attempt === 2);
  const firstStep = lines.find((l) => l.msg === 'train step')!;
  const resumedFrom = Number(dpo.outputs!.resumedFrom);
  const lost = doneBeforeCrash - resumedFrom;
  console.log(
    `compute process killed after step ${doneBeforeCrash} (latest checkpoint ${ckptAtCrash}); attempt 2 resumed from ${resumedFrom}, ` +
      `${lost} steps redone (checkpointEvery ${EVERY}); kill → first resumed step ${((Date.parse(firstStep.ts) - killedAt) / 1000).toFixed(1)} s; ` +
      `attempt-1 error: ${failed.error}`,
  );
  assert.equal(resumedFrom, ckptAtCrash, 'resumed from the latest checkpoint');
  assert.equal(firstStep.trainStep, resumedFrom + 1);
  assert.ok(lost >= 0 && lost < EVERY, `at most one checkpoint interval redone, got ${lost}`);

  // Telemetry: throughput and memory per row, backend in the manifest, peak RSS in the status.
  const rows = parseMetrics((await store.readBytes(String(dpo.outputs!.metrics))).toString());
  assert.deepEqual(
    rows.map((r) => r.step),
    Array.from({ length: STEPS }, (_, i) => i + 1),
  );
  for (const k of ['tokens_per_s', 'sequences_per_s', 'peak_rss_mb'])
    assert.ok(
      rows.every((r) => (r[k] ?? 0) > 0),
      `every row has ${k}`,
    );
  const manifest = await store.manifest(String(dpo.outputs!.metrics));
  assert.equal(manifest.attributes?.backend, dpo.telemetry?.backend);
  assert.ok((dpo.telemetry?.peakRssMb ?? 0) > 50, `peak RSS ${dpo.telemetry?.peakRssMb} MB`);
  const sft = status.steps.find((s) => s.id === 'sft')!;
  console.log(
    `telemetry: sft peak RSS ${sft.telemetry?.peakRssMb ?? '(cached)'} MB, dpo peak RSS ${dpo.telemetry?.peakRssMb} MB on ${dpo.telemetry?.backend}; ` +
      `dpo last row ${Math.round(rows.at(-1)!.tokens_per_s!)} tok/s, ${rows.at(-1)!.sequences_per_s!.toFixed(1)} seq/s`,
  );
});

test('bpo.train computes reference log-probs only for the pairs it reads, and a rerun reuses them', async () => {
  const store = ArtifactStore.fromEnv();
  const N = 4000;
  const rows: string[] = [];
  for (let i = 0; i < N; i++) {
    const a = i % 10;
    const b = Math.floor(i / 10) % 10;
    rows.push(JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: String(a + b + 1 + (i % 3)) }));
  }
  const data = `s3://${store.bucket}/test/ref-logps-${Date.now()}.jsonl`;
  await store.put(data, Buffer.from(rows.join('\n') + '\n'), { kind: 'dataset', mediaType: 'application/x-ndjson' });
  const pipeline = join(packageRoot(), 'test', 'fixtures', 'bpo', 'ref-logps.yaml');
  const set = [`data=${data}`, 'maxSteps=2', 'batchSize=4'];

  const first = await finish(await startPipeline(pipeline, set));
  assert.equal(
    first.error,
    undefined,
    `run failed: ${JSON.stringify(first.status.steps.map((s) => [s.id, s.state, s.error]))}\n${worker.output().slice(-3000)}`,
  );
  const line = logLines(first.status.runId).find((l) => l.msg === 'reference log-probs')!;
  assert.equal(first.status.outputs?.computed, 8, '2 steps × 4 pairs');
  assert.equal(line.computedSequences, 16);
  assert.equal(line.datasetPairs, N);
  const cache = await store.readJson<RefLogpsCache>(String(first.status.outputs?.refLogps));
  assert.equal(cache.pairs, N);
  assert.equal(cache.index.length, 8);
  assert.ok(cache.chosen.every(Number.isFinite) && cache.rejected.every(Number.isFinite));

  const again = await finish(await startPipeline(pipeline, set));
  assert.equal(again.error, undefined);
  assert.equal(again.status.outputs?.refLogps, first.status.outputs?.refLogps, 'the same cache artifact');
  assert.equal(again.status.outputs?.computed, 0);
  assert.equal(again.status.outputs?.reused, 8);
  const took = (s: typeof first.status) => {
    const dpo = s.steps.find((x) => x.id === 'dpo')!;
    return `${((dpo.endedAt! - dpo.startedAt!) / 1000).toFixed(1)} s`;
  };
  console.log(
    `ref log-probs: ${N} pairs, maxSteps 2 × batch 4: first run computed ${line.computedSequences} sequences (every pair, ${2 * N}, before), ` +
      `bpo.train ${took(first.status)}; rerun computed ${again.status.outputs?.computed} pairs and reused ${again.status.outputs?.reused}, ` +
      `bpo.train ${took(again.status)}; cache ${first.status.outputs?.refLogps}`,
  );
});
