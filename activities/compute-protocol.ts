// The messages between a step's activity (compute-host.ts, on the worker's
// event loop) and its compute process (compute-child.ts), over the fork IPC
// channel. Errors cross as plain objects and are rebuilt with the same name,
// message and ApplicationFailure type, so toFailure maps them as before.
import { ApplicationFailure } from '@temporalio/common';
import type { BackendPref } from '../ml/index.js';
import type { MergeTask, StepOutputs, StepProgress, StepTask, StepTelemetry } from './contract.js';
import type { Level } from './log.js';

export interface StartMessage {
  type: 'start';
  mode: 'run' | 'merge';
  task: StepTask | MergeTask;
  attempt: number;
  previousProgress?: StepProgress;
  /** The `--backend` the worker was started with. */
  backend: BackendPref;
}

export type HostMessage = StartMessage | { type: 'abort'; reason: SerializedError };

export type ChildMessage =
  | { type: 'progress'; progress: StepProgress }
  | { type: 'log'; level: Level; msg: string; fields?: Record<string, unknown> }
  | { type: 'telemetry'; telemetry: StepTelemetry }
  | { type: 'done'; outputs: StepOutputs; telemetry: StepTelemetry }
  | { type: 'failed'; error: SerializedError; telemetry?: StepTelemetry };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** Set when the error was an ApplicationFailure (its type and retryability). */
  failure?: { type: string | null; nonRetryable: boolean };
  cause?: SerializedError;
}

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const out: SerializedError = { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  if (err instanceof ApplicationFailure)
    out.failure = { type: err.type ?? null, nonRetryable: Boolean(err.nonRetryable) };
  if (err.cause !== undefined && depth < 4) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

export function rebuildError(e: SerializedError): Error {
  const cause = e.cause ? rebuildError(e.cause) : undefined;
  if (e.failure) {
    return ApplicationFailure.create({
      type: e.failure.type ?? undefined,
      message: e.message,
      nonRetryable: e.failure.nonRetryable,
      ...(cause ? { cause } : {}),
    });
  }
  const err = new Error(e.message, cause ? { cause } : undefined);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  if (e.code) (err as Error & { code?: string }).code = e.code;
  return err;
}
