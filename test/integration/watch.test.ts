// `bpoflow watch` in a real pseudo-terminal (tmux), plain lines from `run --wait`
// off a TTY, live metrics in the status query and metrics.jsonl, and the step
// logs captured into the store (`bpoflow logs`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { parseMetrics } from '../../activities/metrics.js';
import { bpoflowBin } from '../../infra/worker-process.js';
import { startWorker, bpoflow, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const root = packageRoot();
// test.train@v1's catalog entry lives with these fixtures (the worker serves the test kinds: test/kinds/).
process.env.BPOFLOW_CATALOG_PATH = [process.env.BPOFLOW_CATALOG_PATH, join(root, 'test', 'fixtures', 'report', 'steps')]
  .filter(Boolean)
  .join(':');
const pipeline = join(root, 'test', 'fixtures', 'report', 'train-only.yaml');
const socket = `bpoflow-watch-${process.pid}`;
const UI = 'http://ui.test:8233';
let worker: WorkerHandle;

const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: { ...process.env, BPOFLOW_UI_URL: UI } });
const screen = () => tmux('capture-pane', '-p', '-t', 'watch');

async function waitForScreen(what: string, ok: (s: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let s = '';
  while (Date.now() < until) {
    s = screen();
    if (ok(s)) return s;
    await sleep(250);
  }
  assert.fail(`${what} did not appear on the screen in ${timeoutMs} ms; screen:\n${s}`);
}

before(async () => {
  worker = await startWorker();
});
after(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  await worker?.stop();
});

describe('watching a run', () => {
  test('bpoflow watch draws steps and a training progress bar in a terminal', async () => {
    // Meanwhile, off a TTY, `run --wait` prints plain lines (same view, other renderer).
    const plain = bpoflow(['run', pipeline, '--wait', '--set', 'steps=8', '--set', 'sleepMs=400'], {
      BPOFLOW_UI_URL: UI,
    });

    const handle = await startPipeline(pipeline, ['steps=40', 'sleepMs=250']);
    const run = handle.workflowId;
    tmux(
      'new-session',
      '-d',
      '-s',
      'watch',
      '-x',
      '160',
      '-y',
      '40',
      `node ${bpoflowBin()} watch ${run}; echo WATCH-EXIT=$?; sleep 300`,
    );

    const live = await waitForScreen('a progress bar for the training step', (s) =>
      /train .*running.*\[█+░*\].*\/40 steps.*steps\/s.*ETA.*loss \d/.test(s),
    );
    console.log(`watch, mid-run:\n${live}`);
    assert.match(live, new RegExp(`run ${run}\\s+running`));
    assert.match(live, new RegExp(`ui  ${UI}/namespaces/default/workflows/${run}`));
    assert.match(live, /✓ warmup\s+succeeded/);
    assert.match(live, /train .*acc \d\.\d{3}/, 'reward accuracy shows next to the loss');

    const done = await waitForScreen('the end of the run', (s) => s.includes('WATCH-EXIT='));
    console.log(`watch, at the end:\n${done}`);
    assert.match(done, /WATCH-EXIT=0/);
    assert.match(done, /✓ train\s+succeeded\s+test\.train@v1.*loss \d/);
    assert.match(done, /output loss = \d/);

    const { status } = await finish(handle);
    assert.equal(status.state, 'succeeded');
    const train = status.steps.find((s) => s.id === 'train')!;
    assert.ok(
      train.metrics &&
        typeof train.metrics.loss === 'number' &&
        typeof train.metrics['rewards/accuracies'] === 'number',
      `final metrics in the status query: ${JSON.stringify(train.metrics)}`,
    );
    const rows = parseMetrics((await ArtifactStore.fromEnv().readBytes(String(train.outputs?.metrics))).toString());
    assert.equal(rows.length, 40);
    assert.ok(rows[0]!.loss! > rows[39]!.loss!, 'loss decreases');
    assert.equal(rows[39]!.loss, train.metrics.loss);

    const p = await plain;
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /ui {2}http:\/\/ui\.test:8233\//);
    assert.match(p.stdout, /▶ train\s+running/);
    assert.match(p.stdout, /✓ train\s+succeeded.*loss \d/);
    assert.ok(!p.stdout.includes('\u001b['), 'no terminal escapes off a TTY');
  });

  test('each attempt logs into the store; bpoflow logs and status read it back', async () => {
    const handle = await startPipeline(pipeline, ['steps=3', 'sleepMs=10']);
    const { status, error } = await finish(handle);
    assert.equal(status.state, 'succeeded', `${String(error)}\n${worker.output().slice(-3000)}`);
    const keys = (await ArtifactStore.fromEnv().list(`runs/${handle.workflowId}/`)).map((e) => e.key);
    assert.ok(keys.includes(`runs/${handle.workflowId}/train/logs/attempt-1.jsonl`), keys.join('\n'));
    assert.ok(keys.includes(`runs/${handle.workflowId}/warmup/logs/attempt-1.jsonl`), keys.join('\n'));
    const logs = await bpoflow(['logs', handle.workflowId, '--step', 'train']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /INFO {2}\[train#1\] step started/);
    assert.match(logs.stdout, /INFO {2}\[train#1\] step finished/);
    const json = await bpoflow(['logs', handle.workflowId, '--format', 'json']);
    const records = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      records.every(
        (r) =>
          r.run === handle.workflowId && typeof r.step === 'string' && r.attempt === 1 && typeof r.level === 'string',
      ),
    );
    const st = await bpoflow(['status', handle.workflowId], { BPOFLOW_UI_URL: UI });
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /✓ train .*loss \d/);
    assert.match(st.stdout, new RegExp(`ui  ${UI}/namespaces/default/workflows/${handle.workflowId}`));
    const client = await testClient();
    const q = await client.workflow.getHandle(handle.workflowId).query<RunStatus>('status');
    assert.equal(typeof q.steps.find((s) => s.id === 'train')?.metrics?.loss, 'number');

    // Temporal UI: the step's child workflow has a summary and details, its activity a summary.
    const child = client.workflow.getHandle(`${handle.workflowId}--train`);
    const desc = await child.describe();
    assert.equal(await desc.staticSummary(), 'train: test.train@v1');
    assert.match((await desc.staticDetails()) ?? '', /\*\*train\*\* runs `test\.train@v1` on queue `cpu`/);
    const history = await child.fetchHistory();
    const scheduled = (history.events ?? []).find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep',
    );
    const summary = scheduled?.userMetadata?.summary;
    assert.ok(summary?.data, 'runStep carries a summary');
    assert.match(Buffer.from(summary.data).toString(), /train \(test\.train@v1\)/);
  });
});
