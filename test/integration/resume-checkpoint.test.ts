// `bpoflow resume` of a run cancelled mid-training continues the DPO step from
// the cancelled run's last checkpoint (not from step 1) and ends with the same
// model bytes as an uninterrupted run; `resume` of a succeeded run has nothing
// to do.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArtifactStore } from '../../store/artifacts.js';
import { Checkpoints } from '../../store/checkpoints.js';
import { packageRoot } from '../../spec/package-root.js';
import { parseMetrics } from '../../activities/metrics.js';
import { runLinks } from '../../activities/run-links.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const pipeline = join(packageRoot(), 'test', 'fixtures', 'bpo', 'resume-cancel.yaml');
const workers: WorkerHandle[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});

interface LogLine {
  ts: string;
  msg: string;
  run?: string;
  step?: string;
  trainStep?: number;
  fromStep?: number;
  fromRun?: string;
}
const logLines = (w: WorkerHandle, run: string): LogLine[] =>
  w
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const r = JSON.parse(l) as LogLine;
        return r.run === run && r.step === 'dpo' ? [r] : [];
      } catch {
        return [];
      }
    });

test('resume after a cancel continues the training step from its last checkpoint, byte-identical', async () => {
  const EVERY = 5;
  const PAUSE = 400;
  const STEPS = 30;
  const set = [`dpoSteps=${STEPS}`, `checkpointEvery=${EVERY}`, `pauseMs=${PAUSE}`];
  const store = ArtifactStore.fromEnv();
  const w = await startWorker(['--queues', 'bpo-resume-cancel-test'], { BPOFLOW_LOG_LEVEL: 'debug' });
  workers.push(w);

  const handle = await startPipeline(pipeline, set);
  const oldRun = handle.workflowId;
  const ckpts = new Checkpoints(store);
  let saved = 0;
  for (let i = 0; i < 1200 && saved < 2 * EVERY; i++) {
    saved = Math.max(0, ...(await ckpts.list(oldRun, 'dpo')).map((c) => c.step));
    if (saved < 2 * EVERY) await sleep(100);
  }
  assert.ok(saved >= 2 * EVERY, 'the step never saved a checkpoint');
  await sleep(2.5 * PAUSE); // a few steps past it
  const cancel = await bpoflow(['cancel', oldRun, '--reason', 'resume test']);
  assert.equal(cancel.code, 0, cancel.stderr);
  const cancelled = await finish(handle);
  assert.equal(cancelled.status.state, 'cancelled');
  assert.equal(cancelled.status.steps.find((s) => s.id === 'dpo')!.state, 'cancelled');
  // The run ends as soon as the cancel is delivered; the activity stops at its next training step
  // (and may save one more checkpoint first). Wait for it to end before reading the checkpoints.
  for (let i = 0; i < 300 && !logLines(w, oldRun).some((l) => l.msg === 'step failed'); i++) await sleep(100);
  assert.ok(
    logLines(w, oldRun).some((l) => l.msg === 'step failed'),
    'the cancelled attempt ended',
  );
  const ckptAtCancel = Math.max(...(await ckpts.list(oldRun, 'dpo')).map((c) => c.step));
  const doneBeforeCancel = Math.max(
    ...logLines(w, oldRun)
      .filter((l) => l.msg === 'train step')
      .map((l) => l.trainStep!),
  );
  assert.ok(ckptAtCancel < STEPS && doneBeforeCancel < STEPS, 'cancelled mid-way');

  const resumed = await bpoflow(['resume', oldRun, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const {
    runId: newRun,
    reused,
    rerun,
  } = JSON.parse(resumed.stdout) as { runId: string; reused: string[]; rerun: string[] };
  assert.deepEqual(reused, ['import', 'split', 'sft']);
  assert.deepEqual(rerun, ['dpo']);
  assert.deepEqual(await runLinks(store, newRun), { resumedBy: [], resumedFrom: oldRun });
  assert.deepEqual((await runLinks(store, oldRun)).resumedBy, [newRun]);
  const client = await testClient();
  const { status, error } = await finish(client.workflow.getHandle(newRun));
  assert.equal(
    error,
    undefined,
    `resumed run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${w.output().slice(-3000)}`,
  );
  const out = status.steps.find((s) => s.id === 'dpo')!.outputs!;
  const lines = logLines(w, newRun);
  const resumeLine = lines.find((l) => l.msg === 'resuming from checkpoint');
  const firstStep = lines.find((l) => l.msg === 'train step');
  console.log(
    `resume after cancel: cancelled after step ${doneBeforeCancel} (latest checkpoint ${ckptAtCancel}); ` +
      `the resumed run's dpo started from checkpoint ${resumeLine?.fromStep} of ${resumeLine?.fromRun}, first step ${firstStep?.trainStep}; ` +
      `${doneBeforeCancel - Number(out.resumedFrom)} steps redone (checkpointEvery ${EVERY})`,
  );
  assert.equal(resumeLine?.fromRun, oldRun, 'resumed from the cancelled run');
  assert.equal(resumeLine?.fromStep, ckptAtCancel, "from that run's latest checkpoint");
  assert.equal(Number(out.resumedFrom), ckptAtCancel);
  assert.equal(firstStep?.trainStep, ckptAtCancel + 1, 'the first trained step follows the checkpoint (not step 1)');
  assert.equal(out.steps, STEPS);
  const rows = parseMetrics((await store.readBytes(String(out.metrics))).toString());
  assert.deepEqual(
    rows.map((r) => r.step),
    Array.from({ length: STEPS }, (_, i) => i + 1),
    'metrics cover every step once',
  );

  // The same pipeline straight through: the same model bytes.
  const straight = await finish(await startPipeline(pipeline, set));
  assert.equal(straight.error, undefined);
  const sOut = straight.status.steps.find((s) => s.id === 'dpo')!.outputs!;
  assert.equal(sOut.resumedFrom, 0, "a fresh run does not pick up another run's checkpoints");
  const [a, b] = [await store.manifest(String(out.model)), await store.manifest(String(sOut.model))];
  console.log(
    `resume after cancel: model.safetensors ${a.files!['model.safetensors']!.sha256.slice(0, 16)}… vs uninterrupted ${b.files!['model.safetensors']!.sha256.slice(0, 16)}…`,
  );
  assert.equal(
    a.files!['model.safetensors']!.sha256,
    b.files!['model.safetensors']!.sha256,
    'byte-identical to an uninterrupted run',
  );
  assert.equal(out.loss, sOut.loss);

  // A succeeded run: nothing to resume, exit 0.
  const nothing = await bpoflow(['resume', newRun]);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, new RegExp(`^run ${newRun} succeeded: nothing to resume`));
});
