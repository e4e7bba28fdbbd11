// What a run looks like right now. A running run answers the workflow's own
// status query (bounded: a run whose worker is gone must not hang the CLI),
// plus the live heartbeat progress of running steps (read from their child
// workflows' pending activities, which carry attempt and heartbeat details).
// A finished run, or a running one no worker answers for, is read from its
// history (cli/run-history.ts): no worker needed. Queues without a worker are
// named in `warnings`.
import type { Client } from '@temporalio/client';
import { forPeople } from './output.js';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { RunStatus, StepStatus } from '../workflows/pipeline.js';
import type { StepProgress, StepTelemetry } from '../activities/contract.js';
import { redactValue } from '../activities/redact.js';
import { statusFromHistory } from './run-history.js';

const { temporal } = proto;

export interface LiveStep extends StepStatus {
  progress?: StepProgress;
  /** Attempt of the activity running now (pending activities only). */
  currentAttempt?: number;
  lastFailure?: string;
}

export interface LiveRun extends Omit<RunStatus, 'steps'> {
  steps: LiveStep[];
  temporalStatus: string;
  /** `query`: the workflow answered; `history`: read from its history (finished, or no worker answered). */
  source: 'query' | 'history';
  /** Why the run may not be moving: task queues no worker polls. */
  warnings?: string[];
}

export interface DescribeOptions {
  /** How long the status query may take before the history is read instead. Default 2 s (a live worker takes ms). */
  queryTimeoutMs?: number;
  /** false: read the history without trying the query (a watcher that just saw it time out). */
  query?: boolean;
}

/** A poller seen within this long is a live worker (a worker's long polls last about a minute). */
const POLLER_FRESH_MS = 90_000;
const DEFAULT_QUERY_TIMEOUT_MS = 2_000;

export interface QueueWorkers {
  queue: string;
  /** Pollers seen recently. */
  live: number;
  /** Milliseconds since the last poll of any poller, if one was ever seen (the server keeps them a few minutes). */
  lastPollAgoMs?: number;
}

/** Who polls a task queue, from Temporal's DescribeTaskQueue (no worker needed). */
export async function queueWorkers(
  client: Client,
  queue: string,
  type: 'workflow' | 'activity',
): Promise<QueueWorkers> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType:
      type === 'workflow'
        ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
        : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  const ages = (res.pollers ?? []).map((p) =>
    p.lastAccessTime
      ? now - (Number(p.lastAccessTime.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime.nanos ?? 0) / 1e6))
      : Infinity,
  );
  const lastPollAgoMs = ages.length ? Math.max(0, Math.min(...ages)) : undefined;
  return {
    queue,
    live: ages.filter((a) => a < POLLER_FRESH_MS).length,
    ...(lastPollAgoMs !== undefined && Number.isFinite(lastPollAgoMs) ? { lastPollAgoMs } : {}),
  };
}

const ago = (ms: number | undefined) =>
  ms === undefined ? 'never seen' : `last poll ${formatDuration(Math.round(ms))} ago`;

export function noWorkerMessage(w: QueueWorkers, what: string): string {
  return `no worker is polling task queue "${w.queue}" (${what}; ${ago(w.lastPollAgoMs)}): start \`bpoflow worker\` for it; the run continues when one polls`;
}

export async function describeRun(client: Client, runId: string, opts: DescribeOptions = {}): Promise<LiveRun> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const temporalStatus = description.status.name;
  if (temporalStatus !== 'RUNNING') {
    const status = statusFromHistory(runId, await handle.fetchHistory());
    return redactValue({ ...status, temporalStatus, source: 'history' });
  }
  const warnings: string[] = [];
  const queue = description.taskQueue;
  const workflowWorkers = await queueWorkers(client, queue, 'workflow');
  let status: RunStatus | undefined;
  if (!workflowWorkers.live) warnings.push(noWorkerMessage(workflowWorkers, 'workflow tasks'));
  else if (opts.query !== false) {
    const timeout = opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    try {
      status = await client.connection.withDeadline(Date.now() + timeout, () => handle.query<RunStatus>('status'));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      warnings.push(
        `no worker answered the status query on task queue "${queue}" within ${timeout / 1000} s (${ago(workflowWorkers.lastPollAgoMs)}; ${why.slice(0, 120)}): its worker may be gone; start \`bpoflow worker\``,
      );
    }
  }
  const source: LiveRun['source'] = status ? 'query' : 'history';
  status ??= statusFromHistory(runId, await handle.fetchHistory());
  const stepQueues = new Map<string, Promise<QueueWorkers>>();
  const steps: LiveStep[] = await Promise.all(
    status.steps.map(async (s) => {
      if (s.state !== 'running' || !s.childId) return s;
      const { step, waiting } = await withProgress(client, s);
      if (waiting) {
        if (!stepQueues.has(s.queue)) stepQueues.set(s.queue, queueWorkers(client, s.queue, 'activity'));
        const w = await stepQueues.get(s.queue)!;
        if (!w.live) warnings.push(`step "${s.id}": ${noWorkerMessage(w, 'step activities')}`);
      }
      return step;
    }),
  );
  return redactValue({ ...status, steps, temporalStatus, source, ...(warnings.length ? { warnings } : {}) });
}

async function withProgress(client: Client, step: StepStatus): Promise<{ step: LiveStep; waiting: boolean }> {
  try {
    const child = await client.workflow.getHandle(step.childId!).describe();
    const pending = child.raw.pendingActivities ?? [];
    if (!pending.length) return { step, waiting: false };
    // Scheduled but not started: no worker of the step's queue has picked it up.
    const waiting = pending.some(
      (p) => p.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
    );
    const merged: LiveStep = { ...step, currentAttempt: Math.max(...pending.map((p) => p.attempt ?? 1)) };
    const progress: StepProgress = {};
    let done = 0;
    let total = 0;
    for (const p of pending) {
      const payload = p.heartbeatDetails?.payloads?.[0];
      const detail = payload ? (defaultPayloadConverter.fromPayload(payload) as StepProgress) : undefined;
      if (detail) {
        Object.assign(progress, detail);
        done += detail.done ?? 0;
        total += detail.total ?? 0;
      }
      if (p.lastFailure?.message) merged.lastFailure = p.lastFailure.message;
    }
    // Shards report separately; the step's progress is their sum.
    if (pending.length > 1 && total) Object.assign(progress, { done, total });
    merged.attempts = Math.max(step.attempts, merged.currentAttempt ?? 0);
    return { step: { ...merged, progress }, waiting };
  } catch {
    return { step, waiting: false };
  }
}

/** One glyph per step state, shared by `status` and `watch`. */
export const STATE_ICON: Record<string, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  cached: '↺',
  skipped: '-',
  failed: '✗',
  cancelled: '⊘',
};

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

const HEADLINE_METRICS: [string, string, number][] = [
  ['loss', 'loss', 4],
  ['rewards/accuracies', 'acc', 3],
  ['eval/loss', 'eval loss', 4],
  ['tokens_per_s', 'tok/s', 0],
];

/** The headline metrics of a step, e.g. `loss 0.4123  acc 0.812` (empty when it reported none). */
export function metricsText(metrics: Record<string, number> | undefined): string {
  if (!metrics) return '';
  return HEADLINE_METRICS.filter(([k]) => typeof metrics[k] === 'number')
    .map(([k, label, digits]) => `${label} ${metrics[k]!.toFixed(digits)}`)
    .join('  ');
}

/** Where a step computes and its memory, e.g. `wasm 312MB` (peak RSS; `gpu 1.2GB` on GPU); empty for inline steps. */
export function telemetryText(t: StepTelemetry | undefined): string {
  if (!t) return '';
  const mb = (x: number) => (x >= 1024 ? `${(x / 1024).toFixed(1)}GB` : `${Math.round(x)}MB`);
  return `${t.backend} ${mb(t.peakRssMb)}${t.gpuMemoryMb !== undefined ? ` gpu ${mb(t.gpuMemoryMb)}` : ''}`;
}

export function stepLine(s: LiveStep, now = Date.now()): string {
  const time = s.startedAt ? formatDuration((s.endedAt ?? now) - s.startedAt) : '';
  const attempts =
    s.attempts > 1 || (s.currentAttempt ?? 0) > 1 ? ` attempt ${Math.max(s.attempts, s.currentAttempt ?? 0)}` : '';
  const progress = s.progress?.total
    ? ` ${s.progress.done ?? 0}/${s.progress.total}${s.progress.unit ? ' ' + s.progress.unit : ''}`
    : '';
  const error = s.error ? `  ${s.error.type}: ${s.error.message}` : '';
  const m = [metricsText(s.progress?.metrics ?? s.metrics), telemetryText(s.progress?.telemetry ?? s.telemetry)]
    .filter(Boolean)
    .join('  ');
  return `${STATE_ICON[s.state] ?? '?'} ${s.id.padEnd(20)} ${s.state.padEnd(9)} ${s.uses.padEnd(24)} ${time}${attempts}${progress}${m ? '  ' + m : ''}${error}`;
}

export function renderSteps(run: LiveRun): string {
  const head = `${run.runId}  ${run.state}${run.error ? `: ${run.error}` : ''}`;
  const outputs = run.outputs ? Object.entries(run.outputs).map(([k, v]) => `  output ${k} = ${forPeople(v)}`) : [];
  const warnings = (run.warnings ?? []).map((w) => `  warning: ${w}`);
  return [head, ...run.steps.map((s) => '  ' + stepLine(s)), ...outputs, ...warnings].join('\n');
}
