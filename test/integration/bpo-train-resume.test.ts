// bpo.train survives a worker killed with SIGKILL mid-training: the retry on a
// new worker resumes from the latest checkpoint (at most one checkpoint
// interval redone) and ends with a model byte-identical to an uninterrupted run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { Checkpoints } from '../../store/checkpoints.js';
import { packageRoot } from '../../spec/package-root.js';
import { parseMetrics, TELEMETRY_METRICS, type MetricsRow } from '../../activities/metrics.js';
import { describeRun } from '../../cli/run-view.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const pipeline = join(packageRoot(), 'test', 'fixtures', 'bpo', 'resume.yaml');
const QUEUES = ['--queues', 'bpo-resume-test'];
const workers: WorkerHandle[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});

interface LogLine {
  ts: string;
  msg: string;
  step?: string;
  attempt?: number;
  trainStep?: number;
  fromStep?: number;
}
const logLines = (w: WorkerHandle): LogLine[] =>
  w
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });

test('bpo.train resumes from its checkpoint after kill -9 and ends byte-identical', async () => {
  const EVERY = 5;
  const PAUSE = 400;
  const STEPS = 30;
  const set = [`dpoSteps=${STEPS}`, `checkpointEvery=${EVERY}`, `pauseMs=${PAUSE}`];
  const store = ArtifactStore.fromEnv();
  const debug = { BPOFLOW_LOG_LEVEL: 'debug' };

  const w1 = await startWorker(QUEUES, debug);
  workers.push(w1);
  const handle = await startPipeline(pipeline, set);
  const runId = handle.workflowId;
  const client = await testClient();

  // Wait until a checkpoint at step >= 10 exists. Heartbeats reach Temporal throttled (up to 0.8 × the
  // heartbeat timeout apart), so the store is the prompt signal; describeRun shows what `bpoflow status` sees.
  const ckpts = new Checkpoints(store);
  let saved = 0;
  let heartbeated = '(none yet)';
  for (let i = 0; i < 1200 && saved < 2 * EVERY; i++) {
    saved = Math.max(0, ...(await ckpts.list(runId, 'dpo')).map((c) => c.step));
    const live = await describeRun(client, runId);
    heartbeated =
      live.steps
        .find((s) => s.id === 'dpo')
        ?.progress?.checkpoint?.split('/')
        .at(-1) ?? heartbeated;
    if (saved < 2 * EVERY) await sleep(100);
  }
  assert.ok(saved >= 2 * EVERY, 'the step never saved a checkpoint');
  await sleep(2.5 * PAUSE); // a couple of steps past it, so some work is really lost
  w1.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await w1.stop();
  const doneBeforeCrash = Math.max(
    ...logLines(w1)
      .filter((l) => l.msg === 'train step' && l.step === 'dpo')
      .map((l) => l.trainStep!),
  );
  const ckptAtCrash = Math.max(...(await new Checkpoints(store).list(runId, 'dpo')).map((c) => c.step));

  const w2 = await startWorker(QUEUES, debug);
  workers.push(w2);
  const { status, error } = await finish(handle);
  assert.equal(
    error,
    undefined,
    `run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${w2.output().slice(-3000)}`,
  );
  const dpo = status.steps.find((s) => s.id === 'dpo')!;
  const out = dpo.outputs!;
  assert.equal(dpo.attempts, 2, 'the step succeeded on its second attempt');
  const resumedFrom = Number(out.resumedFrom);
  const w2lines = logLines(w2).filter((l) => l.step === 'dpo');
  const resumeLine = w2lines.find((l) => l.msg === 'resuming from checkpoint')!;
  const firstStep = w2lines.find((l) => l.msg === 'train step')!;
  assert.ok(resumeLine && firstStep, 'second attempt logged its resume and steps');
  const lost = doneBeforeCrash - resumedFrom;
  const crashToResumed = Date.parse(firstStep.ts) - killedAt;
  console.log(
    `resume: killed after step ${doneBeforeCrash} (heartbeated checkpoint ${heartbeated}, latest checkpoint ${ckptAtCrash}); ` +
      `attempt 2 resumed from step ${resumedFrom}, first step ${firstStep.trainStep}; ${lost} steps redone (checkpointEvery ${EVERY}); ` +
      `crash → resumed progress ${(crashToResumed / 1000).toFixed(1)} s (heartbeat timeout 10 s)`,
  );
  assert.ok(resumedFrom > 0, 'resumed from a checkpoint, not from scratch');
  assert.equal(resumedFrom, ckptAtCrash, 'resumed from the latest checkpoint');
  assert.equal(resumeLine.fromStep, resumedFrom);
  assert.equal(firstStep.trainStep, resumedFrom + 1, "the second attempt's first step follows the checkpoint");
  assert.ok(lost >= 0 && lost < EVERY, `at most one checkpoint interval redone, got ${lost}`);
  assert.equal(out.steps, STEPS);

  // metrics.jsonl covers every step once, across both attempts.
  const rows = parseMetrics((await store.readBytes(String(out.metrics))).toString());
  assert.deepEqual(
    rows.map((r) => r.step),
    Array.from({ length: STEPS }, (_, i) => i + 1),
  );

  // The same pipeline straight through (bpo.train has cache: false): same bytes.
  const straight = await finish(await startPipeline(pipeline, set));
  assert.equal(straight.error, undefined);
  const sOut = (straight.status as RunStatus).steps.find((s) => s.id === 'dpo')!.outputs!;
  assert.equal(sOut.resumedFrom, 0);
  const [a, b] = [await store.manifest(String(out.model)), await store.manifest(String(sOut.model))];
  console.log(
    `resume: crashed-run model sha256 ${a.sha256}, uninterrupted ${b.sha256}; model.safetensors ${a.files!['model.safetensors']!.sha256.slice(0, 16)}… vs ${b.files!['model.safetensors']!.sha256.slice(0, 16)}…`,
  );
  assert.notEqual(out.model, sOut.model);
  assert.equal(a.sha256, b.sha256, 'final model bundles are byte-identical');
  assert.equal(a.files!['model.safetensors']!.sha256, b.files!['model.safetensors']!.sha256);
  const sRows = parseMetrics((await store.readBytes(String(sOut.metrics))).toString());
  // Step for step, apart from the telemetry (throughput and memory measure the machine, not the model).
  const modelMetrics = ({ ts: _t, ...r }: MetricsRow) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !(TELEMETRY_METRICS as readonly string[]).includes(k)));
  assert.deepEqual(
    rows.map(modelMetrics),
    sRows.map(modelMetrics),
    'metrics equal the uninterrupted run, step for step',
  );
  assert.equal(out.tokens, sOut.tokens);
  assert.equal(out.loss, sOut.loss);
});
