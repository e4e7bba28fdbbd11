// MetricsWriter (rows → progress heartbeats and a JSONL artifact), LogCapture,
// and the watch view's rate/ETA text, against in-memory fakes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetricsWriter, parseMetrics } from '../../../activities/metrics.js';
import { attemptLogName, createLogger, LogCapture, type LogRecord } from '../../../activities/log.js';
import type { StepProgress } from '../../../activities/contract.js';
import type { ArtifactStore } from '../../../store/artifacts.js';
import { progressText, RateTracker } from '../../../cli/watch.js';
import type { LiveStep } from '../../../cli/run-view.js';

function fakeContext() {
  const puts: { uri: string; text: string; kind: string }[] = [];
  const progress: StepProgress[] = [];
  const store = {
    put: async (uri: string, body: Uint8Array, meta: { kind: string }) => {
      puts.push({ uri, text: Buffer.from(body).toString('utf8'), kind: meta.kind });
      return { uri, sha256: '', size: body.length };
    },
  } as unknown as ArtifactStore;
  const ctx = {
    runId: 'r1',
    stepId: 'train',
    attempt: 1,
    store,
    log: createLogger({}, { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream),
    progress: (p: StepProgress) => progress.push(p),
    outputUri: (name: string) => `s3://b/runs/r1/train/${name}`,
  };
  return { ctx, puts, progress };
}

describe('MetricsWriter', () => {
  test('streams the latest values as progress and writes the whole JSONL on flush and close', async () => {
    const { ctx, puts, progress } = fakeContext();
    const w = MetricsWriter.open(ctx, { total: 3, flushEveryMs: 0 });
    w.log(1, { loss: 0.7, 'rewards/accuracies': 0.5 });
    w.log(2, { loss: 0.5, bad: Number.NaN });
    w.log(3, { loss: 0.3, 'rewards/accuracies': 0.9 });
    assert.deepEqual(progress.at(-1), {
      done: 3,
      total: 3,
      unit: 'steps',
      metrics: { loss: 0.3, 'rewards/accuracies': 0.9 },
    });
    assert.deepEqual(
      progress[1]!.metrics,
      { loss: 0.5, 'rewards/accuracies': 0.5 },
      'latest keeps metrics not logged this step',
    );
    const uri = await w.close();
    assert.equal(uri, 's3://b/runs/r1/train/metrics.jsonl');
    const last = puts.at(-1)!;
    assert.equal(last.kind, 'metrics');
    const rows = parseMetrics(last.text);
    assert.deepEqual(
      rows.map((r) => [r.step, r.loss]),
      [
        [1, 0.7],
        [2, 0.5],
        [3, 0.3],
      ],
    );
    assert.equal('bad' in rows[1]!, false);
    assert.throws(() => w.log(4, { loss: 0 }));
  });

  test('periodic flushes happen only when due', async () => {
    const { ctx, puts } = fakeContext();
    const w = MetricsWriter.open(ctx, { flushEveryMs: 60_000 });
    for (let i = 1; i <= 100; i++) w.log(i, { loss: 1 / i });
    await sleep(10);
    assert.equal(puts.length, 0, 'no flush before it is due');
    await w.close();
    assert.equal(puts.length, 1);
    assert.equal(parseMetrics(puts[0]!.text).length, 100);
  });

  test('parseMetrics skips torn and blank lines', () => {
    assert.deepEqual(parseMetrics('{"step":1,"ts":0,"loss":1}\n\n{"step":2,"ts":1,"lo').length, 1);
  });
});

describe('LogCapture', () => {
  test("keeps the attempt's records and saves them as JSON lines", async () => {
    const saved: string[] = [];
    const capture = new LogCapture(async (t) => void saved.push(t));
    const log = createLogger(
      { run: 'r1', step: 's', attempt: 2 },
      { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream,
      { sink: capture.sink },
    );
    log.info('hello', { n: 1 });
    log.child({ shard: 3 }).warn('careful');
    log.debug('hidden below info');
    await capture.close();
    const records = saved
      .at(-1)!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogRecord);
    assert.deepEqual(
      records.map((r) => [r.level, r.msg, r.run, r.attempt, r.shard]),
      [
        ['info', 'hello', 'r1', 2, undefined],
        ['warn', 'careful', 'r1', 2, 3],
      ],
    );
    await capture.close();
    assert.equal(saved.length, 1, 'nothing new: no second save');
    assert.equal(attemptLogName(2), 'logs/attempt-2.jsonl');
    assert.equal(attemptLogName(1, 3), 'logs/attempt-1.shard-3.jsonl');
  });

  test('a failed save is reported, not thrown', async () => {
    const errors: unknown[] = [];
    const capture = new LogCapture(
      async () => {
        throw new Error('s3 down');
      },
      (e) => errors.push(e),
    );
    capture.sink({ ts: '', level: 'info', msg: 'x' });
    await capture.close();
    assert.equal(errors.length, 1);
  });
});

describe('watch view', () => {
  test('steps/s and ETA from progress samples', () => {
    const r = new RateTracker();
    r.add(0, 1000);
    r.add(10, 3000);
    r.add(20, 5000);
    assert.equal(r.rate(undefined, 5000), 5);
    const step = {
      id: 'train',
      uses: 'x@v1',
      queue: 'gpu',
      state: 'running',
      attempts: 1,
      progress: { done: 20, total: 70, unit: 'steps', metrics: { loss: 0.25, 'rewards/accuracies': 0.875 } },
    } as LiveStep;
    assert.equal(progressText(step, 5), '20/70 steps  5.00 steps/s  ETA 10.0s  loss 0.2500  acc 0.875');
    const single = new RateTracker();
    single.add(30, 10_000);
    assert.equal(single.rate(4_000, 10_000), 5, 'one sample: rate since the step started');
  });
});
