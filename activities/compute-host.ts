// The activity's side of a step's compute process: forks compute-child.js for
// one attempt, relays its progress, logs and telemetry, forwards cancellation
// (then kills it if it does not stop), and turns the process dying without an
// answer (OOM, kill -9) into a retryable ComputeProcessDied.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendPref } from '../ml/index.js';
import type { ChildMessage, HostMessage, StartMessage } from './compute-protocol.js';
import { rebuildError, serializeError } from './compute-protocol.js';
import type { StepOutputs, StepProgress, StepTelemetry } from './contract.js';
import type { Logger } from './log.js';

const CHILD_ENTRY = fileURLToPath(new URL('./compute-child.js', import.meta.url));
/** How long a cancelled compute process may take to stop by itself before it is killed. */
const ABORT_GRACE_MS = 5_000;
const STDERR_TAIL = 2_000;

/** The compute process exited without a result: killed (OOM, kill -9) or crashed; a retry resumes from checkpoints. */
export class ComputeProcessDied extends Error {
  override name = 'ComputeProcessDied';
}

// Compute processes die with the worker when it exits on its own terms.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface ComputeHooks {
  log: Logger;
  progress(p: StepProgress): void;
  telemetry(t: StepTelemetry): void;
  /** The activity's cancellation signal. */
  signal: AbortSignal;
}

export interface ComputeResult {
  outputs: StepOutputs;
  telemetry: StepTelemetry;
}

export function runInComputeProcess(
  start: Omit<StartMessage, 'type' | 'backend'>,
  hooks: ComputeHooks,
): Promise<ComputeResult> {
  const child = fork(CHILD_ENTRY, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  live.add(child);
  hooks.log.info('compute process started', { pid: child.pid });
  // The child's own output (tfjs notices, a crash's stack) goes to the worker's stderr; its tail explains a death.
  let tail = '';
  const keep = (d: Buffer) => {
    process.stderr.write(d);
    tail = (tail + d.toString()).slice(-STDERR_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let lastTelemetry: StepTelemetry | undefined;
  const { log } = hooks;

  return new Promise<ComputeResult>((resolve, reject) => {
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      hooks.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      const reason = hooks.signal.reason;
      if (child.connected) child.send({ type: 'abort', reason: serializeError(reason) } satisfies HostMessage);
      killTimer = setTimeout(() => {
        log.warn('compute process did not stop after cancellation; killing it', {
          pid: child.pid,
          graceMs: ABORT_GRACE_MS,
        });
        child.kill('SIGKILL');
      }, ABORT_GRACE_MS);
      killTimer.unref();
    };
    hooks.signal.addEventListener('abort', onAbort);

    child.on('message', (m: ChildMessage) => {
      switch (m.type) {
        case 'progress':
          return hooks.progress(m.progress);
        case 'log':
          return log[m.level](m.msg, m.fields);
        case 'telemetry':
          lastTelemetry = m.telemetry;
          return hooks.telemetry(m.telemetry);
        case 'done':
          hooks.telemetry(m.telemetry);
          return settle(() => resolve({ outputs: m.outputs, telemetry: m.telemetry }));
        case 'failed':
          if (m.telemetry) hooks.telemetry(m.telemetry);
          return settle(() => reject(rebuildError(m.error)));
      }
    });
    child.on('error', (err) =>
      settle(() => reject(new ComputeProcessDied(`compute process could not run: ${err.message}`))),
    );
    // 'close', not 'exit': it comes after the IPC channel has delivered every message.
    child.on('close', (code, signal) => {
      live.delete(child);
      if (killTimer) clearTimeout(killTimer);
      const how = signal
        ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or kill -9)' : ''}`
        : `exited with code ${code}`;
      const peak = lastTelemetry ? `; peak RSS ${lastTelemetry.peakRssMb} MB when last sampled` : '';
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      settle(() =>
        reject(
          new ComputeProcessDied(
            `compute process ${child.pid} ${how} before the step finished${peak}${last ? `; its last output: ${last}` : ''}`,
          ),
        ),
      );
    });
    // The worker's `--backend`, which it keeps in $BPOFLOW_BACKEND (cli/worker.ts).
    const backend = (process.env.BPOFLOW_BACKEND ?? 'auto') as BackendPref;
    child.send({ type: 'start', backend, ...start } satisfies HostMessage);
  });
}
