/**
 * Garbage collection of a bucket: blobs no manifest references, `tmp/` objects and incomplete
 * multipart uploads under `tmp/`, each only when older than the grace period, so uploads in
 * progress are untouched. Manifests are found by HEAD-ing every non-internal object of at most
 * 16 MiB and checking its manifest metadata.
 *
 * Racing a put: a put that deduplicates onto an old blob rewrites it first (refreshing its
 * mtime); gc re-checks each candidate's mtime just before deleting it, and put re-checks its
 * blobs after writing the manifest. The window left is a few milliseconds.
 */
import { mapLimit } from './bytes.js';
import { ArtifactNotFoundError, ArtifactStoreError } from './errors.js';
import { MANIFEST_META, MAX_MANIFEST_BYTES } from './manifest.js';
import type { ObjectInfo } from './object-store.js';
import type { ResolvedUri } from './reads.js';
import { isMissing } from './resilience.js';
import type { RetryingObjects } from './retrying-objects.js';

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

const DEFAULT_GRACE_MS = 60 * 60 * 1000;

/** Collect `bucket`; `resolve` reads a manifest the way the store does. */
export async function collectGarbage(
  objects: RetryingObjects,
  resolve: (uri: string) => Promise<ResolvedUri>,
  bucket: string,
  opts: GcOptions = {},
): Promise<GcResult> {
  const dryRun = !!opts.dryRun;
  const cutoff = Date.now() - (opts.graceMs ?? DEFAULT_GRACE_MS);
  const old = (d: Date): boolean => d.getTime() <= cutoff;
  const all = await objects.list(bucket, '');
  const blobs = all.filter((o) => o.key.startsWith('blobs/'));
  const tmps = all.filter((o) => o.key.startsWith('tmp/'));
  const others = all.filter((o) => !o.key.startsWith('blobs/') && !o.key.startsWith('tmp/'));
  // Manifests are scanned after the blobs are listed: a manifest published meanwhile is seen.
  const { referenced, manifests } = await referencedBlobs(objects, resolve, bucket, others);

  const removed: string[] = [];
  const remove = async (key: string): Promise<void> => {
    removed.push(`s3://${bucket}/${key}`);
    if (!dryRun) await objects.remove(bucket, key);
  };
  for (const b of blobs) {
    if (referenced.has(b.key) || !old(b.lastModified)) continue;
    if (!dryRun && !(await stillOld(objects, bucket, b.key, old))) continue;
    await remove(b.key);
  }
  for (const t of tmps) if (old(t.lastModified)) await remove(t.key);
  for (const u of await objects.listIncompleteUploads(bucket, 'tmp/')) {
    if (!old(u.initiated)) continue;
    removed.push(`s3://${bucket}/${u.key}?uploadId=${u.uploadId}`);
    if (!dryRun) await objects.abortMultipart(bucket, u.key, u.uploadId);
  }
  return { removed, dryRun, manifestsScanned: manifests, blobsReferenced: referenced.size };
}

/** The blob keys the manifests among `candidates` reference. */
async function referencedBlobs(
  objects: RetryingObjects,
  resolve: (uri: string) => Promise<ResolvedUri>,
  bucket: string,
  candidates: ObjectInfo[],
): Promise<{ referenced: Set<string>; manifests: number }> {
  const referenced = new Set<string>();
  let manifests = 0;
  await mapLimit(
    candidates.filter((o) => o.size <= MAX_MANIFEST_BYTES),
    8,
    async (o) => {
      const stat = await objects.stat(bucket, o.key).catch((e: unknown) => {
        if (isMissing(e)) return undefined;
        throw e;
      });
      if (!stat?.metadata[MANIFEST_META]) return;
      let r: ResolvedUri;
      try {
        r = await resolve(`s3://${bucket}/${o.key}`);
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
  return { referenced, manifests };
}

/** Re-check right before deleting: a concurrent put may have just refreshed the blob. */
async function stillOld(
  objects: RetryingObjects,
  bucket: string,
  key: string,
  old: (d: Date) => boolean,
): Promise<boolean> {
  try {
    return old((await objects.stat(bucket, key)).lastModified);
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}
