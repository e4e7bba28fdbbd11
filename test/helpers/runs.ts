// Submits pipelines to the test stack the way the CLI does, and reads back their status.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { RunStatus } from '../../workflows/pipeline.js';
import { connectClient } from '../../cli/connect.js';
import { preparePlan, submit } from '../../cli/run-commands.js';
import { statusFromHistory } from '../../cli/run-history.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { requireStackEnv } from './worker.js';

let client: Client | undefined;

export async function testClient(): Promise<Client> {
  requireStackEnv();
  client ??= await connectClient();
  return client;
}

export async function startPipeline(file: string, set: string[] = []): Promise<WorkflowHandle> {
  const plan = await preparePlan(file, { set }, ArtifactStore.fromEnv());
  return submit(await testClient(), plan);
}

/** Waits for the run to close (success or failure) and returns its final status. */
export async function finish(handle: WorkflowHandle): Promise<{ status: RunStatus; error?: Error }> {
  let error: Error | undefined;
  try {
    await handle.result();
  } catch (err) {
    error = err as Error;
  }
  // The workflow's own query; on a loaded machine it can time out, and then the closed run's
  // history gives the same status (the CLI's path, checked equal in no-worker.test.ts).
  const status = await handle
    .query<RunStatus>('status')
    .catch(async () => statusFromHistory(handle.workflowId, await handle.fetchHistory()));
  return { status, error };
}

/** Activity types scheduled in a workflow's history, in order. */
export async function scheduledActivities(workflowId: string): Promise<string[]> {
  const history = await (await testClient()).workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'] : [],
  );
}

export function innermostMessage(err: unknown): string {
  let e = err as { cause?: unknown; message?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

/** Local activities a workflow ran (the step cache), from the markers in its history. */
export async function localActivityMarkers(workflowId: string): Promise<number> {
  const history = await (await testClient()).workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .length;
}
