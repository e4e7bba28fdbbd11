/**
 * An {@link S3.ObjectStore} (store/object-store.ts) whose every call survives an S3 outage the
 * way store/resilience.ts says: infrastructure errors are retried for the retry budget, then fail as
 * {@link StoreUnavailableError} naming the call, the object and the endpoint; what retrying cannot
 * fix fails at once as an {@link ArtifactStoreError} that keeps the server's `code`/`statusCode`
 * (NoSuchKey, PreconditionFailed, ...) with the credentials redacted. Calls that answer only when
 * a long server-side job is done (copy, multipart completion) get a longer inactivity deadline.
 *
 * The rest of the store talks to S3 only through this wrapper; `unretried` is for clean-up after
 * a failure, which must not wait out another retry budget.
 */
import type { StoreConfig } from './config.js';
import { ArtifactStoreError, BucketNotFoundError, StoreUnavailableError } from './errors.js';
import type * as S3 from './object-store.js';
import {
  classifyS3Error,
  httpStatusOf,
  RetriesExhausted,
  retrying,
  s3ErrorMessage,
  withIdleTimeout,
  type ResilienceOptions,
} from './resilience.js';

/** Server-side jobs (copying GiBs, assembling parts) send nothing until done. */
const SLOW_CALL_MIN_TIMEOUT_MS = 300_000;

const uriOf = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

export class RetryingObjects implements S3.ObjectStore {
  constructor(
    readonly unretried: S3.ObjectStore,
    private readonly resilience: ResilienceOptions,
    private readonly config: Pick<StoreConfig, 'endpointUrl' | 'redact'>,
  ) {}

  bucketExists(bucket: string): Promise<boolean> {
    return this.retried(`check bucket ${bucket}`, undefined, (raw) => raw.bucketExists(bucket));
  }
  makeBucket(bucket: string): Promise<void> {
    return this.retried(`ensure bucket ${bucket}`, undefined, (raw) => raw.makeBucket(bucket));
  }
  stat(bucket: string, key: string): Promise<S3.ObjectStat> {
    return this.retried(`stat ${uriOf(bucket, key)}`, bucket, (raw) => raw.stat(bucket, key));
  }
  get(bucket: string, key: string, offset = 0): Promise<S3.ObjectRead> {
    const from = offset > 0 ? ` from byte ${offset}` : '';
    return this.retried(`get ${uriOf(bucket, key)}${from}`, bucket, (raw) => raw.get(bucket, key, offset));
  }
  put(bucket: string, key: string, body: Buffer, opts?: S3.PutOptions): Promise<void> {
    return this.retried(`put ${uriOf(bucket, key)}`, bucket, (raw) => raw.put(bucket, key, body, opts));
  }
  remove(bucket: string, key: string): Promise<void> {
    return this.retried(`remove ${uriOf(bucket, key)}`, bucket, (raw) => raw.remove(bucket, key));
  }
  list(bucket: string, prefix: string): Promise<S3.ObjectInfo[]> {
    return this.retried(`list ${uriOf(bucket, prefix)}`, bucket, (raw) => raw.list(bucket, prefix));
  }
  copy(bucket: string, from: string, to: string, opts: S3.CopyOptions): Promise<void> {
    return this.slow(`copy ${uriOf(bucket, from)} -> ${to}`, bucket, (raw) => raw.copy(bucket, from, to, opts));
  }
  startMultipart(bucket: string, key: string, contentType: string): Promise<string> {
    return this.retried(`start upload ${uriOf(bucket, key)}`, bucket, (raw) =>
      raw.startMultipart(bucket, key, contentType),
    );
  }
  uploadPart(bucket: string, key: string, uploadId: string, part: number, data: Buffer): Promise<string> {
    const what = `upload part ${part} of ${uriOf(bucket, key)}`;
    return this.retried(what, bucket, (raw) => raw.uploadPart(bucket, key, uploadId, part, data));
  }
  completeMultipart(bucket: string, key: string, uploadId: string, parts: S3.PartETag[]): Promise<void> {
    const what = `complete upload ${uriOf(bucket, key)}`;
    return this.slow(what, bucket, (raw) => raw.completeMultipart(bucket, key, uploadId, parts));
  }
  abortMultipart(bucket: string, key: string, uploadId: string): Promise<void> {
    return this.retried(`abort upload ${uriOf(bucket, key)}`, bucket, (raw) =>
      raw.abortMultipart(bucket, key, uploadId),
    );
  }
  listIncompleteUploads(bucket: string, prefix: string): Promise<S3.IncompleteUpload[]> {
    return this.retried(`list uploads ${uriOf(bucket, prefix)}`, bucket, (raw) =>
      raw.listIncompleteUploads(bucket, prefix),
    );
  }

  private slow<T>(what: string, bucket: string, fn: (raw: S3.ObjectStore) => Promise<T>): Promise<T> {
    const ms = Math.max(this.resilience.idleTimeoutMs, SLOW_CALL_MIN_TIMEOUT_MS);
    return withIdleTimeout(ms, () => this.retried(what, bucket, fn));
  }

  /**
   * Calls on `raw` that are repeated together (a GET and the reading of its body), safe to
   * repeat. `bucket` (absent for the bucket calls themselves) is checked once when the server
   * first answers with a retryable status: some servers answer a write to a missing bucket with
   * a 500, and minutes of retries cannot fix that.
   */
  async retried<T>(what: string, bucket: string | undefined, fn: (raw: S3.ObjectStore) => Promise<T>): Promise<T> {
    const uri = bucket === undefined ? what : (/s3:\/\/\S+/.exec(what)?.[0] ?? what);
    let probed = bucket === undefined;
    const once = async (): Promise<T> => {
      try {
        return await fn(this.unretried);
      } catch (e) {
        if (!probed && httpStatusOf(e) !== undefined && classifyS3Error(e) === 'transient') {
          probed = true;
          const exists = await this.unretried.bucketExists(bucket!).catch(() => true);
          if (!exists) throw new BucketNotFoundError(bucket!, uri);
        }
        throw e;
      }
    };
    try {
      return await retrying(this.resilience, what, once);
    } catch (e) {
      if (e instanceof RetriesExhausted) throw this.unavailable(what, uri, e);
      throw this.failure(what, e, uri, bucket);
    }
  }

  private unavailable(what: string, uri: string, e: RetriesExhausted): StoreUnavailableError {
    const last = e.last as { code?: string; message?: string } | undefined;
    const secs = (e.waitedMs / 1000).toFixed(0);
    const code = last?.code && !String(last.message).includes(last.code) ? ` (${last.code})` : '';
    const message =
      `S3 at ${this.config.endpointUrl} unavailable: ` +
      `${what} still failing after ${secs} s and ${e.attempts} attempts: `;
    return new StoreUnavailableError(
      this.config.redact(message + s3ErrorMessage(last) + code),
      last?.code,
      uri,
      e.attempts,
    );
  }

  /**
   * An error as the store reports it: code and status kept, credentials redacted, the raw
   * error (which may carry its request) dropped.
   */
  failure(what: string, e: unknown, uri: string, bucket = /^s3:\/\/([^/]+)/.exec(uri)?.[1]): Error {
    if (e instanceof ArtifactStoreError) return e;
    if (this.resilience.signal?.()?.aborted && e instanceof Error) return e; // the caller's cancellation, as it is
    if (bucket !== undefined && classifyS3Error(e) === 'no-bucket') return new BucketNotFoundError(bucket, uri);
    const err = e as { code?: string; statusCode?: number } | undefined;
    const code = err?.code ?? (err?.statusCode ? `HTTP${err.statusCode}` : undefined);
    const out = new ArtifactStoreError(
      this.config.redact(`${what}: ${s3ErrorMessage(e)}${code ? ` (${code})` : ''}`),
      code,
    );
    (out as { statusCode?: number }).statusCode = err?.statusCode;
    return out;
  }
}
