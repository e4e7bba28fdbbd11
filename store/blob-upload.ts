/**
 * Streaming bytes to their content address `blobs/sha256/<ab>/<sha256>`, hashing as they pass.
 *
 * The address is known only at the end, so:
 *  - up to `partSize` bytes are buffered and PUT straight to the address once the source ends;
 *  - more go as a multipart upload to `tmp/<uuid>` (at most `uploadConcurrency` parts uploading
 *    while the next one fills), which is then copied server-side to the address and deleted.
 * A writer killed at any point leaves only a tmp object, an incomplete upload under `tmp/` or an
 * unreferenced blob: nothing a reader sees, all of it collected by gc after its grace period.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { toBuf } from './bytes.js';
import { blobKey } from './keys.js';
import { SHA_META } from './manifest.js';
import type { PartETag } from './object-store.js';
import type { RetryingObjects } from './retrying-objects.js';

/** Bytes to publish: a local file's path, a stream, chunks, or the bytes themselves. */
export type PutSource = Readable | AsyncIterable<Uint8Array | string> | Uint8Array | string;

export interface UploadOptions {
  /** Multipart part size in bytes (>= 5 MiB). */
  partSize: number;
  /** Parts uploading at once; memory is (uploadConcurrency + 1) × partSize. */
  uploadConcurrency: number;
}

export interface BlobRef {
  sha256: string;
  size: number;
  /** The blob's key in its bucket. */
  blob: string;
}

const OCTET_STREAM = 'application/octet-stream';

function sourceChunks(source: PutSource): AsyncIterable<Uint8Array | string> {
  if (typeof source === 'string') return createReadStream(source, { highWaterMark: 1024 * 1024 });
  if (source instanceof Uint8Array) return Readable.from([source]);
  return source;
}

/**
 * Upload `source` to its content address in `bucket`; returns digest, size and blob key.
 * Memory: under `partSize` for a small payload, (uploadConcurrency + 1) × partSize otherwise.
 */
export async function uploadBlob(
  objects: RetryingObjects,
  opts: UploadOptions,
  bucket: string,
  source: PutSource,
): Promise<BlobRef> {
  const hash = createHash('sha256');
  let size = 0;
  // The first bytes, held until they either end (a small blob) or outgrow one part.
  const head: Buffer[] = [];
  let upload: MultipartUpload | undefined;
  try {
    for await (const c of sourceChunks(source)) {
      const chunk = toBuf(c);
      if (chunk.length === 0) continue;
      hash.update(chunk);
      size += chunk.length;
      if (upload) {
        await upload.write(chunk);
        continue;
      }
      head.push(chunk);
      if (size <= opts.partSize) continue;
      upload = await MultipartUpload.start(objects, opts, bucket);
      for (const b of head.splice(0)) await upload.write(b);
    }
    const sha256 = hash.digest('hex');
    const blob = blobKey(sha256);
    if (upload) await upload.finish(blob, sha256, size);
    else await putSmall(objects, bucket, blob, sha256, Buffer.concat(head, size));
    return { sha256, size, blob };
  } catch (e) {
    await upload?.abandon();
    // An error without a code is the source's own and passes as it is; one with a code (S3's, or
    // the file system's for a local path) is reported as the store's, credentials redacted.
    const fromS3 = !(e instanceof Error) || !!(e as { code?: string }).code;
    throw fromS3 ? objects.failure(`upload to s3://${bucket}`, e, `s3://${bucket}/`) : e;
  }
}

async function putSmall(
  objects: RetryingObjects,
  bucket: string,
  blob: string,
  sha256: string,
  body: Buffer,
): Promise<void> {
  // Always (re)write, even when the blob exists: that refreshes its lastModified, so a gc
  // running now keeps a blob this put deduplicates onto.
  await objects.put(bucket, blob, body, { contentType: OCTET_STREAM, metadata: { [SHA_META]: sha256 } });
}

/**
 * One multipart upload to `tmp/<uuid>`: part buffers are reused, a part is sent as soon as it is
 * full, and the first failed part fails the next write (the others are let finish).
 */
class MultipartUpload {
  readonly key = `tmp/${randomUUID()}`;
  private uploadId = '';
  private readonly etags: PartETag[] = [];
  private readonly sending = new Set<Promise<void>>();
  private failed: { error: unknown } | undefined;
  /** The part being filled, how much of it is, and the buffers of sent parts, free again. */
  private part: Buffer;
  private filled = 0;
  private readonly free: Buffer[] = [];
  private buffers = 1;
  private partsSent = 0;

  private constructor(
    private readonly objects: RetryingObjects,
    private readonly opts: UploadOptions,
    private readonly bucket: string,
  ) {
    this.part = Buffer.allocUnsafe(opts.partSize);
  }

  static async start(objects: RetryingObjects, opts: UploadOptions, bucket: string): Promise<MultipartUpload> {
    const u = new MultipartUpload(objects, opts, bucket);
    u.uploadId = await objects.startMultipart(bucket, u.key, OCTET_STREAM);
    return u;
  }

  async write(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length;) {
      const n = Math.min(this.opts.partSize - this.filled, chunk.length - off);
      chunk.copy(this.part, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === this.opts.partSize) {
        this.sendPart();
        this.part = await this.nextBuffer();
      }
    }
  }

  /** Send the rest, assemble the parts, and move the result to its content address. */
  async finish(blob: string, sha256: string, size: number): Promise<void> {
    if (this.filled > 0) this.sendPart();
    await Promise.all(this.sending);
    this.throwIfFailed();
    this.releaseBuffers(); // the copy below can take minutes for a large blob
    await this.complete([...this.etags].sort((a, b) => a.part - b.part));
    this.uploadId = ''; // complete: nothing left to abort
    await this.objects.copy(this.bucket, this.key, blob, {
      contentType: OCTET_STREAM,
      metadata: { [SHA_META]: sha256 },
      size,
    });
    await this.objects.remove(this.bucket, this.key);
  }

  /** After a failure: drop what was uploaded. Not retried: S3 may be the reason we are here. */
  async abandon(): Promise<void> {
    this.releaseBuffers();
    await Promise.all(this.sending);
    const raw = this.objects.unretried;
    if (this.uploadId) await raw.abortMultipart(this.bucket, this.key, this.uploadId).catch(() => undefined);
    await raw.remove(this.bucket, this.key).catch(() => undefined);
  }

  private sendPart(): void {
    const buf = this.part;
    const part = ++this.partsSent;
    const sent: Promise<void> = this.objects
      .uploadPart(this.bucket, this.key, this.uploadId, part, buf.subarray(0, this.filled))
      .then(
        (etag) => {
          this.etags.push({ part, etag });
          this.free.push(buf);
        },
        (error: unknown) => {
          this.failed ??= { error };
        },
      )
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
    this.filled = 0;
  }

  /** A free part buffer: a new one while fewer than concurrency + 1 exist, else the next one a sent part frees. */
  private async nextBuffer(): Promise<Buffer> {
    this.throwIfFailed();
    if (this.free.length === 0 && this.buffers <= this.opts.uploadConcurrency) {
      this.buffers++;
      return Buffer.allocUnsafe(this.opts.partSize);
    }
    while (this.free.length === 0 && this.sending.size > 0 && !this.failed) await Promise.race(this.sending);
    this.throwIfFailed();
    return this.free.pop()!;
  }

  private async complete(parts: PartETag[]): Promise<void> {
    try {
      await this.objects.completeMultipart(this.bucket, this.key, this.uploadId, parts);
    } catch (e) {
      // A retry after an answer that was lost finds the upload complete already.
      const done =
        (e as { code?: string }).code === 'NoSuchUpload' &&
        (await this.objects.unretried.stat(this.bucket, this.key).then(
          () => true,
          () => false,
        ));
      if (!done) throw e;
    }
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed.error;
  }

  private releaseBuffers(): void {
    this.free.length = 0;
    this.part = Buffer.alloc(0);
  }
}
