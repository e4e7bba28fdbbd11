// `bpoflow resume RUN [--from STEP]`: a new run of a failed (or cancelled) run's
// plan that reuses the outputs of every step that succeeded and reruns the rest,
// like `argo retry` or Flyte's recover. The new run names the old one in its
// input; the old one gets a forward link in the artifact store.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Plan } from '../spec/plan.js';
import type { PipelineInput, RunStatus } from '../workflows/pipeline.js';
import type { ArtifactStore } from '../store/artifacts.js';
import { WORKFLOW_QUEUE } from './connect.js';
import { pipelineSearchAttributes, runIdFor } from './run-id.js';

export class ResumeError extends Error {
  override name = 'ResumeError';
}

/** The input the run was started with, read back from its history. */
export async function runInput(client: Client, runId: string): Promise<PipelineInput> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new ResumeError(`run ${runId}: no start input in its history`);
  return defaultPayloadConverter.fromPayload(payload) as PipelineInput;
}

/** STEP and every step that depends on it, directly or not. */
export function downstreamOf(plan: Plan, from: string): Set<string> {
  if (!plan.steps.some((s) => s.id === from)) {
    throw new ResumeError(`--from: no step "${from}" in pipeline ${plan.name} (steps: ${plan.steps.map((s) => s.id).join(', ')})`);
  }
  const out = new Set([from]);
  for (const step of plan.steps) if (step.needs.some((n) => out.has(n))) out.add(step.id); // steps are topologically sorted
  return out;
}

export async function resumeRun(client: Client, store: ArtifactStore, oldRunId: string, opts: { from?: string } = {}): Promise<{ handle: WorkflowHandle; reused: string[]; rerun: string[] }> {
  const old = client.workflow.getHandle(oldRunId);
  const description = await old.describe();
  if (description.status.name === 'RUNNING') throw new ResumeError(`run ${oldRunId} is still running; cancel it first or wait for it`);
  const input = await runInput(client, oldRunId);
  const status = await old.query<RunStatus>('status');
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
    try {
      handle = await client.workflow.start('pipelineWorkflow', {
        taskQueue: WORKFLOW_QUEUE,
        workflowId: runIdFor(plan, new Date()),
        args: [{ plan, reuse, resumedFrom: oldRunId } satisfies PipelineInput],
        typedSearchAttributes: pipelineSearchAttributes(plan),
        memo: { resumedFrom: oldRunId },
      });
    } catch (err) {
      if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError' || i > 5) throw err;
    }
  }
  await addForwardLink(store, oldRunId, handle.workflowId);
  const reused = Object.keys(reuse);
  return { handle, reused, rerun: plan.steps.map((s) => s.id).filter((id) => !reuse[id]) };
}

const linksUri = (store: ArtifactStore, runId: string) => `s3://${store.bucket}/runs/${runId}/links.json`;

export interface RunLinks {
  resumedBy: string[];
}

async function addForwardLink(store: ArtifactStore, oldRunId: string, newRunId: string): Promise<void> {
  const links = await runLinks(store, oldRunId);
  links.resumedBy.push(newRunId);
  await store.putJson(linksUri(store, oldRunId), links, { kind: 'other', producer: { runId: newRunId, stepId: 'resume' } });
}

export async function runLinks(store: ArtifactStore, runId: string): Promise<RunLinks> {
  const uri = linksUri(store, runId);
  return (await store.exists(uri)) ? await store.readJson<RunLinks>(uri) : { resumedBy: [] };
}
