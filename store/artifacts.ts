/**
 * Content-addressed artifact store on S3-compatible storage: the API the rest of bpoflow uses.
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
 * Publishing (atomic for readers): the bytes go to their content address first
 * (store/blob-upload.ts), then the manifest is PUT at the artifact key (store/publish.ts).
 * The jobs live in their own modules: manifests (manifest.ts), reads and integrity (reads.ts),
 * gc (gc.ts), lineage (lineage.ts); S3 is reached only through an {@link ObjectStore}
 * (minio-objects.ts) wrapped once with deadlines and retries (retrying-objects.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { uploadBlob, type BlobRef, type PutSource } from './blob-upload.js';
import { inContext, mapLimit, readAll } from './bytes.js';
import { resolveStoreConfig, StoreConfig, type StoreConfigInit } from './config.js';
import { collectGarbage, type GcOptions, type GcResult } from './gc.js';
import { ArtifactNotFoundError, ArtifactStoreError, BucketNotFoundError, StoreUnavailableError } from './errors.js';
import { assertSafeKey, formatUri, parsePrefix, parseUri, RESERVED_PREFIXES, runUri } from './keys.js';
import { lineageOf, type LineageNode } from './lineage.js';
import { confinedPath, streamToFile } from './local-files.js';
import {
  bundleDigest,
  guessMediaType,
  MANIFEST_SCHEMA,
  type ArtifactManifest,
  type ArtifactRef,
  type BundleFile,
} from './manifest.js';
import { MinioObjects } from './minio-objects.js';
import type { IncompleteUpload } from './object-store.js';
import { assertKind, newManifest, resolveInputs, writeManifest, type Content, type PutMeta } from './publish.js';
import {
  digestOfBody,
  openBlob,
  openResolved,
  resolveUri,
  type ReadContext,
  type ResolvedUri,
  type VerifyingStream,
} from './reads.js';
import { isMissing, resilienceFromEnv, type ResilienceOptions } from './resilience.js';
import { RetryingObjects } from './retrying-objects.js';

export * from './manifest.js';
export type { PutSource } from './blob-upload.js';
export type { GcOptions, GcResult } from './gc.js';
export type { LineageNode } from './lineage.js';
export type { PutMeta } from './publish.js';
export { VerifyingStream, type ResolvedUri } from './reads.js';
export * from './errors.js';
export { runUri, parseUri, UnsafeKeyError, assertSafeKey, InvalidUriError, blobKey, formatUri } from './keys.js';

export interface StoreOptions {
  /** Multipart part size in bytes (>= 5 MiB). Default 32 MiB. */
  partSize?: number;
  /**
   * Parts uploaded in parallel. Default 1 (one part uploading while the next fills).
   * Upload memory is (uploadConcurrency + 1) × partSize.
   */
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

const MIN_PART_SIZE = 5 * 1024 * 1024;
const isInternal = (key: string): boolean => RESERVED_PREFIXES.some((p) => key.startsWith(p));

export class ArtifactStore {
  readonly config: StoreConfig;
  readonly bucket: string;
  readonly partSize: number;
  readonly uploadConcurrency: number;
  readonly resilience: ResilienceOptions;
  /** S3, with deadlines and retries (for the store's other modules and tests). */
  readonly objects: RetryingObjects;
  /** Buckets known to exist: checked once before the first write. */
  private readonly knownBuckets = new Set<string>();

  constructor(config: StoreConfig | StoreConfigInit, opts: StoreOptions = {}) {
    this.config = config instanceof StoreConfig ? config : new StoreConfig(config);
    this.bucket = this.config.bucket;
    this.partSize = opts.partSize ?? 32 * 1024 * 1024;
    if (this.partSize < MIN_PART_SIZE) throw new ArtifactStoreError('partSize must be at least 5 MiB');
    this.uploadConcurrency = Math.max(1, Math.floor(opts.uploadConcurrency ?? 1));
    this.resilience = { ...resilienceFromEnv(), ...opts.resilience };
    this.objects = new RetryingObjects(
      new MinioObjects(this.config, this.resilience.idleTimeoutMs),
      this.resilience,
      this.config,
    );
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env, opts: StoreOptions = {}): ArtifactStore {
    return new ArtifactStore(resolveStoreConfig(env), {
      ...opts,
      resilience: { ...resilienceFromEnv(env), ...opts.resilience },
    });
  }

  toString(): string {
    return `ArtifactStore(${this.config.endpointUrl}, bucket=${this.bucket})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** URI helper bound to this store's bucket. */
  runUri(run: string, step: string, name: string): string {
    return runUri(run, step, name, this.bucket);
  }

  private get reads(): ReadContext {
    return { objects: this.objects, resilience: this.resilience };
  }

  /** Create the bucket (configured one by default) if it does not exist. */
  async ensureBucket(bucket: string = this.bucket): Promise<void> {
    if (!(await this.objects.bucketExists(bucket))) await this.objects.makeBucket(bucket);
    this.knownBuckets.add(bucket);
  }

  /**
   * Before the first write into a bucket: it must exist. Some servers create a bucket on a PUT
   * (SeaweedFS), others answer 404 or even 500; either way a typo in a URI must fail at once,
   * naming the bucket. A server that will not say (403) is given the benefit of the doubt.
   */
  private async assertBucket(bucket: string, uri: string): Promise<void> {
    if (this.knownBuckets.has(bucket)) return;
    const exists = await this.objects.bucketExists(bucket).catch((e: unknown) => {
      if (e instanceof StoreUnavailableError) throw e;
      return true;
    });
    if (!exists) throw new BucketNotFoundError(bucket, uri);
    this.knownBuckets.add(bucket);
  }

  // ------------------------------------------------------------ writing

  /** Upload bytes to their content address in `bucket`, streaming (store/blob-upload.ts). */
  putBlob(bucket: string, source: PutSource): Promise<BlobRef> {
    return uploadBlob(this.objects, this, bucket, source);
  }

  private targetOf(target: string): { bucket: string; key: string; uri: string } {
    const { bucket, key } = parseUri(target);
    assertSafeKey(key); // rejects reserved prefixes for artifacts
    return { bucket, key, uri: formatUri(bucket, key) };
  }

  /** Publish one artifact: stream the bytes to their content address, then write the manifest. */
  async put(target: string, source: PutSource, meta: PutMeta): Promise<ArtifactRef> {
    const { bucket, key, uri } = this.targetOf(target);
    assertKind(meta.kind);
    return inContext(`publishing ${uri}`, async () => {
      await this.assertBucket(bucket, uri);
      const inputs = await resolveInputs(meta.inputs, (u) => this.digestOf(u));
      const b = await this.putBlob(bucket, source);
      const mediaType = meta.mediaType ?? guessMediaType(typeof source === 'string' ? source : key);
      return this.publish(
        bucket,
        key,
        newManifest(uri, meta, inputs, { mediaType, size: b.size, sha256: b.sha256, blob: b.blob }),
      );
    });
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
    assertKind(meta.kind);
    const names = Object.keys(files).sort();
    if (names.length === 0) throw new ArtifactStoreError(`bundle ${uri} has no files`);
    for (const n of names) assertSafeKey(n, { allowReserved: true }); // the same rule assertMemberName applies on read
    return inContext(`publishing ${uri}`, async () => {
      await this.assertBucket(bucket, uri);
      const inputs = await resolveInputs(meta.inputs, (u) => this.digestOf(u));
      const entries: Record<string, BundleFile> = {};
      let size = 0;
      for (const n of names) {
        const b = await this.putBlob(bucket, files[n]!);
        entries[n] = { sha256: b.sha256, size: b.size, mediaType: guessMediaType(n), blob: b.blob };
        size += b.size;
      }
      const content: Content = {
        mediaType: meta.mediaType ?? 'application/vnd.bpoflow.bundle',
        size,
        sha256: bundleDigest(entries),
        files: entries,
      };
      return this.publish(bucket, key, newManifest(uri, meta, inputs, content));
    });
  }

  private async publish(bucket: string, key: string, m: ArtifactManifest): Promise<ArtifactRef> {
    await writeManifest(this.objects, bucket, key, m);
    return { uri: m.uri, sha256: m.sha256, size: m.size };
  }

  /** sha256 of an artifact (from its manifest) or of a plain object (metadata, else computed by streaming). */
  async digestOf(uri: string): Promise<string> {
    const r = await this.resolve(uri, { keepBody: true });
    if (r.type === 'artifact') return r.manifest.sha256;
    if (r.sha256) {
      r.body?.destroy();
      return r.sha256;
    }
    return (await digestOfBody(r.body!, uri, { size: r.size })).sha256;
  }

  // ------------------------------------------------------------ reading

  /**
   * Look up a URI: an artifact (manifest) or a plain object. With `keepBody`, a plain object's
   * body stream is returned open (caller must consume or destroy it).
   */
  resolve(uri: string, opts: { keepBody?: boolean } = {}): Promise<ResolvedUri> {
    return resolveUri(this.reads, uri, !!opts.keepBody);
  }

  /**
   * Open an artifact (or plain object) for streaming. The stream errors with
   * {@link ArtifactIntegrityError} at the end if size or sha256 do not match. For bundles
   * pass `{file}`. For plain objects without a recorded hash, the computed digest is available
   * as `stream.sha256` after 'end'.
   */
  async open(uri: string, opts: { file?: string } = {}): Promise<Readable> {
    return openResolved(this.reads, await this.resolve(uri, { keepBody: true }), opts.file);
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
      out[name] = await readAll(await openBlob(this.reads, bucket, f.blob, `${m.uri}#${name}`, f));
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
        await streamToFile(await openBlob(this.reads, r.bucket, f.blob, `${r.uri}#${name}`, f), dest);
      }
      return { uri: r.uri, sha256: r.manifest.sha256, size: r.manifest.size };
    }
    await fsp.mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    // attach the consumer right after open(): nothing asynchronous in between
    const s = (await this.open(uri)) as VerifyingStream;
    await streamToFile(s, localPath);
    return { uri: r.uri, sha256: s.sha256!, size: s.size };
  }

  /**
   * The manifest of an artifact. For a plain object a synthetic manifest is returned
   * (kind `other`, no producer/inputs); its sha256 is computed by streaming when not recorded.
   */
  async manifest(uri: string): Promise<ArtifactManifest> {
    const r = await this.resolve(uri, { keepBody: true });
    if (r.type === 'artifact') return r.manifest;
    let digest = { sha256: r.sha256, size: r.size };
    if (digest.sha256) r.body?.destroy();
    else digest = await digestOfBody(r.body!, r.uri);
    return {
      schema: MANIFEST_SCHEMA,
      uri: r.uri,
      kind: 'other',
      mediaType: guessMediaType(r.key),
      size: digest.size,
      sha256: digest.sha256!,
      blob: r.key,
      inputs: [],
      createdAt: r.lastModified.toISOString(),
    };
  }

  /** True if the URI names a published artifact or an existing object. */
  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = parseUri(uri);
    try {
      await this.objects.stat(bucket, key);
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  /** Remove an artifact's manifest (its blobs become garbage for {@link gc}). */
  async remove(uri: string): Promise<void> {
    const { bucket, key } = this.targetOf(uri);
    await this.objects.remove(bucket, key);
  }

  /** Lineage tree: the artifact and, recursively, every artifact it was derived from (store/lineage.ts). */
  lineage(uri: string, maxDepth = 32): Promise<LineageNode> {
    return lineageOf((u) => this.resolve(u), uri, maxDepth);
  }

  /**
   * List objects under a prefix (`s3://bucket/runs/r1/` or a key prefix in the default bucket).
   * The store's internal `blobs/` and `tmp/` are hidden unless the prefix is inside them.
   * With `details`, each entry carries its manifest (or null for plain objects).
   */
  async list(prefix = '', opts: { details?: boolean } = {}): Promise<ListEntry[]> {
    const { bucket, key } = parsePrefix(prefix, this.bucket);
    const showInternal = isInternal(key);
    const out: ListEntry[] = (await this.objects.list(bucket, key))
      .filter((o) => showInternal || !isInternal(o.key))
      .map((o) => ({ uri: `s3://${bucket}/${o.key}`, key: o.key, size: o.size, lastModified: o.lastModified }));
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (opts.details) {
      await mapLimit(out, 8, async (e) => {
        const r = await this.resolve(e.uri).catch((err: unknown) => {
          if (err instanceof ArtifactNotFoundError) return null;
          throw err;
        });
        e.manifest = r && r.type === 'artifact' ? r.manifest : null;
      });
    }
    return out;
  }

  /** Garbage-collect a bucket (store/gc.ts): unreferenced blobs and abandoned uploads older than the grace period. */
  gc(opts: GcOptions = {}): Promise<GcResult> {
    return collectGarbage(this.objects, (u) => this.resolve(u), opts.bucket ?? this.bucket, opts);
  }

  /** Incomplete multipart uploads under a key prefix (with their initiation time). */
  listIncompleteUploads(bucket: string, prefix: string): Promise<IncompleteUpload[]> {
    return this.objects.listIncompleteUploads(bucket, prefix);
  }
}
