/**
 * {@link ObjectStore} over the `minio` client: the one module that knows its API.
 * Retrying is not done here (store/retrying-objects.ts does it, once for every call); the client's
 * own one-shot retry on 5xx is off because it hid the server's error code behind
 * "Retryable HTTP status: 500".
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import * as Minio from 'minio';
import type { StoreConfig } from './config.js';
import type {
  CopyOptions,
  IncompleteUpload,
  ObjectInfo,
  ObjectRead,
  ObjectStat,
  ObjectStore,
  PartETag,
  PutOptions,
} from './object-store.js';
import { deadlineTransport } from './resilience.js';

// Above this a server-side copy must be a multipart "compose".
const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;
const META_PREFIX = 'x-amz-meta-';

type Headers = Record<string, string | string[] | undefined>;

const first = (h: Headers, k: string): string | undefined => {
  const v = h[k];
  return Array.isArray(v) ? v[0] : v;
};
const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '');

/** The stat a GET's response headers carry. */
function statOfHeaders(h: Headers): ObjectStat {
  const size = Number(first(h, 'content-length') ?? NaN);
  const lastModified = first(h, 'last-modified');
  const metadata: Record<string, string> = {};
  for (const k of Object.keys(h)) {
    const v = first(h, k);
    if (k.toLowerCase().startsWith(META_PREFIX) && v !== undefined)
      metadata[k.toLowerCase().slice(META_PREFIX.length)] = v;
  }
  return {
    size: Number.isFinite(size) ? size : -1,
    lastModified: lastModified ? new Date(lastModified) : new Date(0),
    etag: unquote(first(h, 'etag')),
    contentType: first(h, 'content-type') ?? '',
    metadata,
  };
}

export class MinioObjects implements ObjectStore {
  private readonly client: Minio.Client;
  private readonly region: string;

  constructor(config: StoreConfig, idleTimeoutMs: number) {
    this.client = new Minio.Client({
      // Every request gets an inactivity deadline (store/resilience.ts).
      transport: deadlineTransport(config.useSSL ? https : http, idleTimeoutMs),
      retryOptions: { disableRetry: true },
      endPoint: config.endPoint,
      port: config.port,
      useSSL: config.useSSL,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region,
      pathStyle: true,
    });
    this.region = config.region;
    // non-enumerable: the client holds the credentials.
    Object.defineProperty(this, 'client', { enumerable: false });
  }

  bucketExists(bucket: string): Promise<boolean> {
    return this.client.bucketExists(bucket);
  }

  async makeBucket(bucket: string): Promise<void> {
    try {
      await this.client.makeBucket(bucket, this.region);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw e;
    }
  }

  async stat(bucket: string, key: string): Promise<ObjectStat> {
    const s = await this.client.statObject(bucket, key);
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.metaData ?? {})) metadata[k.toLowerCase()] = String(v);
    return {
      size: s.size,
      lastModified: new Date(s.lastModified),
      etag: unquote(s.etag),
      contentType: metadata['content-type'] ?? '',
      metadata,
    };
  }

  async get(bucket: string, key: string, offset = 0): Promise<ObjectRead> {
    const body = (
      offset > 0 ? await this.client.getPartialObject(bucket, key, offset) : await this.client.getObject(bucket, key)
    ) as Readable & {
      headers?: Headers;
    };
    return { ...statOfHeaders(body.headers ?? {}), body };
  }

  async put(bucket: string, key: string, body: Buffer, opts: PutOptions = {}): Promise<void> {
    const headers: Record<string, string> = {};
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
    for (const [k, v] of Object.entries(opts.metadata ?? {})) headers[`${META_PREFIX}${k}`] = v;
    if (opts.ifMatch) headers['If-Match'] = `"${opts.ifMatch}"`;
    if (opts.ifNoneMatch) headers['If-None-Match'] = '*';
    await this.client.putObject(bucket, key, body, body.length, headers);
  }

  remove(bucket: string, key: string): Promise<void> {
    return this.client.removeObject(bucket, key);
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const o of this.client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{
      name?: string;
      size: number;
      lastModified: Date;
    }>) {
      if (o.name) out.push({ key: o.name, size: o.size, lastModified: new Date(o.lastModified) });
    }
    return out;
  }

  async copy(bucket: string, from: string, to: string, opts: CopyOptions): Promise<void> {
    const source = new Minio.CopySourceOptions({ Bucket: bucket, Object: from });
    const dest = new Minio.CopyDestinationOptions({
      Bucket: bucket,
      Object: to,
      MetadataDirective: 'REPLACE',
      UserMetadata: opts.metadata,
      Headers: { 'Content-Type': opts.contentType },
    });
    if (opts.size > MAX_COPY_BYTES) await this.client.composeObject(dest, [source]);
    else await this.client.copyObject(source, dest);
  }

  startMultipart(bucket: string, key: string, contentType: string): Promise<string> {
    return this.client.initiateNewMultipartUpload(bucket, key, { 'Content-Type': contentType });
  }

  async uploadPart(bucket: string, key: string, uploadId: string, part: number, data: Buffer): Promise<string> {
    const r = await this.client.uploadPart(
      {
        bucketName: bucket,
        objectName: key,
        uploadID: uploadId,
        partNumber: part,
        headers: { 'Content-Length': data.length },
      },
      data,
    );
    return r.etag;
  }

  async completeMultipart(bucket: string, key: string, uploadId: string, parts: PartETag[]): Promise<void> {
    await this.client.completeMultipartUpload(bucket, key, uploadId, parts);
  }

  abortMultipart(bucket: string, key: string, uploadId: string): Promise<void> {
    return this.client.abortMultipartUpload(bucket, key, uploadId);
  }

  async listIncompleteUploads(bucket: string, prefix: string): Promise<IncompleteUpload[]> {
    const out: IncompleteUpload[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (let page = 0; page < 10_000; page++) {
      const res = await this.client.listIncompleteUploadsQuery(bucket, prefix, keyMarker, uploadIdMarker, '');
      for (const u of res.uploads) out.push({ key: u.key, uploadId: u.uploadId, initiated: new Date(u.initiated) });
      if (!res.isTruncated) break;
      keyMarker = res.nextKeyMarker;
      uploadIdMarker = res.nextUploadIdMarker;
      if (!keyMarker && !uploadIdMarker) break;
    }
    return out;
  }
}
