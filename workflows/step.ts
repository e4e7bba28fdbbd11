// One step of a pipeline: cache lookup, the step's activity (or its shards and
// their merge), cache record. A child workflow of the pipeline, so a 64-shard
// step adds to this history, not to the pipeline's.
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { PlanStep } from '../spec/plan.js';
import type { StepOutputs, StepTaskResult } from '../activities/contract.js';
import type * as control from '../activities/control.js';
import type * as steps from '../activities/run-step.js';

export const WORKFLOW_QUEUE = 'bpoflow';

export interface StepWorkflowInput {
  runId: string;
  step: PlanStep;
  args: Record<string, unknown>;
}

export interface StepWorkflowResult {
  cached: boolean;
  outputs: StepOutputs;
  attempts: number;
}

const { cacheLookup, cacheRecord } = proxyActivities<typeof control>({
  taskQueue: WORKFLOW_QUEUE,
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
});

export async function stepWorkflow({ runId, step, args }: StepWorkflowInput): Promise<StepWorkflowResult> {
  const task = { runId, stepId: step.id, kind: step.kind, version: step.version, args };
  const lookup = step.cache ? await cacheLookup({ kind: step.kind, version: step.version, args }) : undefined;
  if (lookup?.hit) return { cached: true, outputs: lookup.hit.outputs, attempts: 0 };

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
      const parts = await Promise.all(
        Array.from({ length: step.shards }, (_, index) => runStep({ ...task, shard: { index, count: step.shards } })),
      );
      const merged = await mergeShards({ ...task, shards: parts.map((p) => p.outputs) });
      result = { outputs: merged.outputs, attempt: Math.max(...parts.map((p) => p.attempt)) };
    } else {
      result = await runStep(task);
    }
  } catch (err) {
    throw stepFailure(err);
  }
  if (lookup) await cacheRecord({ kind: step.kind, version: step.version, key: lookup.key, outputs: result.outputs, runId, stepId: step.id });
  return { cached: false, outputs: result.outputs, attempts: result.attempt };
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
