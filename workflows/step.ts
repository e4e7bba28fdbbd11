// One step of a pipeline: cache lookup, the step's activity (or its shards and
// their merge), cache record. A child workflow of the pipeline, so a 64-shard
// step adds to this history, not to the pipeline's.
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { PlanStep } from '../spec/plan.js';
import type { StepOutputs, StepTaskResult, StepTelemetry } from '../activities/contract.js';
import type * as control from '../activities/control.js';
import type * as steps from '../activities/run-step.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../activities/failures.js';
import { WORKFLOW_QUEUE } from './queues.js';

export interface StepWorkflowInput {
  runId: string;
  step: PlanStep;
  args: Record<string, unknown>;
}

export interface StepWorkflowResult {
  cached: boolean;
  outputs: StepOutputs;
  attempts: number;
  /** The latest metrics the step reported (training/eval kinds). */
  metrics?: Record<string, number>;
  /** The compute process's backend and peak memory (steps that ran in one). */
  telemetry?: StepTelemetry;
}

// The store itself retries S3 outages for minutes (its retry budget, 10 min by default), so
// few attempts are needed here, and a missing input or bucket fails at once.
const CACHE_RETRY = {
  maximumAttempts: 3,
  initialInterval: '1s',
  maximumInterval: '30s',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};
const CACHE_TIMEOUT = '15 minutes';

/** Before the `local-cache-activities` patch: the cache as regular activities (kept to replay old histories). */
const remoteCache = proxyActivities<typeof control>({
  taskQueue: WORKFLOW_QUEUE,
  startToCloseTimeout: CACHE_TIMEOUT,
  retry: CACHE_RETRY,
});

/**
 * The cache lookup and record are a few small S3 calls: as local activities they run in the
 * worker that runs this workflow, without a trip through a task queue each (two fewer
 * task dispatches per step).
 */
const localCache = proxyLocalActivities<typeof control>({ startToCloseTimeout: CACHE_TIMEOUT, retry: CACHE_RETRY });

export async function stepWorkflow({ runId, step, args }: StepWorkflowInput): Promise<StepWorkflowResult> {
  const task = { runId, stepId: step.id, kind: step.kind, version: step.version, args };
  const uses = `${step.kind}@${step.version}`;
  // What the Temporal UI shows for this step: current details, and a summary on each activity.
  setCurrentDetails(`**${step.id}** (${uses}): ${step.cache ? 'looking up the step cache' : 'starting'}`);
  const cache = patched('local-cache-activities') ? localCache : remoteCache;
  const lookup = step.cache
    ? await cache.cacheLookup.executeWithOptions({ summary: `cache lookup for ${step.id} (${uses})` }, [
        { kind: step.kind, version: step.version, args },
      ])
    : undefined;
  if (lookup?.hit) {
    setCurrentDetails(`**${step.id}** (${uses}): cache hit, outputs reused from run ${lookup.hit.runId}`);
    return { cached: true, outputs: lookup.hit.outputs, attempts: 0 };
  }

  const { runStep, mergeShards } = proxyActivities<typeof steps>({
    taskQueue: step.queue,
    startToCloseTimeout: step.timeoutMs,
    heartbeatTimeout: step.heartbeatTimeoutMs,
    retry: {
      maximumAttempts: step.retry.maximumAttempts,
      initialInterval: step.retry.initialIntervalMs,
      backoffCoefficient: step.retry.backoffCoefficient,
      maximumInterval: step.retry.maximumIntervalMs,
      nonRetryableErrorTypes: step.retry.nonRetryableErrorTypes,
    },
  });

  let result: StepTaskResult;
  try {
    if (step.shards > 1) {
      setCurrentDetails(`**${step.id}** (${uses}): running ${step.shards} shards on queue \`${step.queue}\``);
      const parts = await Promise.all(
        Array.from({ length: step.shards }, (_, index) =>
          runStep.executeWithOptions({ summary: `${step.id} shard ${index + 1}/${step.shards} (${uses})` }, [
            { ...task, shard: { index, count: step.shards } },
          ]),
        ),
      );
      setCurrentDetails(`**${step.id}** (${uses}): merging ${step.shards} shards`);
      const merged = await mergeShards.executeWithOptions(
        { summary: `${step.id}: merge ${step.shards} shards (${uses})` },
        [{ ...task, shards: parts.map((p) => p.outputs) }],
      );
      result = { outputs: merged.outputs, attempt: Math.max(...parts.map((p) => p.attempt)) };
    } else {
      setCurrentDetails(`**${step.id}** (${uses}): running on queue \`${step.queue}\``);
      result = await runStep.executeWithOptions({ summary: `${step.id} (${uses})` }, [task]);
    }
  } catch (err) {
    setCurrentDetails(`**${step.id}** (${uses}): failed`);
    throw stepFailure(err);
  }
  if (lookup)
    await cache.cacheRecord.executeWithOptions({ summary: `cache record for ${step.id}` }, [
      { kind: step.kind, version: step.version, key: lookup.key, outputs: result.outputs, runId, stepId: step.id },
    ]);
  setCurrentDetails(`**${step.id}** (${uses}): succeeded (attempt ${result.attempt})`);
  return {
    cached: false,
    outputs: result.outputs,
    attempts: result.attempt,
    ...(result.metrics ? { metrics: result.metrics } : {}),
    ...(result.telemetry ? { telemetry: result.telemetry } : {}),
  };
}

/** Re-raises an activity's final failure with the step's own error type, message and attempt count. */
function stepFailure(err: unknown): unknown {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return err;
  const cause = err.cause;
  const detail = cause.details?.[0] as { attempt?: number } | undefined;
  return ApplicationFailure.create({
    type: cause.type ?? 'Error',
    message: cause.message,
    nonRetryable: true,
    details: [{ attempts: detail?.attempt ?? 1 }],
  });
}
