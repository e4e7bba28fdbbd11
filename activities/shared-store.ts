// One artifact store client per worker process, from the environment or the local stack.
// While S3 is down the store waits and retries (minutes); that wait stops when the activity
// calling it is cancelled, and the worker log says what it is waiting for.
import { Context } from '@temporalio/activity';
import { ArtifactStore } from '../store/artifacts.js';
import type { RetryNotice } from '../store/resilience.js';
import { createLogger } from './log.js';

let store: Promise<ArtifactStore> | undefined;
/** Where there is no activity context (a compute child process), the signal that cancels the step. */
let processSignal: AbortSignal | undefined;

/** A compute child hands in its step's abort signal, so a cancelled step stops waiting on S3 too. */
export function useCancellationSignal(signal: AbortSignal): void {
  processSignal = signal;
}

/** The running activity's context (the store's calls happen inside it), or undefined outside one. */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

const log = createLogger({ component: 'store' });

function noticeRetry(n: RetryNotice): void {
  const info = activityContext()?.info;
  const fields = {
    what: n.what,
    attempt: n.attempt,
    waitedS: Math.round(n.waitedMs / 1000),
    ...(n.recovered ? {} : { error: n.error }),
    ...(info ? { activity: info.activityType, workflow: info.workflowExecution?.workflowId } : {}),
  };
  if (n.recovered) log.info('S3 available again', fields);
  else log.warn('S3 unavailable, retrying', fields);
}

export function sharedStore(): Promise<ArtifactStore> {
  store ??= (async () => {
    const s = ArtifactStore.fromEnv(process.env, {
      resilience: { signal: () => activityContext()?.cancellationSignal ?? processSignal, onRetry: noticeRetry },
    });
    await s.ensureBucket();
    return s;
  })().catch((e: unknown) => {
    store = undefined; // the next activity tries again instead of inheriting this failure
    throw e;
  });
  return store;
}
