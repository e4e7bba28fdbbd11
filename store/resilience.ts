/**
 * How the store survives a flaky or restarting S3 server, and how it refuses to hang on one.
 *
 * - Every HTTP request to S3 has an *inactivity* deadline ({@link deadlineTransport}): when no
 *   byte moves for `idleTimeoutMs`, the request fails with code `S3Timeout`. It is an inactivity
 *   deadline, not a total one, so a 1 GiB upload or download still works; a response body
 *   whose reader is slow (backpressure) does not count as inactive.
 * - Infrastructure errors (connection refused/reset, timeouts, 5xx, "not ready") are retried
 *   with exponential backoff for `retryBudgetMs` (default 10 min) per call ({@link retrying});
 *   errors that retrying cannot fix (NotFound, NoSuchBucket, AccessDenied, ...) are not.
 * - Waiting stops at once when the caller's cancellation signal fires.
 *
 * Knows nothing of Temporal: the signal and the retry notices come from the options.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as http from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ResilienceOptions {
  /** A request fails when no byte moved for this long. Env BPOFLOW_S3_TIMEOUT_MS, default 30 s. */
  idleTimeoutMs: number;
  /** How long one call keeps retrying infrastructure errors. Env BPOFLOW_S3_RETRY_MS, default 10 min. */
  retryBudgetMs: number;
  /** First backoff (doubling, with jitter). Default 250 ms. */
  initialBackoffMs: number;
  /** Longest backoff; also bounds how late a recovered server is noticed. Default 5 s. */
  maxBackoffMs: number;
  /** The cancellation signal of whoever is calling now (e.g. the running activity's). */
  signal?: () => AbortSignal | undefined;
  /** Told when a call starts waiting for S3, about every 30 s while it waits, and when it got through (`recovered`). */
  onRetry?: (notice: RetryNotice) => void;
}

export interface RetryNotice {
  /** What the call was doing: `put s3://bucket/key`. */
  what: string;
  attempt: number;
  waitedMs: number;
  /** The last error; empty when `recovered`. */
  error: string;
  /** The call succeeded after waiting. */
  recovered?: boolean;
}

export const DEFAULT_RESILIENCE: Readonly<ResilienceOptions> = Object.freeze({
  idleTimeoutMs: 30_000,
  retryBudgetMs: 600_000,
  initialBackoffMs: 250,
  maxBackoffMs: 5_000,
});

const envMs = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a number of milliseconds >= 0, got ${JSON.stringify(raw)}`);
  return n;
};

/** Deadlines and retry budget from `BPOFLOW_S3_TIMEOUT_MS` and `BPOFLOW_S3_RETRY_MS`. */
export function resilienceFromEnv(env: NodeJS.ProcessEnv = process.env): ResilienceOptions {
  return {
    ...DEFAULT_RESILIENCE,
    idleTimeoutMs: Math.max(1, envMs(env, 'BPOFLOW_S3_TIMEOUT_MS', DEFAULT_RESILIENCE.idleTimeoutMs)),
    retryBudgetMs: envMs(env, 'BPOFLOW_S3_RETRY_MS', DEFAULT_RESILIENCE.retryBudgetMs),
  };
}

// ------------------------------------------------------------------ classification

export type FaultClass = 'transient' | 'not-found' | 'no-bucket' | 'permanent';

const TRANSIENT_CODES = new Set([
  'S3Timeout',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
// What SeaweedFS and friends say while they are starting up or recovering.
const NOT_READY = /not ready|temporarily unavailable|try again later|no writable volumes|socket hang up/i;

/**
 * The HTTP status of a failed S3 call, when the server answered. The minio client reports the
 * statuses it considers retryable (5xx, 408, 429) only in its message, even with its own retry
 * off: "Request failed after 0 retries: Error: Retryable HTTP status: 500".
 */
export function httpStatusOf(e: unknown): number | undefined {
  const err = e as { statusCode?: unknown; message?: unknown } | undefined;
  if (typeof err?.statusCode === 'number') return err.statusCode;
  const m = typeof err?.message === 'string' ? /Retryable HTTP status: (\d{3})/.exec(err.message) : null;
  return m ? Number(m[1]) : undefined;
}

/** Which kind of failure an S3 client error is. */
export function classifyS3Error(e: unknown): FaultClass {
  const err = e as { code?: unknown; statusCode?: unknown; message?: unknown } | undefined;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const status = httpStatusOf(e);
  if (code === 'NoSuchBucket') return 'no-bucket';
  if (code && NOT_FOUND_CODES.has(code)) return 'not-found';
  if (code && TRANSIENT_CODES.has(code)) return 'transient';
  if (status !== undefined && (status >= 500 || status === 408 || status === 429) && status !== 501) return 'transient';
  if (status === 404) return 'not-found';
  if (typeof err?.message === 'string' && NOT_READY.test(err.message)) return 'transient';
  return 'permanent';
}

// ------------------------------------------------------------------ retrying

/** The budget ran out; `cause` is the last error. */
export class RetriesExhausted extends Error {
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly waitedMs: number,
  ) {
    super('retries exhausted');
  }
}

/** An error's message, minio's "Request failed after 0 retries: Error: Retryable HTTP status: 500" said plainly. */
export function s3ErrorMessage(e: unknown): string {
  const msg = (e as { message?: string })?.message || String(e);
  return msg.replace(
    /Request failed after \d+ retries: Error: Retryable HTTP status: (\d{3})/,
    'the server answered HTTP $1',
  );
}

const errText = (e: unknown): string => {
  const err = e as { message?: string; code?: string };
  const msg = s3ErrorMessage(e);
  return err?.code && !msg.includes(err.code) ? `${msg} (${err.code})` : msg;
};

/** `signal.reason` as an Error (what a cancelled call rejects with). */
function abortError(signal: AbortSignal): Error {
  const r = signal.reason as unknown;
  return r instanceof Error
    ? r
    : Object.assign(new Error(`cancelled${r ? `: ${String(r)}` : ''}`), { name: 'AbortError' });
}

/**
 * Run `fn` until it succeeds, fails with a non-transient error (rethrown as is), the budget is
 * spent ({@link RetriesExhausted}), or the caller is cancelled (the signal's reason).
 * `fn` must be safe to repeat (idempotent, or nothing was sent).
 */
export async function retrying<T>(
  opts: ResilienceOptions,
  what: string,
  fn: (attempt: number) => Promise<T>,
  isTransient: (e: unknown) => boolean = (e) => classifyS3Error(e) === 'transient',
): Promise<T> {
  const started = Date.now();
  let lastNotice = -Infinity;
  for (let attempt = 1; ; attempt++) {
    const signal = opts.signal?.();
    if (signal?.aborted) throw abortError(signal);
    try {
      const result = await fn(attempt);
      if (attempt > 1) opts.onRetry?.({ what, attempt, waitedMs: Date.now() - started, error: '', recovered: true });
      return result;
    } catch (e) {
      if (!isTransient(e)) throw e;
      const waited = Date.now() - started;
      const backoff = Math.min(opts.maxBackoffMs, opts.initialBackoffMs * 2 ** Math.min(attempt - 1, 20));
      const delay = Math.round(backoff * (0.5 + Math.random() / 2));
      if (waited + delay > opts.retryBudgetMs) throw new RetriesExhausted(e, attempt, waited);
      if (waited - lastNotice >= 30_000) {
        lastNotice = waited;
        opts.onRetry?.({ what, attempt, waitedMs: waited, error: errText(e) });
      }
      try {
        await sleep(delay, undefined, signal ? { signal } : {});
      } catch {
        throw abortError(signal!);
      }
    }
  }
}

// ------------------------------------------------------------------ deadlines

type Transport = Pick<typeof http, 'request'>;

const idleScope = new AsyncLocalStorage<number>();

/** Requests started inside `fn` get this inactivity deadline instead of the default (e.g. server-side copies). */
export function withIdleTimeout<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  return idleScope.run(ms, fn);
}

export class S3TimeoutError extends Error {
  override name = 'S3TimeoutError';
  readonly code = 'S3Timeout';
}

/**
 * Wrap an http/https module so that each request fails with {@link S3TimeoutError} once its
 * socket has been idle for the deadline: while connecting, sending, waiting for the answer, or
 * receiving a body that its reader is waiting for. A body that is not being read (no reader
 * yet, or the reader's buffer is full) is the reader's business, not the server's.
 */
export function deadlineTransport(base: Transport, defaultIdleMs: number): Transport {
  const request = ((...args: Parameters<Transport['request']>) => {
    const req = (base.request as (...a: unknown[]) => http.ClientRequest)(...args);
    const ms = idleScope.getStore() ?? defaultIdleMs;
    const opts = args[0] as { method?: string; path?: string };
    let res: http.IncomingMessage | undefined;
    req.on('response', (r: http.IncomingMessage) => (res = r));
    req.setTimeout(ms, () => {
      const readerIdle =
        res && (res.complete || res.readableFlowing === null || res.readableLength >= res.readableHighWaterMark);
      if (readerIdle) {
        req.setTimeout(ms); // look again later: the reader may come back to a dead server
        return;
      }
      const err = new S3TimeoutError(
        `no progress for ${ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`} on ${opts.method ?? 'GET'} ${String(opts.path ?? '').split('?')[0]}${res ? ' (reading the response)' : ''}`,
      );
      if (res) res.destroy(err);
      req.destroy(err);
    });
    return req;
  }) as Transport['request'];
  return { request };
}

// ------------------------------------------------------------------ resumable reads

/**
 * A body that survives a connection cut: on a transient error it re-opens the object at the
 * byte it had reached (`reopen(offset)`, itself retried) and carries on. Gives up when no byte
 * arrived for the retry budget.
 */
export async function* resumableBody(
  first: Readable,
  reopen: (offset: number) => Promise<Readable>,
  opts: ResilienceOptions,
  what: string,
): AsyncGenerator<Buffer> {
  let src = first;
  let offset = 0;
  let progressAt = Date.now();
  for (;;) {
    try {
      for await (const c of src) {
        const b = c as Buffer;
        offset += b.length;
        progressAt = Date.now();
        yield b;
      }
      return;
    } catch (e) {
      src.destroy();
      if (classifyS3Error(e) !== 'transient' || Date.now() - progressAt > opts.retryBudgetMs) throw e;
      opts.onRetry?.({ what, attempt: 1, waitedMs: 0, error: `${errText(e)}; resuming at byte ${offset}` });
      src = await reopen(offset);
    }
  }
}

/** The object (or its bucket) is not there: a NotFound from the server, raw or as the store reports it. */
export function isMissing(e: unknown): boolean {
  const c = classifyS3Error(e);
  return c === 'not-found' || c === 'no-bucket';
}
