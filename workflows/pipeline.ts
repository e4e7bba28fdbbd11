// The pipeline interpreter: runs a compiled plan's DAG with as much parallelism
// as the graph allows. Each step runs as a child workflow (see step.ts) so this
// history grows by a handful of events per step, whatever the step does inside.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  defineQuery,
  defineUpdate,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Plan, PlanStep } from '../spec/plan.js';
import type { StepOutputs, StepTelemetry } from '../activities/contract.js';
import { evaluate, resolveValue, truthy, type Scalar } from '../spec/expr-eval.js';
import { RunScope } from './run-scope.js';
import { stepWorkflow, type StepWorkflowResult } from './step.js';
import { WORKFLOW_QUEUE } from './queues.js';
import { channelNames, withChannels } from './channels.js';
import type * as control from '../activities/control.js';
import { pendingSteps } from './pending-steps.js';

export type StepState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cached' | 'cancelled';
export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StepStatus {
  id: string;
  uses: string;
  queue: string;
  /** Whether the step may reuse a cached result (its `cache` setting). */
  cache?: boolean;
  state: StepState;
  attempts: number;
  outputs?: StepOutputs;
  error?: { type: string; message: string };
  startedAt?: number;
  endedAt?: number;
  /** Workflow id of the child workflow running the step (its pending activities carry the live progress). */
  childId?: string;
  reusedFrom?: string;
  /** The latest metrics the step reported (training/eval kinds: loss, rewards/accuracies, ...). */
  metrics?: Record<string, number>;
  /** The compute process's tensor backend and peak memory (steps that ran in one). */
  telemetry?: StepTelemetry;
}

export interface RunStatus {
  runId: string;
  pipeline: string;
  specHash: string;
  state: RunState;
  startedAt: number;
  endedAt?: number;
  steps: StepStatus[];
  outputs?: Record<string, Scalar>;
  error?: string;
  resumedFrom?: string;
  /** `channel://` references pinned at run start: channel -> model URI. */
  channels?: Record<string, string>;
}

export interface PipelineInput {
  plan: Plan;
  /** Outputs of steps that succeeded in an earlier run (`bpoflow resume`), reused as they are. */
  reuse?: Record<string, { outputs: StepOutputs; runId: string }>;
  resumedFrom?: string;
}

export interface PipelineResult {
  runId: string;
  outputs: Record<string, Scalar>;
  steps: StepStatus[];
}

export const statusQuery = defineQuery<RunStatus>('status');
export const cancelUpdate = defineUpdate<RunState, [string?]>('cancel');

const DONE_OK: StepState[] = ['succeeded', 'cached'];

const { resolveChannels } = proxyActivities<typeof control>({
  taskQueue: WORKFLOW_QUEUE,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['BadInput'] },
});

export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineResult> {
  const runId = workflowInfo().workflowId;
  const status: RunStatus = {
    runId,
    pipeline: input.plan.name,
    specHash: input.plan.specHash,
    state: 'running',
    startedAt: Date.now(),
    steps: pendingSteps(input.plan),
    resumedFrom: input.resumedFrom,
  };
  const byId = new Map(status.steps.map((s) => [s.id, s]));
  const dag = new CancellationScope();
  let firstFailure: StepStatus | undefined;
  let cancelReason: string | undefined;

  setHandler(statusQuery, () => status);
  setHandler(cancelUpdate, (reason?: string) => {
    cancelReason = reason ?? 'cancelled by request';
    dag.cancel();
    return status.state;
  });

  const channels = channelNames(input.plan);
  if (channels.length) status.channels = await resolveChannels(channels);
  const plan = status.channels ? withChannels(input.plan, status.channels) : input.plan;
  const scope = new RunScope(plan.params, plan.inputs);

  const finished = new Map<string, Promise<void>>();
  const runStep = async (step: PlanStep): Promise<void> => {
    await Promise.all(step.needs.map((n) => finished.get(n)));
    const st = byId.get(step.id)!;
    if (firstFailure || cancelReason) return void (st.state = 'cancelled');
    if (step.needs.some((n) => !DONE_OK.includes(byId.get(n)!.state))) return void (st.state = 'skipped');
    const reused = input.reuse?.[step.id];
    if (reused) {
      Object.assign(st, { state: 'cached', outputs: reused.outputs, reusedFrom: reused.runId });
      scope.stepOutputs[step.id] = reused.outputs;
      return;
    }
    try {
      if (step.if && !truthy(evaluate(step.if, scope.lookup))) return void (st.state = 'skipped');
      const args = resolveValue(step.with, scope.lookup) as Record<string, unknown>;
      st.state = 'running';
      st.startedAt = Date.now();
      st.childId = `${runId}--${step.id}`;
      const result: StepWorkflowResult = await executeChild(stepWorkflow, {
        workflowId: st.childId,
        args: [{ runId, step, args }],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `${step.id}: ${st.uses}`,
        staticDetails: stepDetails(step),
      });
      Object.assign(st, {
        state: result.cached ? 'cached' : 'succeeded',
        outputs: result.outputs,
        attempts: result.attempts,
      });
      if (result.metrics) st.metrics = result.metrics;
      if (result.telemetry) st.telemetry = result.telemetry;
      scope.stepOutputs[step.id] = result.outputs;
    } catch (err) {
      if (isCancellation(err)) {
        st.state = 'cancelled';
      } else {
        st.state = 'failed';
        st.error = describeError(err);
        st.attempts = Math.max(st.attempts, attemptsOf(err));
        firstFailure ??= st;
        dag.cancel(); // stop independent branches: the run has failed
      }
    } finally {
      st.endedAt = Date.now();
    }
  };

  try {
    await dag.run(async () => {
      for (const step of plan.steps) finished.set(step.id, runStep(step));
      await Promise.all(finished.values());
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
  }
  status.endedAt = Date.now();

  if (firstFailure) {
    status.state = 'failed';
    const { type, message } = firstFailure.error!;
    status.error = `step "${firstFailure.id}" failed: ${type}: ${message}`;
    throw ApplicationFailure.create({
      type: 'StepFailed',
      message: status.error,
      nonRetryable: true,
      details: [firstFailure.id],
    });
  }
  if (cancelReason || status.steps.some((s) => s.state === 'cancelled')) {
    status.state = 'cancelled';
    status.error = cancelReason ?? 'cancelled';
    throw ApplicationFailure.create({ type: 'RunCancelled', message: status.error, nonRetryable: true });
  }
  const outputs: Record<string, Scalar> = {};
  for (const [name, expr] of Object.entries(plan.outputs)) {
    try {
      outputs[name] = evaluate(expr, scope.lookup);
    } catch {
      outputs[name] = null; // the producing step was skipped
    }
  }
  status.outputs = outputs;
  status.state = 'succeeded';
  return { runId, outputs, steps: status.steps };
}

/** Markdown shown on the step's child workflow page in the Temporal UI. */
function stepDetails(step: PlanStep): string {
  const lines = [
    `**${step.id}** runs \`${step.kind}@${step.version}\` on queue \`${step.queue}\``,
    step.needs.length ? `needs: ${step.needs.join(', ')}` : 'needs: nothing',
    `${step.shards > 1 ? `${step.shards} shards, ` : ''}cache ${step.cache ? 'on' : 'off'}, ${step.retry.maximumAttempts ? `up to ${step.retry.maximumAttempts} attempts` : 'unlimited attempts'}`,
  ];
  return lines.join('\n\n');
}

/** The step workflow fails with the step's own error type and message, and the attempts made, as innermost cause. */
function innermost(err: unknown): { type?: string; name?: string; message?: string; details?: unknown[] } {
  let e: unknown = err;
  while (e && typeof e === 'object' && (e as { cause?: unknown }).cause) e = (e as { cause: unknown }).cause;
  return (e ?? {}) as { type?: string; name?: string; message?: string; details?: unknown[] };
}

function describeError(err: unknown): { type: string; message: string } {
  const f = innermost(err);
  return { type: f.type ?? f.name ?? 'Error', message: f.message ?? String(err) };
}

function attemptsOf(err: unknown): number {
  const detail = innermost(err).details?.[0] as { attempts?: number } | undefined;
  return detail?.attempts ?? 1;
}
