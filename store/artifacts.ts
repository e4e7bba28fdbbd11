/**
 * Content-addressed artifact store on S3-compatible storage.
 *
 * Layout inside a bucket:
 *   blobs/sha256/<ab>/<sha256>   immutable content-addressed bytes (metadata `bpoflow-sha256`)
 *   tmp/<uuid>                   in-flight multipart uploads (hash unknown until the end)
 *   <any other key>              either an artifact *manifest* (small JSON, object metadata
 *                                `x-amz-meta-bpoflow-manifest: v1`, Content-Type
 *                                application/vnd.bpoflow.manifest+json) or a plain user object.
 *
 * Naming: the artifact URI *is* the manifest's key (no `.manifest.json` suffix), e.g.
 * `s3://bpoflow/runs/<run>/<step>/<name>`; `open(uri)` follows the manifest to the blob.
 * A URI naming a plain object (no manifest metadata) is read as-is; its sha256 is taken from
 * its `bpoflow-sha256` metadata (verified) or computed while reading.
 *
 * Publishing protocol (atomic for readers):
 *   1. stream the bytes while hashing: small payloads (< partSize) are buffered and PUT
 *      straight to the content address; larger ones go as a multipart upload to `tmp/<uuid>`
 *      (uploadConcurrency + 1 part buffers, 2 x 32 MiB by default), then are server-side copied to the content
 *      address and `tmp/<uuid>` is deleted;
 *   2. only then is the manifest PUT at the artifact key (a single-object PUT is atomic).
 * A writer killed at any point leaves only a tmp object / incomplete multipart upload / an
 * unreferenced blob, all invisible to readers and removed by {@link ArtifactStore.gc} once
 * older than its grace period.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as Minio from 'minio';
import { resolveStoreConfig, StoreConfig, type StoreConfigInit } from './config.js';
import { ArtifactIntegrityError, ArtifactNotFoundError, ArtifactStoreError, BucketNotFoundError, ManifestError, StoreUnavailableError } from './errors.js';
import { classifyS3Error, deadlineTransport, httpStatusOf, s3ErrorMessage, resilienceFromEnv, resumableBody, RetriesExhausted, retrying, withIdleTimeout, type ResilienceOptions } from './resilience.js';
import { assertSafeKey, blobKey, formatUri, InvalidUriError, parsePrefix, parseUri, runUri as runUriFn, UnsafeKeyError } from './keys.js';

export const MANIFEST_SCHEMA = 'bpoflow.artifact/v1';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.bpoflow.manifest+json';
/** Object metadata key (without `x-amz-meta-`) that marks a manifest object. */
export const MANIFEST_META = 'bpoflow-manifest';
/** Object metadata key carrying a blob's sha256 (hex). */
export const SHA_META = 'bpoflow-sha256';
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

export const ARTIFACT_KINDS = ['dataset', 'model', 'checkpoint', 'metrics', 'report', 'other'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface Producer {
  runId: string;
  stepId: string;
  attempt?: number;
}

export interface ArtifactInput {
  uri: string;
  sha256: string;
}

export interface BundleFile {
  sha256: string;
  size: number;
  mediaType: string;
  /** Key of the blob in the manifest's bucket. */
  blob: string;
}

export interface ArtifactManifest {
  schema: typeof MANIFEST_SCHEMA;
  uri: string;
  kind: ArtifactKind;
  mediaType: string;
  /** Bytes of the blob, or the sum of member sizes for a bundle. */
  size: number;
  /** Blob sha256, or for a bundle the sha256 of its sorted `name\0sha256\0size\n` listing. */
  sha256: string;
  /** Blob key (single-blob artifacts). */
  blob?: string;
  /** Member files (bundles). */
  files?: Record<string, BundleFile>;
  producer?: Producer;
  inputs: ArtifactInput[];
  /** Free-form caller attributes (e.g. checkpoint step/metrics). */
  attributes?: Record<string, unknown>;
  createdAt: string;
}

export interface ArtifactRef {
  uri: string;
  sha256: string;
  size: number;
}

export interface PutMeta {
  kind: ArtifactKind;
  mediaType?: string;
  producer?: Producer;
  /** URIs (or already-known `{uri, sha256}`) of the artifacts this one was derived from. */
  inputs?: Array<string | ArtifactInput>;
  /** Free-form attributes stored in the manifest; a function is called after the bytes are uploaded. */
  attributes?: Record<string, unknown> | (() => Record<string, unknown>);
}

export type PutSource = Readable | AsyncIterable<Uint8Array | string> | Uint8Array | string;

export interface StoreOptions {
  /** Multipart part size in bytes (>= 5 MiB). Default 32 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel. Default 1 (one uploads while the next fills). Upload memory: (this + 1) × partSize. */
  uploadConcurrency?: number;
  /** Deadlines, retry budget, cancellation and retry notices (default: {@link resilienceFromEnv}). */
  resilience?: Partial<ResilienceOptions>;
}

export interface ListEntry {
  uri: string;
  key: string;
  size: number;
  lastModified: Date;
  /** Present when `details: true`: the manifest, or null for a plain object. */
  manifest?: ArtifactManifest | null;
}

export interface LineageNode {
  uri: string;
  sha256: string;
  kind: ArtifactKind | 'object';
  manifest?: ArtifactManifest;
  inputs: LineageNode[];
  /** The input no longer exists. */
  missing?: boolean;
  /** The input URI now holds different content than when it was consumed. */
  changed?: boolean;
  /** Already shown higher up (cycle guard). */
  cycle?: boolean;
}

export interface GcOptions {
  dryRun?: boolean;
  /** Objects/uploads younger than this are never touched. Default 1 hour. */
  graceMs?: number;
  /** Bucket to collect (default: the configured bucket). */
  bucket?: string;
}

export interface GcResult {
  removed: string[];
  dryRun: boolean;
  manifestsScanned: number;
  blobsReferenced: number;
}

// ---------------------------------------------------------------- errors

export { ArtifactStoreError, ArtifactNotFoundError, ArtifactIntegrityError, BucketNotFoundError, ManifestError, StoreUnavailableError } from './errors.js';

// ---------------------------------------------------------------- helpers

type S3Body = Readable & { headers?: Record<string, string | string[] | undefined> };
const header = (r: S3Body, k: string): string | undefined => {
  const v = r.headers?.[k];
  return Array.isArray(v) ? v[0] : v;
};

const toBuf = (c: Uint8Array | string): Buffer =>
  typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(toBuf(data)).digest('hex');
}

/** Digest of a bundle: sha256 over the sorted `name\0sha256\0size\n` lines of its members. */
export function bundleDigest(files: Record<string, { sha256: string; size: number }>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    const f = files[name]!;
    h.update(`${name}\0${f.sha256}\0${f.size}\n`);
  }
  return h.digest('hex');
}

export function guessMediaType(name: string): string {
  const ext = path.extname(name).toLowerCase();
  switch (ext) {
    case '.json':
      return 'application/json';
    case '.jsonl':
    case '.ndjson':
      return 'application/x-ndjson';
    case '.txt':
    case '.md':
      return 'text/plain';
    case '.csv':
      return 'text/csv';
    case '.yaml':
    case '.yml':
      return 'application/yaml';
    case '.html':
      return 'text/html';
    case '.safetensors':
    case '.bin':
    default:
      return 'application/octet-stream';
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const idx = i++;
      out[idx] = await fn(items[idx]!);
    }
  });
  await Promise.all(workers);
  return out;
}

async function readAll(stream: Readable, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = toBuf(c as Uint8Array);
    n += b.length;
    if (n > limit) {
      stream.destroy();
      throw new ArtifactStoreError(`object larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

/** Run `fn`; an error it throws says first which operation it broke (`publishing s3://…: …`). */
async function inContext<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(context)) e.message = `${context}: ${e.message}`;
    throw e;
  }
}

/**
 * A bundle member's name becomes a path under the download directory: a relative `/`-separated
 * path without `.`/`..` segments, backslashes, drive letters or control characters (NUL).
 */
export function assertMemberName(name: string, uri: string): string {
  try {
    return assertSafeKey(name, { allowReserved: true });
  } catch (e) {
    throw new ManifestError(`bundle ${uri}: file name ${JSON.stringify(name)} is not allowed: ${e instanceof UnsafeKeyError ? e.reason : String(e)}`);
  }
}

/**
 * Where bundle member `name` goes under directory `root` (a real path): never outside it, also
 * not through a symbolic link already in the directory. The manifest's names were validated on
 * read; this is the second lock.
 */
async function confinedPath(root: string, name: string, uri: string): Promise<string> {
  assertMemberName(name, uri);
  const dest = path.resolve(root, ...name.split('/'));
  const inside = (p: string): boolean => p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  if (!inside(dest)) throw new ManifestError(`bundle ${uri}: file ${JSON.stringify(name)} would be written outside ${root}`);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const parent = await fsp.realpath(path.dirname(dest));
  if (parent !== root && !inside(parent)) throw new ManifestError(`bundle ${uri}: file ${JSON.stringify(name)} would be written outside ${root} (through a symbolic link)`);
  return path.join(parent, path.basename(dest));
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchObject' || (e as { statusCode?: number })?.statusCode === 404;
}

/**
 * Pass-through that hashes and counts bytes; at end compares against the expectation and errors
 * with {@link ArtifactIntegrityError} on mismatch. After 'end', `sha256`/`size` hold the digest.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  sha256: string | undefined;
  constructor(
    private readonly label: string,
    private readonly expected: { sha256?: string; size?: number },
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    const { sha256, size } = this.expected;
    if (size !== undefined && size !== this.size) {
      cb(new ArtifactIntegrityError(this.label, `expected ${size} bytes, got ${this.size}`));
      return;
    }
    if (sha256 && sha256 !== this.sha256) {
      cb(new ArtifactIntegrityError(this.label, `sha256 mismatch: expected ${sha256}, got ${this.sha256}`));
      return;
    }
    this.emit('verified', this.sha256);
    cb();
  }
}

const isBlobKey = (k: string): boolean => /^blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(k);

/** Check a manifest read from the store; exported for tests. */
export function validateManifest(j: unknown, uri: string): ArtifactManifest {
  const bad = (why: string): never => {
    throw new ManifestError(`invalid manifest at ${uri}: ${why}`);
  };
  if (!j || typeof j !== 'object' || Array.isArray(j)) bad('not a JSON object');
  const m = j as Record<string, unknown>;
  if (m.schema !== MANIFEST_SCHEMA) bad(`unknown schema ${JSON.stringify(m.schema)}`);
  if (!ARTIFACT_KINDS.includes(m.kind as ArtifactKind)) bad(`unknown kind ${JSON.stringify(m.kind)}`);
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) bad('missing sha256');
  if (typeof m.size !== 'number' || m.size < 0) bad('missing size');
  if (m.files === undefined && typeof m.blob !== 'string') bad('neither "blob" nor "files"');
  if (m.blob !== undefined && (typeof m.blob !== 'string' || !isBlobKey(m.blob))) bad(`"blob" ${JSON.stringify(m.blob)} is not a blob key`);
  if (m.files !== undefined) {
    if (!m.files || typeof m.files !== 'object' || Array.isArray(m.files)) bad('"files" must be an object');
    for (const [name, f] of Object.entries(m.files as Record<string, unknown>)) {
      assertMemberName(name, uri);
      const file = f as Partial<BundleFile> | null;
      if (!file || typeof file !== 'object') bad(`file ${JSON.stringify(name)} is not an object`);
      if (typeof file!.blob !== 'string' || !isBlobKey(file!.blob)) bad(`file ${JSON.stringify(name)}: "blob" ${JSON.stringify(file!.blob)} is not a blob key`);
      if (typeof file!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file!.sha256)) bad(`file ${JSON.stringify(name)}: missing sha256`);
      if (typeof file!.size !== 'number' || file!.size < 0) bad(`file ${JSON.stringify(name)}: missing size`);
    }
  }
  if (!Array.isArray(m.inputs)) bad('"inputs" must be an array');
  return m as unknown as ArtifactManifest;
}

export type ResolvedUri =
  | { type: 'artifact'; uri: string; bucket: string; key: string; manifest: ArtifactManifest }
  | { type: 'object'; uri: string; bucket: string; key: string; size: number; sha256?: string; lastModified: Date; body?: Readable };

// ---------------------------------------------------------------- the store

export class ArtifactStore {
  readonly config: StoreConfig;
  readonly bucket: string;
  readonly partSize: number;
  readonly uploadConcurrency: number;
  readonly resilience: ResilienceOptions;
  /** The underlying minio client (for tests and advanced use). */
  declare readonly client: Minio.Client;

  constructor(config: StoreConfig | StoreConfigInit, opts: StoreOptions = {}) {
    this.config = config instanceof StoreConfig ? config : new StoreConfig(config);
    this.bucket = this.config.bucket;
    this.partSize = opts.partSize ?? 32 * 1024 * 1024;
    if (this.partSize < 5 * 1024 * 1024) throw new ArtifactStoreError('partSize must be at least 5 MiB');
    this.uploadConcurrency = Math.max(1, Math.floor(opts.uploadConcurrency ?? 1));
    this.resilience = { ...resilienceFromEnv(), ...opts.resilience };
    const client = new Minio.Client({
      // Every request gets an inactivity deadline; the client's own retry (once, on 5xx, which
      // hides the server's error code behind "Retryable HTTP status") is off: this store retries.
      transport: deadlineTransport(this.config.useSSL ? https : http, this.resilience.idleTimeoutMs),
      retryOptions: { disableRetry: true },
      endPoint: this.config.endPoint,
      port: this.config.port,
      useSSL: this.config.useSSL,
      accessKey: this.config.accessKey,
      secretKey: this.config.secretKey,
      region: this.config.region,
      pathStyle: true,
    });
    // non-enumerable: the client holds the credentials.
    Object.defineProperty(this, 'client', { value: client, enumerable: false });
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env, opts: StoreOptions = {}): ArtifactStore {
    return new ArtifactStore(resolveStoreConfig(env), { ...opts, resilience: { ...resilienceFromEnv(env), ...opts.resilience } });
  }

  toString(): string {
    return `ArtifactStore(${this.config.endpointUrl}, bucket=${this.bucket})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** URI helper bound to this store's bucket. */
  runUri(run: string, step: string, name: string): string {
    return runUriFn(run, step, name, this.bucket);
  }

  /**
   * One S3 call (safe to repeat): infrastructure errors are retried for the retry budget, then
   * fail as {@link StoreUnavailableError} naming `what`; other errors are rethrown as they are,
   * for the caller to tell NotFound apart. Public for the store's other modules (channels).
   */
  async retried<T>(what: string, fn: () => Promise<T>, uri = what): Promise<T> {
    // Some servers answer a write to a missing bucket with a 500: ask once whether the bucket
    // is there before spending minutes on retries that cannot succeed.
    const bucket = /^s3:\/\/([^/]+)/.exec(uri)?.[1];
    let probed = !bucket;
    const once = async (): Promise<T> => {
      try {
        return await fn();
      } catch (e) {
        if (!probed && httpStatusOf(e) !== undefined && classifyS3Error(e) === 'transient') {
          probed = true;
          if (!(await this.client.bucketExists(bucket!).catch(() => true))) throw new BucketNotFoundError(bucket!, uri);
        }
        throw e;
      }
    };
    try {
      return await retrying(this.resilience, what, once);
    } catch (e) {
      if (!(e instanceof RetriesExhausted)) throw e;
      const last = e.last as { code?: string; message?: string };
      const secs = (e.waitedMs / 1000).toFixed(0);
      throw new StoreUnavailableError(
        this.config.redact(`S3 at ${this.config.endpointUrl} unavailable: ${what} still failing after ${secs} s and ${e.attempts} attempts: ${s3ErrorMessage(last)}${last?.code && !String(last?.message).includes(last.code) ? ` (${last.code})` : ''}`),
        last?.code,
        uri,
        e.attempts,
      );
    }
  }

  /** {@link retried}, then wrap what is left: keep code/status, redact credentials, drop the raw error. */
  private async s3<T>(what: string, fn: () => Promise<T>, uri?: string): Promise<T> {
    try {
      return await this.retried(what, fn, uri);
    } catch (e) {
      throw this.wrap(what, e, uri);
    }
  }
  private wrap(what: string, e: unknown, uri?: string): Error {
    if (e instanceof ArtifactStoreError) return e;
    if (classifyS3Error(e) === 'no-bucket') {
      const bucket = uri ? /^s3:\/\/([^/]+)/.exec(uri)?.[1] : undefined;
      return new BucketNotFoundError(bucket ?? this.bucket, uri ?? what);
    }
    const err = e as { code?: string; message?: string; statusCode?: number };
    const code = err?.code ?? (err?.statusCode ? `HTTP${err.statusCode}` : undefined);
    const msg = this.config.redact(`${what}: ${s3ErrorMessage(e)}${code ? ` (${code})` : ''}`);
    const out = new ArtifactStoreError(msg, code);
    (out as { statusCode?: number }).statusCode = err?.statusCode;
    return out;
  }

  /** Inactivity deadline of calls that answer only when a long server-side job is done. */
  private get slowCallTimeoutMs(): number {
    return Math.max(this.resilience.idleTimeoutMs, 300_000);
  }

  private readonly knownBuckets = new Set<string>();

  /**
   * Before the first write into a bucket: it must exist. Some servers create a bucket on a PUT
   * (SeaweedFS), others answer 404 or even 500; either way a typo in a URI must fail at once,
   * naming the bucket. A server that will not say (403) is given the benefit of the doubt.
   */
  private async assertBucket(bucket: string, uri: string): Promise<void> {
    if (this.knownBuckets.has(bucket)) return;
    const exists = await this.retried(`check bucket ${bucket}`, () => this.client.bucketExists(bucket)).catch((e: unknown) => {
      if (e instanceof StoreUnavailableError) throw e;
      return true;
    });
    if (!exists) throw new BucketNotFoundError(bucket, uri);
    this.knownBuckets.add(bucket);
  }

  /** Create the bucket (configured one by default) if it does not exist. */
  async ensureBucket(bucket: string = this.bucket): Promise<void> {
    await this.s3(`ensure bucket ${bucket}`, async () => {
      if (await this.client.bucketExists(bucket)) return;
      try {
        await this.client.makeBucket(bucket, this.config.region);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw e;
      }
      this.knownBuckets.add(bucket);
    });
  }

  // ------------------------------------------------------------ writing

  private sourceIterable(source: PutSource): AsyncIterable<Uint8Array | string> {
    if (typeof source === 'string') return createReadStream(source, { highWaterMark: 1024 * 1024 });
    if (source instanceof Uint8Array) return Readable.from([source]);
    return source as AsyncIterable<Uint8Array | string>;
  }

  /**
   * Upload bytes to the content address in `bucket`, streaming; returns digest and size.
   * Memory: < partSize for small payloads, ~2 × partSize for multipart.
   */
  async putBlob(bucket: string, source: PutSource): Promise<{ sha256: string; size: number; blob: string }> {
    const P = this.partSize;
    const hash = createHash('sha256');
    let size = 0;
    let small: Buffer[] | null = [];
    let smallBytes = 0;
    // multipart state
    let tmpKey = '';
    let uploadId = '';
    const etags: { part: number; etag: string }[] = [];
    // buffer pool: `concurrency` parts in flight + one being filled
    let free: Buffer[] = [];
    let cur: Buffer | null = null;
    const inflightSet = new Set<Promise<void>>();
    let failed: unknown = null;
    let allocated = 0;
    let fill = 0;
    let partNo = 0;

    const uploadPart = (data: Buffer): Promise<void> => {
      const part = ++partNo;
      return this.s3(`upload part ${part} of ${tmpKey}`, async () => {
        const r = await this.client.uploadPart(
          { bucketName: bucket, objectName: tmpKey, uploadID: uploadId, partNumber: part, headers: { 'Content-Length': data.length } },
          data,
        );
        etags.push({ part, etag: r.etag });
      });
    };
    const flushCurrent = async (): Promise<void> => {
      const buf = cur!;
      const data = buf.subarray(0, fill);
      const p: Promise<void> = uploadPart(data).then(
        () => {
          inflightSet.delete(p);
          free.push(buf);
        },
        (e: unknown) => {
          inflightSet.delete(p);
          failed ??= e;
        },
      );
      inflightSet.add(p);
      fill = 0;
      cur = null;
      // get a free buffer: allocate up to concurrency + 1, else wait for a part to finish
      if (free.length === 0 && allocated <= this.uploadConcurrency) {
        free.push(Buffer.allocUnsafe(P));
        allocated++;
      }
      while (free.length === 0 && inflightSet.size > 0 && !failed) await Promise.race(inflightSet);
      if (failed) throw failed;
      cur = free.pop()!;
    };
    const feed = async (chunk: Buffer): Promise<void> => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(P - fill, chunk.length - off);
        chunk.copy(cur!, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === P) await flushCurrent();
      }
    };

    try {
      for await (const c of this.sourceIterable(source)) {
        const chunk = toBuf(c);
        if (chunk.length === 0) continue;
        hash.update(chunk);
        size += chunk.length;
        if (small) {
          small.push(chunk);
          smallBytes += chunk.length;
          if (smallBytes <= P) continue;
          // switch to multipart
          tmpKey = `tmp/${randomUUID()}`;
          uploadId = await this.s3(`start upload ${tmpKey}`, () =>
            this.client.initiateNewMultipartUpload(bucket, tmpKey, { 'Content-Type': 'application/octet-stream' }),
          );
          cur = Buffer.allocUnsafe(P);
          allocated = 1;
          const pending = small;
          small = null;
          for (const b of pending) await feed(b);
          continue;
        }
        await feed(chunk);
      }
      const sha256 = hash.digest('hex');
      const blob = blobKey(sha256);
      if (small) {
        const body = Buffer.concat(small, smallBytes);
        small = null;
        // Always (re)write: refreshes lastModified so a concurrent gc keeps a deduplicated blob.
        await this.s3(
          `put s3://${bucket}/${blob}`,
          () => this.client.putObject(bucket, blob, body, body.length, { 'Content-Type': 'application/octet-stream', [`x-amz-meta-${SHA_META}`]: sha256 }),
          `s3://${bucket}/${blob}`,
        );
        return { sha256, size, blob };
      }
      if (fill > 0) await flushCurrent();
      await Promise.all(inflightSet);
      if (failed) throw failed;
      free = [];
      cur = null;
      etags.sort((a, b) => a.part - b.part);
      await withIdleTimeout(this.slowCallTimeoutMs, () =>
        this.s3(`complete upload ${tmpKey}`, async () => {
          try {
            await this.client.completeMultipartUpload(bucket, tmpKey, uploadId, etags);
          } catch (e) {
            // a retry after an answer that was lost: the upload is complete already
            if ((e as { code?: string }).code !== 'NoSuchUpload' || !(await this.client.statObject(bucket, tmpKey).then(() => true, () => false))) throw e;
          }
        }),
      );
      uploadId = '';
      await this.copyToBlob(bucket, tmpKey, blob, sha256, size);
      await this.s3(`remove ${tmpKey}`, () => this.client.removeObject(bucket, tmpKey));
      return { sha256, size, blob };
    } catch (e) {
      free = [];
      cur = null;
      await Promise.all(inflightSet);
      if (uploadId) await this.client.abortMultipartUpload(bucket, tmpKey, uploadId).catch(() => undefined);
      if (tmpKey) await this.client.removeObject(bucket, tmpKey).catch(() => undefined);
      throw e instanceof Error && !(e as { code?: string }).code && !(e instanceof ArtifactStoreError) ? e : this.wrap(`upload to s3://${bucket}`, e, `s3://${bucket}/`);
    }
  }

  private async copyToBlob(bucket: string, src: string, dst: string, sha256: string, size: number): Promise<void> {
    const source = new Minio.CopySourceOptions({ Bucket: bucket, Object: src });
    const dest = new Minio.CopyDestinationOptions({
      Bucket: bucket,
      Object: dst,
      MetadataDirective: 'REPLACE',
      UserMetadata: { [SHA_META]: sha256 },
      Headers: { 'Content-Type': 'application/octet-stream' },
    });
    // A server-side copy sends nothing until it is done: give it longer than a normal request.
    await withIdleTimeout(this.slowCallTimeoutMs, () =>
      this.s3(`copy ${src} -> ${dst}`, async () => {
        if (size > MAX_COPY_BYTES) await this.client.composeObject(dest, [source]);
        else await this.client.copyObject(source, dest);
      }),
    );
  }

  private async resolveInputs(inputs: PutMeta['inputs']): Promise<ArtifactInput[]> {
    const out: ArtifactInput[] = [];
    for (const inp of inputs ?? []) {
      if (typeof inp !== 'string') {
        parseUri(inp.uri);
        if (!/^[0-9a-f]{64}$/.test(inp.sha256)) throw new ArtifactStoreError(`input ${inp.uri}: invalid sha256`);
        out.push({ uri: inp.uri, sha256: inp.sha256 });
        continue;
      }
      out.push({ uri: inp, sha256: await this.digestOf(inp) });
    }
    return out;
  }

  /** sha256 of an artifact (from its manifest) or of a plain object (metadata, else computed by streaming). */
  async digestOf(uri: string): Promise<string> {
    const r = await this.resolve(uri, { keepBody: true });
    if (r.type === 'artifact') return r.manifest.sha256;
    if (r.sha256) {
      r.body?.destroy();
      return r.sha256;
    }
    const v = new VerifyingStream(uri, { size: r.size });
    await pipeline(r.body!, v, async (s: AsyncIterable<unknown>) => {
      for await (const _ of s) void _;
    });
    return v.sha256!;
  }

  private async writeManifest(bucket: string, key: string, m: ArtifactManifest): Promise<void> {
    const body = Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8');
    await this.s3(
      `write manifest ${m.uri}`,
      () =>
        this.client.putObject(bucket, key, body, body.length, {
          'Content-Type': MANIFEST_MEDIA_TYPE,
          [`x-amz-meta-${MANIFEST_META}`]: 'v1',
        }),
      m.uri,
    );
  }

  /** Guard against a gc that removed a (deduplicated, old) blob between upload and publish. */
  private async assertBlobsPresent(bucket: string, uri: string, blobs: string[]): Promise<void> {
    await mapLimit(blobs, 8, async (b) => {
      try {
        await this.retried(`stat s3://${bucket}/${b}`, () => this.client.statObject(bucket, b));
      } catch (e) {
        if (isNotFound(e)) throw new ArtifactStoreError(`blob ${b} of ${uri} vanished during publish (concurrent gc?); retry the put`);
        throw this.wrap(`stat ${b}`, e, uri);
      }
    });
  }

  private targetOf(target: string): { bucket: string; key: string; uri: string } {
    const { bucket, key } = parseUri(target);
    assertSafeKey(key); // rejects reserved prefixes for artifacts
    return { bucket, key, uri: formatUri(bucket, key) };
  }

  /** Publish one artifact: stream the bytes to their content address, then write the manifest. */
  async put(target: string, source: PutSource, meta: PutMeta): Promise<ArtifactRef> {
    const { bucket, key, uri } = this.targetOf(target);
    if (!ARTIFACT_KINDS.includes(meta.kind)) throw new ArtifactStoreError(`unknown artifact kind ${JSON.stringify(meta.kind)}`);
    return inContext(`publishing ${uri}`, async () => {
      await this.assertBucket(bucket, uri);
      return this.putUnchecked(bucket, key, uri, source, meta);
    });
  }

  private async putUnchecked(bucket: string, key: string, uri: string, source: PutSource, meta: PutMeta): Promise<ArtifactRef> {
    const inputs = await this.resolveInputs(meta.inputs);
    const b = await this.putBlob(bucket, source);
    const m: ArtifactManifest = {
      schema: MANIFEST_SCHEMA,
      uri,
      kind: meta.kind,
      mediaType: meta.mediaType ?? (typeof source === 'string' ? guessMediaType(source) : guessMediaType(key)),
      size: b.size,
      sha256: b.sha256,
      blob: b.blob,
      ...(meta.producer ? { producer: meta.producer } : {}),
      inputs,
      ...(meta.attributes ? { attributes: typeof meta.attributes === 'function' ? meta.attributes() : meta.attributes } : {}),
      createdAt: new Date().toISOString(),
    };
    await this.writeManifest(bucket, key, m);
    await this.assertBlobsPresent(bucket, uri, [b.blob]);
    return { uri, sha256: b.sha256, size: b.size };
  }

  async putJson(target: string, value: unknown, meta: PutMeta): Promise<ArtifactRef> {
    const body = Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
    return this.put(target, body, { mediaType: 'application/json', ...meta });
  }

  /**
   * Publish a multi-file artifact (e.g. a model: config.json + model.safetensors + tokenizer.json).
   * Each member is its own blob; the manifest lists them under `files`. Member names are
   * relative paths (validated like keys).
   */
  async putBundle(target: string, files: Record<string, Uint8Array | string>, meta: PutMeta): Promise<ArtifactRef> {
    const { bucket, key, uri } = this.targetOf(target);
    if (!ARTIFACT_KINDS.includes(meta.kind)) throw new ArtifactStoreError(`unknown artifact kind ${JSON.stringify(meta.kind)}`);
    const names = Object.keys(files).sort();
    if (names.length === 0) throw new ArtifactStoreError(`bundle ${uri} has no files`);
    for (const n of names) assertSafeKey(n, { allowReserved: true }); // the same rule assertMemberName applies on read
    return inContext(`publishing ${uri}`, async () => {
      await this.assertBucket(bucket, uri);
      return this.putBundleUnchecked(bucket, key, uri, names, files, meta);
    });
  }

  private async putBundleUnchecked(bucket: string, key: string, uri: string, names: string[], files: Record<string, Uint8Array | string>, meta: PutMeta): Promise<ArtifactRef> {
    const inputs = await this.resolveInputs(meta.inputs);
    const entries: Record<string, BundleFile> = {};
    let total = 0;
    for (const n of names) {
      const b = await this.putBlob(bucket, files[n]!);
      entries[n] = { sha256: b.sha256, size: b.size, mediaType: guessMediaType(n), blob: b.blob };
      total += b.size;
    }
    const digest = bundleDigest(entries);
    const m: ArtifactManifest = {
      schema: MANIFEST_SCHEMA,
      uri,
      kind: meta.kind,
      mediaType: meta.mediaType ?? 'application/vnd.bpoflow.bundle',
      size: total,
      sha256: digest,
      files: entries,
      ...(meta.producer ? { producer: meta.producer } : {}),
      inputs,
      ...(meta.attributes ? { attributes: typeof meta.attributes === 'function' ? meta.attributes() : meta.attributes } : {}),
      createdAt: new Date().toISOString(),
    };
    await this.writeManifest(bucket, key, m);
    await this.assertBlobsPresent(
      bucket,
      uri,
      Object.values(entries).map((e) => e.blob),
    );
    return { uri, sha256: digest, size: total };
  }

  // ------------------------------------------------------------ reading

  /**
   * Look up a URI: an artifact (manifest) or a plain object. With `keepBody`, a plain object's
   * body stream is returned open (caller must consume or destroy it).
   */
  async resolve(uri: string, opts: { keepBody?: boolean } = {}): Promise<ResolvedUri> {
    const { bucket, key } = parseUri(uri);
    const norm = formatUri(bucket, key);
    const isManifest = (r: S3Body): boolean => !!header(r, `x-amz-meta-${MANIFEST_META}`) || header(r, 'content-type') === MANIFEST_MEDIA_TYPE;
    let res: S3Body;
    let manifestBytes: Buffer | undefined;
    try {
      // A manifest is read inside the retried call, so a connection cut while reading it is retried too.
      [res, manifestBytes] = await this.retried(
        `get ${norm}`,
        async () => {
          const r = (await this.client.getObject(bucket, key)) as S3Body;
          return [r, isManifest(r) ? await readAll(r, MAX_MANIFEST_BYTES) : undefined] as const;
        },
        norm,
      );
    } catch (e) {
      const c = classifyS3Error(e);
      if (c === 'no-bucket') throw new BucketNotFoundError(bucket, norm);
      if (c === 'not-found') throw new ArtifactNotFoundError(norm);
      throw this.wrap(`get ${norm}`, e, norm);
    }
    const one = (k: string): string | undefined => header(res, k);
    if (manifestBytes) {
      const body = manifestBytes;
      let j: unknown;
      try {
        j = JSON.parse(body.toString('utf8'));
      } catch {
        throw new ManifestError(`manifest at ${norm} is not valid JSON`);
      }
      return { type: 'artifact', uri: norm, bucket, key, manifest: validateManifest(j, norm) };
    }
    const sha = one(`x-amz-meta-${SHA_META}`);
    const size = Number(one('content-length') ?? NaN);
    const lm = one('last-modified');
    const r: ResolvedUri = {
      type: 'object',
      uri: norm,
      bucket,
      key,
      size: Number.isFinite(size) ? size : -1,
      ...(sha && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}),
      lastModified: lm ? new Date(lm) : new Date(0),
    };
    if (opts.keepBody) r.body = this.resumable(res, bucket, key, norm);
    else res.destroy();
    return r;
  }

  /** The body of a GET that picks up where it stopped when the connection is cut (same ETag only). */
  private resumable(first: S3Body, bucket: string, key: string, label: string): Readable {
    const etag = header(first, 'etag');
    const reopen = async (offset: number): Promise<Readable> => {
      try {
        return await this.retried(
          `get ${label} from byte ${offset}`,
          async () => {
            const r = (await this.client.getPartialObject(bucket, key, offset)) as S3Body;
            const now = header(r, 'etag');
            if (etag && now && now !== etag) {
              r.destroy();
              throw new ArtifactIntegrityError(label, 'the object changed while it was being read');
            }
            return r;
          },
          label,
        );
      } catch (e) {
        throw this.wrap(`read ${label}`, e, label);
      }
    };
    return Readable.from(resumableBody(first, reopen, this.resilience, `read ${label}`), { objectMode: false });
  }

  /** Open a blob with verification; a missing blob is an integrity error. */
  private async openBlob(bucket: string, blob: string, label: string, expected: { sha256: string; size: number }): Promise<Readable> {
    let first: S3Body;
    try {
      first = (await this.retried(`get ${label}`, () => this.client.getObject(bucket, blob), label)) as S3Body;
    } catch (e) {
      if (isNotFound(e)) throw new ArtifactIntegrityError(label, `blob ${blob} is missing`);
      throw this.wrap(`get ${label}`, e, label);
    }
    const src = this.resumable(first, bucket, blob, label);
    const v = new VerifyingStream(label, expected);
    src.on('error', (e) => v.destroy(this.wrap(`read ${label}`, e, label)));
    src.pipe(v);
    return v;
  }

  /**
   * Open an artifact (or plain object) for streaming. The stream errors with
   * {@link ArtifactIntegrityError} at the end if size or sha256 do not match. For bundles
   * pass `{file}`. For plain objects without a recorded hash, the computed digest is available
   * as `stream.sha256` after 'end'.
   */
  async open(uri: string, opts: { file?: string } = {}): Promise<Readable> {
    const r = await this.resolve(uri, { keepBody: true });
    if (r.type === 'object') {
      if (opts.file) {
        r.body?.destroy();
        throw new ArtifactStoreError(`${r.uri} is not a bundle; cannot open file ${JSON.stringify(opts.file)}`);
      }
      const v = new VerifyingStream(r.uri, { ...(r.sha256 ? { sha256: r.sha256 } : {}), ...(r.size >= 0 ? { size: r.size } : {}) });
      r.body!.on('error', (e) => v.destroy(this.wrap(`read ${r.uri}`, e, r.uri)));
      r.body!.pipe(v);
      return v;
    }
    const m = r.manifest;
    if (m.files) {
      if (!opts.file) {
        throw new ArtifactStoreError(`${r.uri} is a bundle (${Object.keys(m.files).join(', ')}); use readBundle() or open(uri, {file})`);
      }
      const f = m.files[opts.file];
      if (!f) throw new ArtifactStoreError(`bundle ${r.uri} has no file ${JSON.stringify(opts.file)}`);
      return this.openBlob(r.bucket, f.blob, `${r.uri}#${opts.file}`, f);
    }
    if (opts.file) throw new ArtifactStoreError(`${r.uri} is not a bundle; cannot open file ${JSON.stringify(opts.file)}`);
    return this.openBlob(r.bucket, m.blob!, r.uri, m);
  }

  async readBytes(uri: string, opts: { file?: string } = {}): Promise<Buffer> {
    return readAll(await this.open(uri, opts));
  }

  async readJson<T = unknown>(uri: string, opts: { file?: string } = {}): Promise<T> {
    const b = await this.readBytes(uri, opts);
    try {
      return JSON.parse(b.toString('utf8')) as T;
    } catch {
      throw new ArtifactStoreError(`${uri} is not valid JSON`);
    }
  }

  /** Read every member of a bundle, each verified. */
  async readBundle(uri: string): Promise<Record<string, Uint8Array>> {
    const m = await this.manifest(uri);
    if (!m.files) throw new ArtifactStoreError(`${m.uri} is not a bundle`);
    const { bucket } = parseUri(m.uri);
    const out: Record<string, Uint8Array> = {};
    for (const [name, f] of Object.entries(m.files)) {
      out[name] = await readAll(await this.openBlob(bucket, f.blob, `${m.uri}#${name}`, f));
    }
    return out;
  }

  /**
   * Stream to a local path (written to `<path>.part-<rand>` then renamed, so a failed or tampered
   * download leaves nothing at `localPath`). A bundle is downloaded into directory `localPath`.
   */
  async download(uri: string, localPath: string): Promise<ArtifactRef> {
    const r = await this.resolve(uri);
    if (r.type === 'artifact' && r.manifest.files) {
      await fsp.mkdir(localPath, { recursive: true });
      const root = await fsp.realpath(localPath);
      for (const [name, f] of Object.entries(r.manifest.files)) {
        const dest = await confinedPath(root, name, r.uri);
        await this.streamToFile(await this.openBlob(r.bucket, f.blob, `${r.uri}#${name}`, f), dest);
      }
      return { uri: r.uri, sha256: r.manifest.sha256, size: r.manifest.size };
    }
    await fsp.mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    // attach the consumer right after open(): nothing asynchronous in between
    const s = await this.open(uri);
    await this.streamToFile(s, localPath);
    const v = s as VerifyingStream;
    return { uri: r.uri, sha256: v.sha256!, size: v.size };
  }

  private async streamToFile(s: Readable, dest: string): Promise<void> {
    const tmp = `${dest}.part-${randomUUID().slice(0, 8)}`;
    try {
      await pipeline(s, createWriteStream(tmp, { flags: 'wx' }));
      await fsp.rename(tmp, dest);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * The manifest of an artifact. For a plain object a synthetic manifest is returned
   * (kind `other`, no producer/inputs); its sha256 is computed by streaming when not recorded.
   */
  async manifest(uri: string): Promise<ArtifactManifest> {
    const r = await this.resolve(uri, { keepBody: true });
    if (r.type === 'artifact') return r.manifest;
    let sha = r.sha256;
    let size = r.size;
    if (!sha) {
      const v = new VerifyingStream(r.uri, {});
      await pipeline(r.body!, v, async (s: AsyncIterable<unknown>) => {
        for await (const _ of s) void _;
      });
      sha = v.sha256!;
      size = v.size;
    } else r.body?.destroy();
    return {
      schema: MANIFEST_SCHEMA,
      uri: r.uri,
      kind: 'other',
      mediaType: guessMediaType(r.key),
      size,
      sha256: sha,
      blob: r.key,
      inputs: [],
      createdAt: r.lastModified.toISOString(),
    };
  }

  /** True if the URI names a published artifact or an existing object. */
  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = parseUri(uri);
    try {
      await this.retried(`stat ${uri}`, () => this.client.statObject(bucket, key), uri);
      return true;
    } catch (e) {
      if (isNotFound(e) || (e as { code?: string }).code === 'NoSuchBucket') return false;
      throw this.wrap(`stat ${uri}`, e, uri);
    }
  }

  /** Remove an artifact's manifest (its blobs become garbage for {@link gc}). */
  async remove(uri: string): Promise<void> {
    const { bucket, key } = this.targetOf(uri);
    await this.s3(`remove ${uri}`, () => this.client.removeObject(bucket, key), uri);
  }

  /**
   * Lineage tree: the artifact and, recursively, every artifact it was derived from, down to raw
   * inputs (plain objects or artifacts without inputs).
   */
  async lineage(uri: string, maxDepth = 32): Promise<LineageNode> {
    const seen = new Set<string>();
    const walk = async (u: string, recorded: string | undefined, depth: number): Promise<LineageNode> => {
      let r: ResolvedUri;
      try {
        r = await this.resolve(u);
      } catch (e) {
        if (e instanceof ArtifactNotFoundError && recorded) return { uri: u, sha256: recorded, kind: 'object', inputs: [], missing: true };
        throw e;
      }
      if (r.type === 'object') {
        return {
          uri: r.uri,
          sha256: recorded ?? r.sha256 ?? '',
          kind: 'object',
          inputs: [],
          ...(recorded && r.sha256 && r.sha256 !== recorded ? { changed: true } : {}),
        };
      }
      const m = r.manifest;
      const node: LineageNode = { uri: r.uri, sha256: m.sha256, kind: m.kind, manifest: m, inputs: [] };
      if (recorded && recorded !== m.sha256) node.changed = true;
      const id = `${r.uri}@${m.sha256}`;
      if (seen.has(id) || depth >= maxDepth) return { ...node, cycle: true };
      seen.add(id);
      for (const inp of m.inputs) node.inputs.push(await walk(inp.uri, inp.sha256, depth + 1));
      return node;
    };
    return walk(uri, undefined, 0);
  }

  /**
   * List objects under a prefix (`s3://bucket/runs/r1/` or a key prefix in the default bucket).
   * The store's internal `blobs/` and `tmp/` are hidden unless the prefix is inside them.
   * With `details`, each entry carries its manifest (or null for plain objects).
   */
  async list(prefix = '', opts: { details?: boolean } = {}): Promise<ListEntry[]> {
    const { bucket, key } = parsePrefix(prefix, this.bucket);
    const internal = key.startsWith('blobs/') || key.startsWith('tmp/');
    const out: ListEntry[] = [];
    await this.s3(`list s3://${bucket}/${key}`, async () => {
      out.length = 0; // a retry lists again from the start
      const stream = this.client.listObjectsV2(bucket, key, true);
      for await (const o of stream as AsyncIterable<{ name?: string; size: number; lastModified: Date }>) {
        if (!o.name) continue;
        if (!internal && (o.name.startsWith('blobs/') || o.name.startsWith('tmp/'))) continue;
        out.push({ uri: `s3://${bucket}/${o.name}`, key: o.name, size: o.size, lastModified: new Date(o.lastModified) });
      }
    });
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (opts.details) {
      await mapLimit(out, 8, async (e) => {
        const r = await this.resolve(e.uri).catch((err) => {
          if (err instanceof ArtifactNotFoundError) return null;
          throw err;
        });
        e.manifest = r && r.type === 'artifact' ? r.manifest : null;
      });
    }
    return out;
  }

  /**
   * Garbage-collect a bucket: blobs referenced by no manifest, `tmp/` objects and incomplete
   * multipart uploads under `tmp/`, all only when older than `graceMs` (default 1 h) so uploads in
   * progress are untouched. Manifests are found by scanning every non-internal object of at most
   * 16 MiB and checking its manifest metadata.
   *
   * Concurrency: a put that deduplicates onto an old blob rewrites it first (refreshing its
   * mtime); gc re-checks each candidate's mtime just before deleting, and put re-checks its blobs
   * after writing the manifest. The remaining window is a few milliseconds.
   */
  async gc(opts: GcOptions = {}): Promise<GcResult> {
    const bucket = opts.bucket ?? this.bucket;
    const grace = opts.graceMs ?? 60 * 60 * 1000;
    const dryRun = !!opts.dryRun;
    const cutoff = Date.now() - grace;
    const removed: string[] = [];
    const blobs: { key: string; lastModified: Date }[] = [];
    const tmps: { key: string; lastModified: Date }[] = [];
    const others: { key: string; size: number }[] = [];
    await this.s3(`gc list s3://${bucket}/`, async () => {
      blobs.length = tmps.length = others.length = 0; // a retry lists again from the start
      for await (const o of this.client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string; size: number; lastModified: Date }>) {
        if (!o.name) continue;
        const lm = new Date(o.lastModified);
        if (o.name.startsWith('blobs/')) blobs.push({ key: o.name, lastModified: lm });
        else if (o.name.startsWith('tmp/')) tmps.push({ key: o.name, lastModified: lm });
        else others.push({ key: o.name, size: o.size });
      }
    });
    // Scan manifests after listing blobs (a manifest published meanwhile is seen).
    const referenced = new Set<string>();
    let manifests = 0;
    await mapLimit(
      others.filter((o) => o.size <= MAX_MANIFEST_BYTES),
      8,
      async (o) => {
        let stat;
        try {
          stat = await this.retried(`stat s3://${bucket}/${o.key}`, () => this.client.statObject(bucket, o.key));
        } catch (e) {
          if (isNotFound(e)) return;
          throw this.wrap(`stat ${o.key}`, e);
        }
        if (!stat.metaData?.[MANIFEST_META]) return;
        let r: ResolvedUri;
        try {
          r = await this.resolve(`s3://${bucket}/${o.key}`);
        } catch (e) {
          if (e instanceof ArtifactNotFoundError) return;
          // An unreadable manifest must not cause its blobs to be collected: abort gc.
          throw new ArtifactStoreError(`gc aborted: cannot read manifest ${o.key}: ${(e as Error).message}`);
        }
        if (r.type !== 'artifact') return;
        manifests++;
        if (r.manifest.blob) referenced.add(r.manifest.blob);
        for (const f of Object.values(r.manifest.files ?? {})) referenced.add(f.blob);
      },
    );
    const del = async (key: string): Promise<void> => {
      removed.push(`s3://${bucket}/${key}`);
      if (!dryRun) await this.s3(`gc remove ${key}`, () => this.client.removeObject(bucket, key));
    };
    for (const b of blobs) {
      if (referenced.has(b.key) || b.lastModified.getTime() > cutoff) continue;
      if (!dryRun) {
        // re-check: a concurrent put may have just refreshed it
        try {
          const st = await this.retried(`stat s3://${bucket}/${b.key}`, () => this.client.statObject(bucket, b.key));
          if (new Date(st.lastModified).getTime() > cutoff) continue;
        } catch (e) {
          if (isNotFound(e)) continue;
          throw this.wrap(`stat ${b.key}`, e);
        }
      }
      await del(b.key);
    }
    for (const t of tmps) if (t.lastModified.getTime() <= cutoff) await del(t.key);
    // incomplete multipart uploads under tmp/
    for (const u of await this.listIncompleteUploads(bucket, 'tmp/')) {
      if (u.initiated.getTime() > cutoff) continue;
      removed.push(`s3://${bucket}/${u.key}?uploadId=${u.uploadId}`);
      if (!dryRun) await this.s3(`gc abort upload ${u.key}`, () => this.client.abortMultipartUpload(bucket, u.key, u.uploadId));
    }
    return { removed, dryRun, manifestsScanned: manifests, blobsReferenced: referenced.size };
  }

  /** Incomplete multipart uploads under a key prefix (with their initiation time). */
  async listIncompleteUploads(bucket: string, prefix: string): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
    const out: { key: string; uploadId: string; initiated: Date }[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (let page = 0; page < 10_000; page++) {
      const res = await this.s3(`list uploads ${prefix}`, () =>
        this.client.listIncompleteUploadsQuery(bucket, prefix, keyMarker, uploadIdMarker, ''),
      );
      for (const u of res.uploads as Array<{ key: string; uploadId: string; initiated: Date }>) {
        out.push({ key: u.key, uploadId: u.uploadId, initiated: new Date(u.initiated) });
      }
      if (!res.isTruncated) break;
      keyMarker = res.nextKeyMarker;
      uploadIdMarker = res.nextUploadIdMarker;
      if (!keyMarker && !uploadIdMarker) break;
    }
    return out;
  }
}


export { runUriFn as runUri, parseUri, UnsafeKeyError, assertSafeKey, InvalidUriError, blobKey, formatUri };
