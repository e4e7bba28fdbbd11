// Follows a run until it ends, printing each step's state change as a line
// (`run --wait`). The final status and outputs come last.
import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeRun, renderSteps, stepLine, type LiveRun } from './run-view.js';

const POLL_MS = 500;

export async function watchRun(client: Client, runId: string, opts: { json?: boolean; out?: NodeJS.WritableStream } = {}): Promise<LiveRun> {
  const out = opts.out ?? process.stdout;
  const seen = new Map<string, string>();
  for (;;) {
    const run = await describeRun(client, runId);
    for (const s of run.steps) {
      const key = `${s.state}:${s.currentAttempt ?? s.attempts}`;
      if (seen.get(s.id) !== key && s.state !== 'pending') {
        seen.set(s.id, key);
        if (!opts.json) out.write(stepLine(s) + '\n');
      }
    }
    if (run.state !== 'running' && run.temporalStatus !== 'RUNNING') {
      out.write(opts.json ? JSON.stringify(run) + '\n' : renderSteps(run) + '\n');
      return run;
    }
    await sleep(POLL_MS);
  }
}
