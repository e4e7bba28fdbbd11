// A bare activity loop, the baseline the engine's per-step overhead is compared with
// (bench/engine.ts runs it on a worker of its own, with `ping` as the only activity).
import { proxyActivities } from '@temporalio/workflow';

const { ping } = proxyActivities<{ ping(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

/** Runs `n` no-op activities one after another; returns the workflow-clock time after each. */
export async function activityRoundTripWorkflow(n: number): Promise<number[]> {
  const times = [Date.now()];
  for (let i = 0; i < n; i++) {
    await ping();
    times.push(Date.now());
  }
  return times;
}
