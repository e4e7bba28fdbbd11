// The upload to a content address, over an in-memory object store: the small path, multipart
// with parts in flight, a failed part leaving nothing behind, a lost "complete" answer.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { uploadBlob } from '../../../store/blob-upload.js';
import { ArtifactStoreError } from '../../../store/errors.js';
import type * as S3 from '../../../store/object-store.js';
import { DEFAULT_RESILIENCE } from '../../../store/resilience.js';
import { RetryingObjects } from '../../../store/retrying-objects.js';

type Stored = { body: Buffer; metadata: Record<string, string>; lastModified: Date };

/** Just enough S3 in a Map; `fail` lets a test break one call. */
class MemoryObjects implements S3.ObjectStore {
  readonly objects = new Map<string, Stored>();
  readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  readonly calls: string[] = [];
  inFlightParts = 0;
  maxInFlightParts = 0;
  fail: (call: string, n: number) => Error | undefined = () => undefined;
  private seq = 0;

  private check(call: string): void {
    this.calls.push(call);
    const e = this.fail(call, this.calls.filter((c) => c === call).length);
    if (e) throw e;
  }
  private missing(): Error {
    return Object.assign(new Error('not found'), { code: 'NoSuchKey' });
  }
  async bucketExists(): Promise<boolean> {
    return true;
  }
  async makeBucket(): Promise<void> {}
  async stat(_b: string, key: string): Promise<S3.ObjectStat> {
    const o = this.objects.get(key);
    if (!o) throw this.missing();
    return { size: o.body.length, lastModified: o.lastModified, etag: 'e', contentType: '', metadata: o.metadata };
  }
  async get(b: string, key: string): Promise<S3.ObjectRead> {
    return { ...(await this.stat(b, key)), body: Readable.from([this.objects.get(key)!.body]) };
  }
  async put(_b: string, key: string, body: Buffer, opts: S3.PutOptions = {}): Promise<void> {
    this.check('put');
    this.objects.set(key, { body: Buffer.from(body), metadata: opts.metadata ?? {}, lastModified: new Date() });
  }
  async remove(_b: string, key: string): Promise<void> {
    this.objects.delete(key);
  }
  async list(_b: string, prefix: string): Promise<S3.ObjectInfo[]> {
    return [...this.objects]
      .filter(([k]) => k.startsWith(prefix))
      .map(([key, o]) => ({ key, size: o.body.length, lastModified: o.lastModified }));
  }
  async copy(_b: string, from: string, to: string, opts: S3.CopyOptions): Promise<void> {
    const o = this.objects.get(from);
    if (!o) throw this.missing();
    this.objects.set(to, { body: o.body, metadata: opts.metadata, lastModified: new Date() });
  }
  async startMultipart(_b: string, key: string): Promise<string> {
    const id = `u${++this.seq}`;
    this.uploads.set(id, { key, parts: new Map() });
    return id;
  }
  async uploadPart(_b: string, _k: string, uploadId: string, part: number, data: Buffer): Promise<string> {
    this.inFlightParts++;
    this.maxInFlightParts = Math.max(this.maxInFlightParts, this.inFlightParts);
    try {
      await new Promise((r) => setTimeout(r, 5));
      this.check('uploadPart');
      this.uploads.get(uploadId)!.parts.set(part, Buffer.from(data)); // the caller reuses its buffer
      return `etag-${part}`;
    } finally {
      this.inFlightParts--;
    }
  }
  async completeMultipart(_b: string, key: string, uploadId: string, parts: S3.PartETag[]): Promise<void> {
    const u = this.uploads.get(uploadId);
    if (!u) throw Object.assign(new Error('no such upload'), { code: 'NoSuchUpload' });
    assert.deepEqual(
      parts.map((p) => p.part),
      [...u.parts.keys()].sort((a, b) => a - b),
    );
    this.objects.set(key, {
      body: Buffer.concat(parts.map((p) => u.parts.get(p.part)!)),
      metadata: {},
      lastModified: new Date(),
    });
    this.uploads.delete(uploadId);
    this.check('completeMultipart'); // after the work: an answer lost on the way back
  }
  async abortMultipart(_b: string, _k: string, uploadId: string): Promise<void> {
    this.calls.push('abortMultipart');
    this.uploads.delete(uploadId);
  }
  async listIncompleteUploads(): Promise<S3.IncompleteUpload[]> {
    return [...this.uploads].map(([uploadId, u]) => ({ key: u.key, uploadId, initiated: new Date() }));
  }
}

const KiB = 1024;
const fast = { ...DEFAULT_RESILIENCE, retryBudgetMs: 2_000, initialBackoffMs: 1, maxBackoffMs: 5 };
const config = { endpointUrl: 'http://memory', redact: (s: string) => s };
const setup = () => {
  const mem = new MemoryObjects();
  return { mem, objects: new RetryingObjects(mem, fast, config) };
};
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const chunked = (b: Buffer, n: number) =>
  Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

test('up to one part: a single PUT to the content address, with its sha256 as metadata', async () => {
  const { mem, objects } = setup();
  const data = bytes(4 * KiB);
  const ref = await uploadBlob(objects, { partSize: 4 * KiB, uploadConcurrency: 1 }, 'b', chunked(data, 1000));
  assert.deepEqual(ref, {
    sha256: sha(data),
    size: data.length,
    blob: `blobs/sha256/${sha(data).slice(0, 2)}/${sha(data)}`,
  });
  assert.deepEqual(mem.calls, ['put']);
  assert.deepEqual(mem.objects.get(ref.blob), {
    body: data,
    metadata: { 'bpoflow-sha256': sha(data) },
    lastModified: mem.objects.get(ref.blob)!.lastModified,
  });
});

test('multipart: parts in order, at most concurrency + 1 in flight, tmp/ removed, the blob intact', async () => {
  const { mem, objects } = setup();
  const data = bytes(10 * KiB + 123);
  const ref = await uploadBlob(objects, { partSize: KiB, uploadConcurrency: 3 }, 'b', chunked(data, 700));
  assert.equal(ref.sha256, sha(data));
  assert.deepEqual(mem.objects.get(ref.blob)!.body, data);
  assert.equal(mem.objects.get(ref.blob)!.metadata['bpoflow-sha256'], sha(data));
  assert.equal(mem.calls.filter((c) => c === 'uploadPart').length, 11);
  // (uploadConcurrency + 1) buffers: when all are sending, the next part waits for one of them.
  assert.ok(mem.maxInFlightParts > 1 && mem.maxInFlightParts <= 4, `${mem.maxInFlightParts} parts in flight`);
  assert.deepEqual([...mem.objects.keys()], [ref.blob]);
  assert.equal(mem.uploads.size, 0);
});

test('a part the server refuses fails the upload and leaves neither tmp object, upload nor blob', async () => {
  const { mem, objects } = setup();
  mem.fail = (call, n) =>
    call === 'uploadPart' && n === 3 ? Object.assign(new Error('denied'), { code: 'AccessDenied' }) : undefined;
  const data = bytes(8 * KiB);
  await assert.rejects(
    uploadBlob(objects, { partSize: KiB, uploadConcurrency: 2 }, 'b', chunked(data, 512)),
    (e: unknown) => {
      assert.ok(e instanceof ArtifactStoreError, String(e));
      assert.equal(e.code, 'AccessDenied');
      assert.match(e.message, /upload part \d of s3:\/\/b\/tmp\/[0-9a-f-]+: denied/);
      return true;
    },
  );
  assert.ok(mem.calls.includes('abortMultipart'));
  assert.equal(mem.calls.filter((c) => c === 'uploadPart').length < 8, true, 'stopped sending parts');
  assert.deepEqual([...mem.objects.keys()], []);
  assert.equal(mem.uploads.size, 0);
});

test('an answer to "complete" lost on the way back: the retry finds the upload done', async () => {
  const { mem, objects } = setup();
  mem.fail = (call, n) =>
    call === 'completeMultipart' && n === 1 ? Object.assign(new Error('reset'), { code: 'ECONNRESET' }) : undefined;
  const data = bytes(3 * KiB);
  const ref = await uploadBlob(objects, { partSize: KiB, uploadConcurrency: 1 }, 'b', chunked(data, KiB));
  assert.deepEqual(mem.objects.get(ref.blob)!.body, data);
  assert.deepEqual([...mem.objects.keys()], [ref.blob]);
});

test('a source that fails mid-stream rejects with its own error and leaves nothing', async () => {
  const { mem, objects } = setup();
  async function* broken() {
    yield bytes(3 * KiB);
    throw new Error('source broke');
  }
  await assert.rejects(
    uploadBlob(objects, { partSize: KiB, uploadConcurrency: 1 }, 'b', broken()),
    /^Error: source broke$/,
  );
  assert.deepEqual([...mem.objects.keys()], []);
  assert.equal(mem.uploads.size, 0);
});
