// `bpoflow resume RUN [--from STEP]`: a new run of a failed (or cancelled) run's
// plan that reuses the outputs of every step that succeeded and reruns the rest,
// like `argo retry` or Flyte's recover. The new run names the old one in its
// input; the old one gets a forward link in the artifact store and the new one
// a back link (written before it starts), through which a training step the old
// run left half done continues from its last checkpoint. The old run is read
// from its history: no worker is needed to resume.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Plan } from '../spec/plan.js';
import type { PipelineInput } from '../workflows/pipeline.js';
import type { ArtifactStore } from '../store/artifacts.js';
import { WORKFLOW_QUEUE } from './connect.js';
import { pipelineSearchAttributes, runIdFor } from './run-id.js';
import { statusFromHistory } from './run-history.js';
import { linkResumedBy, linkResumedFrom } from '../activities/run-links.js';

export class ResumeError extends Error {
  override name = 'ResumeError';
}

/** The input the run was started with, read back from its history. */
export async function runInput(client: Client, runId: string): Promise<PipelineInput> {
  return inputOf(runId, await client.workflow.getHandle(runId).fetchHistory());
}

function inputOf(runId: string, history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): PipelineInput {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new ResumeError(`run ${runId}: no start input in its history`);
  return defaultPayloadConverter.fromPayload(payload) as PipelineInput;
}

async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
}

/** STEP and every step that depends on it, directly or not. */
export function downstreamOf(plan: Plan, from: string): Set<string> {
  if (!plan.steps.some((s) => s.id === from)) {
    throw new ResumeError(
      `--from: no step "${from}" in pipeline ${plan.name} (steps: ${plan.steps.map((s) => s.id).join(', ')})`,
    );
  }
  const out = new Set([from]);
  for (const step of plan.steps) if (step.needs.some((n) => out.has(n))) out.add(step.id); // steps are topologically sorted
  return out;
}

/** The run succeeded and no --from was given: not an error (the command exits 0), but no new run either. */
export class NothingToResume extends ResumeError {
  override name = 'NothingToResume';
}

export interface ResumeResult {
  handle: WorkflowHandle;
  reused: string[];
  rerun: string[];
}

export async function resumeRun(
  client: Client,
  store: ArtifactStore,
  oldRunId: string,
  opts: { from?: string } = {},
): Promise<ResumeResult> {
  const old = client.workflow.getHandle(oldRunId);
  const description = await old.describe();
  if (description.status.name === 'RUNNING')
    throw new ResumeError(`run ${oldRunId} is still running; cancel it first or wait for it`);
  const history = await old.fetchHistory();
  const status = statusFromHistory(oldRunId, history);
  const input = inputOf(oldRunId, history);
  if (status.state === 'succeeded' && !opts.from) {
    throw new NothingToResume(
      `run ${oldRunId} succeeded: nothing to resume (to run steps again: bpoflow resume ${oldRunId} --from STEP)`,
    );
  }
  const rerun = opts.from ? downstreamOf(input.plan, opts.from) : new Set<string>();
  const reuse: NonNullable<PipelineInput['reuse']> = {};
  for (const s of status.steps) {
    if ((s.state === 'succeeded' || s.state === 'cached') && s.outputs && !rerun.has(s.id)) {
      reuse[s.id] = { outputs: s.outputs, runId: s.reusedFrom ?? oldRunId };
    }
  }
  const plan = input.plan;
  let handle: WorkflowHandle | undefined;
  for (let i = 0; !handle; i++) {
    const workflowId = runIdFor(plan, new Date()); // a fresh random tag each try
    if (i <= 5 && (await exists(client, workflowId))) continue; // never link a run that is not ours
    // Before the start: the new run's first step may look for it at once.
    await linkResumedFrom(store, workflowId, oldRunId);
    try {
      handle = await client.workflow.start('pipelineWorkflow', {
        taskQueue: WORKFLOW_QUEUE,
        workflowId,
        args: [{ plan, reuse, resumedFrom: oldRunId } satisfies PipelineInput],
        typedSearchAttributes: pipelineSearchAttributes(plan),
        memo: { resumedFrom: oldRunId },
      });
    } catch (err) {
      if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError' || i > 5) throw err;
    }
  }
  await linkResumedBy(store, oldRunId, handle.workflowId);
  const reused = Object.keys(reuse);
  return { handle, reused, rerun: plan.steps.map((s) => s.id).filter((id) => !reuse[id]) };
}
