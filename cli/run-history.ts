// A run's status read from its Temporal history, without a worker.
//
// The workflow's `status` query needs a worker to replay the workflow; a
// finished run (or a running one whose worker is gone) still has its history,
// which records everything the status query would say: the plan (start
// input), each step's child workflow (initiated, completed with its result,
// failed with its error, cancelled) and how the run ended. A succeeded run's
// result carries its step list whole; for the others the steps are rebuilt
// from the child workflow events the way workflows/pipeline.ts sets them.
import type { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { PipelineInput, PipelineResult, RunState, RunStatus, StepStatus } from '../workflows/pipeline.js';
import { pendingSteps } from '../workflows/pending-steps.js';
import type { StepWorkflowResult } from '../workflows/step.js';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Failure = temporal.api.failure.v1.IFailure;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

function decode<T>(payloads: Payloads): T | undefined {
  const p = payloads?.payloads?.[0];
  return p ? (defaultPayloadConverter.fromPayload(p) as T) : undefined;
}

const timeOf = (e: HistoryEvent): number => {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
};

/** The innermost cause of a failure chain: the step's own error (see workflows/pipeline.ts describeError). */
function innermost(f: Failure | null | undefined): Failure {
  let e = f ?? {};
  while (e.cause) e = e.cause;
  return e;
}

function failureType(f: Failure): string {
  if (f.applicationFailureInfo) return f.applicationFailureInfo.type || 'Error';
  if (f.timeoutFailureInfo) return 'Timeout';
  if (f.canceledFailureInfo) return 'Cancelled';
  if (f.terminatedFailureInfo) return 'Terminated';
  return 'Error';
}

export interface HistoryStatus extends RunStatus {
  /** Where the status came from: `history` (this module) or the workflow's own `query`. */
  source: 'history';
}

/** The status the run's `status` query would give, from its history alone. */
export function statusFromHistory(runId: string, history: History): HistoryStatus {
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const input = decode<PipelineInput>(started?.input);
  if (!input?.plan) throw new Error(`run ${runId}: its history has no pipeline input (is it a bpoflow run?)`);
  const plan = input.plan;
  const status: HistoryStatus = {
    runId,
    pipeline: plan.name,
    specHash: plan.specHash,
    state: 'running',
    startedAt: timeOf(events[0]!),
    steps: pendingSteps(plan),
    resumedFrom: input.resumedFrom,
    source: 'history',
  };
  const byId = new Map(status.steps.map((s) => [s.id, s]));
  for (const [id, reused] of Object.entries(input.reuse ?? {})) {
    const st = byId.get(id);
    if (st) Object.assign(st, { state: 'cached', outputs: reused.outputs, reusedFrom: reused.runId });
  }
  const prefix = `${runId}--`;
  const byInitiated = new Map<string, StepStatus>();
  /**
   * Event id at which the run started to wind down by a step failure or the `cancel` update: the
   * workflow then marks every step whose needs finish later `cancelled`. (A cancel request without
   * the update cancels the run's scope instead: steps that try to start are cancelled, steps with a
   * need that did not succeed are skipped.)
   */
  let windDownAt = Infinity;
  const endedAt = new Map<string, number>();
  const channelActivities = new Set<string>();
  for (const e of events) {
    const id = Number(e.eventId ?? 0);
    const initiated = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (initiated?.workflowId?.startsWith(prefix)) {
      const st = byId.get(initiated.workflowId.slice(prefix.length));
      if (st) {
        Object.assign(st, { state: 'running', startedAt: timeOf(e), childId: initiated.workflowId });
        byInitiated.set(String(e.eventId), st);
      }
      continue;
    }
    const closed =
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionCanceledEventAttributes ??
      e.childWorkflowExecutionTerminatedEventAttributes ??
      e.childWorkflowExecutionTimedOutEventAttributes ??
      e.startChildWorkflowExecutionFailedEventAttributes;
    if (closed) {
      const st = byInitiated.get(String(closed.initiatedEventId));
      if (!st) continue;
      st.endedAt = timeOf(e);
      endedAt.set(st.id, id);
      if (e.childWorkflowExecutionCompletedEventAttributes) {
        const r = decode<StepWorkflowResult>(e.childWorkflowExecutionCompletedEventAttributes.result);
        Object.assign(st, {
          state: r?.cached ? 'cached' : 'succeeded',
          outputs: r?.outputs,
          attempts: r?.attempts ?? 0,
        });
        if (r?.metrics) st.metrics = r.metrics;
      } else if (e.childWorkflowExecutionCanceledEventAttributes) {
        st.state = 'cancelled';
      } else {
        const f = innermost(e.childWorkflowExecutionFailedEventAttributes?.failure);
        st.state = 'failed';
        if (e.childWorkflowExecutionFailedEventAttributes) {
          st.error = { type: failureType(f), message: f.message ?? '' };
          const detail = decode<{ attempts?: number }>(f.applicationFailureInfo?.details);
          st.attempts = Math.max(st.attempts, detail?.attempts ?? 1);
        } else if (e.childWorkflowExecutionTimedOutEventAttributes)
          st.error = { type: 'Timeout', message: 'the step workflow timed out' };
        else if (e.childWorkflowExecutionTerminatedEventAttributes)
          st.error = { type: 'Terminated', message: 'the step workflow was terminated' };
        else
          st.error = {
            type: 'StartFailed',
            message: `could not start the step workflow (${String(e.startChildWorkflowExecutionFailedEventAttributes?.cause)})`,
          };
        windDownAt = Math.min(windDownAt, id);
      }
      continue;
    }
    if (e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'cancel')
      windDownAt = Math.min(windDownAt, id);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'resolveChannels')
      channelActivities.add(String(e.eventId));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && channelActivities.has(String(done.scheduledEventId)))
      status.channels = decode<Record<string, string>>(done.result);
  }

  const last = events.at(-1);
  const close = last ? closeOf(last) : undefined;
  if (!close) return status;
  status.endedAt = timeOf(last!);
  status.state = close.state;
  if (close.error) status.error = close.error;
  if (close.result) {
    // The result carries the final step list as the workflow held it.
    status.steps = close.result.steps;
    status.outputs = close.result.outputs;
    return status;
  }
  // Steps the run never started, in plan (topological) order, decided as workflows/pipeline.ts does:
  // once a failure or the cancel update has set its flags, a step whose needs finish is cancelled;
  // before that, a need that did not succeed skips it; a step with all needs done that did not start
  // was stopped by the wind-down (cancelled) unless its `if` could have skipped it.
  const doneAt = new Map<string, number>();
  for (const step of plan.steps) {
    const st = byId.get(step.id)!;
    const needsDoneAt = Math.max(0, ...step.needs.map((n) => doneAt.get(n) ?? 0));
    doneAt.set(step.id, endedAt.get(step.id) ?? (st.state === 'cached' ? 0 : needsDoneAt));
    if (st.state === 'running') st.state = 'cancelled';
    if (st.state !== 'pending') continue;
    const needsOk = step.needs.every((n) => ['succeeded', 'cached'].includes(byId.get(n)!.state));
    if (needsDoneAt >= windDownAt) {
      st.state = 'cancelled';
      doneAt.set(step.id, Math.max(needsDoneAt, windDownAt));
    } else if (!needsOk) st.state = 'skipped';
    else if (step.if) st.state = 'skipped';
    else {
      // It would have started when its needs finished: the wind-down was already under way.
      st.state = 'cancelled';
      if (windDownAt !== Infinity) doneAt.set(step.id, windDownAt);
    }
  }
  return status;
}

function closeOf(e: HistoryEvent): { state: RunState; error?: string; result?: PipelineResult } | undefined {
  if (e.workflowExecutionCompletedEventAttributes) {
    return { state: 'succeeded', result: decode<PipelineResult>(e.workflowExecutionCompletedEventAttributes.result) };
  }
  if (e.workflowExecutionFailedEventAttributes) {
    const f = e.workflowExecutionFailedEventAttributes.failure ?? {};
    const cancelled = f.applicationFailureInfo?.type === 'RunCancelled';
    return { state: cancelled ? 'cancelled' : 'failed', error: f.message ?? 'failed' };
  }
  if (e.workflowExecutionCanceledEventAttributes) return { state: 'cancelled', error: 'cancelled' };
  if (e.workflowExecutionTerminatedEventAttributes) {
    return {
      state: 'cancelled',
      error: `terminated${e.workflowExecutionTerminatedEventAttributes.reason ? `: ${e.workflowExecutionTerminatedEventAttributes.reason}` : ''}`,
    };
  }
  if (e.workflowExecutionTimedOutEventAttributes) return { state: 'failed', error: 'the run timed out' };
  return undefined;
}
