/** URIs, object keys and their safety rules. Pure functions, no I/O. */

export class UnsafeKeyError extends Error {
  override name = 'UnsafeKeyError';
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`unsafe object key ${JSON.stringify(key)}: ${reason}`);
  }
}

export class InvalidUriError extends Error {
  override name = 'InvalidUriError';
}

/** Prefixes owned by the store itself; artifacts cannot be published there. */
export const RESERVED_PREFIXES = ['blobs/', 'tmp/'] as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Validate an object key (a `/`-separated relative path). Rejects: empty keys, absolute paths,
 * backslashes, `.`/`..` segments, empty segments (`a//b`, trailing `/`), control characters,
 * keys over 1024 bytes. Returns the key unchanged.
 */
export function assertSafeKey(key: string, opts: { allowReserved?: boolean } = {}): string {
  if (typeof key !== 'string' || key.length === 0) throw new UnsafeKeyError(String(key), 'empty key');
  if (CONTROL.test(key)) throw new UnsafeKeyError(key, 'contains a control character');
  if (key.startsWith('/')) throw new UnsafeKeyError(key, 'absolute path (leading "/")');
  if (/^[a-zA-Z]:/.test(key)) throw new UnsafeKeyError(key, 'absolute path (drive letter)');
  if (key.includes('\\')) throw new UnsafeKeyError(key, 'contains a backslash');
  if (Buffer.byteLength(key, 'utf8') > 1024) throw new UnsafeKeyError(key, 'longer than 1024 bytes');
  const segs = key.split('/');
  segs.forEach((s, i) => {
    if (s === '') throw new UnsafeKeyError(key, `empty path segment at position ${i + 1}`);
    if (s === '..') throw new UnsafeKeyError(key, '".." segment');
    if (s === '.') throw new UnsafeKeyError(key, '"." segment');
  });
  if (!opts.allowReserved) {
    for (const p of RESERVED_PREFIXES) {
      if (key.startsWith(p)) throw new UnsafeKeyError(key, `"${p}" is reserved for the store's internal objects`);
    }
  }
  return key;
}

/** Validate a single path segment (run id, step id): safe key without "/". */
export function assertSafeSegment(seg: string, what = 'segment'): string {
  if (typeof seg !== 'string' || seg === '') throw new UnsafeKeyError(String(seg), `empty ${what}`);
  if (seg.includes('/')) throw new UnsafeKeyError(seg, `${what} must not contain "/"`);
  assertSafeKey(seg, { allowReserved: true });
  return seg;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function assertBucketName(bucket: string): string {
  if (!BUCKET_RE.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new InvalidUriError(`invalid bucket name ${JSON.stringify(bucket)}`);
  }
  return bucket;
}

export interface ParsedUri {
  bucket: string;
  key: string;
}

/**
 * Parse `s3://bucket/key`. The key is validated with {@link assertSafeKey} (reserved prefixes
 * allowed, so blob URIs parse too). Percent-encoding is not interpreted: keys are taken literally.
 */
export function parseUri(uri: string): ParsedUri {
  if (typeof uri !== 'string') throw new InvalidUriError(`URI must be a string, got ${typeof uri}`);
  const m = /^s3:\/\/([^/]*)\/(.*)$/s.exec(uri);
  if (!m) throw new InvalidUriError(`not an s3 URI: ${JSON.stringify(uri)} (expected s3://<bucket>/<key>)`);
  const bucket = assertBucketName(m[1]!);
  const key = assertSafeKey(m[2]!, { allowReserved: true });
  return { bucket, key };
}

/** Parse a prefix: `s3://bucket/`, `s3://bucket/some/prefix/` (trailing slash allowed). */
export function parsePrefix(prefix: string, defaultBucket: string): ParsedUri {
  let bucket = defaultBucket;
  let key = prefix;
  if (prefix.startsWith('s3://')) {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/s.exec(prefix);
    if (!m) throw new InvalidUriError(`not an s3 prefix: ${JSON.stringify(prefix)}`);
    bucket = assertBucketName(m[1]!);
    key = m[2] ?? '';
  }
  if (key !== '') {
    const body = key.endsWith('/') ? key.slice(0, -1) : key;
    assertSafeKey(body, { allowReserved: true });
  }
  return { bucket, key };
}

export function formatUri(bucket: string, key: string): string {
  return `s3://${assertBucketName(bucket)}/${assertSafeKey(key, { allowReserved: true })}`;
}

/**
 * `s3://<bucket>/runs/<run>/<step>/<name>`. `name` may contain `/` (each segment validated).
 * `bucket` defaults to `BPOFLOW_S3_BUCKET` or `bpoflow`.
 */
export function runUri(run: string, step: string, name: string, bucket?: string): string {
  assertSafeSegment(run, 'run id');
  assertSafeSegment(step, 'step id');
  assertSafeKey(name, { allowReserved: true });
  const b = bucket ?? (process.env.BPOFLOW_S3_BUCKET || 'bpoflow');
  return formatUri(b, `runs/${run}/${step}/${name}`);
}

/** Content address of a blob: `blobs/sha256/<first two hex chars>/<hash>`. */
export function blobKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new InvalidUriError(`not a sha256 hex digest: ${sha256}`);
  return `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`;
}
