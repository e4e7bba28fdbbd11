// A 2-minute S3 outage in the middle of bpo.train: the store waits and retries
// (its retry budget is 10 minutes), the step keeps heartbeating, and the run
// succeeds on the step's first attempt. Prints the training steps redone and the
// time from S3's return to the training's next checkpoint, for the README.
// Runs on a stack of its own: stopping its S3 must not disturb other test files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { Checkpoints } from '../../store/checkpoints.js';
import { packageRoot } from '../../spec/package-root.js';
import { restartService, startPrivateStack, type PrivateStack } from '../../infra/stack.js';
import { spawnWorker, type WorkerProcess } from '../../infra/worker-process.js';
import { connectClient } from '../../cli/connect.js';
import { preparePlan, submit } from '../../cli/run-commands.js';

const pipeline = join(packageRoot(), 'test', 'fixtures', 'bpo', 'resume.yaml');
const OUTAGE_MS = Number(process.env.BPOFLOW_TEST_OUTAGE_MS ?? 120_000);

let stack: PrivateStack;
let home: string;
let worker: WorkerProcess;
let env: NodeJS.ProcessEnv;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'bpoflow-outage-'));
  stack = await startPrivateStack(home);
  env = { ...process.env, ...stack.env };
  worker = await spawnWorker(['--queues', 'bpo-resume-test'], { ...env, BPOFLOW_LOG_LEVEL: 'debug' });
});
let passed = false;
after(async () => {
  await worker?.stop();
  await stack?.stop();
  if (passed) rmSync(home, { recursive: true, force: true });
  else console.log(`s3-outage: stack state and logs kept in ${home}`);
});

interface LogLine {
  ts: string;
  msg: string;
  what?: string;
  error?: string;
  step?: string;
  attempt?: number;
  trainStep?: number;
}
const logLines = (): LogLine[] =>
  worker
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });

test(
  `a run survives a ${OUTAGE_MS / 1000} s S3 outage in the middle of bpo.train`,
  { timeout: 15 * 60_000 },
  async () => {
    const EVERY = 5;
    const STEPS = 20;
    const store = ArtifactStore.fromEnv(env);
    await store.ensureBucket();
    const client = await connectClient(env);
    const handle = await submit(
      client,
      await preparePlan(
        pipeline,
        { set: ['sftSteps=5', `dpoSteps=${STEPS}`, `checkpointEvery=${EVERY}`, 'pauseMs=300'] },
        store,
      ),
    );
    const runId = handle.workflowId;

    // Stop S3 once the training has saved its first checkpoint: the next one falls in the outage.
    const ckpts = new Checkpoints(store);
    let saved = 0;
    for (let i = 0; i < 3000 && saved < EVERY; i++) {
      saved = Math.max(0, ...(await ckpts.list(runId, 'dpo')).map((c) => c.step));
      if (saved < EVERY) await sleep(100);
    }
    assert.ok(saved >= EVERY, `the step never saved a checkpoint:\n${worker.output().slice(-3000)}`);
    const downAt = Date.now();
    await restartService(home, 's3', { downMs: OUTAGE_MS });
    const upAt = Date.now();

    let result: unknown;
    await handle.result().catch((e: unknown) => (result = e));
    const status = await handle.query<RunStatus>('status');
    const dpo = status.steps.find((s) => s.id === 'dpo')!;
    assert.equal(
      result,
      undefined,
      `the run must succeed: ${String(result)} ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${worker.output().slice(-4000)}`,
    );
    assert.equal(status.state, 'succeeded');
    assert.equal(dpo.attempts, 1, 'the outage used none of the step’s retry attempts');
    assert.equal(dpo.outputs?.steps, STEPS);

    const lines = logLines().filter((l) => l.step === 'dpo');
    const trained = lines.filter((l) => l.msg === 'train step').map((l) => l.trainStep!);
    const redone = trained.length - new Set(trained).size;
    const notices = logLines().filter((l) => l.msg === 'S3 unavailable, retrying');
    const waits = notices.length;
    // When the store's calls got through again, and what they were still failing with after S3's restart.
    const back = logLines()
      .filter((l) => l.msg === 'S3 available again')
      .map((l) => Date.parse(l.ts) - upAt);
    const late = [...new Set(notices.filter((l) => Date.parse(l.ts) > upAt).map((l) => `${l.what}: ${l.error}`))];
    const firstSaveAfter = lines.find((l) => l.msg === 'checkpoint saved' && Date.parse(l.ts) > upAt);
    const recoveredMs = firstSaveAfter ? Date.parse(firstSaveAfter.ts) - upAt : NaN;
    console.log(
      `s3-outage: S3 down ${((upAt - downAt) / 1000).toFixed(1)} s (SIGKILL, ${OUTAGE_MS / 1000} s down, restart until healthy) after checkpoint ${saved}; ` +
        `run succeeded, dpo attempts ${dpo.attempts}, ${redone} training steps redone, ${waits} retry notices; ` +
        `S3 healthy → first store call through ${back.length ? (Math.min(...back) / 1000).toFixed(1) : '?'} s, next checkpoint saved ${(recoveredMs / 1000).toFixed(1)} s; total run ${((Date.now() - downAt) / 1000).toFixed(0)} s after the kill` +
        (late.length ? `; still retrying after the restart: ${late.slice(0, 3).join(' | ')}` : ''),
    );
    assert.equal(redone, 0, 'no training step was redone');
    assert.ok(firstSaveAfter, 'a checkpoint was saved after S3 came back');
    assert.ok(waits >= 1, 'the worker log says it waited for S3');
    passed = true;
  },
);
