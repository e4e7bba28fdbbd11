// What a run looks like right now: the workflow's own status query, plus the
// live heartbeat progress of running steps (read from their child workflows'
// pending activities, which carry attempt and heartbeat details).
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { RunStatus, StepStatus } from '../workflows/pipeline.js';
import type { StepProgress, StepTelemetry } from '../activities/contract.js';

export interface LiveStep extends StepStatus {
  progress?: StepProgress;
  /** Attempt of the activity running now (pending activities only). */
  currentAttempt?: number;
  lastFailure?: string;
}

export interface LiveRun extends Omit<RunStatus, 'steps'> {
  steps: LiveStep[];
  temporalStatus: string;
}

export async function describeRun(client: Client, runId: string): Promise<LiveRun> {
  const handle = client.workflow.getHandle(runId);
  const [status, description] = await Promise.all([handle.query<RunStatus>('status'), handle.describe()]);
  const steps: LiveStep[] = await Promise.all(
    status.steps.map(async (s) => (s.state === 'running' && s.childId ? withProgress(client, s) : s)),
  );
  return { ...status, steps, temporalStatus: description.status.name };
}

async function withProgress(client: Client, step: StepStatus): Promise<LiveStep> {
  try {
    const child = await client.workflow.getHandle(step.childId!).describe();
    const pending = child.raw.pendingActivities ?? [];
    if (!pending.length) return step;
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
    return { ...merged, progress };
  } catch {
    return step;
  }
}

const ICON: Record<string, string> = {
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
  const attempts = s.attempts > 1 || (s.currentAttempt ?? 0) > 1 ? ` attempt ${Math.max(s.attempts, s.currentAttempt ?? 0)}` : '';
  const progress = s.progress?.total ? ` ${s.progress.done ?? 0}/${s.progress.total}${s.progress.unit ? ' ' + s.progress.unit : ''}` : '';
  const error = s.error ? `  ${s.error.type}: ${s.error.message}` : '';
  const m = [metricsText(s.progress?.metrics ?? s.metrics), telemetryText(s.progress?.telemetry ?? s.telemetry)].filter(Boolean).join('  ');
  return `${ICON[s.state] ?? '?'} ${s.id.padEnd(20)} ${s.state.padEnd(9)} ${s.uses.padEnd(24)} ${time}${attempts}${progress}${m ? '  ' + m : ''}${error}`;
}

export function renderSteps(run: LiveRun): string {
  const head = `${run.runId}  ${run.state}${run.error ? `: ${run.error}` : ''}`;
  const outputs = run.outputs ? Object.entries(run.outputs).map(([k, v]) => `  output ${k} = ${String(v)}`) : [];
  return [head, ...run.steps.map((s) => '  ' + stepLine(s)), ...outputs].join('\n');
}
