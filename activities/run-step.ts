// The activities that run step kinds: one task = one step (or one shard of it).
// They turn a StepTask into a StepContext, heartbeat while the kind works, and
// map the kind's errors onto Temporal failures that keep the error's type.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { MergeTask, StepOutputs, StepProgress, StepTask, StepTaskResult } from './contract.js';
import { attemptLogName, createLogger, LogCapture } from './log.js';
import { isNonRetryableError } from './failures.js';
import { findKind } from './registry.js';
import type { StepContext } from './step-kind.js';
import { sharedStore } from './shared-store.js';
import { redactError } from './redact.js';

const HEARTBEAT_EVERY_MS = 2_000;

export async function runStep(task: StepTask): Promise<StepTaskResult> {
  const kind = findKind(task.kind, task.version);
  return withStepContext(task, async (ctx) => ({ outputs: await kind.run(ctx, task.args), attempt: ctx.attempt }));
}

export async function mergeShards(task: MergeTask): Promise<StepTaskResult> {
  const kind = findKind(task.kind, task.version);
  if (!kind.merge) throw ApplicationFailure.nonRetryable(`${task.kind}@${task.version} cannot be sharded`, 'BadInput');
  const merge = kind.merge.bind(kind);
  return withStepContext(task, async (ctx) => ({ outputs: await merge(ctx, task.args, task.shards), attempt: ctx.attempt }));
}

async function withStepContext(task: StepTask | MergeTask, body: (ctx: StepContext) => Promise<StepTaskResult>): Promise<StepTaskResult> {
  const activity = Context.current();
  const { attempt } = activity.info;
  const shard = 'shard' in task ? task.shard : undefined;
  const store = await sharedStore();
  // Log capture hook: this attempt's log lines also land in the store (`bpoflow logs`).
  const logUri = store.runUri(task.runId, task.stepId, attemptLogName(attempt, shard?.index, 'shards' in task));
  const capture = new LogCapture(
    (text) => store.put(logUri, Buffer.from(text, 'utf8'), { kind: 'other', mediaType: 'application/x-ndjson', producer: { runId: task.runId, stepId: task.stepId, attempt } }),
    (err) => process.stderr.write(`bpoflow: could not save step logs to ${logUri}: ${String(err)}\n`),
  );
  capture.start();
  const log = createLogger({ run: task.runId, step: task.stepId, attempt, ...(shard ? { shard: shard.index } : {}) }, process.stderr, { sink: capture.sink });
  let latest: StepProgress = (activity.info.heartbeatDetails as StepProgress | undefined) ?? {};
  const previousProgress = attempt > 1 && activity.info.heartbeatDetails ? (activity.info.heartbeatDetails as StepProgress) : undefined;
  // Heartbeats go out on a timer, not per progress call: Temporal throttles them anyway,
  // and a kind that reports nothing for a while must still look alive.
  const beat = () => activity.heartbeat(latest);
  beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  const suffix = shard ? `.shard-${String(shard.index).padStart(4, '0')}` : '';
  const ctx: StepContext = {
    runId: task.runId,
    stepId: task.stepId,
    attempt,
    shard,
    store,
    log,
    previousProgress,
    signal: activity.cancellationSignal,
    progress: (p) => {
      latest = { ...latest, ...p };
    },
    outputUri: (name) => store.runUri(task.runId, task.stepId, name + suffix),
  };
  const started = Date.now();
  log.info('step started', { kind: `${task.kind}@${task.version}` });
  try {
    const result = await body(ctx);
    log.info('step finished', { ms: Date.now() - started, outputs: result.outputs });
    // The latest metrics the kind reported (MetricsWriter) travel with the result into the run's status.
    return latest.metrics ? { ...result, metrics: latest.metrics } : result;
  } catch (err) {
    log.error('step failed', { ms: Date.now() - started, error: String(err) });
    throw toFailure(redactError(err), attempt); // the failure's message, stack and causes go into Temporal history
  } finally {
    clearInterval(timer);
    await capture.close();
  }
}

/** Keeps the error's own type (e.g. BadInput, DatasetRowError) so retry policies can name it; bad input is not retried. */
function toFailure(err: unknown, attempt: number): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({ type: err.type ?? 'Error', message: err.message, nonRetryable: err.nonRetryable ?? undefined, details: [{ attempt }] });
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
