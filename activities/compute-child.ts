// A step attempt's compute process, forked by compute-host.ts: it runs one
// step kind with its own store client and tensor backend, so a long tensor op
// blocks only this process, never the worker's event loop (heartbeats,
// workflow tasks, queries). Progress, logs, telemetry and the result or error
// go back over the IPC channel; it exits when the kind is done.
import { selectBackend } from '../ml/index.js';
import type { ChildMessage, HostMessage, StartMessage } from './compute-protocol.js';
import { rebuildError, serializeError } from './compute-protocol.js';
import { sampleTelemetry as telemetry } from './telemetry.js';
import type { Level, Logger } from './log.js';
import { kindArgs } from './kind-args.js';
import { findKind } from './registry.js';
import { sharedStore, useCancellationSignal } from './shared-store.js';
import { stepContext } from './step-context.js';

const TELEMETRY_EVERY_MS = 2_000;

// The worker decides when a step stops (it drains on SIGTERM): a Ctrl-C that
// reaches the whole process group must not kill the step under it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// The worker is gone (killed): nobody is left to report to.
process.on('disconnect', () => process.exit(70));

const aborter = new AbortController();

const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });

function ipcLogger(base: Record<string, unknown> = {}): Logger {
  const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) =>
    void send({ type: 'log', level, msg, fields: { ...base, ...fields } });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => ipcLogger({ ...base, ...fields }),
  };
}

async function run(start: StartMessage): Promise<ChildMessage> {
  const { task } = start;
  try {
    await selectBackend(start.backend);
    const kind = findKind(task.kind, task.version);
    useCancellationSignal(aborter.signal);
    const ctx = stepContext(task, {
      attempt: start.attempt,
      store: await sharedStore(),
      log: ipcLogger(),
      signal: aborter.signal,
      progress: (progress) => void send({ type: 'progress', progress }),
      previousProgress: start.previousProgress,
    });
    void send({ type: 'telemetry', telemetry: telemetry() });
    const sampler = setInterval(() => void send({ type: 'telemetry', telemetry: telemetry() }), TELEMETRY_EVERY_MS);
    try {
      const args = kindArgs(kind, task.args);
      const outputs =
        start.mode === 'merge' && 'shards' in task
          ? await kind.merge!(ctx, args, task.shards)
          : await kind.run(ctx, args);
      return { type: 'done', outputs, telemetry: telemetry() };
    } finally {
      clearInterval(sampler);
    }
  } catch (err) {
    return { type: 'failed', error: serializeError(err), telemetry: telemetry() };
  }
}

process.on('message', (m: HostMessage) => {
  if (m.type === 'abort') aborter.abort(rebuildError(m.reason));
  else if (m.type === 'start')
    void run(m).then(async (final) => {
      await send(final);
      process.exit(0);
    });
});
