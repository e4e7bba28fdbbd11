/**
 * Reading with integrity: what a URI names (a manifest or a plain object), and bodies that are
 * checked against their recorded size and sha256 while they stream and that pick up where they
 * stopped when a connection is cut.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inContext, readAll } from './bytes.js';
import { ArtifactIntegrityError, ArtifactNotFoundError, ArtifactStoreError, BucketNotFoundError } from './errors.js';
import { formatUri, parseUri } from './keys.js';
import {
  MANIFEST_MEDIA_TYPE,
  MANIFEST_META,
  MAX_MANIFEST_BYTES,
  parseManifest,
  SHA_META,
  type ArtifactManifest,
} from './manifest.js';
import type { ObjectRead } from './object-store.js';
import { isMissing, resumableBody, type ResilienceOptions } from './resilience.js';
import type { RetryingObjects } from './retrying-objects.js';

export type ResolvedUri =
  | { type: 'artifact'; uri: string; bucket: string; key: string; manifest: ArtifactManifest }
  | {
      type: 'object';
      uri: string;
      bucket: string;
      key: string;
      size: number;
      sha256?: string;
      lastModified: Date;
      body?: Readable;
    };

/** What the readers need of the store. */
export interface ReadContext {
  objects: RetryingObjects;
  resilience: ResilienceOptions;
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

const isManifest = (r: ObjectRead): boolean => !!r.metadata[MANIFEST_META] || r.contentType === MANIFEST_MEDIA_TYPE;

/**
 * Look up a URI: an artifact (manifest) or a plain object. With `keepBody`, a plain object's
 * body stream is returned open (the caller must consume or destroy it).
 */
export async function resolveUri(ctx: ReadContext, uri: string, keepBody = false): Promise<ResolvedUri> {
  const { bucket, key } = parseUri(uri);
  const norm = formatUri(bucket, key);
  let read: ObjectRead;
  let manifestBytes: Buffer | undefined;
  try {
    // A manifest is read inside the retried call, so a connection cut while reading it is retried too.
    [read, manifestBytes] = await ctx.objects.retried(`get ${norm}`, bucket, async (raw) => {
      const r = await raw.get(bucket, key);
      return [r, isManifest(r) ? await readAll(r.body, MAX_MANIFEST_BYTES) : undefined] as const;
    });
  } catch (e) {
    if (e instanceof BucketNotFoundError) throw e;
    if (isMissing(e)) throw new ArtifactNotFoundError(norm);
    throw e;
  }
  if (manifestBytes) return { type: 'artifact', uri: norm, bucket, key, manifest: parseManifest(manifestBytes, norm) };
  const sha = read.metadata[SHA_META];
  const r: ResolvedUri = {
    type: 'object',
    uri: norm,
    bucket,
    key,
    size: read.size,
    ...(sha && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}),
    lastModified: read.lastModified,
  };
  if (keepBody) r.body = resumable(ctx, read, bucket, key, norm);
  else read.body.destroy();
  return r;
}

/** The body of a GET that picks up where it stopped when the connection is cut (same ETag only). */
function resumable(ctx: ReadContext, first: ObjectRead, bucket: string, key: string, label: string): Readable {
  const reopen = async (offset: number): Promise<Readable> => {
    const r = await ctx.objects.get(bucket, key, offset);
    if (first.etag && r.etag && r.etag !== first.etag) {
      r.body.destroy();
      throw new ArtifactIntegrityError(label, 'the object changed while it was being read');
    }
    return r.body;
  };
  return Readable.from(resumableBody(first.body, reopen, ctx.resilience, `read ${label}`), { objectMode: false });
}

/** `body` through a {@link VerifyingStream}; a read error ends it as a store error. */
export function verified(
  ctx: ReadContext,
  body: Readable,
  label: string,
  expected: { sha256?: string; size?: number },
): VerifyingStream {
  const v = new VerifyingStream(label, expected);
  body.on('error', (e) => v.destroy(ctx.objects.failure(`read ${label}`, e, label)));
  body.pipe(v);
  return v;
}

/** Open a blob with verification; a missing blob is an integrity error. */
export async function openBlob(
  ctx: ReadContext,
  bucket: string,
  blob: string,
  label: string,
  expected: { sha256: string; size: number },
): Promise<VerifyingStream> {
  let first: ObjectRead;
  try {
    first = await inContext(`reading ${label}`, () => ctx.objects.get(bucket, blob));
  } catch (e) {
    if (isMissing(e)) throw new ArtifactIntegrityError(label, `blob ${blob} is missing`);
    throw e;
  }
  return verified(ctx, resumable(ctx, first, bucket, blob, label), label, expected);
}

/** The verified body of what `r` names: a plain object, a blob, or a bundle's member `file`. */
export async function openResolved(ctx: ReadContext, r: ResolvedUri, file?: string): Promise<Readable> {
  const notABundle = (): ArtifactStoreError =>
    new ArtifactStoreError(`${r.uri} is not a bundle; cannot open file ${JSON.stringify(file)}`);
  if (r.type === 'object') {
    if (file) {
      r.body?.destroy();
      throw notABundle();
    }
    return verified(ctx, r.body!, r.uri, {
      ...(r.sha256 ? { sha256: r.sha256 } : {}),
      ...(r.size >= 0 ? { size: r.size } : {}),
    });
  }
  const m = r.manifest;
  if (!m.files) {
    if (file) throw notABundle();
    return openBlob(ctx, r.bucket, m.blob!, r.uri, m);
  }
  if (!file)
    throw new ArtifactStoreError(
      `${r.uri} is a bundle (${Object.keys(m.files).join(', ')}); use readBundle() or open(uri, {file})`,
    );
  const f = m.files[file];
  if (!f) throw new ArtifactStoreError(`bundle ${r.uri} has no file ${JSON.stringify(file)}`);
  return openBlob(ctx, r.bucket, f.blob, `${r.uri}#${file}`, f);
}

/** Read a body to its end through a {@link VerifyingStream}: its digest and size. */
export async function digestOfBody(
  body: Readable,
  label: string,
  expected: { size?: number } = {},
): Promise<{ sha256: string; size: number }> {
  const v = new VerifyingStream(label, expected);
  await pipeline(body, v, async (s: AsyncIterable<unknown>) => {
    for await (const _ of s) void _;
  });
  return { sha256: v.sha256!, size: v.size };
}
