// Multi-worker speed-up: the same sharded pipeline (test/fixtures/spec/sharded-wide.yaml,
// 6 shards on the `multiworker` queue) with 1, 2 and 3 worker processes, in one run.
//
// The shard kind (test.shard) is sleep-bound on purpose: each shard sleeps sleepMs and
// then uppercases two lines. That measures the engine's fan-out (dispatch of shards to
// whichever worker has a free slot, the merge, the per-step overhead), which is what
// adding workers buys when shards wait on something else (a GPU, a remote model, S3).
// A CPU-bound shard would measure the machine instead: on the 2-core box this was
// written on, CPU-bound scaling caps at 2x no matter how many workers run.
//
// Needs the stack env in process.env (TEMPORAL_*, BPOFLOW_S3_*) and the test kinds
// (test/kinds/catalog.ts: testKindsEnv), as bench/run.ts sets them.
import { join } from 'node:path';
import { connectClient } from '../cli/connect.js';
import { preparePlan, submit } from '../cli/run-commands.js';
import { spawnWorker, type WorkerProcess } from '../infra/worker-process.js';
import { packageRoot } from '../spec/package-root.js';
import { ArtifactStore } from '../store/artifacts.js';
import type { RunStatus } from '../workflows/pipeline.js';
import { median } from './engine.js';

export interface BenchWorkersOptions {
  /** Worker counts to compare (default 1, 2, 3). */
  counts?: number[];
  /** Sleep per shard (default 2000 ms). */
  sleepMs?: number;
  /** Concurrent shards per worker (default 1, so slots = workers). */
  perWorker?: number;
  /** Runs per worker count; the median is reported (default 2). */
  repeats?: number;
  log?: (line: string) => void;
}

const SHARDS = 6;

export async function benchWorkers(opts: BenchWorkersOptions = {}) {
  const counts = opts.counts ?? [1, 2, 3];
  const sleepMs = opts.sleepMs ?? 2000;
  const perWorker = opts.perWorker ?? 1;
  const repeats = opts.repeats ?? 2;
  const log = opts.log ?? (() => {});
  const file = join(packageRoot(), 'test', 'fixtures', 'spec', 'sharded-wide.yaml');
  const client = await connectClient();
  const store = ArtifactStore.fromEnv();
  const args = ['--queues', 'multiworker', '--concurrency', `multiworker=${perWorker}`];

  const rows: {
    workers: number;
    slots: number;
    idealMs: number;
    runWallMs: number[];
    fanStepMs: number[];
    medianRunWallMs: number;
    medianFanStepMs: number;
    distinctWorkersUsed: number[];
  }[] = [];
  const workers: WorkerProcess[] = [];
  try {
    for (const n of counts) {
      while (workers.length < n) workers.push(await spawnWorker(args, process.env));
      while (workers.length > n) await workers.pop()!.stop();
      const runWallMs: number[] = [];
      const fanStepMs: number[] = [];
      const distinct: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const plan = await preparePlan(file, { set: [`shardSleepMs=${sleepMs}`] }, store);
        const started = Date.now();
        const handle = await submit(client, plan);
        await handle.result();
        runWallMs.push(Date.now() - started);
        const status = await handle.query<RunStatus>('status');
        const fan = status.steps.find((s) => s.id === 'fan')!;
        fanStepMs.push(fan.endedAt! - fan.startedAt!);
        distinct.push(String(status.outputs?.worker).split(',').length);
      }
      const slots = n * perWorker;
      const row = {
        workers: n,
        slots,
        idealMs: Math.ceil(SHARDS / slots) * sleepMs,
        runWallMs,
        fanStepMs,
        medianRunWallMs: median(runWallMs),
        medianFanStepMs: median(fanStepMs),
        distinctWorkersUsed: distinct,
      };
      rows.push(row);
      log(
        `${n} worker(s): fan step ${row.medianFanStepMs} ms (ideal ${row.idealMs} ms), run ${row.medianRunWallMs} ms`,
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  const base = rows[0]!;
  return {
    shardKind: 'test.shard@v1 (sleep-bound: measures fan-out, not compute)',
    shards: SHARDS,
    shardSleepMs: sleepMs,
    concurrencyPerWorker: perWorker,
    repeats,
    rows: rows.map((r) => ({
      ...r,
      speedupFanStep: +(base.medianFanStepMs / r.medianFanStepMs).toFixed(2),
      speedupRun: +(base.medianRunWallMs / r.medianRunWallMs).toFixed(2),
      idealSpeedup: +(base.idealMs / r.idealMs).toFixed(2),
    })),
  };
}
