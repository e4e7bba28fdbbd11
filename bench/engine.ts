// Engine overhead: the median per-step cost of a 100-step no-op pipeline against
// a bare Temporal activity round trip, measured on the same stack in one run; and how
// long two independent branches of a diamond DAG run at the same time.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { noopChain } from './noop-chain.js';
import { preparePlan, submit } from '../cli/run-commands.js';
import { connectWorker } from '../cli/connect.js';
import { ArtifactStore } from '../store/artifacts.js';
import { packageRoot } from '../spec/package-root.js';
import type { RunStatus } from '../workflows/pipeline.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

export async function benchEngine(client: Client, opts: { steps?: number; roundTrips?: number } = {}) {
  const steps = opts.steps ?? 100;
  const roundTrips = opts.roundTrips ?? 100;

  // The baseline runs on a worker of its own: its workflow and its no-op activity are bench code.
  // Its webpack and state-change lines would bury the results: warnings only (unless a runtime is already set up).
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already: keep it
  }
  const { connection, namespace } = await connectWorker();
  const taskQueue = 'bench-round-trip';
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./round-trip-workflow.js', import.meta.url)),
    activities: { ping: async () => {} },
  });
  const bare = await worker.runUntil(
    client.workflow.execute('activityRoundTripWorkflow', {
      taskQueue,
      workflowId: `bench-activity-${Date.now()}`,
      args: [roundTrips],
    }),
  );
  await connection.close();
  const bareGaps = gaps(bare as number[]);

  const chain = async (cache: boolean) => {
    const file = join(mkdtempSync(join(tmpdir(), 'bpoflow-bench-')), 'chain.yaml');
    writeFileSync(file, noopChain(steps, { name: `bench-noop-chain-cache-${cache ? 'on' : 'off'}`, cache }));
    const plan = await preparePlan(file, {}, ArtifactStore.fromEnv());
    const started = Date.now();
    const handle = await submit(client, plan);
    await handle.result();
    const wall = Date.now() - started;
    const status = await handle.query<RunStatus>('status');
    const stepGaps = gaps([status.startedAt, ...status.steps.map((s) => s.endedAt!)]);
    return { steps, cache, wallMs: wall, medianPerStepMs: median(stepGaps), meanPerStepMs: wall / steps };
  };
  // Cache off first: it records nothing, so with the cache on every step is a miss (looked up, run, recorded).
  const noopPipeline = await chain(false);
  const noopPipelineCacheOn = await chain(true);

  return {
    noopPipeline,
    noopPipelineCacheOn,
    parallelBranches: await parallelBranches(client),
    bareActivity: {
      roundTrips,
      medianRoundTripMs: median(bareGaps),
      meanRoundTripMs: ((bare as number[]).at(-1)! - (bare as number[])[0]!) / roundTrips,
    },
  };
}

/**
 * a -> {b, c} -> d with b and c sleeping `sleepMs` each: the time b and c overlap, from the
 * start and end times the steps report. Near sleepMs when branches run in parallel; the
 * target is more than 60% of it (test/integration/pipeline.test.ts checks the scheduling).
 */
async function parallelBranches(client: Client, sleepMs = 1500) {
  const file = join(packageRoot(), 'test', 'fixtures', 'spec', 'diamond.yaml');
  const plan = await preparePlan(file, { set: [`sleepMs=${sleepMs}`] }, ArtifactStore.fromEnv());
  const handle = await submit(client, plan);
  await handle.result();
  const status = await handle.query<RunStatus>('status');
  const times = (id: string) => {
    const o = status.steps.find((s) => s.id === id)?.outputs ?? {};
    return { started: Number(o.startedAt), ended: Number(o.endedAt) };
  };
  const [b, c] = [times('b'), times('c')];
  const overlapMs = Math.min(b.ended, c.ended) - Math.max(b.started, c.started);
  const overlapFraction = Math.round((overlapMs / sleepMs) * 100) / 100;
  return { sleepMs, overlapMs, overlapFraction, target: 0.6, met: overlapFraction > 0.6 };
}
