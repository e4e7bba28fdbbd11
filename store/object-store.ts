/**
 * The few object-storage operations the artifact store needs, named for what they do.
 *
 * store/minio-objects.ts implements this over the `minio` client (the only module that imports it);
 * store/retrying-objects.ts wraps any implementation with the deadlines and retries of
 * store/resilience.ts. Errors are the implementation's own (with `code`/`statusCode`), so
 * store/resilience.ts can tell a missing key from an outage.
 */
import type { Readable } from 'node:stream';

/** A listed object. */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** What a HEAD (or the headers of a GET) says about an object. */
export interface ObjectStat {
  /** Bytes, or -1 when the server did not say. */
  size: number;
  lastModified: Date;
  /** Without quotes; '' when the server did not say. */
  etag: string;
  contentType: string;
  /** User metadata, keys lower-case without `x-amz-meta-`. */
  metadata: Record<string, string>;
}

/** An open GET: the object's stat and its body (the caller consumes or destroys it). */
export interface ObjectRead extends ObjectStat {
  body: Readable;
}

export interface PutOptions {
  contentType?: string;
  /** User metadata (sent as `x-amz-meta-<key>`). */
  metadata?: Record<string, string>;
  /** Write only if the current object has this ETag (compare-and-swap). */
  ifMatch?: string;
  /** Write only if there is no object yet. */
  ifNoneMatch?: boolean;
}

export interface CopyOptions {
  contentType: string;
  /** Replaces the source's user metadata. */
  metadata: Record<string, string>;
  /** The source's size: very large objects need a different server-side call. */
  size: number;
}

export interface PartETag {
  part: number;
  etag: string;
}

export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface ObjectStore {
  bucketExists(bucket: string): Promise<boolean>;
  /** Create a bucket; one that exists already is no error. */
  makeBucket(bucket: string): Promise<void>;
  stat(bucket: string, key: string): Promise<ObjectStat>;
  /** GET from byte `offset` (default 0) to the end. */
  get(bucket: string, key: string, offset?: number): Promise<ObjectRead>;
  put(bucket: string, key: string, body: Buffer, opts?: PutOptions): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  /** Every object under a key prefix (recursive), in the server's order. */
  list(bucket: string, prefix: string): Promise<ObjectInfo[]>;
  /** Server-side copy within a bucket. */
  copy(bucket: string, from: string, to: string, opts: CopyOptions): Promise<void>;
  startMultipart(bucket: string, key: string, contentType: string): Promise<string>;
  /** Returns the part's ETag. */
  uploadPart(bucket: string, key: string, uploadId: string, part: number, data: Buffer): Promise<string>;
  completeMultipart(bucket: string, key: string, uploadId: string, parts: PartETag[]): Promise<void>;
  abortMultipart(bucket: string, key: string, uploadId: string): Promise<void>;
  listIncompleteUploads(bucket: string, prefix: string): Promise<IncompleteUpload[]>;
}
