// model.reward survives a worker killed with SIGKILL mid-training: the retry on
// a new worker resumes from the latest checkpoint and ends with a reward model
// byte-identical to an uninterrupted run (the same checkpoint helpers as model.sft).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArtifactStore } from '../../store/artifacts.js';
import { Checkpoints } from '../../store/checkpoints.js';
import { packageRoot } from '../../spec/package-root.js';
import { parseMetrics } from '../../activities/metrics.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const pipeline = join(packageRoot(), 'test', 'fixtures', 'bpo', 'reward-resume.yaml');
const QUEUES = ['--queues', 'reward-resume-test'];
const workers: WorkerHandle[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});

test('model.reward resumes from its checkpoint after kill -9 and ends byte-identical', async () => {
  const EVERY = 5;
  const STEPS = 30;
  const set = [`steps=${STEPS}`, `checkpointEvery=${EVERY}`, 'pauseMs=300'];
  const store = ArtifactStore.fromEnv();
  const w1 = await startWorker(QUEUES);
  workers.push(w1);
  const handle = await startPipeline(pipeline, set);
  const runId = handle.workflowId;
  const ckpts = new Checkpoints(store);
  let saved = 0;
  for (let i = 0; i < 1200 && saved < 2 * EVERY; i++) {
    saved = Math.max(0, ...(await ckpts.list(runId, 'reward')).map((c) => c.step));
    if (saved < 2 * EVERY) await sleep(100);
  }
  assert.ok(saved >= 2 * EVERY, 'the step never saved a checkpoint');
  w1.proc.kill('SIGKILL');
  await w1.stop();
  const ckptAtCrash = Math.max(...(await ckpts.list(runId, 'reward')).map((c) => c.step));

  const w2 = await startWorker(QUEUES);
  workers.push(w2);
  const { status, error } = await finish(handle);
  assert.equal(
    error,
    undefined,
    `run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${w2.output().slice(-3000)}`,
  );
  const step = status.steps.find((s) => s.id === 'reward')!;
  const out = step.outputs!;
  assert.equal(step.attempts, 2, 'the step succeeded on its second attempt');
  console.log(
    `reward resume: latest checkpoint at the crash ${ckptAtCrash}, attempt 2 resumed from ${out.resumedFrom}`,
  );
  assert.equal(Number(out.resumedFrom), ckptAtCrash, 'resumed from the latest checkpoint');
  assert.equal(out.steps, STEPS);
  const rows = parseMetrics((await store.readBytes(String(out.metrics))).toString());
  assert.deepEqual(
    rows.map((r) => r.step),
    Array.from({ length: STEPS }, (_, i) => i + 1),
  );
  for (const r of rows)
    assert.ok(Number.isFinite(r.loss) && Number.isFinite(r.accuracy) && Number.isFinite(r.margin), JSON.stringify(r));

  const straight = await finish(await startPipeline(pipeline, [...set.slice(0, 2), 'pauseMs=0']));
  assert.equal(straight.error, undefined);
  const sOut = straight.status.steps.find((s) => s.id === 'reward')!.outputs!;
  assert.equal(sOut.resumedFrom, 0);
  const [a, b] = [await store.manifest(String(out.model)), await store.manifest(String(sOut.model))];
  assert.equal(
    a.files!['model.safetensors']!.sha256,
    b.files!['model.safetensors']!.sha256,
    'reward-model weights are byte-identical',
  );
  assert.equal(a.files!['config.json']!.sha256, b.files!['config.json']!.sha256);
});
