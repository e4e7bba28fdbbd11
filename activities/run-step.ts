// The activities that run step kinds: one task = one step (or one shard of it).
// They heartbeat on a timer while the kind works, capture its logs, and map
// its errors onto Temporal failures that keep the error's type. The kind
// itself runs in a compute process of its own (compute-host.ts), so a long
// tensor op never holds up this event loop: heartbeats, workflow tasks and
// queries go on. Kinds marked `inline` (I/O only) run here.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { MergeTask, StepOutputs, StepProgress, StepTask, StepTaskResult, StepTelemetry } from './contract.js';
import { attemptLogName, createLogger, LogCapture, type Logger } from './log.js';
import { isNonRetryableError } from './failures.js';
import { findKind } from './registry.js';
import type { RegisteredKind } from './step-kind.js';
import { kindArgs } from './kind-args.js';
import { stepContext } from './step-context.js';
import { sharedStore } from './shared-store.js';
import { runInComputeProcess } from './compute-host.js';
import type { ArtifactStore } from '../store/artifacts.js';
import { redactError } from './redact.js';

const HEARTBEAT_EVERY_MS = 2_000;

export async function runStep(task: StepTask): Promise<StepTaskResult> {
  return runAttempt(task, findKind(task.kind, task.version), 'run');
}

export async function mergeShards(task: MergeTask): Promise<StepTaskResult> {
  const kind = findKind(task.kind, task.version);
  if (!kind.merge) throw ApplicationFailure.nonRetryable(`${task.kind}@${task.version} cannot be sharded`, 'BadInput');
  return runAttempt(task, kind, 'merge');
}

interface Attempt {
  task: StepTask | MergeTask;
  kind: RegisteredKind;
  mode: 'run' | 'merge';
  attempt: number;
  store: ArtifactStore;
  log: Logger;
  signal: AbortSignal;
  previousProgress?: StepProgress;
  progress(p: StepProgress): void;
  telemetry(t: StepTelemetry): void;
}

async function runAttempt(
  task: StepTask | MergeTask,
  kind: RegisteredKind,
  mode: 'run' | 'merge',
): Promise<StepTaskResult> {
  const activity = Context.current();
  const { attempt } = activity.info;
  const shard = 'shard' in task ? task.shard : undefined;
  const store = await sharedStore();
  // Log capture hook: this attempt's log lines also land in the store (`bpoflow logs`).
  const logUri = store.runUri(task.runId, task.stepId, attemptLogName(attempt, shard?.index, 'shards' in task));
  const capture = new LogCapture(
    (text) =>
      store.put(logUri, Buffer.from(text, 'utf8'), {
        kind: 'other',
        mediaType: 'application/x-ndjson',
        producer: { runId: task.runId, stepId: task.stepId, attempt },
      }),
    (err) => process.stderr.write(`bpoflow: could not save step logs to ${logUri}: ${String(err)}\n`),
  );
  capture.start();
  const log = createLogger(
    { run: task.runId, step: task.stepId, attempt, ...(shard ? { shard: shard.index } : {}) },
    process.stderr,
    { sink: capture.sink },
  );
  let latest: StepProgress = (activity.info.heartbeatDetails as StepProgress | undefined) ?? {};
  const previousProgress =
    attempt > 1 && activity.info.heartbeatDetails ? (activity.info.heartbeatDetails as StepProgress) : undefined;
  // Heartbeats go out on a timer, not per progress call: Temporal throttles them anyway,
  // and a kind that reports nothing for a while (one long tensor op) must still look alive.
  const beat = () => activity.heartbeat(latest);
  beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  const started = Date.now();
  log.info('step started', { kind: `${task.kind}@${task.version}`, ...(kind.inline ? { inline: true } : {}) });
  try {
    const { outputs, telemetry } = await (kind.inline ? runInline : runInChild)({
      task,
      kind,
      mode,
      attempt,
      store,
      log,
      signal: activity.cancellationSignal,
      previousProgress,
      progress: (p) => {
        latest = { ...latest, ...p };
      },
      telemetry: (t) => {
        latest = { ...latest, telemetry: t };
      },
    });
    log.info('step finished', {
      ms: Date.now() - started,
      outputs,
      ...(telemetry ? { backend: telemetry.backend, peakRssMb: telemetry.peakRssMb } : {}),
    });
    // The latest metrics the kind reported (MetricsWriter) travel with the result into the run's status,
    // with the compute process's peak memory.
    const metrics = telemetry ? { ...latest.metrics, peak_rss_mb: telemetry.peakRssMb } : latest.metrics;
    return { outputs, attempt, ...(metrics ? { metrics } : {}), ...(telemetry ? { telemetry } : {}) };
  } catch (err) {
    log.error('step failed', {
      ms: Date.now() - started,
      error: String(err),
      ...(latest.telemetry ? { peakRssMb: latest.telemetry.peakRssMb } : {}),
    });
    throw toFailure(redactError(err), attempt); // the failure's message, stack and causes go into Temporal history
  } finally {
    clearInterval(timer);
    await capture.close();
  }
}

async function runInChild(a: Attempt): Promise<{ outputs: StepOutputs; telemetry?: StepTelemetry }> {
  return runInComputeProcess(
    { mode: a.mode, task: a.task, attempt: a.attempt, previousProgress: a.previousProgress },
    a,
  );
}

async function runInline(a: Attempt): Promise<{ outputs: StepOutputs; telemetry?: StepTelemetry }> {
  const ctx = stepContext(a.task, a);
  const args = kindArgs(a.kind, a.task.args);
  const outputs =
    a.mode === 'merge' && 'shards' in a.task
      ? await a.kind.merge!(ctx, args, a.task.shards)
      : await a.kind.run(ctx, args);
  return { outputs };
}

/** Keeps the error's own type (e.g. BadInput, DatasetRowError) for retry policies to name; bad input isn't retried. */
function toFailure(err: unknown, attempt: number): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      type: err.type ?? 'Error',
      message: err.message,
      nonRetryable: err.nonRetryable ?? undefined,
      details: [{ attempt }],
    });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({
    type: e.name,
    message: e.message,
    nonRetryable: isNonRetryableError(e),
    details: [{ attempt }],
    cause: e,
  });
}

export type { StepOutputs };
