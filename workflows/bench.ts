// A bare activity loop, the baseline the engine's per-step overhead is compared with.
import { proxyActivities } from '@temporalio/workflow';
import type * as control from '../activities/control.js';
import { WORKFLOW_QUEUE } from './queues.js';

const { ping } = proxyActivities<typeof control>({ taskQueue: WORKFLOW_QUEUE, startToCloseTimeout: '1 minute' });

/** Runs `n` no-op activities one after another; returns the workflow-clock time after each. */
export async function activityRoundTripWorkflow(n: number): Promise<number[]> {
  const times = [Date.now()];
  for (let i = 0; i < n; i++) {
    await ping();
    times.push(Date.now());
  }
  return times;
}
